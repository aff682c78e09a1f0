#!/usr/bin/env bash
# Builds the fuzz targets (clang, libFuzzer, ASan + UBSan) and runs each over its corpus.
#   native/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s; json safetensors shards checkpoint)
# New inputs go to build/fuzz/corpus-<target>/ (the checked-in corpus in native/fuzz/corpus/ is
# only read); a finding stops its target, is written to build/fuzz/ and makes the script fail.
# docs/fuzzing.md: how to run longer, and the findings so far.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${TUNER_FUZZ_BUILD_DIR:-$root/build/fuzz}"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(json safetensors shards checkpoint)

bash "$root/test/ensure-debian-packages.sh" clang libclang-rt-14-dev
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f "$build/CMakeCache.txt" ] || cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build" >/dev/null

for t in "${targets[@]}"; do
  mkdir -p "$build/corpus-$t"
  log="$build/fuzz_$t.log"
  if ! "$build/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/" \
      "$build/corpus-$t" "$here/corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz_$t: FINDING (input in $build/, log $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
  echo "fuzz_$t: $runs executions in ${seconds} s, no finding"
done
