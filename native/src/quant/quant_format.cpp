// The weight formats of quant.h: names, sizes, and the f32 <-> format conversions that every
// kernel is checked against. q8_0 and q4_0 follow ggml's quantize_row_q8_0_ref /
// quantize_row_q4_0_ref operation for operation (x * (1 / d), roundf, the (int8_t) cast of
// x * id + 8.5), so the blocks are byte for byte what llama.cpp writes from the same floats.
#include <cctype>
#include <cmath>
#include <cstring>
#include <string>

#include "quant/quant_internal.h"
#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/threadpool.h"

namespace tuner {

namespace {

const char* const kNames[kQuantTypes] = {"f32", "f16", "q8_0", "q4_0", "int8", "nf4", "bf16"};

bool valid(QuantType t) { return (int)t >= 0 && (int)t < kQuantTypes; }

// ggml's quantize_row_q8_0_ref: d = absmax / 127, q = roundf(x * (1 / d)).
void quantize_row_q8_0(BlockQ8_0* y, const float* x, int K) {
  for (int b = 0; b < K / kQK8_0; b++, x += kQK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; j++) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK8_0; j++) y[b].qs[j] = (int8_t)std::roundf(x[j] * id);
  }
}

// ggml's quantize_row_q4_0_ref: m = the value of largest magnitude (first one on ties), d = m / -8,
// q = min(15, (int8_t)(x * (1 / d) + 8.5)); weight j in the low nibble of qs[j], j + 16 in the high.
void quantize_row_q4_0(BlockQ4_0* y, const float* x, int K) {
  for (int b = 0; b < K / kQK4_0; b++, x += kQK4_0) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK4_0; j++) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = f32_to_f16(d);
    for (int j = 0; j < kQK4_0 / 2; j++) {
      const int lo = (int8_t)(x[j] * id + 8.5f), hi = (int8_t)(x[j + kQK4_0 / 2] * id + 8.5f);
      y[b].qs[j] = (uint8_t)((lo < 15 ? lo : 15) | ((hi < 15 ? hi : 15) << 4));
    }
  }
}

// Per output channel: s = absmax / 127, q = roundf(x * (1 / s)) (the q8_0 rule over a whole row).
void quantize_row_int8(int8_t* q, float* scale, const float* x, int K) {
  float amax = 0.0f;
  for (int k = 0; k < K; k++) amax = std::fmax(amax, std::fabs(x[k]));
  const float s = amax / 127.0f;
  const float is = s != 0.0f ? 1.0f / s : 0.0f;
  *scale = s;
  for (int k = 0; k < K; k++) q[k] = (int8_t)std::roundf(x[k] * is);
}

void check_shape(int rows, int cols, QuantType t) {
  if (!valid(t))
    throw TunerError("unknown_quant_type", "unknown quantization type " + std::to_string((int)t),
                     "Use one of f32, f16, bf16, q8_0, q4_0, int8, nf4.");
  if (rows <= 0 || cols <= 0)
    throw TunerError("bad_quant_shape", "cannot quantize a [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                            "] matrix: rows and cols must be positive");
  const int block = quant_block_size(t);
  if (cols % block != 0)
    throw TunerError("bad_quant_shape",
                     std::string("cannot quantize a [") + std::to_string(rows) + ", " + std::to_string(cols) + "] matrix to " +
                         kNames[(int)t] + ": cols must be a multiple of " + std::to_string(block),
                     "Keep this tensor in f16 or f32, or pick a format whose block divides its input size.");
}

}  // namespace

const char* quant_type_name(QuantType t) { return valid(t) ? kNames[(int)t] : "unknown"; }

bool quant_type_from_name(const std::string& name, QuantType* out) {
  std::string lower = name;
  for (char& c : lower) c = (char)std::tolower((unsigned char)c);
  for (int i = 0; i < kQuantTypes; i++) {
    if (lower == kNames[i]) {
      *out = (QuantType)i;
      return true;
    }
  }
  return false;
}

int quant_block_size(QuantType t) {
  switch (t) {
    case QuantType::Q8_0: return kQK8_0;
    case QuantType::Q4_0: return kQK4_0;
    case QuantType::NF4: return kQKNF4;
    default: return 1;
  }
}

size_t quant_row_bytes(QuantType t, int cols) {
  switch (t) {
    case QuantType::F32: return (size_t)cols * 4;
    case QuantType::F16:
    case QuantType::BF16: return (size_t)cols * 2;
    case QuantType::Q8_0: return (size_t)(cols / kQK8_0) * sizeof(BlockQ8_0);
    case QuantType::Q4_0: return (size_t)(cols / kQK4_0) * sizeof(BlockQ4_0);
    case QuantType::INT8: return (size_t)cols;
    case QuantType::NF4: return (size_t)cols / 2;
  }
  return 0;
}

size_t QuantMatrix::bytes() const {
  return data.size() + row_scale.size() * sizeof(float) + absmax_q.size() + absmax_scale.size() * sizeof(float) +
         (type == QuantType::NF4 ? sizeof(float) : 0);
}

QuantView quant_view(const QuantMatrix& w) {
  QuantView v;
  v.type = w.type;
  v.rows = w.rows;
  v.cols = w.cols;
  v.data = w.data.data();
  v.row_bytes = quant_row_bytes(w.type, w.cols);
  v.row_scale = w.row_scale.data();
  v.absmax_q = w.absmax_q.data();
  v.absmax_scale = w.absmax_scale.data();
  v.absmax_offset = w.absmax_offset;
  v.absmax_map = nf4_absmax_map();
  return v;
}

QuantMatrix quantize_matrix(const float* w, int rows, int cols, QuantType type, ThreadPool* pool) {
  check_shape(rows, cols, type);
  QuantMatrix q;
  q.type = type;
  q.rows = rows;
  q.cols = cols;
  const size_t rb = quant_row_bytes(type, cols);
  q.data.resize(rb * rows);
  if (type == QuantType::INT8) q.row_scale.resize(rows);
  if (type == QuantType::NF4) {
    quantize_nf4(&q, w, pool);
    return q;
  }
  uint8_t* data = q.data.data();
  float* row_scale = q.row_scale.data();
  parallel_rows(pool, rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = w + r * cols;
      uint8_t* dst = data + r * rb;
      switch (type) {
        case QuantType::F32: std::memcpy(dst, x, rb); break;
        case QuantType::F16: {
          uint16_t* h = reinterpret_cast<uint16_t*>(dst);
          for (int k = 0; k < cols; k++) h[k] = f32_to_f16(x[k]);
          break;
        }
        case QuantType::BF16: {
          uint16_t* h = reinterpret_cast<uint16_t*>(dst);
          for (int k = 0; k < cols; k++) h[k] = f32_to_bf16(x[k]);
          break;
        }
        case QuantType::Q8_0: quantize_row_q8_0(reinterpret_cast<BlockQ8_0*>(dst), x, cols); break;
        case QuantType::Q4_0: quantize_row_q4_0(reinterpret_cast<BlockQ4_0*>(dst), x, cols); break;
        case QuantType::INT8: quantize_row_int8(reinterpret_cast<int8_t*>(dst), row_scale + r, x, cols); break;
        case QuantType::NF4: break;
      }
    }
  });
  return q;
}

void dequantize_matrix(float* out, const QuantMatrix& w) {
  qgemm_kernels_generic().dequant[(int)w.type](out, quant_view(w), 0, w.rows);
}

}  // namespace tuner
