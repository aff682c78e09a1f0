// Quantized matrices through a safetensors file and back: every format comes back byte for byte
// (blocks, scales, absmax tables) beside plain F32 / BF16 / F16 tensors, the tensor list and
// metadata are what docs/quantization.md says, and damaged files give errors naming the tensor:
// a missing companion, a wrong dtype or shape, an unknown type name, foreign NF4 code books.
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "check_macros.h"
#include "tuner/quant.h"
#include "tuner/quant_io.h"
#include "tuner/safetensors.h"

using namespace tuner;

namespace {

std::string g_dir;

std::vector<float> random_weights(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

bool same(const QuantMatrix& a, const QuantMatrix& b) {
  return a.type == b.type && a.rows == b.rows && a.cols == b.cols && a.data == b.data && a.row_scale == b.row_scale &&
         a.absmax_q == b.absmax_q && a.absmax_scale == b.absmax_scale && a.absmax_offset == b.absmax_offset;
}

void test_round_trip() {
  const int R = 37, K = 320;  // 320 = 5 x 64: 185 nf4 blocks in one absmax group
  const std::vector<float> w = random_weights((size_t)R * K, 3);
  const QuantType types[] = {QuantType::F32, QuantType::F16, QuantType::Q8_0, QuantType::Q4_0, QuantType::INT8, QuantType::NF4, QuantType::BF16};
  std::vector<QuantMatrix> qs;
  for (QuantType t : types) qs.push_back(quantize_matrix(w.data(), R, K, t, nullptr));
  // A larger nf4 matrix: 600 blocks, three absmax groups.
  const std::vector<float> big = random_weights((size_t)300 * 128, 4);
  qs.push_back(quantize_matrix(big.data(), 300, 128, QuantType::NF4, nullptr));
  SafetensorsWriter out;
  for (size_t i = 0; i < qs.size(); i++) quant_matrix_add(out, "layer" + std::to_string(i) + ".weight", qs[i]);
  out.add("plain_bf16.weight", {R, K}, w.data(), DType::BF16);
  out.add("plain_f16.weight", {R, K}, w.data(), DType::F16);
  const std::string path = g_dir + "/model.safetensors";
  out.write(path);

  auto f = SafetensorsFile::open(path);
  for (size_t i = 0; i < qs.size(); i++) {
    const std::string name = "layer" + std::to_string(i) + ".weight";
    const QuantMatrix back = quant_matrix_read(*f, name);
    EXPECT(same(back, qs[i]));
    EXPECT(quant_matrix_type(*f, name) == qs[i].type);
  }
  EXPECT(quant_matrix_names(*f).size() == qs.size() - 1);  // all but the f32 one
  // Layout as documented.
  const TensorInfo* q4 = f->find("layer3.weight");
  EXPECT(q4 && q4->dtype == DType::U8 && q4->shape == std::vector<int64_t>({R, K / 32 * 18}));
  EXPECT(f->metadata().at("tuner.quant.layer3.weight") == "q4_0");
  const TensorInfo* i8 = f->find("layer4.weight.row_scale");
  EXPECT(i8 && i8->dtype == DType::F32 && i8->shape == std::vector<int64_t>({R}));
  const TensorInfo* nf = f->find("layer7.weight.nested_absmax");
  EXPECT(nf && nf->shape == std::vector<int64_t>({3}));
  EXPECT(f->find("layer5.weight.quant_map") && f->find("layer5.weight.nested_quant_map") && f->find("layer5.weight.nested_offset"));
  const TensorInfo* b16 = f->find("layer6.weight");  // bf16: the safetensors dtype, marked as Tuner's format
  EXPECT(b16 && b16->dtype == DType::BF16 && b16->shape == std::vector<int64_t>({R, K}));
  EXPECT(f->metadata().at("tuner.quant.layer6.weight") == "bf16");
  // Plain tensors (no Tuner metadata): BF16 reads as f32, F16 stays f16.
  const QuantMatrix pb = quant_matrix_read(*f, "plain_bf16.weight");
  const QuantMatrix ph = quant_matrix_read(*f, "plain_f16.weight");
  EXPECT(pb.type == QuantType::F32 && pb.rows == R && pb.cols == K);
  EXPECT(ph.type == QuantType::F16 && ph.data == qs[1].data);
  // The read matrix multiplies like the original.
  std::vector<float> x = random_weights(K, 5), y0(R), y1(R);
  qgemm(y0.data(), x.data(), qs[3], 1, false, nullptr);
  qgemm(y1.data(), x.data(), quant_matrix_read(*f, "layer3.weight"), 1, false, nullptr);
  EXPECT(y0 == y1);
}

void test_errors() {
  const int R = 4, K = 128;
  const std::vector<float> w = random_weights((size_t)R * K, 6);
  const QuantMatrix nf4 = quantize_matrix(w.data(), R, K, QuantType::NF4, nullptr);
  const QuantMatrix i8 = quantize_matrix(w.data(), R, K, QuantType::INT8, nullptr);
  const QuantMatrix q8 = quantize_matrix(w.data(), R, K, QuantType::Q8_0, nullptr);
  const std::string path = g_dir + "/bad.safetensors";
  {
    SafetensorsWriter out;  // nf4 without its absmax codes
    out.add_raw("a.weight", {R, K / 2}, nf4.data.data(), DType::U8);
    out.set_metadata("tuner.quant.a.weight", "nf4");
    // int8 whose scales have the wrong length
    out.add_raw("b.weight", {R, K}, i8.data.data(), DType::I8);
    out.add_raw("b.weight.row_scale", {R - 1}, i8.row_scale.data(), DType::F32);
    out.set_metadata("tuner.quant.b.weight", "int8");
    // an unknown type name
    out.add_raw("c.weight", {R, K / 32 * 34}, q8.data.data(), DType::U8);
    out.set_metadata("tuner.quant.c.weight", "q4_k");
    // q8_0 stored with a width that is not whole blocks
    out.add_raw("d.weight", {17, 32}, q8.data.data(), DType::U8);  // 544 bytes, rows of 32
    out.set_metadata("tuner.quant.d.weight", "q8_0");
    // bytes with no type
    out.add_raw("e.weight", {R, K}, i8.data.data(), DType::I8);
    out.write(path);
  }
  auto f = SafetensorsFile::open(path);
  EXPECT_ERROR([&] { quant_matrix_read(*f, "a.weight"); }, "bad_quant_tensor", "\"a.weight.absmax\" is missing");
  EXPECT_ERROR([&] { quant_matrix_read(*f, "b.weight"); }, "bad_quant_tensor", "expected F32 [4]");
  EXPECT_ERROR([&] { quant_matrix_read(*f, "c.weight"); }, "unknown_quant_type", "q4_k");
  EXPECT_ERROR([&] { quant_matrix_read(*f, "d.weight"); }, "bad_quant_tensor", "34 bytes");
  EXPECT_ERROR([&] { quant_matrix_read(*f, "e.weight"); }, "unsupported_dtype", "e.weight");
  EXPECT_ERROR([&] { quant_matrix_read(*f, "zzz"); }, "missing_tensor", "zzz");
  {
    SafetensorsWriter out;  // nf4 whose code book is not NF4's
    std::vector<float> other(16, 0.5f), other_map(256, 0.25f);
    quant_matrix_add(out, "n.weight", nf4);
    out.add_raw("n2.weight", {R, K / 2}, nf4.data.data(), DType::U8);
    out.add_raw("n2.weight.absmax", {(int64_t)nf4.absmax_q.size()}, nf4.absmax_q.data(), DType::U8);
    out.add_raw("n2.weight.nested_absmax", {1}, nf4.absmax_scale.data(), DType::F32);
    out.add_raw("n2.weight.nested_offset", {1}, &nf4.absmax_offset, DType::F32);
    out.add_raw("n2.weight.quant_map", {16}, other.data(), DType::F32);
    out.add_raw("n2.weight.nested_quant_map", {256}, other_map.data(), DType::F32);
    out.set_metadata("tuner.quant.n2.weight", "nf4");
    out.write(path + "2");
  }
  auto g = SafetensorsFile::open(path + "2");
  EXPECT(same(quant_matrix_read(*g, "n.weight"), nf4));
  EXPECT_ERROR([&] { quant_matrix_read(*g, "n2.weight"); }, "bad_quant_tensor", "code books");
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/tuner-quant-io-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (!dir) return 1;
  g_dir = dir;
  test_round_trip();
  test_errors();
  std::system(("rm -rf '" + g_dir + "'").c_str());
  return finish("test_quant_io");
}
