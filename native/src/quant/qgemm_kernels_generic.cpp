// Portable qgemm kernels (baseline x86-64 or any CPU): each weight row is decoded to f32 once
// and dotted with every activation row in f32. These decoders are also the format's definition:
// dequantize_matrix and qgemm_reference use them.
#include <cstring>
#include <vector>

#include "quant/quant_internal.h"
#include "tuner/dtype.h"

namespace tuner {

namespace {

// Each decoder writes out[c - c0] = w[r, c] for c0 <= c < c1 (block-aligned for blocked formats).
void decode_f32(float* out, const QuantView& w, int r, int c0, int c1) {
  std::memcpy(out, w.data + (size_t)r * w.row_bytes + (size_t)c0 * 4, (size_t)(c1 - c0) * 4);
}

void decode_f16(float* out, const QuantView& w, int r, int c0, int c1) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(w.data + (size_t)r * w.row_bytes);
  for (int k = c0; k < c1; k++) *out++ = f16_to_f32(h[k]);
}

void decode_bf16(float* out, const QuantView& w, int r, int c0, int c1) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(w.data + (size_t)r * w.row_bytes);
  for (int k = c0; k < c1; k++) *out++ = bf16_to_f32(h[k]);
}

// x = q * d
void decode_q8_0(float* out, const QuantView& w, int r, int c0, int c1) {
  const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(w.data + (size_t)r * w.row_bytes);
  for (int i = c0 / kQK8_0; i < c1 / kQK8_0; i++, out += kQK8_0) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK8_0; j++) out[j] = (float)b[i].qs[j] * d;
  }
}

// x = (q - 8) * d; weight j in the low nibble of qs[j], j + 16 in the high one.
void decode_q4_0(float* out, const QuantView& w, int r, int c0, int c1) {
  const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(w.data + (size_t)r * w.row_bytes);
  for (int i = c0 / kQK4_0; i < c1 / kQK4_0; i++, out += kQK4_0) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < kQK4_0 / 2; j++) {
      out[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
      out[j + kQK4_0 / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

// x = q * row_scale[r]
void decode_int8(float* out, const QuantView& w, int r, int c0, int c1) {
  const int8_t* q = reinterpret_cast<const int8_t*>(w.data + (size_t)r * w.row_bytes);
  const float s = w.row_scale[r];
  for (int k = c0; k < c1; k++) *out++ = (float)q[k] * s;
}

// x = NF4[code] * (map[absmax_q] * absmax_scale + offset); the first of two weights in the high nibble.
void decode_nf4(float* out, const QuantView& w, int r, int c0, int c1) {
  const int bpr = w.cols / kQKNF4;
  const uint8_t* row = w.data + (size_t)r * w.row_bytes;
  for (int i = c0 / kQKNF4; i < c1 / kQKNF4; i++, out += kQKNF4) {
    const float a = nf4_block_absmax(w, (int64_t)r * bpr + i);
    const uint8_t* c = row + (size_t)i * (kQKNF4 / 2);
    for (int j = 0; j < kQKNF4 / 2; j++) {
      out[2 * j] = kNF4Values[c[j] >> 4] * a;
      out[2 * j + 1] = kNF4Values[c[j] & 0x0F] * a;
    }
  }
}

const QDecodeRange kDecode[kQuantTypes] = {decode_f32, decode_f16, decode_q8_0, decode_q4_0, decode_int8, decode_nf4, decode_bf16};

template <int T>
void dequant_rows(float* out, const QuantView& w, int r0, int r1) {
  for (int r = r0; r < r1; r++, out += w.cols) kDecode[T](out, w, r, 0, w.cols);
}


// Eight running sums (a fixed order the compiler can vectorise), added pairwise at the end.
float dot(const float* a, const float* b, int K) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int k = 0;
  for (; k + 8 <= K; k += 8)
    for (int l = 0; l < 8; l++) s[l] += a[k + l] * b[k + l];
  for (; k < K; k++) s[k & 7] += a[k] * b[k];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

// Each decoded row against every activation row: x as given, or as the table's prepare made it
// (xq->xp: bf16's rounded activations; this table takes no int8 activations).
void rows_decoded(float* y, int ldy, const float* x, const ActQ8* xq, const QuantView& w, int M, int r0, int r1,
                  bool accumulate) {
  std::vector<float> row((size_t)w.cols);
  const float* xs = xq ? xq->xp : x;
  const size_t ldx = xq ? (size_t)prepared_width(w.cols) : (size_t)w.cols;
  for (int r = r0; r < r1; r++) {
    prefetch_row_ahead(w, r, r1);
    kDecode[(int)w.type](row.data(), w, r, 0, w.cols);
    for (int m = 0; m < M; m++) {
      const float v = dot(row.data(), xs + (size_t)m * ldx, w.cols);
      float* out = y + (size_t)m * ldy + r;
      *out = accumulate ? *out + v : v;
    }
  }
}

// llama.cpp's activation blocks: d = absmax / 127, q = round(x / d).
void quantize_act_generic(int8_t* qs, float* d, float* dsum, const float* x, int K) {
  for (int b = 0; b < K / 32; b++, x += 32, qs += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = amax > (x[j] < 0 ? -x[j] : x[j]) ? amax : (x[j] < 0 ? -x[j] : x[j]);
    const float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    int32_t s = 0;
    for (int j = 0; j < 32; j++) {
      const float v = x[j] * id;
      qs[j] = (int8_t)(v < 0 ? -(int)(-v + 0.5f) : (int)(v + 0.5f));
      s += qs[j];
    }
    d[b] = db;
    dsum[b] = db * (float)s;
  }
}

const QgemmKernels kGeneric = {
    "generic",
    {rows_decoded, rows_decoded, rows_decoded, rows_decoded, rows_decoded, rows_decoded, rows_decoded},
    {false, false, false, false, false, false, false},
    {dequant_rows<0>, dequant_rows<1>, dequant_rows<2>, dequant_rows<3>, dequant_rows<4>, dequant_rows<5>, dequant_rows<6>},
    quantize_act_generic,
    {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, prepare_bf16_act},
    nullptr,
};

}  // namespace

const QgemmKernels& qgemm_kernels_generic() { return kGeneric; }

void prepare_bf16_act(float* xp, const float* x, int K) {
  int k = 0;
  for (; k < K; k++) xp[k] = bf16_to_f32(f32_to_bf16(x[k]));
  for (; k < prepared_width(K); k++) xp[k] = 0.0f;
}

QDecodeRange quant_decode_range(QuantType t) { return kDecode[(int)t]; }

}  // namespace tuner
