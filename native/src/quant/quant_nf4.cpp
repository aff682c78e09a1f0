// NF4 with double quantization, as QLoRA defines it and bitsandbytes implements it
// (quantize_4bit(quant_type="nf4", blocksize=64, compress_statistics=True)):
//   1. Each run of 64 weights (row-major order) has absmax a_b = max |x|; every weight gets the
//      NF4 code nearest x / a_b (computed as x * (1 / a_b)), two codes per byte, the first
//      weight of a pair in the high nibble.
//   2. The absmax values are compressed: offset = mean(a_b); the centred values a_b - offset are
//      quantized blockwise (256 per block) with bitsandbytes' signed 8-bit dynamic map: per block
//      s = max |a_b - offset|, code = nearest map entry to (a_b - offset) * (1 / s).
//   3. Decoding: a'_b = map[code_b] * s + offset, w = NF4[code] * a'_b. The 4-bit codes were chosen
//      with the exact absmax (step 1 runs before step 2), as bitsandbytes does.
// A block of zeros (a_b = 0) gets code 7 (the value 0); bitsandbytes would compute 0 * inf there.
#include <algorithm>
#include <cmath>
#include <vector>

#include "quant/quant_internal.h"
#include "tuner/threadpool.h"

namespace tuner {

// bitsandbytes' NF4 table (functional.py get_4bit_type("nf4")): the quantiles of N(0, 1)
// normalised to [-1, 1], with an exact zero, as given in the QLoRA paper's appendix.
const float kNF4Values[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

// bitsandbytes' dQuantizeNF4: a decision tree on the midpoints between neighbouring values
// (x > midpoint goes up, so a value exactly on a midpoint takes the lower code).
uint8_t nf4_code(float x) {
  if (x > 0.03979014977812767f) {
    if (x > 0.3893125355243683f) {
      if (x > 0.6427869200706482f) return x > 0.8614784181118011f ? 15 : 14;
      return x > 0.5016634166240692f ? 13 : 12;
    }
    if (x > 0.2035212516784668f) return x > 0.2920137718319893f ? 11 : 10;
    return x > 0.1202552504837513f ? 9 : 8;
  }
  if (x > -0.33967943489551544f) {
    if (x > -0.13791173323988914f) return x > -0.045525018125772476f ? 7 : 6;
    return x > -0.23460740596055984f ? 5 : 4;
  }
  if (x > -0.6106329262256622f) return x > -0.4599952697753906f ? 3 : 2;
  return x > -0.8480964004993439f ? 1 : 0;
}

namespace {

// create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), in float32 as torch
// computes it: for i in 0..6, linspace(0.1, 1, 2^i + 1) (start + step * j in the first half,
// end - step * (n - 1 - j) in the second), the means of neighbours, times +-10^(i - 6); then
// 0 and 1; sorted. 254 + 2 = 256 values.
std::vector<float> make_dynamic_map() {
  std::vector<float> data;
  for (int i = 0; i < 7; i++) {
    const int n = (1 << i) + 1;
    const float start = 0.1f, end = 1.0f;
    const float step = (end - start) / (float)(n - 1);
    std::vector<float> b(n);
    for (int j = 0; j < n; j++) b[j] = j < n / 2 ? start + step * (float)j : end - step * (float)(n - 1 - j);
    const float scale = (float)std::pow(10.0, i - 6);
    for (int j = 0; j + 1 < n; j++) {
      const float mean = (b[j] + b[j + 1]) / 2.0f;
      data.push_back(scale * mean);
      data.push_back(-(scale * mean));
    }
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  return data;
}

// Index of the map entry nearest v (ties to the lower index, as torch.argmin picks the first).
uint8_t nearest_map_code(const float* map, float v) {
  const float* hi = std::lower_bound(map, map + 256, v);
  if (hi == map) return 0;
  if (hi == map + 256) return 255;
  const float* lo = hi - 1;
  return (uint8_t)((v - *lo <= *hi - v) ? lo - map : hi - map);
}

}  // namespace

const float* nf4_absmax_map() {
  static const std::vector<float> map = make_dynamic_map();
  return map.data();
}

void quantize_nf4(QuantMatrix* w, const float* x, ThreadPool* pool) {
  const int64_t n = (int64_t)w->rows * w->cols, nb = n / kQKNF4;
  const int64_t blocks_per_row = w->cols / kQKNF4;
  std::vector<float> absmax((size_t)nb);
  uint8_t* codes = w->data.data();
  parallel_rows(pool, w->rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t b = r0 * blocks_per_row; b < r1 * blocks_per_row; b++) {
      const float* xb = x + b * kQKNF4;
      float a = 0.0f;
      for (int j = 0; j < kQKNF4; j++) a = std::fmax(a, std::fabs(xb[j]));
      absmax[(size_t)b] = a;
      uint8_t* out = codes + b * (kQKNF4 / 2);
      if (a == 0.0f) {
        for (int j = 0; j < kQKNF4 / 2; j++) out[j] = 0x77;
        continue;
      }
      const float inv = 1.0f / a;
      for (int j = 0; j < kQKNF4 / 2; j++)
        out[j] = (uint8_t)((nf4_code(xb[2 * j] * inv) << 4) | nf4_code(xb[2 * j + 1] * inv));
    }
  });

  // Double quantization of the absmax values.
  double sum = 0.0;
  for (float a : absmax) sum += a;
  const float offset = (float)(sum / (double)nb);
  const int64_t ns = (nb + kNF4ScaleBlock - 1) / kNF4ScaleBlock;
  w->absmax_offset = offset;
  w->absmax_q.resize((size_t)nb);
  w->absmax_scale.resize((size_t)ns);
  const float* map = nf4_absmax_map();
  for (int64_t s = 0; s < ns; s++) {
    const int64_t b0 = s * kNF4ScaleBlock, b1 = std::min(nb, b0 + kNF4ScaleBlock);
    float m = 0.0f;
    for (int64_t b = b0; b < b1; b++) m = std::fmax(m, std::fabs(absmax[(size_t)b] - offset));
    w->absmax_scale[(size_t)s] = m;
    const float inv = m != 0.0f ? 1.0f / m : 0.0f;
    for (int64_t b = b0; b < b1; b++) w->absmax_q[(size_t)b] = nearest_map_code(map, (absmax[(size_t)b] - offset) * inv);
  }
}

}  // namespace tuner
