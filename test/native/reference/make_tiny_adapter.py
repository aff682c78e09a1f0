#!/usr/bin/env python3
"""Writes a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) for a
tiny model, with random A and NON-ZERO B so that gradient checks see non-zero dL/dA (PEFT's
B = 0 initialisation would make them vanish).

  /usr/bin/python3 make_tiny_adapter.py --model DIR --out DIR [--rank 4] [--alpha 8]
        [--dropout 0] [--targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj] [--seed 0]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import Model, write_adapter  # noqa: E402

ALL = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--targets", default=ALL)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = Model.from_pretrained(a.model)
    m.enable_lora(a.rank, a.alpha, a.dropout, a.targets.split(","))
    write_adapter(a.out, m, np.random.default_rng(a.seed))
    print(a.out)


if __name__ == "__main__":
    main()
