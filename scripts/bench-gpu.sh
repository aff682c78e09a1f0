#!/usr/bin/env bash
# npm run bench:gpu: what runs on the GPU today (docs/cuda.md), measured on this machine's CUDA
# device: the device and its dense bf16 peak (tuner-cuda-info), then every tuner-bench-cuda-*
# in the build: the tensor-core GEMMs on a ~1B Llama's training shapes (TFLOP/s and share of the
# peak, i.e. MFU of the GEMMs alone; quantized prefill and decode GEMV against copy bandwidth) and
# flash attention forward/backward (TFLOP/s), and whole training steps of a ~1B Llama, full and LoRA
# (tokens/s, MFU, each op family's share of a step; tuner-bench-cuda-train). Options after `--` go
# to every benchmark (e.g. -- --reps 10). Fails, saying so, without a device.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/gpu-common.sh
require_cuda_device bench:gpu
rc=0
found=0
for b in "$build"/tuner-bench-cuda-*; do
  [ -x "$b" ] || continue
  found=1
  echo
  echo "== $(basename "$b")"
  "$b" "$@" || { echo "bench:gpu: $(basename "$b") failed (exit $?)"; rc=1; }
done
if [ $found -eq 0 ]; then
  echo "bench:gpu: FAILED: no tuner-bench-cuda-* in $build (built without CUDA? see docs/cuda.md)"
  exit 1
fi
exit $rc
