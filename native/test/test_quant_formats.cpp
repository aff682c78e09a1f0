// The weight formats against hand-computed blocks: q8_0 and q4_0 bytes as ggml's reference
// quantizers produce them (roundf ties away from zero, the truncating (int8_t) cast of x/d + 8.5,
// the first value of largest magnitude choosing q4_0's sign, negative-max blocks, zero blocks,
// clipping at +8d), int8 per channel, names, block sizes, and shape errors. NF4 has its own test
// (test_quant_nf4.cpp).
#include <cmath>
#include <cstring>
#include <vector>

#include "check_macros.h"
#include "quant/quant_internal.h"
#include "tuner/dtype.h"
#include "tuner/quant.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

void test_names() {
  const char* names[] = {"f32", "f16", "q8_0", "q4_0", "int8", "nf4", "bf16"};
  const int blocks[] = {1, 1, 32, 32, 1, 64, 1};
  for (int i = 0; i < 7; i++) {
    QuantType t;
    EXPECT(quant_type_from_name(names[i], &t) && (int)t == i);
    EXPECT(std::strcmp(quant_type_name((QuantType)i), names[i]) == 0);
    EXPECT(quant_block_size((QuantType)i) == blocks[i]);
  }
  QuantType t;
  EXPECT(quant_type_from_name("Q4_0", &t) && t == QuantType::Q4_0);
  EXPECT(!quant_type_from_name("q4_k", &t));
  EXPECT(!quant_type_from_name("", &t));
}

void test_shape_errors() {
  std::vector<float> w(3 * 48, 1.0f);
  EXPECT_ERROR([&] { quantize_matrix(w.data(), 3, 48, QuantType::Q4_0, nullptr); }, "bad_quant_shape", "multiple of 32");
  EXPECT_ERROR([&] { quantize_matrix(w.data(), 1, 96, QuantType::NF4, nullptr); }, "bad_quant_shape", "[1, 96] matrix to nf4");
  EXPECT_ERROR([&] { quantize_matrix(w.data(), 0, 32, QuantType::Q8_0, nullptr); }, "bad_quant_shape", "positive");
  EXPECT_ERROR([&] { quantize_matrix(w.data(), 1, 32, (QuantType)9, nullptr); }, "unknown_quant_type", "9");
  // Formats without blocks take any width.
  EXPECT(quantize_matrix(w.data(), 3, 47, QuantType::INT8, nullptr).data.size() == 3 * 47);
}

// q8_0: d = absmax / 127, q = roundf(x / d). With absmax 127 (d = 1, exact) the rounding rule
// shows: halves go away from zero. With absmax 63.5, d = 0.5.
void test_q8_0_blocks() {
  float x[3][32] = {};
  const float a[] = {127.0f, -2.5f, 2.5f, 0.5f, -0.5f, 1.5f, 3.49f, -126.5f, 0.49f, -0.51f};
  const int8_t qa[] = {127, -3, 3, 1, -1, 2, 3, -127, 0, -1};
  for (int j = 0; j < 10; j++) x[0][j] = a[j];
  const float b[] = {-63.5f, 10.25f, -10.25f, 0.24f, 31.75f};  // d = 0.5: q = 2x, 20.5 -> 21
  const int8_t qb[] = {-127, 21, -21, 0, 64};
  for (int j = 0; j < 5; j++) x[1][j + 27] = b[j];
  // x[2] all zeros: d = 0, q = 0.
  QuantMatrix q = quantize_matrix(&x[0][0], 1, 96, QuantType::Q8_0, nullptr);
  EXPECT(q.data.size() == 3 * 34);
  const BlockQ8_0* blk = reinterpret_cast<const BlockQ8_0*>(q.data.data());
  EXPECT(blk[0].d == 0x3C00);  // 1.0
  EXPECT(blk[1].d == 0x3800);  // 0.5
  EXPECT(blk[2].d == 0x0000);
  for (int j = 0; j < 32; j++) {
    EXPECT(blk[0].qs[j] == (j < 10 ? qa[j] : 0));
    EXPECT(blk[1].qs[j] == (j >= 27 ? qb[j - 27] : 0));
    EXPECT(blk[2].qs[j] == 0);
  }
  // d = 1 / 127 is not a half: 2^-7 * (1 + 8 / 1024) is its nearest (0x2008).
  float y[32] = {1.0f};
  QuantMatrix r = quantize_matrix(y, 1, 32, QuantType::Q8_0, nullptr);
  EXPECT(reinterpret_cast<const BlockQ8_0*>(r.data.data())->d == 0x2008);
  std::vector<float> back(32);
  dequantize_matrix(back.data(), r);
  EXPECT(back[0] == 127.0f * f16_to_f32(0x2008) && back[1] == 0.0f);
}

uint8_t nib(int lo, int hi) { return (uint8_t)(lo | (hi << 4)); }

// q4_0: m = the first value of largest |x|, d = m / -8, q = min(15, (int8_t)(x / d + 8.5)).
void test_q4_0_blocks() {
  float x[4][32] = {};
  // Block 0: negative max m = -8, d = 1: q = trunc(x + 8.5).
  const float a[] = {-8.0f, 7.0f, 7.5f, -0.5f, -0.6f, 0.49f, 0.5f, 3.2f};
  const int qa[] = {0, 15, 15, 8, 7, 8, 9, 11};
  for (int j = 0; j < 8; j++) x[0][j] = a[j];
  x[0][20] = -7.9f;  // high nibble of qs[4]: trunc(0.6) = 0
  // Block 1: positive max 8, d = -1: q = trunc(8.5 - x); -8 clips 16 -> 15.
  x[1][0] = 8.0f;
  x[1][1] = -8.0f;
  x[1][2] = -7.0f;
  x[1][3] = 2.25f;
  x[1][16] = -1.0f;
  // Block 2: ties in |x|: the first one (-4) sets the sign, d = 0.5, 4 clips to 15 (3.5).
  x[2][3] = -4.0f;
  x[2][9] = 4.0f;
  x[2][17] = 1.0f;
  // Block 3: zeros: d = 0 / -8 = -0 (stored 0x8000, as ggml stores it), id = 0, q = trunc(8.5) = 8.
  QuantMatrix q = quantize_matrix(&x[0][0], 1, 128, QuantType::Q4_0, nullptr);
  EXPECT(q.data.size() == 4 * 18);
  const BlockQ4_0* blk = reinterpret_cast<const BlockQ4_0*>(q.data.data());
  EXPECT(blk[0].d == 0x3C00 && blk[1].d == 0xBC00 && blk[2].d == 0x3800 && blk[3].d == 0x8000);
  for (int j = 0; j < 16; j++) {
    const int lo0 = j < 8 ? qa[j] : 8, hi0 = j == 4 ? 0 : 8;
    EXPECT(blk[0].qs[j] == nib(lo0, hi0));
    const int lo1[] = {0, 15, 15, 6};
    EXPECT(blk[1].qs[j] == nib(j < 4 ? lo1[j] : 8, j == 0 ? 9 : 8));
    // d = 0.5, id = 2: q = trunc(2x + 8.5): -4 -> 0, 4 -> 16 -> 15, 1 -> 10.
    const int lo2 = j == 3 ? 0 : j == 9 ? 15 : 8, hi2 = j == 1 ? 10 : 8;
    EXPECT(blk[2].qs[j] == nib(lo2, hi2));
    EXPECT(blk[3].qs[j] == 0x88);
  }
  std::vector<float> back(128);
  dequantize_matrix(back.data(), q);
  EXPECT(back[0] == -8.0f && back[1] == 7.0f && back[2] == 7.0f && back[7] == 3.0f);
  EXPECT(back[32] == 8.0f && back[33] == -7.0f && back[35] == 2.0f && back[48] == -1.0f);
  EXPECT(back[64 + 3] == -4.0f && back[64 + 9] == 3.5f && back[64 + 17] == 1.0f);
  EXPECT(back[100] == 0.0f);
}

// int8 per output channel: s = absmax / 127 (f32), q = roundf(x / s).
void test_int8_rows() {
  float x[2][5] = {{127.0f, -2.5f, 0.5f, 63.49f, -127.0f}, {0, 0, 0, 0, 0}};
  QuantMatrix q = quantize_matrix(&x[0][0], 2, 5, QuantType::INT8, nullptr);
  const int8_t expect[] = {127, -3, 1, 63, -127};
  EXPECT(q.row_scale.size() == 2 && q.row_scale[0] == 1.0f && q.row_scale[1] == 0.0f);
  for (int k = 0; k < 5; k++) EXPECT((int8_t)q.data[k] == expect[k] && q.data[5 + k] == 0);
  EXPECT(q.bytes() == 10 + 2 * sizeof(float));
}

}  // namespace

int main() {
  test_names();
  test_shape_errors();
  test_q8_0_blocks();
  test_q4_0_blocks();
  test_int8_rows();
  return finish("test_quant_formats");
}
