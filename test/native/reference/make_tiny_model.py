#!/usr/bin/env python3
"""Writes a tiny random Hugging Face model folder (config.json + safetensors) of the Llama
family, for the native engine's tests: the PyTorch reference and the native trainer load the
same files, so both see exactly the same weights.

  /usr/bin/python3 test/native/reference/make_tiny_model.py --out DIR [--arch llama|mistral|qwen2]
      [--dtype f32|f16|bf16] [--shards N] [--tied] [--rope-scaling linear|dynamic|llama3|yarn|ntk_by_parts|xpos]
      [--seed S] [--vocab V] [--hidden C] [--layers L] [--heads NH] [--kv-heads NKV]
      [--intermediate F] [--head-dim HD] [--max-pos P] [--attention-bias] [--mlp-bias]
      [--sliding-window W [--max-window-layers K]]

Weights are scaled so that activations stay O(1) in a tiny model (unlike the 0.02 of real
initialisations), which keeps every gradient far from zero and the comparison meaningful.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402

ARCHS = {
    "llama": ("LlamaForCausalLM", "llama"),
    "mistral": ("MistralForCausalLM", "mistral"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"),
}


def rope_scaling_entry(kind, max_pos):
    """One config.json rope_scaling per variant, sized so a tiny model exercises every branch
    of the formula (see llama_ref.rope_inv_freq)."""
    if kind is None:
        return None
    if kind == "linear":
        return {"type": "linear", "factor": 2.0}
    if kind == "dynamic":
        # Tests run sequences longer than max_position_embeddings so the NTK base changes.
        return {"type": "dynamic", "factor": 2.0}
    if kind == "llama3":
        return {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": max_pos}
    if kind == "yarn":
        # max_position_embeddings / original == factor, so every transformers version that
        # derives the factor from that ratio agrees with the ones that read `factor`.
        return {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": max_pos // 4,
                "beta_fast": 32.0, "beta_slow": 1.0}
    if kind == "ntk_by_parts":
        # YaRN's ramp without its attention factor (what ARGS.json's "ntk_by_parts" writes).
        return {"rope_type": "yarn", "factor": 4.0, "attention_factor": 1.0, "beta_fast": 32.0, "beta_slow": 1.0}
    if kind == "xpos":
        # A small scale_base so that a 16-token batch sees the decay.
        return {"rope_type": "xpos", "scale_base": 8.0}
    raise SystemExit(f"unknown --rope-scaling {kind}")


def make_config(a):
    arch, model_type = ARCHS[a.arch]
    head_dim = a.head_dim or a.hidden // a.heads
    cfg = {
        "architectures": [arch],
        "model_type": model_type,
        "vocab_size": a.vocab,
        "hidden_size": a.hidden,
        "intermediate_size": a.intermediate,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "num_key_value_heads": a.kv_heads,
        "head_dim": head_dim,
        "max_position_embeddings": a.max_pos,
        "rms_norm_eps": a.rms_eps,
        "rope_theta": a.rope_theta,
        "hidden_act": "silu",
        "tie_word_embeddings": bool(a.tied),
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[a.dtype],
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if a.arch == "llama":
        cfg["attention_bias"] = bool(a.attention_bias)
        cfg["mlp_bias"] = bool(a.mlp_bias)
    if a.arch == "mistral":
        cfg["sliding_window"] = a.sliding_window or 4096
    if a.arch == "qwen2":
        cfg["use_sliding_window"] = bool(a.sliding_window)
        cfg["sliding_window"] = a.sliding_window or 4096
        cfg["max_window_layers"] = a.max_window_layers
    rs = rope_scaling_entry(a.rope_scaling, a.max_pos)
    if rs is not None:
        cfg["rope_scaling"] = rs
    return cfg


def make_weights(cfg, a, rng):
    C, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    NH, NKV, HD = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    qkv_bias = a.arch == "qwen2" or a.attention_bias
    o_bias = a.arch == "llama" and a.attention_bias
    mlp_bias = a.arch == "llama" and a.mlp_bias

    def linear(out_f, in_f):
        return (rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def vec(n, center=0.0, scale=0.1):
        return (center + scale * rng.standard_normal(n)).astype(np.float32)

    w = {"model.embed_tokens.weight": (0.5 * rng.standard_normal((V, C))).astype(np.float32)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = vec(C, 1.0)
        for name, out_f, in_f, has_b in (("q_proj", NH * HD, C, qkv_bias), ("k_proj", NKV * HD, C, qkv_bias),
                                         ("v_proj", NKV * HD, C, qkv_bias), ("o_proj", C, NH * HD, o_bias)):
            w[p + f"self_attn.{name}.weight"] = linear(out_f, in_f)
            if has_b:
                w[p + f"self_attn.{name}.bias"] = vec(out_f)
        w[p + "post_attention_layernorm.weight"] = vec(C, 1.0)
        for name, out_f, in_f in (("gate_proj", F, C), ("up_proj", F, C), ("down_proj", C, F)):
            w[p + f"mlp.{name}.weight"] = linear(out_f, in_f)
            if mlp_bias:
                w[p + f"mlp.{name}.bias"] = vec(out_f)
    w["model.norm.weight"] = vec(C, 1.0)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = linear(V, C)
    return w


def write_model(out, cfg, weights, dtype, shards):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    names = list(weights)
    if shards <= 1:
        safetensors_np.save(os.path.join(out, "model.safetensors"), weights, dtype)
        return
    groups = np.array_split(np.arange(len(names)), shards)
    weight_map = {}
    total = 0
    for k, idx in enumerate(groups):
        fname = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {names[i]: weights[names[i]] for i in idx}
        safetensors_np.save(os.path.join(out, fname), part, dtype)
        for n in part:
            weight_map[n] = fname
            total += part[n].size * (4 if dtype == "f32" else 2)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--arch", choices=sorted(ARCHS), default="llama")
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--tied", action="store_true")
    p.add_argument("--rope-scaling", choices=["linear", "dynamic", "llama3", "yarn", "ntk_by_parts", "xpos"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab", type=int, default=96)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--intermediate", type=int, default=48)
    p.add_argument("--head-dim", type=int, default=0)
    p.add_argument("--max-pos", type=int, default=64)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--attention-bias", action="store_true", help="llama only: q/k/v/o biases")
    p.add_argument("--mlp-bias", action="store_true", help="llama only: gate/up/down biases")
    p.add_argument("--sliding-window", type=int, default=0,
                   help="mistral: sliding_window; qwen2: use_sliding_window with this sliding_window")
    p.add_argument("--max-window-layers", type=int, default=28,
                   help="qwen2: layers from this index on use the sliding window")
    a = p.parse_args(argv)
    if a.heads % a.kv_heads:
        p.error("--heads must be a multiple of --kv-heads")
    if a.arch != "llama" and (a.attention_bias or a.mlp_bias):
        p.error("--attention-bias/--mlp-bias are Llama options (Qwen2 always has q/k/v biases)")
    if a.sliding_window and a.arch == "llama":
        p.error("--sliding-window is a Mistral / Qwen2 option")
    rng = np.random.default_rng(a.seed)
    cfg = make_config(a)
    weights = make_weights(cfg, a, rng)
    write_model(a.out, cfg, weights, a.dtype, a.shards)
    n = sum(v.size for v in weights.values())
    print(json.dumps({"out": a.out, "params": int(n), "tensors": len(weights)}))


if __name__ == "__main__":
    main()
