#!/usr/bin/env python3
"""PyTorch reference of tuner-train's optimizer loop: full-batch steps (the shard set holds
exactly batch_size x grad_accum documents, so every step sees the same rows whatever their order) with
torch.nn.utils.clip_grad_norm_ and the Hugging Face warmup schedules through LambdaLR, in
float64, and the plan's optimizer:
  adamw  torch.optim.AdamW
  sgd    torch.optim.SGD (momentum, nesterov, weight decay)
  lion   the update rule of the Lion paper (Chen et al. 2023), written out below
  method lomo: plain SGD on every weight with decoupled decay, which is what updating each
         tensor during backward computes (a layer's update never changes a gradient below it)
  stage dpo: the data is preference pairs (documents 2i chosen, 2i+1 rejected); the loss is
         DPO's -log sigmoid(beta * ((chosen - ref) - (rejected - ref))) over sequence log-probs
         summed on the response tokens, the reference being the model before training (the
         base without adapters for LoRA, the initial weights for a full fine-tune)
  grad_accum: the step's documents are batch_size x grad_accum, each training as many tokens,
         so the trainer's mean of micro-batch means is the mean over all of them in one batch
  method qlora: LoRA on the base whose decoder linears are dequantized from --quantized, a
         folder tuner-export quantize wrote (nf4 or int8; the format's decoding written out
         below from docs/quantization.md), everything else from model_dir; or, with
         --int8-base, every decoder linear quantized here by the int8 rule (any architecture:
         GPT-2, Bloom, Qwen3, Gemma 3 through arch_ref.py)

  /usr/bin/python3 train_steps_reference.py --plan PLAN.json --steps N [--adapter INITIAL_ADAPTER_DIR]
      [--quantized QUANT_DIR | --int8-base] --out FINAL.safetensors --losses LOSSES.json

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
import torch.nn.functional as Fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch_ref  # noqa: E402
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


def sequence_logps(logits, targets, mask):
    """Each row's summed log p(target) over its mask = 1 positions (DPO's sequence log-prob)."""
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (logp * mask).sum(dim=-1)


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


def dequantize(tensors, name):
    """The f32 matrix a quantized folder stores under `name` (tuner/quant_io.h layouts)."""
    q = tensors[name]
    if name + ".absmax" in tensors:  # nf4: two codes a byte, first in the high nibble
        codes = np.empty(q.size * 2, np.uint8)
        codes[0::2] = q.reshape(-1) >> 4
        codes[1::2] = q.reshape(-1) & 15
        a_codes = tensors[name + ".absmax"]
        group = np.arange(a_codes.size) // 256
        absmax = (tensors[name + ".nested_quant_map"][a_codes] * tensors[name + ".nested_absmax"][group]
                  + tensors[name + ".nested_offset"][0]).astype(np.float32)
        w = tensors[name + ".quant_map"][codes].reshape(-1, 64) * absmax[:, None]
        return w.reshape(q.shape[0], q.shape[1] * 2).astype(np.float32)
    if name + ".row_scale" in tensors:  # int8 per output channel
        return (q.astype(np.float32) * tensors[name + ".row_scale"][:, None]).astype(np.float32)
    raise SystemExit(f"{name}: not nf4 or int8 in the quantized folder")


def int8_roundtrip(w):
    """quant.h's int8 per output channel: s = absmax / 127, q = roundf(x * (1 / s)), back to s * q,
    in float32 as the engine computes it (roundf: halves away from zero)."""
    w = w.astype(np.float32)
    s = (np.abs(w).max(axis=1) / np.float32(127)).astype(np.float32)
    inv = np.where(s != 0, np.float32(1) / np.where(s != 0, s, np.float32(1)), np.float32(0)).astype(np.float32)
    v = (w * inv[:, None]).astype(np.float32)
    q = np.trunc(v + np.copysign(np.float32(0.5), v)).astype(np.float32)
    return (q * s[:, None]).astype(np.float32)


DECODER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "c_attn", "c_proj", "c_fc",
                   "query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")


def int8_base(model):
    """Every decoder linear of an arch_ref model replaced by its int8 round trip (the engine's
    QLoRA int8 base, dequantized), in the model's own dtype."""
    modules = dict(model.named_modules())
    for name, p in model.named_parameters():
        parts = name.split(".")
        if parts[-1] == "weight" and len(parts) > 2 and parts[-2] in DECODER_LINEARS and (".h." in name or ".layers." in name):
            w = p.detach().numpy().astype(np.float32)
            conv1d = isinstance(modules[name.rsplit(".", 1)[0]], arch_ref.Conv1D)
            with torch.no_grad():  # a Conv1D weight is [in, out]: quantized as [out, in] rows
                p.copy_(torch.from_numpy(int8_roundtrip(w.T).T if conv1d else int8_roundtrip(w)).to(p.dtype))


def lion_step(params, states, lr, beta1, beta2, wd):
    """Lion (Chen et al. 2023, Algorithm 2): c = b1 m + (1 - b1) g; w -= lr (sign(c) + wd w);
    m = b2 m + (1 - b2) g."""
    with torch.no_grad():
        for p in params:
            m = states.setdefault(id(p), torch.zeros_like(p))
            c = beta1 * m + (1 - beta1) * p.grad
            p.mul_(1 - lr * wd)
            p.add_(torch.sign(c), alpha=-lr)
            m.mul_(beta2).add_(p.grad, alpha=1 - beta2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--quantized")
    ap.add_argument("--int8-base", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--losses", required=True)
    a = ap.parse_args()
    with open(a.plan) as f:
        plan = json.load(f)
    base = os.path.dirname(os.path.abspath(a.plan))
    path = lambda p: p if os.path.isabs(p) else os.path.join(base, p)  # noqa: E731
    docs = read_shards(path(plan["data_dir"]))
    dpo = plan.get("stage", "sft") == "dpo"
    if dpo:  # the trainer's rows: every chosen sequence, then every rejected one
        docs = docs[0::2] + docs[1::2]
    accum = plan.get("grad_accum", 1)
    if len(docs) != plan["batch_size"] * accum * (2 if dpo else 1) or (dpo and accum != 1):
        raise SystemExit("the reference needs one full batch per step: documents (pairs) == batch_size x grad_accum (DPO: grad_accum 1)")
    # The trainer averages its micro-batches' mean losses; that is the mean over all the step's
    # rows (whatever rows each micro-batch drew) only when every row trains as many tokens.
    trained = {int(m[1:plan["seq_len"] + 1].sum()) for _, m in docs}
    if accum > 1 and len(trained) != 1:
        raise SystemExit(f"grad_accum {accum}: every document must train the same number of tokens (found {sorted(trained)})")

    torch.manual_seed(0)
    model = arch_ref.from_pretrained(path(plan["model_dir"]), dtype=torch.float64)  # any supported architecture
    if plan["method"] == "qlora" and a.int8_base:
        int8_base(model)
    elif plan["method"] == "qlora":
        quant = llama_ref.load_folder(a.quantized)
        params = dict(model.named_parameters())
        for name, p in params.items():
            if name.startswith("model.layers.") and name.endswith("_proj.weight"):
                with torch.no_grad():
                    p.copy_(torch.from_numpy(dequantize(quant, name)).to(torch.float64))
    tokens, targets, mask = rows(docs, plan["seq_len"])
    if dpo:  # the reference model: this model before any adapter or update
        with torch.no_grad():
            ref_logps = sequence_logps(model(tokens, targets, mask)[1], targets, mask)
    if plan["method"] in ("lora", "qlora"):
        if plan["lora"].get("dropout", 0) != 0:
            raise SystemExit("LoRA dropout draws differ between engines: use dropout 0")
        model.load_adapter(a.adapter)
    named = model.trainable()
    params = [p for _, p in named]
    o = plan["optimizer"]
    betas = tuple(o.get("betas", [0.9, 0.999]))
    name = "sgd" if plan["method"] == "lomo" else o.get("name", "adamw")
    wd = o.get("weight_decay", 0.0)
    if name == "adamw":
        opt = torch.optim.AdamW(params, lr=o["lr"], betas=betas, eps=o.get("eps", 1e-8), weight_decay=wd)
    elif name == "sgd" and plan["method"] != "lomo":
        opt = torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0.0), nesterov=o.get("nesterov", False), weight_decay=wd)
    else:  # lion and lomo step by hand; the optimizer object only carries the scheduled lr
        opt = torch.optim.SGD(params, lr=o["lr"])
    lion_betas = tuple(o.get("betas", [0.9, 0.99]))
    lion_states = {}
    kind, warmup = plan.get("schedule", "constant"), plan.get("warmup_steps", 0)
    total = plan["max_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: multiplier(kind, s, warmup, total))
    max_norm = plan.get("max_grad_norm", 1.0)
    log = []
    margins = []
    model.train()
    for _ in range(a.steps):
        opt.zero_grad()
        loss, logits = model(tokens, targets, mask)
        if dpo:
            logps = sequence_logps(logits, targets, mask) - ref_logps
            P = len(docs) // 2
            z = plan.get("pref_beta", 0.1) * (logps[:P] - logps[P:])
            loss = -Fn.logsigmoid(z).mean()
            margins.append({"margin": z.mean().item(), "accuracy": (z > 0).double().mean().item()})
        loss.backward()
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        else:
            norm = torch.norm(torch.stack([p.grad.norm() for p in params]))
        lr = opt.param_groups[0]["lr"]
        if name == "lion":
            lion_step(params, lion_states, lr, lion_betas[0], lion_betas[1], wd)
        elif plan["method"] == "lomo":
            with torch.no_grad():
                for p in params:
                    p.mul_(1 - lr * wd)
                    p.add_(p.grad, alpha=-lr)
        else:
            opt.step()
        sched.step()
        log.append({"loss": loss.item(), "lr": lr, "grad_norm": float(norm), **(margins[-1] if dpo else {})})
    safetensors_np.save(a.out, {n: p.detach().numpy().astype(np.float32) for n, p in named}, "f32")
    with open(a.losses, "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main()
