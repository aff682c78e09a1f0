// libFuzzer target: the strict JSON parser (config.json, safetensors headers, plans, manifests,
// trainer_state.json) on arbitrary bytes. A parse either succeeds or throws TunerError("bad_json");
// a value that parsed must dump to text that parses again to the same text.
#include <cstdint>
#include <string>

#include "tuner/error.h"
#include "tuner/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const tuner::Json v = tuner::Json::parse(text, "fuzz.json");
    const std::string once = v.dump(), pretty = v.dump(2);
    if (tuner::Json::parse(once, "dump").dump() != once) __builtin_trap();
    if (tuner::Json::parse(pretty, "dump").dump() != once) __builtin_trap();
  } catch (const tuner::TunerError& e) {
    if (e.code() != "bad_json" || e.hint().empty()) __builtin_trap();
  }
  return 0;
}
