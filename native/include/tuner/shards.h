// Pre-tokenized training data: a shard directory (manifest.json + shard-*.bin files of uint32
// token ids and a uint8 loss mask per token; format in docs/shard-format.md, written by
// src/core/engine/shards.ts) and a loader that cuts it into fixed (B, T) micro-batches in an
// order fixed by the seed, with a cursor a checkpoint can save and restore.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/model.h"

namespace tuner {

constexpr char kShardMagic[9] = "TUNERSHD";
constexpr uint32_t kShardVersion = 1;
constexpr uint32_t kShardHeaderBytes = 48;

uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

// Every document of a shard directory, concatenated in manifest order.
struct ShardSet {
  std::string dir;
  uint32_t vocab_size = 0;
  std::string model_fingerprint, tokenizer_fingerprint;
  std::string content_fingerprint;  // hash of the files' CRCs: same data <=> same fingerprint
  std::vector<uint64_t> doc_offsets;  // num_documents + 1 entries into tokens / mask
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> mask;
  // manifest "layout": "documents" (each document trains on its own) or "preference-pairs"
  // (documents 2i and 2i+1 are pair i's prompt + chosen and prompt + rejected answer, for DPO).
  bool preference_pairs = false;
  // Packed documents: offsets into tokens where a record after a document's first begins,
  // increasing (the shard format's sample starts). Empty: one record per document.
  std::vector<uint64_t> sample_starts;

  uint64_t num_documents() const { return doc_offsets.empty() ? 0 : doc_offsets.size() - 1; }
};

// The fraction of an epoch's positions that are padding when each document fills one row of T
// positions (what the run wastes on padding; packing the records lowers it).
double padding_fraction(const ShardSet& set, int T);

// Reads and verifies a shard directory (magic, version, sizes, checksums, token ids below the
// manifest's vocab_size). Throws TunerError "bad_shards" naming the file and what is wrong.
ShardSet load_shards(const std::string& dir);

// Decodes one shard file's bytes (exposed for tests). Appends to out.
void decode_shard(const std::string& name, const std::vector<uint8_t>& bytes, ShardSet* out);

// Where the loader is: sample `index` of the epoch's permutation comes next.
struct DataCursor {
  uint64_t epoch = 0;
  uint64_t index = 0;
};

// Host buffers for one micro-batch; batch() views them.
struct BatchBuffers {
  std::vector<uint32_t> tokens, targets;
  std::vector<uint8_t> loss_mask;
  int B = 0, T = 0;
  // The sample (document, or preference pair) of each of the loader's B rows; UINT64_MAX for an
  // empty padding row. Pairs fill rows r (chosen) and B/2 + r (rejected).
  std::vector<uint64_t> samples;
  // [B*T] where each position's record begins in its row, filled when the data is packed
  // (empty otherwise: batch() then leaves Batch::sample_start null).
  std::vector<int32_t> sample_start;
  int64_t real_tokens = 0;  // positions holding a document's token; the rest is padding
  // Data parallel (BatchLoader::set_split): positions with loss_mask = 1 in the whole global
  // batch, over every rank's rows; -1 for a one-process loader.
  int64_t global_trained_tokens = -1;
  int64_t first_row = 0;  // data parallel: the global row of row 0 (Batch::first_row)
  Batch batch() const;
  int64_t trained_tokens() const;  // positions with loss_mask = 1
  // Fraction of the batch's B*T positions that are padding (no document token).
  double padding_fraction() const { return B * T > 0 ? 1.0 - (double)real_tokens / ((double)B * T) : 0.0; }
};

// One document is one row: inputs doc[0..n-2], targets doc[1..n-1] (the mask of a target is
// the mask of that token), cut to T and padded with token 0 / mask 0. Training order: each
// epoch is a fresh permutation drawn from (seed, epoch); the last incomplete batch of an epoch
// is dropped so every step has B real rows. Without shuffle (eval) documents go in order and
// the last batch is padded with empty rows. With pairs (a "preference-pairs" set) a sample is
// one pair and a batch of B pairs has 2B rows: the chosen sequences, then the rejected ones.
class BatchLoader {
 public:
  BatchLoader(const ShardSet* data, int B, int T, uint64_t seed, bool shuffle, bool pairs = false);

  void next(BatchBuffers* out);
  uint64_t batches_per_epoch() const;
  uint64_t truncated_documents() const { return truncated_; }
  DataCursor cursor() const { return cursor_; }
  void set_cursor(const DataCursor& c);
  // Data parallel: this loader gives out rank `rank`'s B/world rows of each global batch of B
  // (rows rank*B/world .. (rank+1)*B/world-1 of the one-process batch), so N ranks see exactly
  // the one-process samples of every step, and the cursor stays the global one (a checkpoint's
  // cursor means the same for any world size). B must be a multiple of world.
  void set_split(int rank, int world);

 private:
  void fill_row(uint64_t doc, int row, BatchBuffers* out) const;
  void fill_row_samples(uint64_t doc, int row, BatchBuffers* out) const;  // packed data: record starts
  int64_t row_trained_tokens(uint64_t doc) const;  // loss positions fill_row would give the document
  // Padding waste since the last call (batch_packing.cpp): the fraction of the positions of the
  // batches given out that held no document token; 0 when none were.
 public:
  double take_padding_fraction();

 private:
  mutable int64_t padding_real_ = 0, padding_total_ = 0;
  const std::vector<uint64_t>& order();

  uint64_t num_samples() const;

  const ShardSet* data_;
  int B_, T_;
  uint64_t seed_;
  bool shuffle_;
  bool pairs_;
  int rank_ = 0, world_ = 1;
  uint64_t truncated_ = 0;
  DataCursor cursor_;
  std::vector<uint64_t> order_;
  uint64_t order_epoch_ = UINT64_MAX;
};

}  // namespace tuner
