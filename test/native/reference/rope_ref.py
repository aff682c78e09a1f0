#!/usr/bin/env python3
"""RoPE parameters written from their sources, independently of the engine, and compared with
what `tuner-check --rope T` reports: inverse frequencies and attention factor per rope_scaling
type as transformers' modeling_rope_utils computes them (_compute_default / _linear_scaling /
_dynamic_ntk / _yarn / _llama3_parameters, transcribed here in torch float64), NTK-by-parts as
the YaRN authors implement it (YaRN's ramp between interpolation and extrapolation, without
the attention temperature), and xPos's per-pair query factor as torchscale's XPOS computes it.

  /usr/bin/python3 rope_ref.py --cases cases.json
cases.json: {name: {"config": {...config.json...}, "T": positions, "native": tuner-check's JSON}}
Prints {name: {"inv_freq_rel": max relative error, "attention_factor": [native, ref],
"xpos_rel": max relative error or null}} on stdout.
"""
import argparse
import json
import math

import torch


def default_inv(cfg):
    base, dim = cfg["rope_theta"], head_dim(cfg)
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim))


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def linear(cfg, rs, T):
    return default_inv(cfg) / rs["factor"], 1.0


def dynamic_ntk(cfg, rs, T):
    base, dim, mpe, factor = cfg["rope_theta"], head_dim(cfg), cfg["max_position_embeddings"], rs["factor"]
    seq_len = T if T > mpe else mpe
    base = base * ((factor * seq_len / mpe) - (factor - 1)) ** (dim / (dim - 2))
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim)), 1.0


def yarn(cfg, rs, T):
    base, dim = cfg["rope_theta"], head_dim(cfg)
    factor = rs["factor"]
    attention_factor = rs.get("attention_factor")
    mscale, mscale_all_dim = rs.get("mscale"), rs.get("mscale_all_dim")
    if "original_max_position_embeddings" in rs:
        original = rs["original_max_position_embeddings"]
        factor = cfg["max_position_embeddings"] / original
    else:
        original = cfg["max_position_embeddings"]

    def get_mscale(scale, m=1):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = get_mscale(factor)
    beta_fast, beta_slow = rs.get("beta_fast") or 32, rs.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    extrapolation = 1 - ramp
    inv = (1.0 / (factor * pos_freqs)) * (1 - extrapolation) + (1.0 / pos_freqs) * extrapolation
    return inv, float(attention_factor)


def ntk_by_parts(cfg, rs, T):
    """NTK-by-parts as the YaRN authors implement it (LlamaPartNTKScaledRotaryEmbedding in
    jquesnelle/yarn): the same correction-range ramp over dimensions as YaRN, with no attention
    temperature (mscale 1). Tuner spells it rope_type "yarn" with attention_factor 1."""
    inv, _ = yarn(cfg, dict(rs, attention_factor=1.0), T)
    return inv, 1.0


def llama3(cfg, rs, T):
    inv = default_inv(cfg)
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wl, high_wl = old / lo, old / hi
    wl = 2 * math.pi / inv
    inv_l = torch.where(wl > low_wl, inv / factor, inv)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wl < high_wl) * ~(wl > low_wl)
    return torch.where(medium, smoothed, inv_l), 1.0


def xpos_q(cfg, rs, T):
    """torchscale XPOS: scale = (arange(0, HD, 2) + 0.4 HD) / (1.4 HD), raised to pos / scale_base."""
    dim = head_dim(cfg)
    scale = (torch.arange(0, dim, 2, dtype=torch.float64) + 0.4 * dim) / (1.4 * dim)
    return scale[None, :] ** (torch.arange(T, dtype=torch.float64)[:, None] / rs.get("scale_base", 512))


KINDS = {"linear": linear, "dynamic": dynamic_ntk, "yarn": yarn, "llama3": llama3}


def reference(cfg, T, ntk_by_parts_case):
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind in ("default", "xpos"):
        inv, af = default_inv(cfg), 1.0
    elif ntk_by_parts_case:
        inv, af = ntk_by_parts(cfg, rs, T)
    else:
        inv, af = KINDS[kind](cfg, rs, T)
    return inv, af, (xpos_q(cfg, rs, T) if kind == "xpos" else None)


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs()).max())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cases", required=True)
    cases = json.load(open(p.parse_args().cases))
    out = {}
    for name, c in cases.items():
        inv, af, xq = reference(c["config"], c["T"], c.get("ntk_by_parts", False))
        nat = c["native"]
        out[name] = {
            "inv_freq_rel": rel(nat["inv_freq"], inv),
            "attention_factor": [nat["attention_factor"], af],
            "xpos_rel": rel(nat["xpos_q"], xq) if xq is not None else None,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
