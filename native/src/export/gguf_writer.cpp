// The GGUF v3 container (tuner/gguf.h): metadata encoded as it is set, tensor offsets laid out
// as tensors are added, data produced tensor by tensor while the file is written.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tuner/atomic_file.h"
#include "tuner/error.h"
#include "tuner/gguf.h"

namespace tuner {

namespace {

// gguf_type: the value types of the key/value section.
enum : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the engine runs on little-endian CPUs only (x86-64, arm64)
  out.insert(out.end(), b, b + sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t n) { return (n + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment; }

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::BF16: return "BF16";
  }
  return "?";
}

uint64_t ggml_row_bytes(GgmlType t, int64_t ne0) {
  switch (t) {
    case GgmlType::F32: return (uint64_t)ne0 * 4;
    case GgmlType::F16:
    case GgmlType::BF16: return (uint64_t)ne0 * 2;
    case GgmlType::Q8_0: return (uint64_t)(ne0 / 32) * 34;
    case GgmlType::Q4_0: return (uint64_t)(ne0 / 32) * 18;
  }
  return 0;
}

bool GgufWriter::has(const std::string& key) const { return std::find(keys_.begin(), keys_.end(), key) != keys_.end(); }

void GgufWriter::begin_kv(const std::string& key, uint32_t type) {
  TUNER_CHECK(!has(key), "GGUF key written twice: " + key);
  keys_.push_back(key);
  kv_count_++;
  put_string(kv_, key);
  put<uint32_t>(kv_, type);
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) { begin_kv(key, kU32); put(kv_, v); }
void GgufWriter::set_i32(const std::string& key, int32_t v) { begin_kv(key, kI32); put(kv_, v); }
void GgufWriter::set_f32(const std::string& key, float v) { begin_kv(key, kF32); put(kv_, v); }
void GgufWriter::set_bool(const std::string& key, bool v) { begin_kv(key, kBool); put<uint8_t>(kv_, v ? 1 : 0); }
void GgufWriter::set_string(const std::string& key, const std::string& v) { begin_kv(key, kString); put_string(kv_, v); }

void GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& v) {
  begin_kv(key, kArray);
  put<uint32_t>(kv_, kString);
  put<uint64_t>(kv_, v.size());
  for (const auto& s : v) put_string(kv_, s);
}

void GgufWriter::set_i32s(const std::string& key, const std::vector<int32_t>& v) {
  begin_kv(key, kArray);
  put<uint32_t>(kv_, kI32);
  put<uint64_t>(kv_, v.size());
  for (int32_t x : v) put(kv_, x);
}

void GgufWriter::set_f32s(const std::string& key, const std::vector<float>& v) {
  begin_kv(key, kArray);
  put<uint32_t>(kv_, kF32);
  put<uint64_t>(kv_, v.size());
  for (float x : v) put(kv_, x);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& ne, GgmlType type, Fill fill) {
  TUNER_CHECK(!ne.empty() && ne.size() <= 4, "GGUF tensor " + name + " needs 1 to 4 dimensions");
  for (const auto& t : tensors_) TUNER_CHECK(t.name != name, "GGUF tensor written twice: " + name);
  if ((type == GgmlType::Q8_0 || type == GgmlType::Q4_0) && ne[0] % 32 != 0)
    TUNER_CHECK(false, "GGUF tensor " + name + ": rows of " + std::to_string(ne[0]) + " values do not fill 32-value blocks");
  uint64_t rows = 1;
  for (size_t i = 1; i < ne.size(); i++) rows *= (uint64_t)ne[i];
  Tensor t{name, ne, type, ggml_row_bytes(type, ne[0]) * rows, next_offset_, std::move(fill)};
  next_offset_ = align_up(next_offset_ + t.bytes);
  tensors_.push_back(std::move(t));
}

uint64_t GgufWriter::data_bytes() const { return next_offset_; }

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head;
  head.insert(head.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(head, kGgufVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head.insert(head.end(), kv_.begin(), kv_.end());
  for (const auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, (uint32_t)t.ne.size());
    for (int64_t d : t.ne) put<uint64_t>(head, (uint64_t)d);
    put<uint32_t>(head, (uint32_t)t.type);
    put<uint64_t>(head, t.offset);
  }
  head.resize(align_up(head.size()), 0);

  AtomicFile out(path);
  bool ok = std::fwrite(head.data(), 1, head.size(), out.file()) == head.size();
  std::vector<uint8_t> buf;
  uint64_t written = 0;
  for (const auto& t : tensors_) {
    if (!ok) break;
    buf.assign(align_up(t.bytes), 0);  // zero padding after the tensor's bytes
    t.fill(buf.data());
    TUNER_CHECK(written == t.offset, "GGUF tensor offsets out of step at " + t.name);
    ok = std::fwrite(buf.data(), 1, buf.size(), out.file()) == buf.size();
    written += buf.size();
  }
  out.commit(ok);
}

}  // namespace tuner
