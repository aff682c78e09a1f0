// The FMA throughput ceiling of one core: 12 independent chains of 8-wide FMAs (more than
// latency x pipes on Haswell..Zen 4, so the pipes, not the dependencies, set the pace). sgemm
// efficiency is reported as a fraction of this measured number, not of a datasheet figure,
// because clocks under load differ from the label (turbo, cloud VMs, thermal limits).
// Compiled with -mavx2 -mfma (CMake) and called only when the CPU has both.
#include <immintrin.h>

#include <cstdint>

namespace tuner_bench {

// Runs `iterations` rounds of 12 FMAs and returns a value derived from the result so the
// compiler cannot drop the loop. FLOPs done: iterations * 12 * 8 * 2.
float fma_loop_avx2(int64_t iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[7];
}

}  // namespace tuner_bench
