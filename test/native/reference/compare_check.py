#!/usr/bin/env python3
"""Compares tuner-check's output (loss, logits, every gradient) with the PyTorch reference
computed in float64 on the same weights and batch. Prints one JSON report on stdout and exits
1 when any tensor is off by more than the tolerance.

  /usr/bin/python3 compare_check.py --model DIR --batch batch.json --native result.safetensors
        [--adapter DIR] [--tol 1e-4]
  /usr/bin/python3 compare_check.py --jobs jobs.json [--tol 1e-4]   (many at once)

Error measure per tensor: max |native - ref| / max |ref| (the error relative to the tensor's
scale; element-wise relative error is meaningless for gradients that cross zero). The engine
computes in float32, so against a float64 oracle errors are ~1e-6; the default tolerance 1e-4
leaves room for summation-order differences while catching any wrong formula (those give 1e-2+).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
import arch_ref  # noqa: E402


def reference(model_dir, batch, adapter):
    m = arch_ref.from_pretrained(model_dir, dtype=torch.float64)
    if adapter:
        m.load_adapter(adapter)
    B, T = batch["B"], batch["T"]
    tok = torch.tensor(batch["tokens"], dtype=torch.long).view(B, T)
    tgt = torch.tensor(batch["targets"], dtype=torch.long).view(B, T)
    mask = torch.tensor(batch["loss_mask"], dtype=torch.float64).view(B, T)
    loss, logits = m(tok, tgt, mask)
    loss.backward()
    out = {"loss": loss.detach().reshape(1).numpy(), "logits": logits.detach().numpy()}
    for name, p in m.trainable():
        out["grad." + name] = p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape))
    return out


def compare(model, batch, native, adapter, tol):
    ref = reference(model, batch, adapter)
    nat = safetensors_np.load(native)
    missing = sorted(set(ref) - set(nat))
    extra = sorted(set(nat) - set(ref))
    errors = {}
    for name, r in ref.items():
        if name not in nat:
            continue
        n = nat[name].astype(np.float64)
        if n.shape != r.shape:
            errors[name] = {"shape": [list(n.shape), list(r.shape)], "rel": float("inf")}
            continue
        scale = float(np.abs(r).max())
        abs_err = float(np.abs(n - r).max())
        errors[name] = {"abs": abs_err, "rel": abs_err / scale if scale > 0 else abs_err, "scale": scale}
    grads = {k: v for k, v in errors.items() if k.startswith("grad.")}
    worst = max(grads.items(), key=lambda kv: kv[1]["rel"]) if grads else ("", {"rel": 0.0})
    zero_grads = sorted(k for k, v in grads.items() if v.get("scale", 1) == 0)
    ok = (not missing and not extra and all(v["rel"] <= tol for v in errors.values()))
    return {
        "ok": ok,
        "tol": tol,
        "loss": {"native": float(nat["loss"][0]), "ref": float(ref["loss"][0]), **errors["loss"]},
        "logits": errors.get("logits"),
        "grads": len(grads),
        "grad_max_rel": worst[1]["rel"],
        "grad_max_abs": max((v.get("abs", 0) for v in grads.values()), default=0.0),
        "worst_grad": worst[0],
        "zero_grads": zero_grads,
        "missing": missing,
        "extra": extra,
        "failures": {k: v for k, v in errors.items() if v["rel"] > tol},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--batch")
    ap.add_argument("--native")
    ap.add_argument("--adapter")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--jobs", help="JSON file: {name: {model, batch, native, adapter?}}; prints {name: report}")
    a = ap.parse_args()
    if a.jobs:
        # One process for many comparisons: importing torch dominates a single run.
        with open(a.jobs) as f:
            jobs = json.load(f)
        out = {}
        for name, j in jobs.items():
            with open(j["batch"]) as f:
                batch = json.load(f)
            try:
                out[name] = compare(j["model"], batch, j["native"], j.get("adapter"), a.tol)
            except Exception as e:  # reported per job so one broken case does not hide the others
                out[name] = {"ok": False, "error": repr(e)}
        print(json.dumps(out))
        sys.exit(0 if all(r["ok"] for r in out.values()) else 1)
    if not (a.model and a.batch and a.native):
        ap.error("--model, --batch and --native are required (or --jobs)")
    with open(a.batch) as f:
        batch = json.load(f)
    report = compare(a.model, batch, a.native, a.adapter, a.tol)
    print(json.dumps(report))
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
