#!/usr/bin/env python3
"""Writes a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) for a
tiny model, with random A and NON-ZERO B so that gradient checks see non-zero dL/dA (PEFT's
B = 0 initialisation would make them vanish).

  /usr/bin/python3 make_tiny_adapter.py --model DIR --out DIR [--rank 4] [--alpha 8]
        [--dropout 0] [--targets q_proj,k_proj,...] [--seed 0]   (default targets: every projection)
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch_ref  # noqa: E402
from llama_ref import write_adapter  # noqa: E402

ALL = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
# Every projection of the other architectures, under the names PEFT matches.
ALL_BY_ARCH = {"GPT2LMHeadModel": "c_attn,c_proj,c_fc", "BloomForCausalLM": "query_key_value,dense,dense_h_to_4h,dense_4h_to_h"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--targets", help="default: every projection of the architecture")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = arch_ref.from_pretrained(a.model)
    targets = a.targets or ALL_BY_ARCH.get(m.cfg["architectures"][0], ALL)
    m.enable_lora(a.rank, a.alpha, a.dropout, targets.split(","))
    write_adapter(a.out, m, np.random.default_rng(a.seed))
    if m.cfg["architectures"][0] == "GPT2LMHeadModel":  # PEFT marks LoRA on Conv1D layers so
        path = os.path.join(a.out, "adapter_config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["fan_in_fan_out"] = True
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
    print(a.out)


if __name__ == "__main__":
    main()
