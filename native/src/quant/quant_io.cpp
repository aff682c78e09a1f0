// QuantMatrix <-> safetensors tensors (layout in tuner/quant_io.h and docs/quantization.md).
// Reading checks every dtype, shape and companion against the type and shape the file claims, so
// a truncated or hand-edited file is an error naming the tensor, never a wrong matrix.
#include "tuner/quant_io.h"

#include <cstring>

#include "quant/quant_internal.h"
#include "tuner/error.h"

namespace tuner {

namespace {

const char* const kMetaPrefix = "tuner.quant.";

[[noreturn]] void bad_tensor(const SafetensorsFile& f, const std::string& name, const std::string& what) {
  throw TunerError("bad_quant_tensor", f.path() + ": quantized tensor \"" + name + "\": " + what,
                   "Quantize the model again; the file was not written by this version of Tuner or was changed.");
}

// The tensor `name`, which must have `dtype` and `shape`.
const TensorInfo& expect(const SafetensorsFile& f, const std::string& owner, const std::string& name, DType dtype,
                         const std::vector<int64_t>& shape) {
  const TensorInfo* t = f.find(name);
  if (!t) bad_tensor(f, owner, "companion tensor \"" + name + "\" is missing");
  if (t->dtype != dtype || t->shape != shape)
    bad_tensor(f, owner, "\"" + name + "\" is " + t->dtype_name + " " + shape_str(t->shape) + ", expected " +
                             dtype_safetensors_name(dtype) + " " + shape_str(shape));
  return *t;
}

template <class T>
std::vector<T> copy_of(const SafetensorsFile& f, const TensorInfo& t) {
  std::vector<T> v((size_t)(t.end - t.begin) / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), f.data(t), v.size() * sizeof(T));
  return v;
}

}  // namespace

void quant_matrix_add(SafetensorsWriter& out, const std::string& name, const QuantMatrix& w) {
  const int64_t R = w.rows, K = w.cols;
  switch (w.type) {
    case QuantType::F32: out.add_raw(name, {R, K}, w.data.data(), DType::F32); break;
    case QuantType::F16: out.add_raw(name, {R, K}, w.data.data(), DType::F16); break;
    case QuantType::BF16: out.add_raw(name, {R, K}, w.data.data(), DType::BF16); break;
    case QuantType::Q8_0:
    case QuantType::Q4_0: out.add_raw(name, {R, (int64_t)quant_row_bytes(w.type, w.cols)}, w.data.data(), DType::U8); break;
    case QuantType::INT8:
      out.add_raw(name, {R, K}, w.data.data(), DType::I8);
      out.add_raw(name + ".row_scale", {R}, w.row_scale.data(), DType::F32);
      break;
    case QuantType::NF4:
      out.add_raw(name, {R, K / 2}, w.data.data(), DType::U8);
      out.add_raw(name + ".absmax", {(int64_t)w.absmax_q.size()}, w.absmax_q.data(), DType::U8);
      out.add_raw(name + ".nested_absmax", {(int64_t)w.absmax_scale.size()}, w.absmax_scale.data(), DType::F32);
      out.add_raw(name + ".nested_offset", {1}, &w.absmax_offset, DType::F32);
      out.add_raw(name + ".quant_map", {16}, kNF4Values, DType::F32);
      out.add_raw(name + ".nested_quant_map", {256}, nf4_absmax_map(), DType::F32);
      break;
  }
  if (w.type != QuantType::F32) out.set_metadata(kMetaPrefix + name, quant_type_name(w.type));
}

QuantType quant_matrix_type(const SafetensorsFile& f, const std::string& name) {
  const TensorInfo* t = f.find(name);
  if (!t) throw TunerError("missing_tensor", f.path() + ": tensor \"" + name + "\" is missing", "Quantize the model again.");
  const auto it = f.metadata().find(kMetaPrefix + name);
  if (it != f.metadata().end()) {
    QuantType q;
    if (!quant_type_from_name(it->second, &q))
      throw TunerError("unknown_quant_type", f.path() + ": tensor \"" + name + "\" has quantization type \"" + it->second + "\"",
                       "This version of Tuner reads f32, f16, bf16, q8_0, q4_0, int8 and nf4; update Tuner or quantize again.");
    return q;
  }
  if (!dtype_is_float_weight(t->dtype))
    throw TunerError("unsupported_dtype", f.path() + ": tensor \"" + name + "\" has dtype " + t->dtype_name + " and no quantization type",
                     "Weights must be F32, F16 or BF16, or written by Tuner's quantizer.");
  return t->dtype == DType::F16 ? QuantType::F16 : QuantType::F32;
}

QuantMatrix quant_matrix_read(const SafetensorsFile& f, const std::string& name) {
  const QuantType type = quant_matrix_type(f, name);
  const TensorInfo& t = *f.find(name);
  if (t.shape.size() != 2 || t.shape[0] <= 0 || t.shape[1] <= 0 || t.shape[0] > (1 << 30) || t.shape[1] > (1 << 30))
    bad_tensor(f, name, "shape " + shape_str(t.shape) + " is not a [rows, cols] matrix");
  QuantMatrix w;
  w.type = type;
  w.rows = (int)t.shape[0];
  const int64_t R = w.rows, width = t.shape[1];
  switch (type) {
    case QuantType::F32:
      w.cols = (int)width;
      w.data.resize((size_t)R * width * 4);
      f.read_f32(t, reinterpret_cast<float*>(w.data.data()));  // F32, F16 or BF16
      return w;
    case QuantType::F16:
    case QuantType::BF16:
      expect(f, name, name, type == QuantType::F16 ? DType::F16 : DType::BF16, {R, width});
      w.cols = (int)width;
      break;
    case QuantType::Q8_0:
    case QuantType::Q4_0: {
      const int64_t block_bytes = type == QuantType::Q8_0 ? (int64_t)sizeof(BlockQ8_0) : (int64_t)sizeof(BlockQ4_0);
      if (t.dtype != DType::U8 || width % block_bytes != 0)
        bad_tensor(f, name, std::string("expected U8 [rows, whole ") + quant_type_name(type) + " blocks of " +
                                std::to_string(block_bytes) + " bytes], found " + t.dtype_name + " " + shape_str(t.shape));
      w.cols = (int)(width / block_bytes * 32);
      break;
    }
    case QuantType::INT8:
      expect(f, name, name, DType::I8, {R, width});
      w.cols = (int)width;
      w.row_scale = copy_of<float>(f, expect(f, name, name + ".row_scale", DType::F32, {R}));
      break;
    case QuantType::NF4: {
      expect(f, name, name, DType::U8, {R, width});
      w.cols = (int)(width * 2);
      if (w.cols % kQKNF4 != 0) bad_tensor(f, name, "cols " + std::to_string(w.cols) + " is not a multiple of 64");
      const int64_t blocks = R * w.cols / kQKNF4, groups = (blocks + kNF4ScaleBlock - 1) / kNF4ScaleBlock;
      w.absmax_q = copy_of<uint8_t>(f, expect(f, name, name + ".absmax", DType::U8, {blocks}));
      w.absmax_scale = copy_of<float>(f, expect(f, name, name + ".nested_absmax", DType::F32, {groups}));
      w.absmax_offset = copy_of<float>(f, expect(f, name, name + ".nested_offset", DType::F32, {1}))[0];
      const std::vector<float> code = copy_of<float>(f, expect(f, name, name + ".quant_map", DType::F32, {16}));
      const std::vector<float> map = copy_of<float>(f, expect(f, name, name + ".nested_quant_map", DType::F32, {256}));
      if (std::memcmp(code.data(), kNF4Values, sizeof(float) * 16) != 0 || std::memcmp(map.data(), nf4_absmax_map(), sizeof(float) * 256) != 0)
        bad_tensor(f, name, "its code books differ from NF4's and bitsandbytes' dynamic map, the only ones Tuner decodes");
      break;
    }
  }
  w.data = copy_of<uint8_t>(f, t);
  if (w.data.size() != quant_row_bytes(type, w.cols) * (size_t)R) bad_tensor(f, name, "data size does not match its shape");
  return w;
}

std::vector<std::string> quant_matrix_names(const SafetensorsFile& f) {
  std::vector<std::string> names;
  const std::string prefix = kMetaPrefix;
  for (const auto& kv : f.metadata())
    if (kv.first.compare(0, prefix.size(), prefix) == 0) names.push_back(kv.first.substr(prefix.size()));
  return names;
}

}  // namespace tuner
