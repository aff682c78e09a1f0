// safetensors files (the Hugging Face weight format): reading by mmap with a fully validated
// header, writing atomically, and the sharded model.safetensors.index.json layout.
//
// Layout: u64 little-endian N, N bytes of JSON header {name: {dtype, shape, data_offsets}},
// then the data region; offsets are relative to the data region, tensors tile it exactly.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tuner/dtype.h"

namespace tuner {

struct TensorInfo {
  std::string name;
  std::string dtype_name;  // as written in the header ("F32", "BF16", ...)
  DType dtype = DType::Unknown;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data region
  int64_t numel() const;
};

std::string shape_str(const std::vector<int64_t>& shape);  // "[4, 8]"

class SafetensorsFile {
 public:
  // Maps and validates `path`: header length within the file, header is a JSON object, every
  // entry has a known dtype, a shape and offsets matching dtype x shape, tensors tile the data
  // region without gaps or overlap, and the file is not truncated. Errors name the file and
  // tensor: codes file_not_found, truncated_file, bad_safetensors.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const uint8_t* data(const TensorInfo& t) const { return data_ + t.begin; }
  // Converts a F32/F16/BF16 tensor to f32 (dst holds numel floats); unsupported_dtype otherwise.
  void read_f32(const TensorInfo& t, float* dst) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Collects tensors (f32 in memory) and writes one safetensors file, atomically (temp + rename).
class SafetensorsWriter {
 public:
  // `data` must stay valid until write(). Stored as `dtype` (F32, F16 or BF16).
  void add(const std::string& name, const std::vector<int64_t>& shape, const float* data, DType dtype = DType::F32);
  // Bytes already in `dtype` (any known dtype, numel x dtype_size bytes), written as they are:
  // quantized blocks as U8, integer tensors. `bytes` must stay valid until write().
  void add_raw(const std::string& name, const std::vector<int64_t>& shape, const void* bytes, DType dtype);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  void write(const std::string& path) const;

 private:
  struct Entry { std::string name; std::vector<int64_t> shape; const float* data; DType dtype; const void* raw = nullptr; };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

// All weight files of a Hugging Face model folder: model.safetensors, or the shards listed by
// model.safetensors.index.json (each shard checked to hold what the index says).
class WeightFiles {
 public:
  static WeightFiles open(const std::string& dir);
  // nullptr when absent; `file` receives the shard that holds it.
  const TensorInfo* find(const std::string& name, const SafetensorsFile** file) const;
  std::vector<std::string> names() const;
  std::string describe() const;  // "model.safetensors" or "model.safetensors.index.json (3 shards)"

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, std::pair<size_t, const TensorInfo*>> where_;
  std::string description_;
};

}  // namespace tuner
