#!/usr/bin/env python3
"""PyTorch reference of tuner-train's optimizer loop for the AdamW check: full-batch steps
(the shard set holds exactly batch_size documents, so every step sees the same rows whatever
their order) with torch.optim.AdamW, torch.nn.utils.clip_grad_norm_ and the Hugging Face
warmup schedules through LambdaLR, in float64.

  /usr/bin/python3 adamw_reference.py --plan PLAN.json --steps N [--adapter INITIAL_ADAPTER_DIR]
      --out FINAL.safetensors --losses LOSSES.json

Reads the plan's model_dir, data_dir (Tuner shards, docs/shard-format.md) and hyper-parameters.
Writes the trainable tensors after N steps (Hugging Face / PEFT names) and per-step loss, lr
and pre-clip grad norm.
"""
import argparse
import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402
import safetensors_np  # noqa: E402


def read_shards(d):
    """Documents of a shard directory as (tokens, mask) numpy pairs, with the format's checks."""
    with open(os.path.join(d, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["format"] == "tuner-shards" and manifest["version"] == 1
    docs = []
    for entry in manifest["files"]:
        with open(os.path.join(d, entry["path"]), "rb") as f:
            raw = f.read()
        assert raw[:8] == b"TUNERSHD"
        version, header_bytes, n_docs, n_tok, payload_crc, header_crc = struct.unpack("<IIQQII", raw[8:40])
        assert version == 1 and header_bytes == 48 and zlib.crc32(raw[:36]) == header_crc
        assert len(raw) == 48 + 8 * (n_docs + 1) + 5 * n_tok and zlib.crc32(raw[48:]) == payload_crc
        offs = np.frombuffer(raw, dtype="<u8", count=n_docs + 1, offset=48)
        toks = np.frombuffer(raw, dtype="<u4", count=n_tok, offset=48 + 8 * (n_docs + 1))
        mask = np.frombuffer(raw, dtype="u1", count=n_tok, offset=48 + 8 * (n_docs + 1) + 4 * n_tok)
        for i in range(n_docs):
            docs.append((toks[offs[i]:offs[i + 1]], mask[offs[i]:offs[i + 1]]))
    return docs


def rows(docs, T):
    """The trainer's row layout: inputs doc[:-1], targets doc[1:], target mask, cut/padded to T."""
    B = len(docs)
    tokens = np.zeros((B, T), np.int64)
    targets = np.zeros((B, T), np.int64)
    mask = np.zeros((B, T), np.int64)
    for b, (t, m) in enumerate(docs):
        n = min(len(t) - 1, T)
        tokens[b, :n] = t[:n]
        targets[b, :n] = t[1:n + 1]
        mask[b, :n] = m[1:n + 1]
    return torch.from_numpy(tokens), torch.from_numpy(targets), torch.from_numpy(mask)


def multiplier(kind, step, warmup, total):
    """transformers.get_{constant,linear,cosine}_schedule_with_warmup."""
    if step < warmup:
        return step / max(1, warmup)
    if kind == "constant":
        return 1.0
    progress_span = max(1, total - warmup)
    if kind == "linear":
        return max(0.0, (total - step) / progress_span)
    progress = (step - warmup) / progress_span
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--out", required=True)
    ap.add_argument("--losses", required=True)
    a = ap.parse_args()
    with open(a.plan) as f:
        plan = json.load(f)
    base = os.path.dirname(os.path.abspath(a.plan))
    path = lambda p: p if os.path.isabs(p) else os.path.join(base, p)  # noqa: E731
    docs = read_shards(path(plan["data_dir"]))
    if len(docs) != plan["batch_size"] or plan.get("grad_accum", 1) != 1:
        raise SystemExit("the reference needs one full batch per step: documents == batch_size, grad_accum 1")

    torch.manual_seed(0)
    model = llama_ref.Model.from_pretrained(path(plan["model_dir"]), dtype=torch.float64)
    if plan["method"] == "lora":
        if plan["lora"].get("dropout", 0) != 0:
            raise SystemExit("LoRA dropout draws differ between engines: use dropout 0")
        model.load_adapter(a.adapter)
    named = model.trainable()
    params = [p for _, p in named]
    o = plan["optimizer"]
    betas = tuple(o.get("betas", [0.9, 0.999]))
    opt = torch.optim.AdamW(params, lr=o["lr"], betas=betas, eps=o.get("eps", 1e-8), weight_decay=o.get("weight_decay", 0.0))
    kind, warmup = plan.get("schedule", "constant"), plan.get("warmup_steps", 0)
    total = plan["max_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: multiplier(kind, s, warmup, total))
    tokens, targets, mask = rows(docs, plan["seq_len"])
    max_norm = plan.get("max_grad_norm", 1.0)
    log = []
    model.train()
    for _ in range(a.steps):
        opt.zero_grad()
        loss, _ = model(tokens, targets, mask)
        loss.backward()
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        else:
            norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        log.append({"loss": loss.item(), "lr": lr, "grad_norm": float(norm)})
    safetensors_np.save(a.out, {n: p.detach().numpy().astype(np.float32) for n, p in named}, "f32")
    with open(a.losses, "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main()
