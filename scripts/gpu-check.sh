#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with an NVIDIA GPU (docs/cuda.md), time-boxed
# to about 8 minutes on an H100 (TUNER_GPU_CHECK_BUDGET_S, default 480 s; each part also has its
# own limit, the build's TUNER_GPU_CHECK_BUILD_S, default 300 s). Parts, in order, each PASS / FAIL / TIMEOUT / SKIP in the closing report:
#   device     nvidia-smi (name, compute capability, memory, driver)
#   build      cmake Release with CUDA into build/gpu-check, for this GPU's architecture only
#              (e.g. 90-real on an H100/H200; TUNER_GPU_CHECK_ARCH overrides), just what the check runs;
#              then tuner-cuda-info (the devices this build sees, their bf16 peaks)
#   gpu tests  every gpu-labelled ctest (scripts/test-gpu.sh): the kernels, cuda_ops against host_ops,
#              the device model against the CPU engine; output of each failing test
#   train e2e  test_cuda_train_resume: tuner-train on the GPU (LoRA, full), kill -9 + --resume gives an
#              uninterrupted run's losses, first loss against the CPU's
#   bench      tuner-bench-cuda-train (tokens/s, MFU, each op family's share of a step), then every
#              other tuner-bench-cuda-* (GEMMs and attention with --reps 10, decode tokens/s, ...)
# Exit 0 only when every part passed. Logs: build/gpu-check/logs/ (--copy-logs DIR: the report as
# gpu-check-report.txt and every log in gpu-check-logs.tar.gz there too).
#   bash scripts/gpu-check.sh [--copy-logs DIR]
#   bash scripts/gpu-check.sh --host [--copy-logs DIR]
# --host runs the CPU side of every part on a machine without a GPU: the build (sm_80 unless
# TUNER_GPU_CHECK_ARCH), the end-to-end test on tuner-train's device path over the CPU stand-in
# (host_ops), the training benchmark on host_ops; the GPU-only parts are SKIP. Without --host and without a GPU it stops after
# checking the tools, saying so (exit 1).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

host=0
copy_logs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=1 ;;
    --copy-logs) copy_logs="${2:?--copy-logs needs a folder}"; shift ;;
    *) echo "usage: bash scripts/gpu-check.sh [--host] [--copy-logs DIR]" >&2; exit 2 ;;
  esac
  shift
done

build="${TUNER_GPU_CHECK_DIR:-build/gpu-check}"
logs="$build/logs"
budget="${TUNER_GPU_CHECK_BUDGET_S:-480}"
mkdir -p "$logs"
rm -f "$logs"/*.txt  # a rerun reports only its own parts
report="$logs/report.txt"
: >"$report"
start=$SECONDS
failed=0

# report_line PART STATUS TEXT: one line of the closing report (also printed now).
parts=()
report_line() {
  parts+=("$(printf '%-15s %-7s %s' "$1" "$2" "$3")")
  printf '%s\n' "${parts[-1]}" | tee -a "$report"
  case "$2" in PASS|SKIP) ;; *) failed=1 ;; esac
}

# run_part LIMIT_S LOG CMD...: runs CMD under timeout (LIMIT_S, cut to what is left of the budget),
# output to LOG; sets part_status (PASS / FAIL / TIMEOUT) and part_s (seconds taken).
run_part() {
  local limit=$1 log=$2
  shift 2
  local left=$((budget - (SECONDS - start)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    part_status=TIMEOUT part_s=0
    echo "gpu-check: no time left in the ${budget} s budget" >"$log"
    return
  fi
  local t0=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  part_s=$((SECONDS - t0))
  if [ $rc -eq 0 ]; then part_status=PASS
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then part_status=TIMEOUT; echo "gpu-check: stopped after ${limit} s" >>"$log"
  else part_status=FAIL
  fi
}

finish() {
  echo "== summary" | tee -a "$report"
  printf '%s\n' "${parts[@]}" | tee -a "$report"
  echo "== gpu-check: $([ $failed -eq 0 ] && echo PASS || echo FAILED) in $((SECONDS - start)) s (logs: $logs)" | tee -a "$report"
  if [ -n "$copy_logs" ]; then  # two files: the report, and every log in one archive
    mkdir -p "$copy_logs" && cp "$report" "$copy_logs/gpu-check-report.txt" &&
      tar czf "$copy_logs/gpu-check-logs.tar.gz" -C "$logs" .
  fi
  exit $failed
}

# ---- tools (the CPU-side check every mode does) ----
nvcc="${CUDACXX:-}"
[ -n "$nvcc" ] || for c in "${CUDA_PATH:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do [ -x "$c" ] && { nvcc="$c"; break; }; done
[ -n "$nvcc" ] || nvcc=$(command -v nvcc || true)
for tool in cmake timeout; do
  command -v "$tool" >/dev/null || { report_line tools FAIL "$tool not found"; finish; }
done
if [ -z "$nvcc" ]; then report_line tools FAIL "no CUDA toolkit (nvcc) found; set CUDACXX or CUDA_PATH"; finish; fi
report_line tools PASS "cmake $(cmake --version | sed -n 's/cmake version //p'), nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), $(command -v ninja >/dev/null && echo ninja || echo make), $(nproc) CPUs"

# ---- device ----
arch="${TUNER_GPU_CHECK_ARCH:-}"
if [ $host -eq 1 ]; then
  report_line device SKIP "--host: no GPU used"
  arch="${arch:-80-real}"
else
  if ! command -v nvidia-smi >/dev/null; then
    report_line device FAIL "no NVIDIA GPU here: nvidia-smi not found (this check needs an NVIDIA GPU and driver; --host runs its CPU-side parts)"
    finish
  fi
  if ! smi=$(timeout 30 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader 2>&1) || [ -z "$smi" ]; then
    report_line device FAIL "nvidia-smi found no usable GPU: $(head -1 <<<"$smi")"
    finish
  fi
  timeout 30 nvidia-smi >"$logs/nvidia-smi.txt" 2>&1
  cat "$logs/nvidia-smi.txt"
  report_line device PASS "$(head -1 <<<"$smi")"
  cc=$(head -1 <<<"$smi" | cut -d, -f2 | tr -d ' .')
  arch="${arch:-${cc}-real}"
fi

# ---- build: only what the check runs ----
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
targets=(tuner-cuda-info tuner-train)
for f in native/test/cuda/test_cuda_*.cu native/bench/bench_cuda_*.cu; do
  [ -e "$f" ] || continue
  n=$(basename "$f" .cu)
  targets+=("${n/bench_cuda_/tuner-bench-cuda-}")
done
run_part 90 "$logs/configure.txt" cmake -S native -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DTUNER_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$arch" "${launcher[@]}"
if [ "$part_status" != PASS ] || ! grep -q "Tuner CUDA backend: on" "$logs/configure.txt"; then
  tail -20 "$logs/configure.txt"
  report_line build FAIL "cmake configure: $part_status, $(grep -o 'Tuner CUDA backend: [a-z]*' "$logs/configure.txt" || echo 'no backend line') (log: $logs/configure.txt)"
  finish
fi
configure_s=$part_s
run_part "${TUNER_GPU_CHECK_BUILD_S:-300}" "$logs/build.txt" cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"
if [ "$part_status" != PASS ]; then
  grep -E "error|FAILED" "$logs/build.txt" | head -30
  report_line build "$part_status" "$((configure_s + part_s)) s, archs $arch (log: $logs/build.txt)"
  finish
fi
report_line build PASS "$((configure_s + part_s)) s, archs $arch, ${#targets[@]} targets"
if ! "$build/tuner-cuda-info" >"$logs/cuda-info.txt" 2>&1; then
  cat "$logs/cuda-info.txt"
  why=$(sed -n 's/^no CUDA device: //p' "$logs/cuda-info.txt")
  if [ $host -eq 1 ]; then report_line cuda-info SKIP "--host: no CUDA device ($why)"
  else report_line cuda-info FAIL "this build sees no CUDA device: $why"; finish
  fi
else
  cat "$logs/cuda-info.txt"
  report_line cuda-info PASS "$(grep -m1 '^GPU 0:' "$logs/cuda-info.txt" | sed 's/^GPU 0: //')"
fi

# ---- GPU tests, then the end-to-end trainer test on its own ----
if [ $host -eq 1 ]; then
  report_line "gpu tests" SKIP "--host: the gpu-labelled ctests need a device"
  run_part 240 "$logs/train-e2e.txt" env TUNER_TEST_TRAIN_DEVICE=host "$build/test_cuda_train_resume"
else
  run_part 150 "$logs/gpu-tests.txt" env TUNER_NATIVE_BUILD_DIR="$build" bash scripts/test-gpu.sh -E test_cuda_train_resume --timeout 120
  report_line "gpu tests" "$part_status" "${part_s} s: $(grep -E '^test:gpu|tests passed|tests failed' "$logs/gpu-tests.txt" | tail -1)"
  grep -E '^ *[0-9]+/[0-9]+ Test' "$logs/gpu-tests.txt" | sed -E 's/ +/ /g; s/^/  /' | tee -a "$report"
  run_part 150 "$logs/train-e2e.txt" "$build/test_cuda_train_resume"
fi
report_line "train e2e" "$part_status" "${part_s} s (log: $logs/train-e2e.txt)"
head -40 "$logs/train-e2e.txt" | sed 's/^/  /' | tee -a "$report"

# ---- benchmarks: the training step first (the issue's targets), then the kernels ----
if [ $host -eq 1 ]; then
  run_part 120 "$logs/bench-train.txt" "$build/tuner-bench-cuda-train" --host-ops
else
  run_part 200 "$logs/bench-train.txt" "$build/tuner-bench-cuda-train"
fi
report_line "bench train" "$part_status" "${part_s} s"
head -60 "$logs/bench-train.txt" | sed 's/^/  /' | tee -a "$report"
for mode in full lora; do
  want=$([ $mode = lora ] && echo 45 || echo 40)
  mfu=$(sed -n "s/^$mode: step .*MFU \([0-9.]*\)%.*/\1/p" "$logs/bench-train.txt")
  if [ -n "$mfu" ]; then  # the issue's targets: reported, not part of PASS / FAIL
    verdict=$(awk -v m="$mfu" -v w="$want" 'BEGIN { print (m >= w) ? "met" : "not met" }')
    parts+=("$(printf '%-15s %-7s %s' "MFU $mode" "$mfu%" "target >= $want%: $verdict")")
    printf '%s\n' "${parts[-1]}" | tee -a "$report"
  fi
done
# Every other benchmark (GEMMs, attention, decode, ...), two minutes each at most; under --host
# those that have --host-ops run on the CPU stand-in, the others are SKIP.
for f in native/bench/bench_cuda_*.cu; do
  b=$(basename "$f" .cu)
  b=${b#bench_cuda_}
  [ "$b" = train ] && continue
  args=()
  case "$b" in gemm|attention) args=(--reps 10) ;; esac
  if [ $host -eq 1 ]; then
    if ! grep -q -- '--host-ops' "$f"; then
      report_line "bench $b" SKIP "--host: needs a device"
      continue
    fi
    args=(--host-ops)
  fi
  run_part 120 "$logs/bench-$b.txt" "$build/tuner-bench-cuda-$b" "${args[@]}"
  report_line "bench $b" "$part_status" "${part_s} s (log: $logs/bench-$b.txt)"
  grep -E 'TFLOP/s|GB/s|tokens/s|FAILED' "$logs/bench-$b.txt" | head -30 | sed 's/^/  /' | tee -a "$report"
done
finish
