// Shard directory reader. Everything is verified before training starts (sizes, checksums,
// token ranges) so a truncated or corrupt shard is an error event naming the file, not a
// crash or silent garbage hours into a run.
#include "tuner/shards.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  // Standard CRC-32 (IEEE 802.3, reflected 0xEDB88320), the one zlib.crc32 computes in shards.ts.
  static uint32_t table[256];
  static bool ready = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)ready;
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

namespace {

const char* kFixHint = "Prepare the data again (Tuner: Prepare Dataset) to rewrite the shard directory.";

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw TunerError("bad_shards", where + ": " + what, kFixHint);
}

template <typename T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the format is little-endian, as is every CPU we build for
  return v;
}

std::vector<uint8_t> read_binary(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) bad(path, "cannot open (missing file?)");
  const std::streamsize size = f.tellg();
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size)) bad(path, "read failed");
  return bytes;
}

uint64_t manifest_uint(const Json& m, const char* key, const std::string& where) {
  const Json* v = m.find(key);
  // Range first: casting a double beyond 2^64 (1e300) to an integer is undefined.
  if (!v || !v->is_number() || v->as_number() < 0 || v->as_number() >= 9007199254740992.0 ||
      v->as_number() != std::floor(v->as_number()))
    bad(where, std::string("field \"") + key + "\" must be a non-negative integer");
  return static_cast<uint64_t>(v->as_number());
}

std::string manifest_string_or_empty(const Json& m, const char* key) {
  const Json* v = m.find(key);
  return v && v->is_string() ? v->as_string() : "";
}

// Training on a set whose every target has loss mask 0 (or whose documents are all one token
// long: a document's first token is never a target) would report loss 0, decay the weights and
// "succeed"; it is refused here, naming the shard and which of the two it is.
void require_trained_token(const ShardSet& set, const std::string& where) {
  uint64_t single = 0;
  for (uint64_t d = 0; d < set.num_documents(); ++d) {
    const uint64_t begin = set.doc_offsets[d], end = set.doc_offsets[d + 1];
    if (end - begin < 2) ++single;
    for (uint64_t i = begin + 1; i < end; ++i)
      if (set.mask[i]) return;
  }
  const std::string n = std::to_string(set.num_documents());
  if (single == set.num_documents())
    throw TunerError("bad_shards",
                     where + ": no trained token: all " + n +
                         " documents have a single token, and a document's first token is never a target (nothing precedes it)",
                     "Check that the records hold text to train on (not empty answers), then prepare the data again.");
  throw TunerError("bad_shards",
                   where + ": no trained token: the loss mask is 0 at every target of its " + n + " documents" +
                       (single ? " (" + std::to_string(single) + " of them have a single token)" : ""),
                   "Check that the records have answers to train on (an empty completion or assistant turn trains "
                   "nothing) and that the preparation masks only the prompts, then prepare the data again.");
}

// The S sample starts after the mask: offsets into this file's tokens, increasing, each inside
// (not at the start of) a document, appended to out->sample_starts shifted by base.
void decode_sample_starts(const std::string& name, const uint8_t* p, uint64_t S, uint64_t base, uint64_t N, uint64_t D,
                          ShardSet* out) {
  const size_t first_doc = out->doc_offsets.size() - 1 - D;  // this file's first document
  uint64_t prev = 0;
  size_t d = 0;  // this file's document holding the current start
  const std::vector<uint64_t>& offs = out->doc_offsets;
  for (uint64_t i = 0; i < S; ++i) {
    const uint64_t s = read_le<uint64_t>(p + 8 * i);
    if (s >= N || (i > 0 && s <= prev)) bad(name, "sample starts must increase inside the token array (entry " + std::to_string(i) + ")");
    while (first_doc + d + 1 < offs.size() && offs[first_doc + d + 1] <= base + s) ++d;
    if (offs[first_doc + d] == base + s) bad(name, "sample start " + std::to_string(s) + " is a document start (entry " + std::to_string(i) + ")");
    out->sample_starts.push_back(base + s);
    prev = s;
  }
}

}  // namespace

void decode_shard(const std::string& name, const std::vector<uint8_t>& b, ShardSet* out) {
  if (b.size() < kShardHeaderBytes)
    bad(name, std::to_string(b.size()) + " bytes, shorter than the " + std::to_string(kShardHeaderBytes) + "-byte header (truncated?)");
  if (std::memcmp(b.data(), kShardMagic, 8) != 0) bad(name, "not a Tuner shard (magic is not TUNERSHD)");
  const uint32_t version = read_le<uint32_t>(&b[8]);
  if (version != kShardVersion)
    bad(name, "shard format version " + std::to_string(version) + ", this trainer reads version " + std::to_string(kShardVersion));
  if (crc32(b.data(), 36) != read_le<uint32_t>(&b[36])) bad(name, "header checksum mismatch (corrupt file)");
  const uint32_t header_bytes = read_le<uint32_t>(&b[12]);
  const uint64_t D = read_le<uint64_t>(&b[16]);
  const uint64_t N = read_le<uint64_t>(&b[24]);
  if (header_bytes != kShardHeaderBytes) bad(name, "unexpected header size " + std::to_string(header_bytes));
  if (D > (1ull << 40) || N > (1ull << 40)) bad(name, "implausible document or token count in header");
  const uint64_t S = read_le<uint64_t>(&b[40]);  // packed documents' sample starts (0: none)
  if (S > N) bad(name, "implausible sample start count in header");
  const uint64_t expected = kShardHeaderBytes + 8 * (D + 1) + 5 * N + 8 * S;
  if (b.size() != expected)
    bad(name, std::to_string(b.size()) + " bytes, the header says " + std::to_string(expected) + (b.size() < expected ? " (truncated)" : ""));
  if (crc32(b.data() + kShardHeaderBytes, b.size() - kShardHeaderBytes) != read_le<uint32_t>(&b[32]))
    bad(name, "payload checksum mismatch (corrupt file)");

  const uint8_t* offs = b.data() + kShardHeaderBytes;
  const uint8_t* toks = offs + 8 * (D + 1);
  const uint8_t* mask = toks + 4 * N;
  if (read_le<uint64_t>(offs) != 0 || read_le<uint64_t>(offs + 8 * D) != N)
    bad(name, "document offsets do not span the token array");
  const uint64_t base = out->tokens.size();
  if (out->doc_offsets.empty()) out->doc_offsets.push_back(0);
  uint64_t prev = 0;
  for (uint64_t d = 1; d <= D; ++d) {
    const uint64_t o = read_le<uint64_t>(offs + 8 * d);
    if (o < prev) bad(name, "document offsets decrease at document " + std::to_string(d - 1));
    out->doc_offsets.push_back(base + o);
    prev = o;
  }
  out->tokens.resize(base + N);
  std::memcpy(out->tokens.data() + base, toks, 4 * N);
  out->mask.resize(base + N);
  for (uint64_t i = 0; i < N; ++i) {
    if (mask[i] > 1) bad(name, "loss mask value " + std::to_string(mask[i]) + " at token " + std::to_string(i) + " (must be 0 or 1)");
    out->mask[base + i] = mask[i];
  }
  decode_sample_starts(name, mask + N, S, base, N, D, out);
}

ShardSet load_shards(const std::string& dir) {
  const std::string mpath = dir + "/manifest.json";
  {
    std::ifstream probe(mpath);
    if (!probe)
      throw TunerError("bad_shards", mpath + ": missing; " + dir + " is not a prepared shard directory",
                       "Point data_dir at the folder that Tuner: Prepare Dataset wrote (it holds manifest.json).");
  }
  Json m;
  try {
    m = Json::parse_file(mpath);
  } catch (const TunerError& e) {
    throw TunerError("bad_shards", e.what(), kFixHint);
  }
  if (!m.is_object()) bad(mpath, "not a JSON object");
  if (manifest_string_or_empty(m, "format") != "tuner-shards") bad(mpath, "field \"format\" must be \"tuner-shards\"");
  const uint64_t version = manifest_uint(m, "version", mpath);
  if (version != kShardVersion)
    bad(mpath, "shard format version " + std::to_string(version) + ", this trainer reads version " + std::to_string(kShardVersion));
  if (manifest_string_or_empty(m, "token_dtype") != "uint32") bad(mpath, "field \"token_dtype\" must be \"uint32\"");
  if (manifest_string_or_empty(m, "mask_dtype") != "uint8") bad(mpath, "field \"mask_dtype\" must be \"uint8\"");

  ShardSet set;
  set.dir = dir;
  const std::string layout = manifest_string_or_empty(m, "layout");
  if (!layout.empty() && layout != "documents" && layout != "preference-pairs")
    bad(mpath, "field \"layout\" is \"" + layout + "\"; this trainer reads \"documents\" and \"preference-pairs\"");
  set.preference_pairs = layout == "preference-pairs";
  set.vocab_size = static_cast<uint32_t>(manifest_uint(m, "vocab_size", mpath));
  set.model_fingerprint = manifest_string_or_empty(m, "model_fingerprint");
  set.tokenizer_fingerprint = manifest_string_or_empty(m, "tokenizer_fingerprint");
  const Json* files = m.find("files");
  if (!files || !files->is_array() || files->size() == 0) bad(mpath, "field \"files\" must list at least one shard file");
  for (size_t i = 0; i < files->size(); ++i) {
    const Json& f = files->as_array()[i];
    const std::string where = mpath + " files[" + std::to_string(i) + "]";
    if (!f.is_object()) bad(where, "not an object");
    const std::string rel = manifest_string_or_empty(f, "path");
    if (rel.empty() || rel.find("..") != std::string::npos || rel[0] == '/') bad(where, "field \"path\" must be a file name inside the shard directory");
    const std::string path = dir + "/" + rel;
    const std::vector<uint8_t> bytes = read_binary(path);
    const uint64_t want_bytes = manifest_uint(f, "bytes", where);
    if (bytes.size() != want_bytes)
      bad(path, std::to_string(bytes.size()) + " bytes, manifest.json says " + std::to_string(want_bytes) + (bytes.size() < want_bytes ? " (truncated)" : ""));
    char crc_hex[9];
    std::snprintf(crc_hex, sizeof crc_hex, "%08x", crc32(bytes.data(), bytes.size()));
    if (manifest_string_or_empty(f, "crc32") != crc_hex) bad(path, "checksum differs from manifest.json (corrupt or replaced file)");
    const uint64_t docs_before = set.num_documents(), toks_before = set.tokens.size();
    decode_shard(path, bytes, &set);
    if (set.num_documents() - docs_before != manifest_uint(f, "documents", where) ||
        set.tokens.size() - toks_before != manifest_uint(f, "tokens", where))
      bad(path, "document or token count differs from manifest.json");
  }
  for (size_t i = 0; i < set.tokens.size(); ++i) {
    if (set.tokens[i] >= set.vocab_size)
      bad(dir, "token id " + std::to_string(set.tokens[i]) + " is not below the manifest's vocab_size " + std::to_string(set.vocab_size));
  }
  if (set.num_documents() == 0) bad(dir, "no documents");
  if (set.preference_pairs && set.num_documents() % 2 != 0)
    bad(dir, "layout \"preference-pairs\" with an odd number of documents (" + std::to_string(set.num_documents()) +
                 "): every pair is a chosen and a rejected document");
  require_trained_token(set, files->size() == 1 ? dir + "/" + manifest_string_or_empty(files->as_array()[0], "path")
                                                : dir + " (" + std::to_string(files->size()) + " shard files)");
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the verified file checksums, in order
  for (size_t i = 0; i < files->size(); ++i) {
    for (unsigned char c : manifest_string_or_empty(files->as_array()[i], "crc32") + ";") {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
  char fp[17];
  std::snprintf(fp, sizeof fp, "%016llx", static_cast<unsigned long long>(h));
  set.content_fingerprint = fp;
  return set;
}

}  // namespace tuner
