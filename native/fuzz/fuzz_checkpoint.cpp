// libFuzzer target: the checkpoint reader a resume runs first (check_checkpoint: the folder's
// trainer_state.json, adapter and optimizer files). The input is split at its first NUL byte:
// before it trainer_state.json, after it the bytes of both safetensors files. Anything wrong
// must be a TunerError("bad_checkpoint") with a hint.
#include <cstdint>
#include <cstring>

#include "fuzz_util.h"
#include "tuner/checkpoint.h"
#include "tuner/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t state_size = nul ? (size_t)(nul - data) : size;
  const uint8_t* rest = nul ? nul + 1 : data + size;
  const size_t rest_size = (size_t)(data + size - rest);
  const std::string dir = fuzz_dir() + "/step-00000001";
  mkdir(dir.c_str(), 0700);
  fuzz_write(dir + "/trainer_state.json", data, state_size);
  fuzz_write(dir + "/adapter_model.safetensors", rest, rest_size);
  fuzz_write(dir + "/optimizer.safetensors", rest, rest_size);
  try {
    tuner::check_checkpoint(dir, true);
    const tuner::TrainerState s = tuner::read_trainer_state(dir);
    if (s.lr_scale <= 0) __builtin_trap();
  } catch (const tuner::TunerError& e) {
    if (e.code() != "bad_checkpoint" || e.hint().empty()) __builtin_trap();
  }
  return 0;
}
