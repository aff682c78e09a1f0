// Bulk dtype conversion. f16 -> f32 is the one hot enough to vectorise (loading f16 models);
// the F16C path lives in dtype_avx2.cpp (built with -mf16c) and is only called when cpuid says so.
#include "tuner/dtype.h"

#include "tuner/cpu_features.h"
#include "tuner/error.h"

namespace tuner {

void f16_to_f32_f16c(float* dst, const uint16_t* src, int64_t n);  // dtype_avx2.cpp

DType dtype_from_safetensors(const std::string& t) {
  static const struct { const char* name; DType d; } table[] = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
      {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},
      {"U8", DType::U8}, {"U16", DType::U16}, {"U32", DType::U32}, {"U64", DType::U64}, {"BOOL", DType::BOOL}};
  for (const auto& e : table)
    if (t == e.name) return e.d;
  return DType::Unknown;
}

const char* dtype_safetensors_name(DType d) {
  switch (d) {
    case DType::F32: return "F32"; case DType::F16: return "F16"; case DType::BF16: return "BF16";
    case DType::F64: return "F64"; case DType::I64: return "I64"; case DType::I32: return "I32";
    case DType::I16: return "I16"; case DType::I8: return "I8"; case DType::U8: return "U8";
    case DType::U16: return "U16"; case DType::U32: return "U32"; case DType::U64: return "U64";
    case DType::BOOL: return "BOOL"; case DType::Unknown: break;
  }
  return "?";
}

size_t dtype_size(DType d) {
  switch (d) {
    case DType::F64: case DType::I64: case DType::U64: return 8;
    case DType::F32: case DType::I32: case DType::U32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
    case DType::Unknown: break;
  }
  return 0;
}

void convert_to_f32(float* dst, const void* src, int64_t n, DType d) {
  switch (d) {
    case DType::F32:
      // An empty tensor's buffer may be null, which memcpy must not be given even for 0 bytes.
      if (n > 0) std::memcpy(dst, src, (size_t)n * 4);
      return;
    case DType::F16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      if (cpu_features().f16c) { f16_to_f32_f16c(dst, s, n); return; }
      for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::BF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    default:
      TUNER_CHECK(false, std::string("convert_to_f32: not a float weight dtype ") + dtype_safetensors_name(d));
  }
}

void convert_from_f32(void* dst, const float* src, int64_t n, DType d) {
  switch (d) {
    case DType::F32: std::memcpy(dst, src, (size_t)n * 4); return;
    case DType::F16: { uint16_t* o = static_cast<uint16_t*>(dst); for (int64_t i = 0; i < n; i++) o[i] = f32_to_f16(src[i]); return; }
    case DType::BF16: { uint16_t* o = static_cast<uint16_t*>(dst); for (int64_t i = 0; i < n; i++) o[i] = f32_to_bf16(src[i]); return; }
    default:
      TUNER_CHECK(false, std::string("convert_from_f32: not a float weight dtype ") + dtype_safetensors_name(d));
  }
}

}  // namespace tuner
