// Storage dtypes of checkpoint tensors and their conversion to the engine's f32. The scalar
// conversions are inline (usable from CUDA later); bulk conversion picks F16C at run time.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "tuner/bf16_bits.h"

namespace tuner {

enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, U32, U64, U16, BOOL, Unknown };

DType dtype_from_safetensors(const std::string& tag);  // "F32" -> DType::F32, else Unknown
const char* dtype_safetensors_name(DType d);
size_t dtype_size(DType d);  // 0 for Unknown
inline bool dtype_is_float_weight(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

inline float bits_to_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t f32_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

// Round to nearest even, NaN stays NaN (as torch converts); the formula is shared with the
// CUDA conversion kernel (tuner/bf16_bits.h).
inline uint16_t f32_to_bf16(float f) { return bf16_round_bits(f32_to_bits(f)); }

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (man << 13));  // inf / nan
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    // subnormal: value = man * 2^-24
    float v = (float)man * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t f32_to_f16(float f) {
  uint32_t u = f32_to_bits(f);
  uint32_t sign = (u >> 16) & 0x8000;
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return (uint16_t)(sign | 0x7E00);      // nan
  if (a >= 0x477FF000u) return (uint16_t)(sign | 0x7C00);     // overflow -> inf
  if (a < 0x38800000u) {                                      // subnormal or zero in f16
    float v = bits_to_f32(a) * 16777216.0f;                   // * 2^24, rounds to nearest even
    return (uint16_t)(sign | (uint32_t)__builtin_lrintf(v));
  }
  uint32_t r = a + 0xFFFu + ((a >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (r >> 13));
}

// dst[i] = (float)src[i] for a float storage dtype (F32, F16, BF16). Uses F16C when present.
void convert_to_f32(float* dst, const void* src, int64_t n, DType src_dtype);
void convert_from_f32(void* dst, const float* src, int64_t n, DType dst_dtype);

}  // namespace tuner
