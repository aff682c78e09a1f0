// safetensors reader (mmap + validation) and writer. The header is untrusted input: every size
// and offset is bounds-checked before use so a corrupt or truncated file yields a TunerError
// naming the file and tensor, never an out-of-bounds read.
#include "tuner/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tuner/atomic_file.h"
#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

[[noreturn]] void bad(const std::string& path, const std::string& what, const std::string& hint =
                          "The file is not a valid safetensors file; re-download or re-export it.") {
  throw TunerError("bad_safetensors", path + ": " + what, hint);
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw TunerError(err == ENOENT ? "file_not_found" : "io_error", path + ": cannot open (" + std::strerror(err) + ")",
                     "Check that the model folder holds every weight file listed in its index.");
  }
  struct stat st;
  if (fstat(fd, &st) != 0) { ::close(fd); bad(path, "cannot stat"); }
  size_t size = (size_t)st.st_size;
  if (size < 8) {
    ::close(fd);
    throw TunerError("truncated_file", path + ": truncated (" + std::to_string(size) + " bytes, the 8-byte header length is missing)",
                     "The download was probably interrupted; download the file again.");
  }
  void* m = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) bad(path, std::string("mmap failed: ") + std::strerror(errno));
  f->map_ = m;
  f->map_size_ = size;
  const uint8_t* bytes = static_cast<const uint8_t*>(m);
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);  // little-endian on every platform we build for
  if (n > size - 8)
    throw TunerError("truncated_file", path + ": header length " + std::to_string(n) + " exceeds the file size " + std::to_string(size),
                     "The file is truncated or not a safetensors file; download it again.");
  if (n < 2 || n > kMaxHeader) bad(path, "implausible header length " + std::to_string(n));
  Json header = Json::parse(std::string(reinterpret_cast<const char*>(bytes + 8), n), path + " (safetensors header)");
  if (!header.is_object()) bad(path, "header is a JSON " + std::string(Json::type_name(header.type())) + ", expected an object");
  f->data_ = bytes + 8 + n;
  uint64_t data_size = size - 8 - n;

  for (const auto& kv : header.as_object()) {
    const std::string& name = kv.first;
    const Json& e = kv.second;
    if (name == "__metadata__") {
      if (!e.is_object()) bad(path, "__metadata__ must be an object of strings");
      for (const auto& m2 : e.as_object()) {
        if (!m2.second.is_string()) bad(path, "__metadata__." + m2.first + " must be a string");
        f->metadata_[m2.first] = m2.second.as_string();
      }
      continue;
    }
    std::string where = "tensor \"" + name + "\"";
    if (!e.is_object()) bad(path, where + ": entry must be an object");
    const Json* dt = e.find("dtype");
    const Json* sh = e.find("shape");
    const Json* off = e.find("data_offsets");
    if (!dt || !dt->is_string()) bad(path, where + ": missing string \"dtype\"");
    if (!sh || !sh->is_array()) bad(path, where + ": missing array \"shape\"");
    if (!off || !off->is_array() || off->size() != 2) bad(path, where + ": \"data_offsets\" must be [begin, end]");
    TensorInfo t;
    t.name = name;
    t.dtype_name = dt->as_string();
    t.dtype = dtype_from_safetensors(t.dtype_name);
    if (t.dtype == DType::Unknown) bad(path, where + ": unknown dtype \"" + t.dtype_name + "\"");
    uint64_t numel = 1;
    for (const auto& d : sh->as_array()) {
      if (!d.is_number() || d.as_number() < 0 || d.as_number() > 1e15 || d.as_number() != (double)(int64_t)d.as_number())
        bad(path, where + ": shape entries must be non-negative integers");
      t.shape.push_back((int64_t)d.as_number());
      uint64_t dim = (uint64_t)t.shape.back();
      if (dim && numel > (1ull << 50) / dim) bad(path, where + ": shape is implausibly large");
      numel *= dim;
    }
    for (int i = 0; i < 2; i++) {
      const Json& o = off->as_array()[i];
      // < 2^53: exact in a double, and the cast below stays defined.
      if (!o.is_number() || o.as_number() < 0 || o.as_number() >= 9007199254740992.0 ||
          o.as_number() != (double)(uint64_t)o.as_number())
        bad(path, where + ": data_offsets must be non-negative integers");
    }
    t.begin = (uint64_t)off->as_array()[0].as_number();
    t.end = (uint64_t)off->as_array()[1].as_number();
    if (t.end < t.begin) bad(path, where + ": data_offsets end < begin");
    if (t.end - t.begin != numel * dtype_size(t.dtype))
      bad(path, where + ": data_offsets span " + std::to_string(t.end - t.begin) + " bytes but " + t.dtype_name + " " +
                    shape_str(t.shape) + " needs " + std::to_string(numel * dtype_size(t.dtype)));
    f->index_[name] = f->tensors_.size();
    f->tensors_.push_back(std::move(t));
  }
  // Tensors must tile the data region exactly: sorted by offset, each starting where the
  // previous ended (no overlap, no hole), the last ending at the end of the file.
  std::vector<const TensorInfo*> order;
  for (const auto& t : f->tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const TensorInfo* t : order) {
    if (t->begin < expected) bad(path, "tensor \"" + t->name + "\": data_offsets overlap the previous tensor");
    if (t->begin > expected) bad(path, "tensor \"" + t->name + "\": gap before data_offsets begin " + std::to_string(t->begin));
    expected = t->end;
  }
  if (expected > data_size) {
    const TensorInfo* last = order.back();
    throw TunerError("truncated_file",
                     path + ": truncated: tensor \"" + last->name + "\" ends at data byte " + std::to_string(expected) +
                         " but the file holds only " + std::to_string(data_size) + " data bytes",
                     "The download was probably interrupted; download the file again.");
  }
  if (expected < data_size) bad(path, std::to_string(data_size - expected) + " trailing bytes after the last tensor");
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, map_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::read_f32(const TensorInfo& t, float* dst) const {
  if (!dtype_is_float_weight(t.dtype))
    throw TunerError("unsupported_dtype", path_ + ": tensor \"" + t.name + "\" has dtype " + t.dtype_name + "; weights must be F32, F16 or BF16",
                     "Convert the checkpoint to float32, float16 or bfloat16 (quantized checkpoints are not supported for training).");
  convert_to_f32(dst, data(t), t.numel(), t.dtype);
  // A NaN or infinity read here would surface as a NaN loss at step 1 (training) or as garbage
  // text (inference); every tool refuses it at load instead, naming the tensor.
  const int64_t n = t.numel();
  int64_t bad_at = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(dst[i])) {
      bad_at = i;
      break;
    }
  }
  if (bad_at >= 0) {
    int64_t count = 0;
    for (int64_t i = bad_at; i < n; ++i) count += !std::isfinite(dst[i]);
    throw TunerError("non_finite_weights",
                     path_ + ": tensor \"" + t.name + "\" holds " + message_number(dst[bad_at]) + " (element " +
                         std::to_string(bad_at) + "; " + std::to_string(count) + " of its " + std::to_string(n) +
                         " values are not finite)",
                     "The weights hold NaN or infinity (a diverged run or a damaged file); use the model as published "
                     "or an earlier checkpoint.");
  }
}

void SafetensorsWriter::add(const std::string& name, const std::vector<int64_t>& shape, const float* data, DType dtype) {
  TUNER_CHECK(dtype_is_float_weight(dtype), "SafetensorsWriter: dtype must be F32/F16/BF16");
  entries_.push_back({name, shape, data, dtype});
}

void SafetensorsWriter::add_raw(const std::string& name, const std::vector<int64_t>& shape, const void* bytes, DType dtype) {
  TUNER_CHECK(dtype_size(dtype) > 0, "SafetensorsWriter: unknown dtype");
  entries_.push_back({name, shape, nullptr, dtype, bytes});
}

void SafetensorsWriter::write(const std::string& path) const {
  Json header = Json::object();
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    int64_t n = 1;
    Json shape = Json::array();
    for (int64_t d : e.shape) { n *= d; shape.push(Json(d)); }
    uint64_t bytes = (uint64_t)n * dtype_size(e.dtype);
    Json entry = Json::object();
    entry.set("dtype", Json(dtype_safetensors_name(e.dtype)));
    entry.set("shape", shape);
    entry.set("data_offsets", Json::array({Json((int64_t)offset), Json((int64_t)(offset + bytes))}));
    header.set(e.name, entry);
    offset += bytes;
  }
  Json meta = Json::object();
  for (const auto& kv : metadata_) meta.set(kv.first, Json(kv.second));
  header.set("__metadata__", meta);
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';  // keeps the data region 8-byte aligned for mmap readers

  AtomicFile out(path);
  FILE* f = out.file();
  uint64_t n = h.size();
  bool ok = std::fwrite(&n, 8, 1, f) == 1 && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  std::vector<uint16_t> half;
  for (const auto& e : entries_) {
    if (!ok) break;
    int64_t cnt = 1;
    for (int64_t d : e.shape) cnt *= d;
    if (e.raw) {
      const size_t bytes = (size_t)cnt * dtype_size(e.dtype);
      ok = bytes == 0 || std::fwrite(e.raw, 1, bytes, f) == bytes;
    } else if (e.dtype == DType::F32) {
      ok = cnt == 0 || std::fwrite(e.data, 4, (size_t)cnt, f) == (size_t)cnt;
    } else {
      half.resize((size_t)cnt);
      convert_from_f32(half.data(), e.data, cnt, e.dtype);
      ok = cnt == 0 || std::fwrite(half.data(), 2, (size_t)cnt, f) == (size_t)cnt;
    }
  }
  out.commit(ok);
}

}  // namespace tuner
