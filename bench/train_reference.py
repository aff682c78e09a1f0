#!/usr/bin/env python3
"""PyTorch peer for bench/train-bench.ts: trains the same Hugging Face model folder with the
project's PyTorch reference implementation (test/native/reference/llama_ref.py, float32) and
prints one JSON line per optimizer step with its wall time, so the benchmark compares
tuner-train with eager PyTorch on the same CPU, threads, batch and sequence length.

  /usr/bin/python3 bench/train_reference.py --model DIR --method full|lora|sgd --threads N
      --batch B --seq T --steps S [--rank 8] [--alpha 16] [--lr 1e-4] [--prompt-fraction F]
      [--quantized QUANT_DIR | --int8-base] [--bf16]

Each step is what tuner-train does per step: forward, masked cross-entropy, backward,
clip_grad_norm_(1.0), AdamW update, zero grads. --method sgd is a full fine-tune with plain SGD
and no clipping, the peer of LOMO (what PyTorch runs for the same update, holding every
gradient); --quantized puts the dequantized decoder linears of a quantized folder
(tuner-export quantize) under LoRA, the peer of QLoRA on a CPU without bitsandbytes; --int8-base
does the same for an int8 base on any architecture (GPT-2, Bloom: the k-bit recipe), every
decoder linear round-tripped through the engine's int8 rule here. --bf16 runs
the forward under torch.autocast("cpu", bfloat16) (weights and optimizer stay float32, matmuls
in bf16 through oneDNN: PyTorch's fastest setting on a CPU with AVX512_BF16 or AMX). The start
line names the kernels PyTorch runs: its CPU capability and OpenBLAS's core. Every step
line carries the process's peak resident memory so far (ru_maxrss). Token values do not change the work done,
so the batch is random ids; the first F of each row's targets are masked out as a prompt
(the loss ignores them, as Hugging Face's labels=-100 do), the rest are trained.
"""
import argparse
import ctypes
import json
import os
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "native", "reference"))
import arch_ref  # noqa: E402
from llama_ref import load_folder  # noqa: E402
from train_steps_reference import dequantize, int8_base  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# Every projection of GPT-2 and Bloom, under PEFT's names.
TARGETS_BY_ARCH = {"GPT2LMHeadModel": ["c_attn", "c_proj", "c_fc"],
                   "BloomForCausalLM": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]}


def prompt_tokens(seq, fraction):
    """How many leading targets of each row are prompt (masked); the same rounding as train-bench.ts."""
    return int(seq * fraction + 0.5)


def cpu_capability():
    """The vector instruction set PyTorch's own kernels run (AVX2, AVX512, ...)."""
    backends_cpu = getattr(torch.backends, "cpu", None)
    if backends_cpu is not None and hasattr(backends_cpu, "get_cpu_capability"):
        return backends_cpu.get_cpu_capability()
    for line in torch.__config__.show().splitlines():  # PyTorch < 2.0
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "unknown"


def openblas_core():
    """The kernel set OpenBLAS picked (the BLAS Debian's torch calls), or None without OpenBLAS."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--method", choices=["full", "lora", "sgd"], required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--prompt-fraction", type=float, default=0.0)
    p.add_argument("--quantized")
    p.add_argument("--int8-base", action="store_true")
    p.add_argument("--bf16", action="store_true")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = arch_ref.from_pretrained(a.model, dtype=torch.float32)  # Llama family, GPT-2, Bloom
    if a.quantized:
        quant = load_folder(a.quantized)
        with torch.no_grad():
            for name, prm in model.named_parameters():
                if name.startswith("model.layers.") and name.endswith("_proj.weight") and (name + ".absmax" in quant or name + ".row_scale" in quant):
                    prm.copy_(torch.from_numpy(dequantize(quant, name)))
        del quant
    elif a.int8_base:
        int8_base(model)
    if a.method == "lora":
        model.enable_lora(a.rank, a.alpha, 0.0, TARGETS_BY_ARCH.get(model.cfg["architectures"][0], TARGETS), seed=0)
    model.train()
    params = [p for _, p in model.trainable()]
    if a.method == "sgd":
        opt = torch.optim.SGD(params, lr=a.lr)
    else:
        opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    vocab = model.cfg["vocab_size"]
    print(json.dumps({"type": "start", "params": sum(p.numel() for p in model.parameters()),
                      "trainable_params": sum(p.numel() for p in params), "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "cpu_capability": cpu_capability(),
                      "blas_core": openblas_core(), "precision": "bf16 autocast" if a.bf16 else "fp32"}), flush=True)
    gen = torch.Generator().manual_seed(1)
    for step in range(1, a.steps + 1):
        ids = torch.randint(0, vocab, (a.batch, a.seq + 1), generator=gen)
        tokens, targets = ids[:, :-1], ids[:, 1:]
        mask = torch.ones(a.batch, a.seq, dtype=torch.int64)
        mask[:, :prompt_tokens(a.seq, a.prompt_fraction)] = 0
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            loss, _ = model(tokens, targets, mask)
        loss.backward()
        if a.method != "sgd":
            torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        ms = (time.perf_counter() - t0) * 1000
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"type": "step", "step": step, "loss": float(loss), "ms": ms,
                          "tokens": a.batch * a.seq, "peak_memory_bytes": peak}), flush=True)


if __name__ == "__main__":
    main()
