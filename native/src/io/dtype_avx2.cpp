// F16C conversion (compiled with -mf16c; called only when cpu_features().f16c).
#include <immintrin.h>

#include <cstdint>

#include "tuner/dtype.h"

namespace tuner {

void f16_to_f32_f16c(float* dst, const uint16_t* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; i++) dst[i] = f16_to_f32(src[i]);
}

}  // namespace tuner
