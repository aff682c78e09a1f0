// Weight-only quantization for inference: the storage formats, their block structs, the
// per-block encode/decode math, and the dequantizing matmul that quantized linears run.
//
// Formats (rows = output features, cols = input features, as a Hugging Face weight [out, in]):
//   f32    plain floats.
//   f16    IEEE half per weight (dtype.h conversions); also GGUF's F16.
//   q8_0   32-weight blocks: fp16 scale d = absmax / 127, int8 q = round(x / d). Byte for byte
//          GGUF/ggml's block_q8_0 (34 bytes).
//   q4_0   32-weight blocks as ggml quantizes them: m = the weight of largest |x| (signed),
//          d = m / -8, q = min(15, (int)(x / d + 8.5)), x ~ (q - 8) * d; qs[j] holds weight j
//          in its low nibble and weight j + 16 in its high nibble. Byte for byte block_q4_0
//          (18 bytes).
//   int8   per output channel (LMTuner's weight-only INT8): fp32 scale per row = absmax / 127.
//   bf16   bfloat16 per weight (the top half of an f32, rounded to nearest even). Each product
//          also rounds its activations to bf16 and sums in f32, as bf16 inference does in
//          PyTorch and llama.cpp: prefill runs gemm_bf16 (vdpbf16ps on CPUs with AVX512_BF16),
//          decode widens each weight for an f32 dot with the rounded activations.
//   nf4    QLoRA's 4-bit NormalFloat: 64-weight blocks, code = nearest NF4 value to x / absmax,
//          two codes per byte; double quantization: the per-block absmax values, less their
//          mean, quantized to 8 bits in blocks of 256 blocks (docs/quantization.md gives the
//          exact code book and formulas).
// Blocked formats need cols to be a multiple of their block (32 or 64); quantize_matrix throws
// a TunerError naming the shape otherwise, and the loader keeps such a matrix in f32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tuner {

class ThreadPool;

enum class QuantType : int { F32 = 0, F16 = 1, Q8_0 = 2, Q4_0 = 3, INT8 = 4, NF4 = 5, BF16 = 6 };

const char* quant_type_name(QuantType t);                       // "f32", "f16", "q8_0", ...
bool quant_type_from_name(const std::string& name, QuantType* out);  // false for unknown names
int quant_block_size(QuantType t);                              // 1, 1, 32, 32, 1, 64, 1

constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
constexpr int kQKNF4 = 64;
constexpr int kNF4ScaleBlock = 256;  // absmax values per second-level (double-quant) block

struct BlockQ8_0 {
  uint16_t d;  // fp16
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34, "block_q8_0 must match ggml");

struct BlockQ4_0 {
  uint16_t d;  // fp16
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "block_q4_0 must match ggml");

// A weight matrix [rows, cols] in one of the formats above, rows stored in order.
struct QuantMatrix {
  QuantType type = QuantType::F32;
  int rows = 0, cols = 0;
  std::vector<uint8_t> data;        // f32/f16/bf16 values, or the blocks of each row in order
  std::vector<float> row_scale;     // int8: one per row
  std::vector<uint8_t> absmax_q;    // nf4: 8-bit code of each 64-block's absmax (rows*cols/64)
  std::vector<float> absmax_scale;  // nf4: one per 256 absmax codes
  float absmax_offset = 0.0f;       // nf4: mean absmax, added back when decoding
  size_t bytes() const;             // resident bytes of all of the above
};

// w[rows, cols] f32 -> the format. Threaded over rows when pool is given.
QuantMatrix quantize_matrix(const float* w, int rows, int cols, QuantType type, ThreadPool* pool);
// out[rows, cols] = the f32 values the format stands for (the oracle for every kernel).
void dequantize_matrix(float* out, const QuantMatrix& w);

// y[M, rows] = x[M, cols] @ dequant(w)^T, or += when accumulate. Picks the fastest kernel for
// this CPU and format at run time (AVX-512/VNNI, AVX2+FMA, portable), like sgemm; large M
// (prefill) dequantizes tiles and runs sgemm's blocked kernels (bf16: gemm_bf16 on the weights
// as stored).
void qgemm(float* y, const float* x, const QuantMatrix& w, int M, bool accumulate, ThreadPool* pool);
// The plain loop over dequantized rows, for tests.
void qgemm_reference(float* y, const float* x, const QuantMatrix& w, int M, bool accumulate);
// Which kernel qgemm runs for this format on this CPU, e.g. "q4_0 avx2 (int8 dot)".
std::string qgemm_kernel_name(QuantType t);

}  // namespace tuner
