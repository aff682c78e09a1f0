# shellcheck shell=bash
# Sourced by test-gpu.sh and bench-gpu.sh: $build is the engine build ($TUNER_NATIVE_BUILD_DIR,
# default build/native); require_cuda_device <what> prints the devices (tuner-cuda-info) or
# fails, saying why: no build, or no usable CUDA device.
build="${TUNER_NATIVE_BUILD_DIR:-build/native}"
require_cuda_device() {
  if [ ! -x "$build/tuner-cuda-info" ]; then
    echo "$1: FAILED: $build/tuner-cuda-info not found; build the engine first (npm run build:native, or set TUNER_NATIVE_BUILD_DIR)"
    exit 1
  fi
  if ! "$build/tuner-cuda-info"; then
    echo "$1: FAILED: no usable CUDA device here, so nothing can run on a GPU (it needs an NVIDIA GPU and driver; docs/cuda.md)"
    exit 1
  fi
}
