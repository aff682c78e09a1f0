// AVX-512 variant of fma_peak_avx2.cpp: 12 chains of 16-wide FMAs. Compiled with -mavx512f and
// called only when the CPU has it.
#include <immintrin.h>

#include <cstdint>

namespace tuner_bench {

// FLOPs done: iterations * 12 * 16 * 2.
float fma_loop_avx512(int64_t iterations) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

}  // namespace tuner_bench
