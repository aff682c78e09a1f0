"""PyTorch reference of the Llama family (Llama, Mistral, Qwen2) with Hugging Face tensor
names, written from the published formulas (no `transformers` import), used as the oracle for
the native engine: same safetensors in, logits / loss / every gradient out.

  from llama_ref import Model
  m = Model.from_pretrained(dir, dtype=torch.float64)
  loss, logits = m(tokens, targets, loss_mask)       # [B,T] int64, [B,T] int64, [B,T] 0/1
  m.enable_lora(rank=8, alpha=16, dropout=0.0, target_modules=["q_proj", ...], seed=0)
  m.load_adapter(dir)                                 # PEFT adapter_model.safetensors

Parameter names are the Hugging Face ones (model.layers.0.self_attn.q_proj.weight, LoRA:
model.layers.0.self_attn.q_proj.lora_A.weight; PEFT prefixes "base_model.model.").
Sliding-window attention (Mistral, Qwen2) follows transformers: see layer_windows().
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
import safetensors_np  # noqa: E402

SUPPORTED = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM")
LORA_PREFIX = "base_model.model."


def rope_inv_freq(cfg, seq_len):
    """(inv_freq [HD/2] float64, attention_factor) as transformers' modeling_rope_utils computes
    them for rope_scaling none / linear / dynamic / llama3 / yarn. `dynamic` is evaluated for a
    forward of seq_len positions (transformers caches the largest length seen so far; a fresh
    model and one sequence length, as here, give the same numbers)."""
    base = float(cfg.get("rope_theta", 10000.0))
    dim = head_dim(cfg)
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    exps = np.arange(0, dim, 2, dtype=np.float64) / dim
    max_pos = cfg["max_position_embeddings"]
    if kind in ("default", "xpos"):  # xPos keeps RoPE's frequencies and scales q / k (xpos_scales)
        return 1.0 / base ** exps, 1.0
    factor = float(rs["factor"])
    if kind == "linear":
        return 1.0 / base ** exps / factor, 1.0
    if kind == "dynamic":
        sl = seq_len if seq_len > max_pos else max_pos
        b = base * ((factor * sl / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return 1.0 / b ** exps, 1.0
    if kind == "llama3":
        inv = 1.0 / base ** exps
        old = rs["original_max_position_embeddings"]
        lo, hi = rs["low_freq_factor"], rs["high_freq_factor"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        out = np.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wl < high_wl) & ~(wl > low_wl)
        return np.where(medium, smoothed, out), 1.0
    if kind == "yarn":
        if "original_max_position_embeddings" in rs:
            orig = rs["original_max_position_embeddings"]
            factor = max_pos / orig
        else:
            orig = max_pos

        def mscale(s, m=1.0):
            return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1.0

        attn = rs.get("attention_factor")
        if attn is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                attn = mscale(factor, rs["mscale"]) / mscale(factor, rs["mscale_all_dim"])
            else:
                attn = mscale(factor)
        beta_fast = rs.get("beta_fast") or 32.0
        beta_slow = rs.get("beta_slow") or 1.0

        def corr_dim(rot):
            return (dim * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(base))

        low, high = corr_dim(beta_fast), corr_dim(beta_slow)
        if rs.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0, 1)
        extra = 1 - ramp
        pos = base ** exps
        inv = (1.0 / (factor * pos)) * (1 - extra) + (1.0 / pos) * extra
        return inv, float(attn)
    raise ValueError(f"unsupported rope_scaling type {kind}")


def xpos_scales(cfg, positions):
    """xPos (Sun et al. 2022) as torchscale's XPOS computes it: per dimension pair i,
    zeta_i = (2i + 0.4 HD) / (1.4 HD), raised to position / scale_base for queries and to
    -position / scale_base for keys; returned [n, HD] in the rotate_half layout (pair i is
    dimensions i and i + HD/2), or None without xPos. torchscale centres the positions of a
    forward (min_pos = -len // 2); only the difference of a query's and a key's positions
    reaches a score, so callers may pass centred or plain positions."""
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) != "xpos":
        return None
    dim = head_dim(cfg)
    zeta = (torch.arange(0, dim, 2, dtype=torch.float64) + 0.4 * dim) / (1.4 * dim)
    scale = zeta[None, :] ** (torch.as_tensor(positions, dtype=torch.float64)[:, None] / float(rs.get("scale_base", 512)))
    scale = torch.cat((scale, scale), dim=-1)
    return scale, 1.0 / scale


def layer_windows(cfg):
    """The attention window of every layer, 0 = full causal, as transformers decides it:
    MistralConfig windows every layer with sliding_window (4096 when the key is absent, none when
    null); Qwen2Config only with use_sliding_window, in the layers layer_types calls
    "sliding_attention" (default: index >= max_window_layers, itself 28 by default)."""
    L = cfg["num_hidden_layers"]
    arch = cfg["architectures"][0]
    if arch == "MistralForCausalLM":
        w = cfg.get("sliding_window", 4096)
        return [w or 0] * L
    if arch != "Qwen2ForCausalLM" or not cfg.get("use_sliding_window", False):
        return [0] * L
    w = cfg.get("sliding_window", 4096) or 0
    types = cfg.get("layer_types")
    if types is None:
        first = cfg.get("max_window_layers", 28)
        types = ["sliding_attention" if w and i >= first else "full_attention" for i in range(L)]
    return [w if t == "sliding_attention" else 0 for t in types]


def attention_mask(T, window):
    """[T, T] bool, True where query i may attend key j: causal (j <= i) and, with a window W,
    masking_utils' sliding_window_overlay (j > i - W): W keys, the query's own included."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    mask = j <= i
    if window:
        mask = mask & (j > i - window)
    return mask


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


class Lin(nn.Module):
    """y = x W^T (+ b) (+ LoRA: dropout(x) A^T B^T * alpha / r), PEFT's formula."""

    def __init__(self, out_f, in_f, bias, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_f, in_f, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_f, dtype=dtype)) if bias else None
        self.lora_A = None
        self.lora_B = None
        self.scaling = 0.0
        self.dropout = 0.0

    def add_lora(self, r, alpha, dropout, gen):
        dtype = self.weight.dtype
        out_f, in_f = self.weight.shape
        self.lora_A = nn.Module()
        self.lora_B = nn.Module()
        bound = 1.0 / math.sqrt(in_f)  # kaiming_uniform_(a=sqrt(5)) as PEFT initialises A
        a = (torch.rand(r, in_f, generator=gen, dtype=torch.float64) * 2 - 1) * bound
        self.lora_A.weight = nn.Parameter(a.to(dtype))
        self.lora_B.weight = nn.Parameter(torch.zeros(out_f, r, dtype=dtype))
        self.scaling = alpha / r
        self.dropout = dropout

    def forward(self, x):
        y = Fn.linear(x, self.weight, self.bias)
        if self.lora_A is not None:
            xd = Fn.dropout(x, self.dropout, self.training) if self.dropout > 0 else x
            y = y + (xd @ self.lora_A.weight.t() @ self.lora_B.weight.t()) * self.scaling
        return y


class RMSNorm(nn.Module):
    def __init__(self, n, eps, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=dtype))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Attention(nn.Module):
    def __init__(self, cfg, qkv_bias, o_bias, dtype, window):
        super().__init__()
        self.window = window
        C, NH, NKV, HD = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
        self.NH, self.NKV, self.HD = NH, NKV, HD
        self.q_proj = Lin(NH * HD, C, qkv_bias, dtype)
        self.k_proj = Lin(NKV * HD, C, qkv_bias, dtype)
        self.v_proj = Lin(NKV * HD, C, qkv_bias, dtype)
        self.o_proj = Lin(C, NH * HD, o_bias, dtype)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.NH, self.HD).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.NKV, self.HD).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.NKV, self.HD).transpose(1, 2)
        # xPos: cos / sin come as (queries', keys') pairs of scaled tables.
        (cq, ck), (sq, sk) = (cos, sin) if isinstance(cos, tuple) else ((cos, cos), (sin, sin))
        q, k = apply_rope(q, cq, sq), apply_rope(k, ck, sk)
        rep = self.NH // self.NKV
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.HD)
        mask = attention_mask(T, self.window)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.NH * self.HD)
        return self.o_proj(y)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


class Mlp(nn.Module):
    def __init__(self, C, F, bias, dtype):
        super().__init__()
        self.gate_proj = Lin(F, C, bias, dtype)
        self.up_proj = Lin(F, C, bias, dtype)
        self.down_proj = Lin(C, F, bias, dtype)

    def forward(self, x):
        return self.down_proj(Fn.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg, dtype, window):
        super().__init__()
        arch = cfg["architectures"][0]
        llama = arch == "LlamaForCausalLM"
        qkv_bias = arch == "Qwen2ForCausalLM" or (llama and cfg.get("attention_bias", False))
        o_bias = llama and cfg.get("attention_bias", False)
        mlp_bias = llama and cfg.get("mlp_bias", False)
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps, dtype)
        self.self_attn = Attention(cfg, qkv_bias, o_bias, dtype, window)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], eps, dtype)
        self.mlp = Mlp(cfg["hidden_size"], cfg["intermediate_size"], mlp_bias, dtype)

    def forward(self, h, cos, sin):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class Decoder(nn.Module):
    def __init__(self, cfg, dtype):
        super().__init__()
        self.embed_tokens = nn.Module()
        self.embed_tokens.weight = nn.Parameter(torch.zeros(cfg["vocab_size"], cfg["hidden_size"], dtype=dtype))
        self.layers = nn.ModuleList([Layer(cfg, dtype, w) for w in layer_windows(cfg)])
        self.norm = RMSNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6), dtype)


class Model(nn.Module):
    def __init__(self, cfg, dtype=torch.float32):
        super().__init__()
        arch = (cfg.get("architectures") or ["?"])[0]
        if arch not in SUPPORTED:
            raise ValueError(f"unsupported architecture {arch}")
        self.cfg = cfg
        self.dtype = dtype
        self.model = Decoder(cfg, dtype)
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        if not self.tied:
            self.lm_head = nn.Module()
            self.lm_head.weight = nn.Parameter(torch.zeros(cfg["vocab_size"], cfg["hidden_size"], dtype=dtype))
        self.lora_config = None

    @staticmethod
    def from_pretrained(path, dtype=torch.float32):
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        m = Model(cfg, dtype)
        tensors = load_folder(path)
        m.load_weights(tensors)
        return m

    def load_weights(self, tensors):
        params = dict(self.named_parameters())
        for name, p in params.items():
            if ".lora_" in name:
                continue
            if name not in tensors:
                raise KeyError(f"missing tensor {name}")
            with torch.no_grad():
                p.copy_(torch.from_numpy(np.asarray(tensors[name], dtype=np.float32)).to(self.dtype))

    def lm_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, tokens, targets=None, loss_mask=None):
        B, T = tokens.shape
        inv, attn_factor = rope_inv_freq(self.cfg, T)
        # transformers computes cos/sin in float32 from float32 inv_freq and positions.
        freqs = torch.arange(T, dtype=torch.float32)[:, None] * torch.tensor(inv, dtype=torch.float32)[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = (emb.cos() * attn_factor).to(self.dtype)
        sin = (emb.sin() * attn_factor).to(self.dtype)
        xs = xpos_scales(self.cfg, torch.arange(-T // 2, -T // 2 + T))  # torchscale's centred positions
        if xs is not None:
            xq, xk = (s.to(self.dtype) for s in xs)
            cos, sin = (cos * xq, cos * xk), (sin * xq, sin * xk)
        h = self.model.embed_tokens.weight[tokens]
        for layer in self.model.layers:
            h = layer(h, cos, sin)
        h = self.model.norm(h)
        logits = h @ self.lm_weight().t()
        if targets is None:
            return None, logits
        ce = Fn.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), reduction="none")
        m = loss_mask.reshape(-1).to(ce.dtype)
        loss = (ce * m).sum() / m.sum().clamp(min=1)
        return loss, logits

    def lora_modules(self, targets):
        for name, mod in self.named_modules():
            if isinstance(mod, Lin) and name.split(".")[-1] in targets:
                yield name, mod

    def enable_lora(self, rank, alpha, dropout, target_modules, seed=0):
        for p in self.parameters():
            p.requires_grad_(False)
        gen = torch.Generator().manual_seed(seed)
        for _, mod in self.lora_modules(target_modules):
            mod.add_lora(rank, alpha, dropout, gen)
        self.lora_config = {"r": rank, "lora_alpha": alpha, "lora_dropout": dropout,
                            "target_modules": list(target_modules)}

    def load_adapter(self, path):
        """Reads a PEFT adapter folder and enables LoRA with its config and weights."""
        with open(os.path.join(path, "adapter_config.json")) as f:
            ac = json.load(f)
        self.enable_lora(ac["r"], ac["lora_alpha"], ac.get("lora_dropout", 0.0), ac["target_modules"])
        tensors = safetensors_np.load(os.path.join(path, "adapter_model.safetensors"))
        for name, p in self.named_parameters():
            if ".lora_" in name:
                with torch.no_grad():
                    p.copy_(torch.from_numpy(tensors[LORA_PREFIX + name]).to(self.dtype))

    def trainable(self):
        """(Hugging Face / PEFT name, parameter) of every trainable tensor."""
        out = []
        for name, p in self.named_parameters():
            if p.requires_grad:
                out.append((LORA_PREFIX + name if ".lora_" in name else name, p))
        return out


def load_folder(path):
    """All tensors of a model folder: model.safetensors or the sharded index."""
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            wm = json.load(f)["weight_map"]
        out = {}
        for fname in sorted(set(wm.values())):
            out.update(safetensors_np.load(os.path.join(path, fname)))
        return out
    return safetensors_np.load(os.path.join(path, "model.safetensors"))


def write_adapter(path, model, rng, b_scale=0.1):
    """A PEFT adapter folder for `model` (after enable_lora) with random A and non-zero B, so a
    test sees non-zero gradients for both (PEFT's B = 0 init gives dL/dA = 0)."""
    os.makedirs(path, exist_ok=True)
    tensors = {}
    for name, p in model.named_parameters():
        if ".lora_" in name:
            scale = b_scale if ".lora_B" in name else 1.0 / math.sqrt(p.shape[1])
            tensors[LORA_PREFIX + name] = (scale * rng.standard_normal(tuple(p.shape))).astype(np.float32)
    lc = model.lora_config
    cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lc["r"], "lora_alpha": lc["lora_alpha"],
           "lora_dropout": lc["lora_dropout"], "target_modules": lc["target_modules"], "bias": "none",
           "fan_in_fan_out": False, "inference_mode": False, "base_model_name_or_path": None}
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    safetensors_np.save(os.path.join(path, "adapter_model.safetensors"), tensors, "f32")
