// libFuzzer target: a safetensors file (8-byte header length, JSON header, data) opened by the
// mmap reader, then every float tensor read as f32. Only TunerErrors may come out: the header's
// sizes and offsets are untrusted, so ASan / UBSan report any read outside the mapping.
#include <cstdint>
#include <vector>

#include "fuzz_util.h"
#include "tuner/error.h"
#include "tuner/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz_dir() + "/model.safetensors";
  fuzz_write(path, data, size);
  try {
    auto f = tuner::SafetensorsFile::open(path);
    std::vector<float> out;
    for (const tuner::TensorInfo& t : f->tensors()) {
      if (f->find(t.name) != &t) __builtin_trap();
      if (!tuner::dtype_is_float_weight(t.dtype) || t.numel() > (1 << 20)) continue;
      out.resize((size_t)t.numel());
      try {
        f->read_f32(t, out.data());
      } catch (const tuner::TunerError& e) {
        if (e.code() != "non_finite_weights") throw;
      }
    }
  } catch (const tuner::TunerError& e) {
    if (e.hint().empty()) __builtin_trap();
  }
  return 0;
}
