// safetensors reader/writer and dtype conversion: round trips in every float dtype, the F16C
// path equals the scalar conversion for all 65536 halves, and every malformed header is
// rejected with the file and tensor named (never an out-of-bounds read).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "check_macros.h"
#include "tuner/dtype.h"
#include "tuner/json.h"
#include "tuner/safetensors.h"

using namespace tuner;

static std::string tmp_path(const std::string& name) { return "/tmp/tuner_test_st_" + std::to_string(getpid()) + "_" + name; }

static std::string slurp(const std::string& p) { return read_text_file(p); }
static void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Rebuilds a file from a header JSON text and a data region.
static std::string make_file(const std::string& header, const std::string& data) {
  uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

int main() {
  // --- scalar conversions ---
  EXPECT(f16_to_f32(0x3C00) == 1.0f);
  EXPECT(f16_to_f32(0xC000) == -2.0f);
  EXPECT(f16_to_f32(0x0001) == 5.9604644775390625e-8f);  // smallest subnormal
  EXPECT(std::isinf(f16_to_f32(0x7C00)));
  EXPECT(std::isnan(f16_to_f32(0x7E00)));
  EXPECT(f32_to_f16(1.0f) == 0x3C00);
  EXPECT(f32_to_f16(65504.0f) == 0x7BFF);
  EXPECT(f32_to_f16(1e6f) == 0x7C00);
  EXPECT(f32_to_f16(5.9604644775390625e-8f) == 0x0001);
  EXPECT(f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00);        // tie rounds to even
  EXPECT(f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02);        // tie rounds to even (up)
  EXPECT(f32_to_bf16(1.0f) == 0x3F80);
  EXPECT(f32_to_bf16(bits_to_f32(0x3F808000u)) == 0x3F80);  // tie to even (down)
  EXPECT(f32_to_bf16(bits_to_f32(0x3F818000u)) == 0x3F82);  // tie to even (up)
  EXPECT(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  // Every half converts identically through the bulk (F16C when present) and scalar paths,
  // and f32 -> f16 -> f32 is exact for every finite half.
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
  std::vector<float> bulk(65536);
  convert_to_f32(bulk.data(), all.data(), 65536, DType::F16);
  int mismatches = 0, roundtrip = 0;
  for (int i = 0; i < 65536; i++) {
    float s = f16_to_f32((uint16_t)i);
    if (std::isnan(s) ? !std::isnan(bulk[i]) : f32_to_bits(s) != f32_to_bits(bulk[i])) mismatches++;
    if (!std::isnan(s) && f32_to_f16(s) != (uint16_t)i) roundtrip++;
  }
  EXPECT(mismatches == 0);
  EXPECT(roundtrip == 0);

  // --- writer -> reader round trip in each dtype ---
  std::vector<float> a = {1.0f, -2.5f, 0.333333f, 1e-3f, 65504.0f, -0.0f};
  std::vector<float> b(3 * 4);
  for (size_t i = 0; i < b.size(); i++) b[i] = 0.1f * (float)i - 0.5f;
  for (DType d : {DType::F32, DType::F16, DType::BF16}) {
    std::string p = tmp_path(std::string("rt_") + dtype_safetensors_name(d));
    SafetensorsWriter w;
    w.add("a", {6}, a.data(), d);
    w.add("layer.b", {3, 4}, b.data(), d);
    w.add("empty", {0, 4}, nullptr, d);
    w.set_metadata("format", "pt");
    w.write(p);
    auto f = SafetensorsFile::open(p);
    EXPECT(f->tensors().size() == 3);
    EXPECT(f->metadata().at("format") == "pt");
    const TensorInfo* tb = f->find("layer.b");
    EXPECT(tb && tb->shape == std::vector<int64_t>({3, 4}) && tb->dtype == d);
    std::vector<float> back(12);
    f->read_f32(*tb, back.data());
    double tol = d == DType::F32 ? 0 : d == DType::F16 ? 1e-3 : 8e-3;
    for (int i = 0; i < 12; i++) EXPECT_NEAR(back[i], b[i], tol * std::max(1.0f, std::fabs(b[i])));
    // Data region is 8-byte aligned (header padded).
    std::string raw = slurp(p);
    uint64_t n;
    std::memcpy(&n, raw.data(), 8);
    EXPECT(n % 8 == 0);
    std::remove(p.c_str());
  }

  // --- malformed files ---
  std::string good_header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  std::string data(12, '\0');
  std::string p = tmp_path("bad");
  auto expect_open_error = [&](const std::string& contents, const std::string& code, const std::string& needle, int line) {
    spit(p, contents);
    expect_error(__FILE__, line, [&] { SafetensorsFile::open(p); }, code, needle);
  };
  spit(p, make_file(good_header, data));
  EXPECT(SafetensorsFile::open(p)->tensors().size() == 2);
  expect_open_error("abc", "truncated_file", "8-byte header length", __LINE__);
  expect_open_error(make_file(good_header, data).substr(0, 8) + "{}", "truncated_file", "exceeds the file size", __LINE__);
  expect_open_error(make_file(good_header, data.substr(0, 10)), "truncated_file", "tensor \"y\" ends at data byte 12", __LINE__);
  expect_open_error(make_file(good_header, data + "xx"), "bad_safetensors", "2 trailing bytes", __LINE__);
  expect_open_error(make_file("{\"x\":", data), "bad_json", "safetensors header", __LINE__);
  expect_open_error(make_file("[1,2]", ""), "bad_safetensors", "expected an object", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data),
                    "bad_safetensors", "overlap", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data), "bad_safetensors", "gap", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data.substr(0, 8)),
                    "bad_safetensors", "needs 12", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", data.substr(0, 8)),
                    "bad_safetensors", "unknown dtype \"Q4\"", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data.substr(0, 8)),
                    "bad_safetensors", "non-negative integers", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data.substr(0, 8)),
                    "bad_safetensors", "end < begin", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[2]}})", data.substr(0, 8)), "bad_safetensors", "data_offsets", __LINE__);
  expect_open_error(make_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", data),
                    "bad_safetensors", "tensor \"x\"", __LINE__);
  // Integer tensors load fine but cannot become weights.
  spit(p, make_file(R"({"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", data.substr(0, 8)));
  {
    auto f = SafetensorsFile::open(p);
    std::vector<float> out(2);
    EXPECT_ERROR([&] { f->read_f32(*f->find("x"), out.data()); }, "unsupported_dtype", "\"x\" has dtype I32");
  }
  EXPECT_ERROR([] { SafetensorsFile::open("/nonexistent/model.safetensors"); }, "file_not_found", "/nonexistent/model.safetensors");
  std::remove(p.c_str());
  return finish("test_safetensors");
}
