#!/usr/bin/env python3
"""Writes a tiny random Hugging Face model folder of GPT-2, Bloom, Qwen3 or Gemma 3 (text), with
the config keys and tensor names transformers' own classes use (GPT-2's Conv1D weights stored
[in, out]), for the native engine's reference tests (arch_ref.py is the oracle).

  /usr/bin/python3 make_tiny_arch.py --out DIR --arch gpt2|bloom|qwen3|gemma3 [--seed S]
      [--vocab V] [--hidden C] [--layers L] [--heads NH] [--kv-heads NKV] [--head-dim HD]
      [--intermediate F] [--max-pos P] [--tied] [--bare] [--sliding-window W] [--pattern K]
      [--attn-softcap X] [--final-softcap X] [--dtype f32|bf16]

--bare writes GPT-2 / Bloom tensors without the "transformer." prefix, as the original gpt2 and
bloom-560m checkpoints store them. Weights are scaled so activations stay O(1).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402


def make(a, rng):
    C, V, L = a.hidden, a.vocab, a.layers

    def mat(out_f, in_f):
        return (rng.standard_normal((out_f, in_f)) / np.sqrt(in_f)).astype(np.float32)

    def vec(n, center=0.0, scale=0.1):
        return (center + scale * rng.standard_normal(n)).astype(np.float32)

    w = {}
    if a.arch == "gpt2":
        F = a.intermediate or 4 * C
        cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V, "n_embd": C, "n_layer": L,
               "n_head": a.heads, "n_positions": a.max_pos, "n_inner": F, "layer_norm_epsilon": 1e-5,
               "activation_function": "gelu_new", "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
        p = "transformer."
        w[p + "wte.weight"] = (0.5 * rng.standard_normal((V, C))).astype(np.float32)
        w[p + "wpe.weight"] = (0.3 * rng.standard_normal((a.max_pos, C))).astype(np.float32)
        for i in range(L):
            b = f"{p}h.{i}."
            for ln in ("ln_1", "ln_2"):
                w[b + ln + ".weight"], w[b + ln + ".bias"] = vec(C, 1.0), vec(C)
            for name, out_f, in_f in (("attn.c_attn", 3 * C, C), ("attn.c_proj", C, C), ("mlp.c_fc", F, C), ("mlp.c_proj", C, F)):
                w[b + name + ".weight"] = mat(out_f, in_f).T.copy()  # Conv1D: [in, out]
                w[b + name + ".bias"] = vec(out_f)
        w[p + "ln_f.weight"], w[p + "ln_f.bias"] = vec(C, 1.0), vec(C)
    elif a.arch == "bloom":
        cfg = {"architectures": ["BloomForCausalLM"], "model_type": "bloom", "vocab_size": V, "hidden_size": C, "n_layer": L,
               "n_head": a.heads, "layer_norm_epsilon": 1e-5, "apply_residual_connection_post_layernorm": False,
               "slow_but_exact": False, "pretraining_tp": 1, "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2}
        p = "transformer."
        w[p + "word_embeddings.weight"] = (0.5 * rng.standard_normal((V, C))).astype(np.float32)
        w[p + "word_embeddings_layernorm.weight"], w[p + "word_embeddings_layernorm.bias"] = vec(C, 1.0), vec(C)
        for i in range(L):
            b = f"{p}h.{i}."
            for ln in ("input_layernorm", "post_attention_layernorm"):
                w[b + ln + ".weight"], w[b + ln + ".bias"] = vec(C, 1.0), vec(C)
            for name, out_f, in_f in (("self_attention.query_key_value", 3 * C, C), ("self_attention.dense", C, C),
                                      ("mlp.dense_h_to_4h", 4 * C, C), ("mlp.dense_4h_to_h", C, 4 * C)):
                w[b + name + ".weight"] = mat(out_f, in_f)
                w[b + name + ".bias"] = vec(out_f)
        w[p + "ln_f.weight"], w[p + "ln_f.bias"] = vec(C, 1.0), vec(C)
    else:
        gemma = a.arch == "gemma3"
        HD = a.head_dim or C // a.heads
        F = a.intermediate or 48
        NKV = a.kv_heads
        cfg = {"architectures": ["Gemma3ForCausalLM" if gemma else "Qwen3ForCausalLM"],
               "model_type": "gemma3_text" if gemma else "qwen3", "vocab_size": V, "hidden_size": C,
               "intermediate_size": F, "num_hidden_layers": L, "num_attention_heads": a.heads, "num_key_value_heads": NKV,
               "head_dim": HD, "max_position_embeddings": a.max_pos, "rms_norm_eps": 1e-6, "tie_word_embeddings": bool(a.tied),
               "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2}
        if gemma:
            cfg.update({"hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": a.query_pre_attn_scalar,
                        "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": a.sliding_window or 4096,
                        "sliding_window_pattern": a.pattern, "final_logit_softcapping": a.final_softcap or None,
                        "attn_logit_softcapping": a.attn_softcap or None, "rope_scaling": None})
        else:
            cfg.update({"hidden_act": "silu", "rope_theta": 1000000.0, "use_sliding_window": False, "sliding_window": None})
        w["model.embed_tokens.weight"] = ((0.5 / (np.sqrt(C) if gemma else 1)) * rng.standard_normal((V, C))).astype(np.float32)
        center = 0.0 if gemma else 1.0  # Gemma's norms multiply by 1 + w
        for i in range(L):
            b = f"model.layers.{i}."
            norms = ["input_layernorm", "post_attention_layernorm"]
            if gemma:
                norms += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
            for n in norms:
                w[b + n + ".weight"] = vec(C, center)
            for name, out_f, in_f in (("q_proj", a.heads * HD, C), ("k_proj", NKV * HD, C), ("v_proj", NKV * HD, C),
                                      ("o_proj", C, a.heads * HD)):
                w[b + "self_attn." + name + ".weight"] = mat(out_f, in_f)
            w[b + "self_attn.q_norm.weight"] = vec(HD, center)
            w[b + "self_attn.k_norm.weight"] = vec(HD, center)
            for name, out_f, in_f in (("gate_proj", F, C), ("up_proj", F, C), ("down_proj", C, F)):
                w[b + "mlp." + name + ".weight"] = mat(out_f, in_f)
        w["model.norm.weight"] = vec(C, center)
        if not a.tied:
            w["lm_head.weight"] = mat(V, C)
    if a.bare:
        w = {k.removeprefix("transformer."): v for k, v in w.items()}
    cfg["torch_dtype"] = {"f32": "float32", "bf16": "bfloat16"}[a.dtype]
    return cfg, w


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--arch", choices=["gpt2", "bloom", "qwen3", "gemma3"], required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab", type=int, default=96)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=0)
    p.add_argument("--intermediate", type=int, default=0)
    p.add_argument("--max-pos", type=int, default=64)
    p.add_argument("--tied", action="store_true")
    p.add_argument("--bare", action="store_true")
    p.add_argument("--sliding-window", type=int, default=0)
    p.add_argument("--pattern", type=int, default=6)
    p.add_argument("--query-pre-attn-scalar", type=float, default=24.0)
    p.add_argument("--attn-softcap", type=float, default=0.0)
    p.add_argument("--final-softcap", type=float, default=0.0)
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    a = p.parse_args()
    cfg, w = make(a, np.random.default_rng(a.seed))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    safetensors_np.save(os.path.join(a.out, "model.safetensors"), w, a.dtype)
    print(json.dumps({"out": a.out, "params": int(sum(v.size for v in w.values())), "tensors": len(w)}))


if __name__ == "__main__":
    main()
