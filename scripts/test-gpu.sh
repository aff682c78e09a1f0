#!/usr/bin/env bash
# npm run test:gpu: the GPU tests (ctest label gpu: every native/test/cuda/test_cuda_*.cu, each
# comparing a CUDA kernel with the CPU engine) on this machine's CUDA device. In `npm test` they
# skip without a device; here no device, no GPU tests in the build, or any skipped test is a
# failure, said as such. The build is $TUNER_NATIVE_BUILD_DIR (default build/native); arguments go
# to ctest (e.g. -R attention, --timeout 120).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. scripts/gpu-common.sh
require_cuda_device test:gpu
count=$(ctest --test-dir "$build" -L gpu -N "$@" | sed -n 's/^Total Tests: *//p')
if [ "${count:-0}" -eq 0 ]; then
  echo "test:gpu: FAILED: $build has no gpu-labelled tests (built without CUDA? see docs/cuda.md)"
  exit 1
fi
out=$(ctest --test-dir "$build" -L gpu --output-on-failure "$@" 2>&1)
rc=$?
echo "$out"
if grep -q '\*\*\*Skipped\|did not run' <<<"$out"; then
  echo "test:gpu: FAILED: GPU tests were skipped on a machine with a device (see above)"
  exit 1
fi
[ $rc -eq 0 ] && echo "test:gpu: $count GPU tests passed" || echo "test:gpu: FAILED (ctest exit $rc)"
exit $rc
