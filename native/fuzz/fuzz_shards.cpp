// libFuzzer target: the shard reader. The input is one shard file; its manifest.json is written
// to match (size, CRC, counts from the header), and when the input's first byte is odd the
// shard's own two checksums are fixed up first, so the fuzzer reaches the offsets, tokens, masks
// and the trained-token check behind them. When the first byte has bit 2 set, the rest is the
// manifest.json instead, beside the shard the previous input wrote. A set that loads is then cut
// into batches.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "tuner/error.h"
#include "tuner/shards.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string dir = fuzz_dir() + "/shards";
  mkdir(dir.c_str(), 0700);
  if (data[0] & 2) {
    fuzz_write(dir + "/manifest.json", data + 1, size - 1);
    try {
      tuner::load_shards(dir);
    } catch (const tuner::TunerError& e) {
      if (e.hint().empty()) __builtin_trap();
    }
    return 0;
  }
  const bool fix = data[0] & 1;
  std::vector<uint8_t> b(data + 1, data + size);
  uint64_t D = 0, N = 0;
  if (b.size() >= tuner::kShardHeaderBytes) {
    std::memcpy(&D, &b[16], 8);
    std::memcpy(&N, &b[24], 8);
    if (fix) {
      const uint32_t payload = tuner::crc32(b.data() + tuner::kShardHeaderBytes, b.size() - tuner::kShardHeaderBytes);
      std::memcpy(&b[32], &payload, 4);
      const uint32_t header = tuner::crc32(b.data(), 36);
      std::memcpy(&b[36], &header, 4);
    }
  }
  fuzz_write(dir + "/shard-00000.bin", b.data(), b.size());
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", tuner::crc32(b.data(), b.size()));
  const std::string manifest =
      "{\"format\":\"tuner-shards\",\"version\":1,\"token_dtype\":\"uint32\",\"mask_dtype\":\"uint8\",\"vocab_size\":4096,"
      "\"files\":[{\"path\":\"shard-00000.bin\",\"documents\":" + std::to_string(D) + ",\"tokens\":" + std::to_string(N) +
      ",\"bytes\":" + std::to_string(b.size()) + ",\"crc32\":\"" + crc + "\"}]}";
  fuzz_write(dir + "/manifest.json", manifest.data(), manifest.size());
  try {
    const tuner::ShardSet set = tuner::load_shards(dir);
    if (set.num_documents() < 2) return 0;
    tuner::BatchLoader loader(&set, 2, 8, 1, true);
    tuner::BatchBuffers batch;
    for (int i = 0; i < 3; ++i) loader.next(&batch);
    tuner::BatchLoader eval(&set, 2, 8, 1, false);
    for (uint64_t i = 0; i < eval.batches_per_epoch() && i < 4; ++i) eval.next(&batch);
  } catch (const tuner::TunerError& e) {
    if (e.hint().empty()) __builtin_trap();
  }
  return 0;
}
