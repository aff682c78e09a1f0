#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with an NVIDIA GPU (docs/cuda.md): builds the
# engine with CUDA into build/gpu-check (only what the check runs), runs the GPU tests
# (scripts/test-gpu.sh) and the GPU benchmarks (scripts/bench-gpu.sh), and ends with a compact
# report: device, tests passed/failed, each benchmark's headline lines. Exit 0 only when the
# build, every GPU test and every benchmark succeeded.
#   bash scripts/gpu-check.sh [--reps N]   (TUNER_GPU_CHECK_DIR: another build folder)
set -uo pipefail
cd "$(dirname "$0")/.."
build="${TUNER_GPU_CHECK_DIR:-build/gpu-check}"
log="$build/gpu-check.log"
mkdir -p "$build"
nvcc="${CUDACXX:-}"
[ -n "$nvcc" ] || for c in "${CUDA_PATH:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do [ -x "$c" ] && { nvcc="$c"; break; }; done
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
start=$SECONDS
if ! cmake -S native -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTUNER_ENABLE_CUDA=ON ${nvcc:+-DCMAKE_CUDA_COMPILER="$nvcc"} "${launcher[@]}" >"$log" 2>&1; then
  tail -20 "$log"; echo "gpu-check: FAILED: cmake (log: $log)"; exit 1
fi
if ! grep -q "Tuner CUDA backend: on" "$log"; then
  grep "Tuner CUDA backend" "$log"; echo "gpu-check: FAILED: no CUDA toolkit found (set CUDACXX to nvcc)"; exit 1
fi
targets=(tuner-cuda-info test_cuda_device)
for f in native/test/cuda/test_cuda_*.cu native/bench/bench_cuda_*.cu; do
  [ -e "$f" ] || continue
  n=$(basename "$f" .cu)
  targets+=("${n/bench_cuda_/tuner-bench-cuda-}")
done
if ! cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}" >>"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -30; echo "gpu-check: FAILED: build (log: $log)"; exit 1
fi
build_s=$((SECONDS - start))
TUNER_NATIVE_BUILD_DIR="$build" bash scripts/test-gpu.sh >"$build/test-gpu.txt" 2>&1
test_rc=$?
TUNER_NATIVE_BUILD_DIR="$build" bash scripts/bench-gpu.sh "$@" >"$build/bench-gpu.txt" 2>&1
bench_rc=$?

echo "== gpu-check report (build ${build_s} s; full logs in $build/)"
sed -n 's/^GPU [0-9]*: /device: /p; s/^no CUDA device: /device: none: /p' "$build/test-gpu.txt" | head -4
grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|FAILED|tests failed' "$build/test-gpu.txt" | sed 's/  */ /g'
grep -vE '^\s*$' "$build/bench-gpu.txt" | grep -E '^==|TFLOP/s|GB/s|FAILED|failed' | head -60
echo "gpu-check: tests $([ $test_rc -eq 0 ] && echo passed || echo FAILED), benchmarks $([ $bench_rc -eq 0 ] && echo ran || echo FAILED)"
[ $test_rc -eq 0 ] && [ $bench_rc -eq 0 ]
