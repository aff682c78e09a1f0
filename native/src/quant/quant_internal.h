// Internals shared by the quant formats (quant_format.cpp, quant_nf4.cpp), the qgemm driver
// (qgemm.cpp) and its per-instruction-set kernels (qgemm_kernels_*.cpp).
//
// The kernels see a QuantView, plain pointers into a QuantMatrix, so that files compiled for a
// newer instruction set need no standard-library code (see test/check_isa_objects.cmake).
// Size letters: M activation rows, R weight rows (output features), K cols (input features).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tuner/quant.h"

namespace tuner {

// The 16 NF4 values of the QLoRA paper (bitsandbytes' NF4 table), code i -> kNF4Values[i].
extern const float kNF4Values[16];
// NF4 code of x in [-1, 1]: the nearest table value, ties to the lower code (bitsandbytes'
// dQuantizeNF4 decision tree on the midpoints).
uint8_t nf4_code(float x);
// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map(signed=True)): 256 sorted values
// in [-1, 1] that code the double-quantized NF4 absmax values.
const float* nf4_absmax_map();
// Fills the NF4 fields of `w` (data, absmax_q, absmax_scale, absmax_offset) from f32 weights.
void quantize_nf4(QuantMatrix* w, const float* x, ThreadPool* pool);

// Bytes one row of `cols` weights takes in format t.
size_t quant_row_bytes(QuantType t, int cols);

struct QuantView {
  QuantType type;
  int rows, cols;
  const uint8_t* data;         // row r starts at data + r * row_bytes
  size_t row_bytes;
  const float* row_scale;      // int8
  const uint8_t* absmax_q;     // nf4: code of each 64-block's absmax, [rows * cols / 64]
  const float* absmax_scale;   // nf4: one per 256 codes
  float absmax_offset;         // nf4
  const float* absmax_map;     // nf4: nf4_absmax_map()
};
QuantView quant_view(const QuantMatrix& w);

// NF4 absmax of block b (flat index over the whole matrix): map[code] * scale + offset.
static inline float nf4_block_absmax(const QuantView& w, int64_t b) {
  return w.absmax_map[w.absmax_q[b]] * w.absmax_scale[b / kNF4ScaleBlock] + w.absmax_offset;
}

// Activation rows quantized to 32-value int8 blocks for integer dot products (as llama.cpp's
// q8_0 activations): x ~ qs * d. dsum = d * (sum of the block's qs), so a kernel that multiplies
// biased unsigned weights (q + bias, as q4_0's nibbles are) removes bias * dsum per block.
// xp: f32 activations rearranged for a kernel (table.prepare), [M, kPreparedAlign-rounded K].
struct ActQ8 {
  int8_t* qs;      // [M, K]
  float* d;        // [M, K / 32]
  float* dsum;     // [M, K / 32]
  float* xp;       // [M, prepared_width(K)]
};
constexpr int kPreparedAlign = 128;
static inline int prepared_width(int K) { return (K + kPreparedAlign - 1) / kPreparedAlign * kPreparedAlign; }

// Decode streams each weight matrix once, front to back (rows are contiguous): row kernels call
// this at row r so that row r + kPrefetchRows is on its way into the cache by the time they get
// there; without it the first loads of each row waited for memory. Static and always inlined:
// the ISA-specific objects share no symbol (test/check_isa_objects.cmake).
constexpr int kPrefetchRows = 8;
__attribute__((always_inline)) static inline void prefetch_row_ahead(const QuantView& w, int r, int r1) {
  if (r + kPrefetchRows >= r1) return;
  const char* p = reinterpret_cast<const char*>(w.data) + (size_t)(r + kPrefetchRows) * w.row_bytes;
  for (size_t b = 0; b < w.row_bytes; b += 64) __builtin_prefetch(p + b, 0, 3);
}

// y[m * ldy + r] (=|+=) sum_k x[m * K + k] * w[r, k] for m < M, r0 <= r < r1. xq holds x
// quantized (ActQ8) when the kernel's table says it takes int8 activations and K is a multiple
// of 32, else null (then the kernel reads x: int8 rows of any width).
using QRowsKernel = void (*)(float* y, int ldy, const float* x, const ActQ8* xq, const QuantView& w,
                             int M, int r0, int r1, bool accumulate);
// out[(r - r0) * K + k] = w[r, k] for r0 <= r < r1.
using QDequantRows = void (*)(float* out, const QuantView& w, int r0, int r1);
// out[c - c0] = w[r, c] for c0 <= c < c1, c0 and c1 multiples of the format's block.
using QDecodeRange = void (*)(float* out, const QuantView& w, int r, int c0, int c1);
QDecodeRange quant_decode_range(QuantType t);  // the portable decoder, the format's definition
// AVX2 + F16C decoders indexed by type (qgemm_decode_avx2.cpp); null entries: use the portable one.
const QDecodeRange* qgemm_decoders_avx2();
// One activation row x[K] -> the order a kernel reads it in, xp[prepared_width(K)] (zeros past K).
using PrepareActRow = void (*)(float* xp, const float* x, int K);
// One activation row x[K] -> K / 32 blocks.
using QuantizeActRow = void (*)(int8_t* qs, float* d, float* dsum, const float* x, int K);

constexpr int kQuantTypes = 7;

// bf16's activations for decode (every table's prepare[BF16]): xp[k] = x[k] rounded to bf16 as
// f32_to_bf16 rounds (the bits gemm_bf16's prefill packs), zeros up to prepared_width(K).
// Compiled without ISA flags (qgemm_kernels_generic.cpp), so every table can point at it.
void prepare_bf16_act(float* xp, const float* x, int K);

struct QgemmKernels {
  const char* isa;                        // "generic", "avx2", "avx512", "avx512-vnni"
  QRowsKernel rows[kQuantTypes];          // indexed by (int)QuantType
  bool int8_activations[kQuantTypes];     // rows[t] reads ActQ8 instead of x
  QDequantRows dequant[kQuantTypes];      // null: the portable decoder
  QuantizeActRow quantize_act;            // used when any int8_activations[t]
  PrepareActRow prepare[kQuantTypes];     // non-null: rows[t] reads xq->xp, x rearranged by it
  QuantizeActRow quantize_act_q4_0;       // non-null: q4_0's activation blocks, in its own order
};

const QgemmKernels& qgemm_kernels_generic();
const QgemmKernels& qgemm_kernels_avx2();         // AVX2 + FMA + F16C
const QgemmKernels& qgemm_kernels_avx512();       // AVX-512 F/BW/VL/DQ, int8 dots without VNNI
const QgemmKernels& qgemm_kernels_avx512_vnni();  // + AVX512_VNNI (vpdpbusd)
// The table qgemm uses on this CPU.
const QgemmKernels& qgemm_kernels_best();

// Prefill: y[M, R] (=|+=) x[M, K] @ dequant(w)^T through sgemm's blocked driver, whose B
// packing decodes the quantized rows straight into its packed panels (qgemm_prefill.cpp).
// The AVX2 decoders serve every table but the generic one (all their CPUs have AVX2 + F16C).
void qgemm_prefill(const QgemmKernels& k, float* y, const float* x, const QuantView& w, int M, bool accumulate,
                   ThreadPool* pool);

// qgemm with an explicit kernel table (tests run every table this CPU supports).
void qgemm_with_kernels(const QgemmKernels& k, float* y, const float* x, const QuantMatrix& w, int M,
                        bool accumulate, ThreadPool* pool);

}  // namespace tuner
