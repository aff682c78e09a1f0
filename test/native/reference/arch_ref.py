"""PyTorch references of GPT2LMHeadModel, BloomForCausalLM, Qwen3ForCausalLM and the text part
of Gemma3ForCausalLM, written from transformers' modeling files (modeling_gpt2.py,
modeling_bloom.py, modeling_qwen3.py, modeling_gemma3.py) without importing transformers, with
Hugging Face tensor names, for the native engine's tests. Same interface as llama_ref.Model;
from_pretrained() picks the class from config.json's architecture (the Llama family goes to
llama_ref).

  import arch_ref
  m = arch_ref.from_pretrained(dir, dtype=torch.float64)
  loss, logits = m(tokens, targets, loss_mask)
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as Fn
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_ref  # noqa: E402
from llama_ref import Lin, apply_rope, attention_mask, load_folder, rope_inv_freq  # noqa: E402

ARCHS = ("GPT2LMHeadModel", "BloomForCausalLM", "Qwen3ForCausalLM", "Gemma3ForCausalLM")


def gelu_tanh(x):
    """GPT-2's gelu_new, Bloom's bloom_gelu_forward and Gemma's gelu_pytorch_tanh (one formula)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(Lin):
    """transformers' Conv1D: weight [in, out], y = x W + b. PEFT's LoRA on it (fan_in_fan_out)
    keeps lora_A [r, in] and lora_B [out, r], as on a Linear."""

    def __init__(self, out_f, in_f, dtype):
        super().__init__(out_f, in_f, True, dtype)
        self.weight = nn.Parameter(torch.zeros(in_f, out_f, dtype=dtype))

    def add_lora(self, r, alpha, dropout, gen):
        in_f, out_f = self.weight.shape
        self.weight.data = self.weight.data.t()  # Lin.add_lora reads [out, in]
        super().add_lora(r, alpha, dropout, gen)
        self.weight.data = self.weight.data.t()

    def forward(self, x):
        y = x @ self.weight + self.bias
        if self.lora_A is not None:
            xd = Fn.dropout(x, self.dropout, self.training) if self.dropout > 0 else x
            y = y + (xd @ self.lora_A.weight.t() @ self.lora_B.weight.t()) * self.scaling
        return y


class LayerNorm(nn.Module):
    def __init__(self, n, eps, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype))
        self.eps = eps

    def forward(self, x):
        return Fn.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """Qwen3RMSNorm (x * rstd * w) or Gemma3RMSNorm (x * rstd * (1 + w))."""

    def __init__(self, n, eps, dtype, one_plus=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n, dtype=dtype) if one_plus else torch.ones(n, dtype=dtype))
        self.eps = eps
        self.one_plus = one_plus

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return y * ((1.0 + self.weight) if self.one_plus else self.weight)


def alibi_slopes(n):
    """Bloom's build_alibi_tensor slopes (float32 as transformers computes them)."""
    p = 2 ** math.floor(math.log2(n))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(p) - 3))), dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + p, dtype=torch.int32))
    if p != n:
        extra = torch.tensor(2 ** (-(2 ** -(math.log2(2 * p) - 3))), dtype=torch.float32)
        rest = min(p, n - p)
        slopes = torch.cat([slopes, torch.pow(extra, torch.arange(1, 1 + 2 * rest, 2, dtype=torch.int32))])
    return slopes


def softmax_attention(q, k, v, scale, mask, softcap=None, bias=None):
    """q [B, NH, T, HD], k/v [B, NH, S, HD] (kv heads already repeated), mask [T, S] bool."""
    s = (q @ k.transpose(-1, -2)) * scale
    if softcap:
        s = torch.tanh(s / softcap) * softcap
    if bias is not None:
        s = s + bias
    s = s.masked_fill(~mask, float("-inf")).softmax(-1)
    return s @ v


class Base(nn.Module):
    """Shared: loss, LoRA, adapters, trainable names (the same contract as llama_ref.Model)."""

    lora_classes = (Lin,)

    def load_weights(self, tensors):
        for name, p in self.named_parameters():
            if ".lora_" in name:
                continue
            src = name if name in tensors else name.removeprefix("transformer.")
            if src not in tensors:
                raise KeyError(f"missing tensor {name}")
            with torch.no_grad():
                p.copy_(torch.from_numpy(np.asarray(tensors[src], dtype=np.float32)).to(self.dtype))

    def forward(self, tokens, targets=None, loss_mask=None):
        B, T = tokens.shape
        logits = self.logits(tokens, 0, T)
        if targets is None:
            return None, logits
        ce = Fn.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), reduction="none")
        m = loss_mask.reshape(-1).to(ce.dtype)
        return (ce * m).sum() / m.sum().clamp(min=1), logits

    def lora_modules(self, targets):
        for name, mod in self.named_modules():
            if isinstance(mod, Lin) and name.split(".")[-1] in targets:
                yield name, mod

    enable_lora = llama_ref.Model.enable_lora
    load_adapter = llama_ref.Model.load_adapter
    trainable = llama_ref.Model.trainable


class GPT2(Base):
    def __init__(self, cfg, dtype):
        super().__init__()
        self.cfg, self.dtype = cfg, dtype
        C, L, V = cfg.get("n_embd", 768), cfg.get("n_layer", 12), cfg["vocab_size"]
        self.NH, self.C = cfg.get("n_head", 12), C
        F = cfg.get("n_inner") or 4 * C
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        t = self.transformer = nn.Module()
        t.wte = nn.Module()
        t.wte.weight = nn.Parameter(torch.zeros(V, C, dtype=dtype))
        t.wpe = nn.Module()
        t.wpe.weight = nn.Parameter(torch.zeros(cfg.get("n_positions", 1024), C, dtype=dtype))
        t.h = nn.ModuleList()
        for _ in range(L):
            b = nn.Module()
            b.ln_1, b.ln_2 = LayerNorm(C, eps, dtype), LayerNorm(C, eps, dtype)
            b.attn, b.mlp = nn.Module(), nn.Module()
            b.attn.c_attn, b.attn.c_proj = Conv1D(3 * C, C, dtype), Conv1D(C, C, dtype)
            b.mlp.c_fc, b.mlp.c_proj = Conv1D(F, C, dtype), Conv1D(C, F, dtype)
            t.h.append(b)
        t.ln_f = LayerNorm(C, eps, dtype)
        self.lora_config = None

    def lm_weight(self):
        return self.transformer.wte.weight

    def layer(self, li, h, p, cache):
        """One block over new rows h [B, n, C] at positions p..; cache: per-layer (k, v) lists or None."""
        b = self.transformer.h[li]
        B, n, C = h.shape
        HD = C // self.NH
        q, k, v = b.attn.c_attn(b.ln_1(h)).split(C, dim=2)
        q, k, v = (x.view(B, n, self.NH, HD).transpose(1, 2) for x in (q, k, v))
        k, v = extend(cache, li, k, v)
        S = k.shape[2]
        mask = torch.arange(S)[None, :] <= torch.arange(p, p + n)[:, None]
        y = softmax_attention(q, k, v, 1.0 / math.sqrt(HD), mask).transpose(1, 2).reshape(B, n, C)
        h = h + b.attn.c_proj(y)
        return h + b.mlp.c_proj(gelu_tanh(b.mlp.c_fc(b.ln_2(h))))

    def logits(self, tokens, p, n, cache=None):
        t = self.transformer
        h = t.wte.weight[tokens] + t.wpe.weight[p:p + n][None]
        for li in range(len(t.h)):
            h = self.layer(li, h, p, cache)
        return t.ln_f(h) @ self.lm_weight().t()


class Bloom(Base):
    def __init__(self, cfg, dtype):
        super().__init__()
        self.cfg, self.dtype = cfg, dtype
        C = cfg.get("hidden_size", cfg.get("n_embed", 64))
        L, V = cfg.get("n_layer", cfg.get("num_hidden_layers", 2)), cfg["vocab_size"]
        self.NH, self.C = cfg.get("n_head", cfg.get("num_attention_heads", 8)), C
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        t = self.transformer = nn.Module()
        t.word_embeddings = nn.Module()
        t.word_embeddings.weight = nn.Parameter(torch.zeros(V, C, dtype=dtype))
        t.word_embeddings_layernorm = LayerNorm(C, eps, dtype)
        t.h = nn.ModuleList()
        for _ in range(L):
            b = nn.Module()
            b.input_layernorm, b.post_attention_layernorm = LayerNorm(C, eps, dtype), LayerNorm(C, eps, dtype)
            b.self_attention, b.mlp = nn.Module(), nn.Module()
            b.self_attention.query_key_value = Lin(3 * C, C, True, dtype)
            b.self_attention.dense = Lin(C, C, True, dtype)
            b.mlp.dense_h_to_4h, b.mlp.dense_4h_to_h = Lin(4 * C, C, True, dtype), Lin(C, 4 * C, True, dtype)
            t.h.append(b)
        t.ln_f = LayerNorm(C, eps, dtype)
        self.slopes = alibi_slopes(self.NH)
        self.lora_config = None

    def lm_weight(self):
        return self.transformer.word_embeddings.weight

    def layer(self, li, h, p, cache):
        b = self.transformer.h[li]
        B, n, C = h.shape
        HD = C // self.NH
        fused = b.self_attention.query_key_value(b.input_layernorm(h)).view(B, n, self.NH, 3, HD)
        q, k, v = (fused[..., i, :].transpose(1, 2) for i in range(3))
        k, v = extend(cache, li, k, v)
        S = k.shape[2]
        mask = torch.arange(S)[None, :] <= torch.arange(p, p + n)[:, None]
        # alibi = slope * key position (float32, as build_alibi_tensor), added to the scaled scores.
        alibi = (self.slopes[:, None] * torch.arange(S, dtype=torch.float32)[None, :]).to(h.dtype)
        y = softmax_attention(q, k, v, 1.0 / math.sqrt(HD), mask, bias=alibi[None, :, None, :])
        h = h + b.self_attention.dense(y.transpose(1, 2).reshape(B, n, C))
        return h + b.mlp.dense_4h_to_h(gelu_tanh(b.mlp.dense_h_to_4h(b.post_attention_layernorm(h))))

    def logits(self, tokens, p, n, cache=None):
        t = self.transformer
        h = t.word_embeddings_layernorm(t.word_embeddings.weight[tokens])
        for li in range(len(t.h)):
            h = self.layer(li, h, p, cache)
        return t.ln_f(h) @ self.lm_weight().t()


def layer_types(cfg):
    """Gemma 3: layer_types, else sliding_window_pattern (default 6): every pattern-th layer full.
    Qwen3: as Qwen2 (llama_ref.layer_windows)."""
    L = cfg["num_hidden_layers"]
    if cfg.get("layer_types"):
        return cfg["layer_types"]
    pattern = cfg.get("sliding_window_pattern", 6)
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(L)]


class QwenGemma(Base):
    """Qwen3ForCausalLM and Gemma3ForCausalLM: the Llama layout with per-head q/k norms; Gemma adds
    (1 + w) norms, sandwich norms, GeGLU, embedding scale, its attention scale, local RoPE for
    sliding layers and soft-capping."""

    def __init__(self, cfg, dtype):
        super().__init__()
        self.cfg, self.dtype = cfg, dtype
        self.gemma = cfg["architectures"][0] == "Gemma3ForCausalLM"
        C, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
        NH = cfg["num_attention_heads"]
        NKV = cfg.get("num_key_value_heads", NH)
        HD = cfg.get("head_dim") or (256 if self.gemma else C // NH)
        F = cfg["intermediate_size"]
        self.NH, self.NKV, self.HD = NH, NKV, HD
        eps = cfg.get("rms_norm_eps", 1e-6)
        bias = cfg.get("attention_bias", False)
        g = self.gemma

        def norm(n):
            return RMSNorm(n, eps, dtype, one_plus=g)

        m = self.model = nn.Module()
        m.embed_tokens = nn.Module()
        m.embed_tokens.weight = nn.Parameter(torch.zeros(V, C, dtype=dtype))
        m.layers = nn.ModuleList()
        for _ in range(L):
            b = nn.Module()
            b.input_layernorm = norm(C)
            b.self_attn = nn.Module()
            a = b.self_attn
            a.q_proj, a.k_proj = Lin(NH * HD, C, bias, dtype), Lin(NKV * HD, C, bias, dtype)
            a.v_proj, a.o_proj = Lin(NKV * HD, C, bias, dtype), Lin(C, NH * HD, bias, dtype)
            a.q_norm, a.k_norm = norm(HD), norm(HD)
            b.post_attention_layernorm = norm(C)
            if g:
                b.pre_feedforward_layernorm, b.post_feedforward_layernorm = norm(C), norm(C)
            b.mlp = nn.Module()
            b.mlp.gate_proj, b.mlp.up_proj, b.mlp.down_proj = Lin(F, C, False, dtype), Lin(F, C, False, dtype), Lin(C, F, False, dtype)
            m.layers.append(b)
        m.norm = norm(C)
        self.tied = bool(cfg.get("tie_word_embeddings", g))
        if not self.tied:
            self.lm_head = nn.Module()
            self.lm_head.weight = nn.Parameter(torch.zeros(V, C, dtype=dtype))
        if g:
            w = cfg.get("sliding_window", 4096)
            self.windows = [w if t == "sliding_attention" else 0 for t in layer_types(cfg)]
            self.scale = cfg.get("query_pre_attn_scalar", 256) ** -0.5
        else:
            self.windows = llama_ref.layer_windows(dict(cfg, architectures=["Qwen2ForCausalLM"]))
            self.scale = 1.0 / math.sqrt(HD)
        self.lora_config = None

    def lm_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def rope(self, p, n, local):
        cfg = self.cfg
        if local:
            cfg = dict(cfg, rope_theta=cfg.get("rope_local_base_freq", 10000.0), rope_scaling=None)
        elif self.gemma:
            cfg = dict(cfg, rope_theta=cfg.get("rope_theta", 1000000.0))
        cfg = dict(cfg, head_dim=self.HD)
        inv, af = rope_inv_freq(cfg, p + n)
        freqs = torch.arange(p, p + n, dtype=torch.float32)[:, None] * torch.tensor(inv, dtype=torch.float32)[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * af).to(self.dtype), (emb.sin() * af).to(self.dtype)

    def layer(self, li, h, p, cache):
        b = self.model.layers[li]
        a = b.self_attn
        B, n, _ = h.shape
        window = self.windows[li]
        cos, sin = self.rope(p, n, self.gemma and window > 0)
        x = b.input_layernorm(h)
        q = a.q_norm(a.q_proj(x).view(B, n, self.NH, self.HD)).transpose(1, 2)
        k = a.k_norm(a.k_proj(x).view(B, n, self.NKV, self.HD)).transpose(1, 2)
        v = a.v_proj(x).view(B, n, self.NKV, self.HD).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k, v = extend(cache, li, k, v)
        rep = self.NH // self.NKV
        S = k.shape[2]
        qpos, kpos = torch.arange(p, p + n)[:, None], torch.arange(S)[None, :]
        mask = kpos <= qpos
        if window:
            mask = mask & (kpos > qpos - window)
        y = softmax_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), self.scale, mask,
                              softcap=self.cfg.get("attn_logit_softcapping") if self.gemma else None)
        o = a.o_proj(y.transpose(1, 2).reshape(B, n, self.NH * self.HD))
        mlp = b.mlp
        if self.gemma:
            h = h + b.post_attention_layernorm(o)
            f = mlp.down_proj(gelu_tanh(mlp.gate_proj(b.pre_feedforward_layernorm(h))) * mlp.up_proj(b.pre_feedforward_layernorm(h)))
            return h + b.post_feedforward_layernorm(f)
        h = h + o
        x2 = b.post_attention_layernorm(h)
        return h + mlp.down_proj(Fn.silu(mlp.gate_proj(x2)) * mlp.up_proj(x2))

    def logits(self, tokens, p, n, cache=None):
        h = self.model.embed_tokens.weight[tokens]
        if self.gemma:
            h = h * torch.tensor(self.cfg["hidden_size"] ** 0.5, dtype=torch.float32).to(self.dtype)
        for li in range(len(self.model.layers)):
            h = self.layer(li, h, p, cache)
        logits = self.model.norm(h) @ self.lm_weight().t()
        cap = self.cfg.get("final_logit_softcapping") if self.gemma else None
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits


def extend(cache, li, k, v):
    """Appends k, v [B, NKV, n, HD] to layer li's cache (when there is one); returns all keys / values."""
    if cache is None:
        return k, v
    if cache[0][li] is not None:
        k = torch.cat((cache[0][li], k), dim=2)
        v = torch.cat((cache[1][li], v), dim=2)
    cache[0][li], cache[1][li] = k, v
    return k, v


CLASSES = {"GPT2LMHeadModel": GPT2, "BloomForCausalLM": Bloom, "Qwen3ForCausalLM": QwenGemma, "Gemma3ForCausalLM": QwenGemma}


def from_pretrained(path, dtype=torch.float32):
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    arch = cfg["architectures"][0]
    if arch not in CLASSES:
        return llama_ref.Model.from_pretrained(path, dtype)
    m = CLASSES[arch](cfg, dtype)
    m.load_weights(load_folder(path))
    return m


@torch.no_grad()
def greedy(model, prompt, max_new):
    """Greedy generation with a KV cache (the prompt in one forward, then a token per forward)."""
    L = len(model.transformer.h) if hasattr(model, "transformer") else len(model.model.layers)
    cache = ([None] * L, [None] * L)
    logits = model.logits(torch.tensor(prompt)[None], 0, len(prompt), cache)[0, -1]
    pos = len(prompt)
    ids, margins, rows = [], [], []
    for step in range(max_new):
        top2 = torch.topk(logits, 2)
        nxt = int(torch.argmax(logits))
        ids.append(nxt)
        margins.append(float(top2.values[0] - top2.values[1]))
        rows.append([float(x) for x in logits])
        if step + 1 < max_new:
            logits = model.logits(torch.tensor([[nxt]]), pos, 1, cache)[0, -1]
            pos += 1
    return {"ids": ids, "margins": margins, "logits": rows}
