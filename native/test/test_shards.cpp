// Shard decoding (truncation, corruption, bad manifests are errors naming the file) and the
// batch loader (row layout, per-epoch permutation from the seed, cursor restore).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "shard_fixture.h"
#include "trainer_test_util.h"
#include "tuner/shards.h"

using namespace tuner;
using namespace shard_fixture;

namespace {

std::vector<Doc> make_docs(int count) {
  std::vector<Doc> docs;
  for (int i = 0; i < count; ++i) {
    Doc d;
    const int len = 3 + i % 7;
    for (int j = 0; j < len; ++j) {
      d.tokens.push_back(static_cast<uint32_t>(i * 10 + j));
      d.mask.push_back(j >= 2 ? 1 : 0);
    }
    docs.push_back(d);
  }
  return docs;
}

}  // namespace

int main() {
  CHECK(crc32("123456789", 9) == 0xCBF43926u);  // the CRC-32 check value

  const std::vector<Doc> docs = make_docs(23);
  const std::vector<uint8_t> bytes = encode(docs);
  {
    ShardSet s;
    decode_shard("x.bin", bytes, &s);
    CHECK(s.num_documents() == 23);
    CHECK(s.tokens[s.doc_offsets[5]] == 50);
    CHECK(s.mask[s.doc_offsets[5] + 2] == 1);
  }
  {  // truncated, corrupted, wrong magic
    ShardSet s;
    std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 3);
    CHECK_ERROR(decode_shard("cut.bin", cut, &s), "bad_shards", "cut.bin");
    CHECK_ERROR(decode_shard("cut.bin", cut, &s), "bad_shards", "truncated");
    std::vector<uint8_t> head(bytes.begin(), bytes.begin() + 20);
    CHECK_ERROR(decode_shard("head.bin", head, &s), "bad_shards", "header");
    std::vector<uint8_t> flip = bytes;
    flip[flip.size() - 40] ^= 1;
    CHECK_ERROR(decode_shard("flip.bin", flip, &s), "bad_shards", "checksum");
    std::vector<uint8_t> magic = bytes;
    magic[0] = 'X';
    CHECK_ERROR(decode_shard("magic.bin", magic, &s), "bad_shards", "magic");
  }

  char tmpl[] = "/tmp/tuner-test-shards-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  {
    write_set(root + "/ok", bytes);
    ShardSet s = load_shards(root + "/ok");
    CHECK(s.num_documents() == 23 && s.vocab_size == 1000);
    CHECK_ERROR(load_shards(root + "/missing"), "bad_shards", "manifest.json");
    std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
    write_set(root + "/cut", bytes);
    write_file(root + "/cut/shard-00000.bin", cut);  // shorter than manifest.json says
    CHECK_ERROR(load_shards(root + "/cut"), "bad_shards", "truncated");
    write_set(root + "/v2", bytes);
    std::ofstream(root + "/v2/manifest.json") << "{\"format\":\"tuner-shards\",\"version\":2}";
    CHECK_ERROR(load_shards(root + "/v2"), "bad_shards", "version 2");
    std::ofstream(root + "/v2/manifest.json") << "{\"format\":\"tuner-shards\",";
    CHECK_ERROR(load_shards(root + "/v2"), "bad_shards", "manifest.json");
    std::vector<Doc> big = docs;
    big[3].tokens[1] = 5000;
    write_set(root + "/vocab", encode(big));
    CHECK_ERROR(load_shards(root + "/vocab"), "bad_shards", "5000");
  }
  {  // data with nothing to train on: refused with the shard and the reason
    std::vector<Doc> unmasked = docs;
    for (Doc& d : unmasked) std::fill(d.mask.begin(), d.mask.end(), 0);
    unmasked[4].mask[0] = 1;  // the first token is never a target: still nothing to train
    write_set(root + "/nomask", encode(unmasked));
    CHECK_ERROR(load_shards(root + "/nomask"), "bad_shards", root + "/nomask/shard-00000.bin");
    CHECK_ERROR(load_shards(root + "/nomask"), "bad_shards", "no trained token: the loss mask is 0 at every target of its 23 documents");
    std::vector<Doc> singles;
    for (int i = 0; i < 5; ++i) singles.push_back({{static_cast<uint32_t>(i + 1)}, {1}});
    write_set(root + "/singles", encode(singles));
    CHECK_ERROR(load_shards(root + "/singles"), "bad_shards", "all 5 documents have a single token");
    std::vector<Doc> one = unmasked;  // one trained target among them is enough
    one[7].mask.back() = 1;
    write_set(root + "/one", encode(one));
    CHECK(load_shards(root + "/one").num_documents() == 23);
  }

  ShardSet set = load_shards(root + "/ok");
  {  // row layout: inputs doc[0..n-2], targets doc[1..n-1], target mask, padding, truncation
    BatchLoader eval(&set, 4, 5, 0, false);
    CHECK(eval.batches_per_epoch() == 6);  // 23 docs, last batch padded
    CHECK(eval.truncated_documents() > 0);
    BatchBuffers b;
    eval.next(&b);
    // doc 0 has 3 tokens 0,1,2 with mask 0,0,1
    CHECK(b.tokens[0] == 0 && b.targets[0] == 1 && b.loss_mask[0] == 0);
    CHECK(b.tokens[1] == 1 && b.targets[1] == 2 && b.loss_mask[1] == 1);
    CHECK(b.tokens[2] == 0 && b.targets[2] == 0 && b.loss_mask[2] == 0);
    // doc 3 has 6 tokens 30..35: cut to T=5 positions
    CHECK(b.tokens[15] == 30 && b.targets[19] == 35 && b.loss_mask[19] == 1);
    for (int i = 0; i < 5; ++i) eval.next(&b);
    CHECK(b.tokens[5 * 3] == 0 && b.trained_tokens() > 0);  // rows past doc 22 are empty
  }
  {  // training order: each epoch a permutation, seeded, cursor restores exactly
    BatchLoader a(&set, 4, 8, 42, true), c(&set, 4, 8, 43, true);
    CHECK(a.batches_per_epoch() == 5);  // 23 / 4, last partial batch dropped
    std::vector<std::vector<uint32_t>> seq;
    std::set<uint32_t> firsts;
    BatchBuffers b, bc;
    bool differs = false;
    for (int i = 0; i < 15; ++i) {
      a.next(&b);
      c.next(&bc);
      differs = differs || b.tokens != bc.tokens;
      seq.push_back(b.tokens);
      if (i < 5)
        for (int r = 0; r < 4; ++r) firsts.insert(b.tokens[r * 8] / 10);
    }
    CHECK(differs);
    CHECK(firsts.size() == 20);  // 20 distinct documents in the first epoch
    CHECK(seq[0] != seq[5]);     // a new permutation per epoch
    BatchLoader again(&set, 4, 8, 42, true);
    for (int i = 0; i < 7; ++i) again.next(&b);
    const DataCursor cur = again.cursor();
    CHECK(cur.epoch == 1 && cur.index == 8);
    BatchLoader resumed(&set, 4, 8, 42, true);
    resumed.set_cursor(cur);
    for (int i = 7; i < 15; ++i) {
      resumed.next(&b);
      CHECK(b.tokens == seq[i]);
    }
    CHECK_ERROR(BatchLoader(&set, 24, 8, 1, true), "bad_plan", "batch_size 24");
  }
  std::string cmd = "rm -rf " + root;
  CHECK(std::system(cmd.c_str()) == 0);
  return trainer_test::finish("test_shards");
}
