#!/usr/bin/env python3
"""Greedy generation with the PyTorch reference model (llama_ref.py) and a KV cache, as
transformers' generate() runs it: the prompt in one forward, then one token per forward, each
query attending to the cached keys (after RoPE) its causal / sliding window allows. rope_scaling
`dynamic` follows transformers' dynamic_rope_update: each forward computes its frequencies for
seq_len = last position + 1 when that exceeds the longest seen so far, and returns to the
original ones when a forward stays below max_position_embeddings again; cached keys keep the
rotation they were computed with. The oracle for the engine's generation (tuner-generate).

  /usr/bin/python3 test/native/reference/generate_ref.py CASES.json [--dtype f64|f32]

CASES.json: [{"name", "model", "adapter"?: dir, "ids": [prompt], "max_new": N}, ...]. Prints one
JSON object {name: {"ids": [generated], "margins": [top-1 minus top-2 logit per step],
"logits": [[V] per step]}}.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch_ref  # noqa: E402
from llama_ref import Model, apply_rope, layer_windows, rope_inv_freq, xpos_scales  # noqa: E402


class Rope:
    """transformers' rotary embedding state: inv_freq, attention factor, max_seq_len_cached."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.dynamic = (cfg.get("rope_scaling") or {}).get("rope_type", (cfg.get("rope_scaling") or {}).get("type")) == "dynamic"
        self.original = cfg["max_position_embeddings"]
        self.cached = self.original
        self.inv, self.factor = rope_inv_freq(cfg, self.original)

    def tables(self, p, n, dtype):
        if self.dynamic:
            seq_len = p + n
            if seq_len > self.cached:
                self.inv, self.factor = rope_inv_freq(self.cfg, seq_len)
                self.cached = seq_len
            if seq_len < self.original and self.cached > self.original:
                self.inv, self.factor = rope_inv_freq(self.cfg, self.original)
                self.cached = self.original
        pos = torch.arange(p, p + n, dtype=torch.float32)[:, None]
        freqs = pos * torch.tensor(self.inv, dtype=torch.float32)[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * self.factor).to(dtype), (emb.sin() * self.factor).to(dtype)


class Cached:
    """A Model with per-layer key / value caches [1, NKV, t, HD]."""

    def __init__(self, model):
        self.m = model
        self.windows = layer_windows(model.cfg)
        self.rope = Rope(model.cfg)
        self.k = [None] * len(self.windows)
        self.v = [None] * len(self.windows)
        self.pos = 0

    @torch.no_grad()
    def forward(self, ids):
        """Logits [n, V] of ids appended at positions pos..pos+n-1."""
        m, p, n = self.m, self.pos, len(ids)
        cos, sin = self.rope.tables(p, n, m.dtype)
        h = m.model.embed_tokens.weight[torch.tensor(ids)][None]
        qpos = torch.arange(p, p + n)[:, None]
        kpos = torch.arange(p + n)[None, :]
        for li, layer in enumerate(m.model.layers):
            a = layer.self_attn
            x = layer.input_layernorm(h)
            q = a.q_proj(x).view(1, n, a.NH, a.HD).transpose(1, 2)
            k = a.k_proj(x).view(1, n, a.NKV, a.HD).transpose(1, 2)
            v = a.v_proj(x).view(1, n, a.NKV, a.HD).transpose(1, 2)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            xs = xpos_scales(m.cfg, torch.arange(p, p + n))  # cached keys keep their own positions' factors
            if xs is not None:
                q, k = q * xs[0].to(m.dtype), k * xs[1].to(m.dtype)
            self.k[li] = k if self.k[li] is None else torch.cat((self.k[li], k), dim=2)
            self.v[li] = v if self.v[li] is None else torch.cat((self.v[li], v), dim=2)
            rep = a.NH // a.NKV
            kk = self.k[li].repeat_interleave(rep, dim=1)
            vv = self.v[li].repeat_interleave(rep, dim=1)
            mask = kpos <= qpos
            if self.windows[li]:
                mask = mask & (kpos > qpos - self.windows[li])
            att = (q @ kk.transpose(-1, -2)) / math.sqrt(a.HD)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (att @ vv).transpose(1, 2).reshape(1, n, a.NH * a.HD)
            h = h + a.o_proj(y)
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        self.pos += n
        return (m.model.norm(h) @ m.lm_weight().t())[0]


def greedy(model, prompt, max_new):
    c = Cached(model)
    logits = c.forward(prompt)[-1]
    ids, margins, rows = [], [], []
    for step in range(max_new):
        top2 = torch.topk(logits, 2)
        nxt = int(torch.argmax(logits))
        ids.append(nxt)
        margins.append(float(top2.values[0] - top2.values[1]))
        rows.append([float(x) for x in logits])
        if step + 1 < max_new:
            logits = c.forward([nxt])[-1]
    return {"ids": ids, "margins": margins, "logits": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases")
    ap.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    a = ap.parse_args()
    dtype = torch.float64 if a.dtype == "f64" else torch.float32
    with open(a.cases) as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        model = arch_ref.from_pretrained(case["model"], dtype=dtype)
        if case.get("adapter"):
            model.load_adapter(case["adapter"])
        model.eval()
        # GPT-2, Bloom, Qwen3, Gemma 3: arch_ref's own cached forward.
        run = greedy if isinstance(model, Model) else arch_ref.greedy
        out[case["name"]] = run(model, case["ids"], case["max_new"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
