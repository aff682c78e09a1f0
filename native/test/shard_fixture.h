// Writes shard folders (docs/shard-format.md) from C++ for the engine's tests, so they need
// neither Node nor files checked into the repository. Written from the format's page (the
// product's writer is src/core/engine/shards.ts); test_shards checks the reader against it.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tuner/shards.h"

namespace shard_fixture {

struct Doc {
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> mask;
};

template <typename T>
void put(std::vector<uint8_t>& b, T v) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + sizeof v);
}

// One shard file's bytes: header, document offsets, tokens, masks (no packed sample starts).
inline std::vector<uint8_t> encode(const std::vector<Doc>& docs) {
  uint64_t n = 0;
  for (const auto& d : docs) n += d.tokens.size();
  std::vector<uint8_t> payload;
  uint64_t pos = 0;
  put<uint64_t>(payload, 0);
  for (const auto& d : docs) put<uint64_t>(payload, pos += d.tokens.size());
  for (const auto& d : docs)
    for (uint32_t t : d.tokens) put(payload, t);
  for (const auto& d : docs) payload.insert(payload.end(), d.mask.begin(), d.mask.end());
  std::vector<uint8_t> b(tuner::kShardMagic, tuner::kShardMagic + 8);
  put<uint32_t>(b, 1);
  put<uint32_t>(b, 48);
  put<uint64_t>(b, docs.size());
  put<uint64_t>(b, n);
  put<uint32_t>(b, tuner::crc32(payload.data(), payload.size()));
  put<uint32_t>(b, tuner::crc32(b.data(), 36));
  put<uint64_t>(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// dir/shard-00000.bin and dir/manifest.json (`manifest_extra`: more fields, each ending in a comma).
inline void write_set(const std::string& dir, const std::vector<uint8_t>& shard, const std::string& manifest_extra = "",
                      int vocab_size = 1000) {
  mkdir(dir.c_str(), 0755);
  write_file(dir + "/shard-00000.bin", shard);
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", tuner::crc32(shard.data(), shard.size()));
  const uint64_t D = *reinterpret_cast<const uint64_t*>(&shard[16]), N = *reinterpret_cast<const uint64_t*>(&shard[24]);
  std::ofstream m(dir + "/manifest.json");
  m << "{\"format\":\"tuner-shards\",\"version\":1,\"token_dtype\":\"uint32\",\"mask_dtype\":\"uint8\",\"vocab_size\":"
    << vocab_size << "," << manifest_extra << "\"files\":[{\"path\":\"shard-00000.bin\",\"documents\":" << D
    << ",\"tokens\":" << N << ",\"bytes\":" << shard.size() << ",\"crc32\":\"" << crc << "\"}]}";
}

}  // namespace shard_fixture
