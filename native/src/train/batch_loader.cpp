// Cuts documents into fixed (B, T) micro-batches. The order is a pure function of (seed, epoch,
// index), so the cursor alone restores it on resume.
#include <algorithm>

#include "tuner/error.h"
#include "tuner/rng.h"
#include "tuner/shards.h"

namespace tuner {

Batch BatchBuffers::batch() const {
  Batch b;
  b.tokens = tokens.data();
  b.targets = targets.data();
  b.loss_mask = loss_mask.data();
  b.B = B;
  b.T = T;
  b.sample_start = sample_start.empty() ? nullptr : sample_start.data();
  b.first_row = first_row;
  return b;
}

int64_t BatchBuffers::trained_tokens() const {
  int64_t n = 0;
  for (uint8_t m : loss_mask) n += m;
  return n;
}

BatchLoader::BatchLoader(const ShardSet* data, int B, int T, uint64_t seed, bool shuffle, bool pairs)
    : data_(data), B_(B), T_(T), seed_(seed), shuffle_(shuffle), pairs_(pairs) {
  TUNER_CHECK(B > 0 && T > 0, "batch shape must be positive");
  TUNER_CHECK(!pairs || data->num_documents() % 2 == 0, "a preference-pairs set has an even number of documents");
  const uint64_t D = data->num_documents();
  for (uint64_t d = 0; d < D; ++d)
    if (data->doc_offsets[d + 1] - data->doc_offsets[d] > static_cast<uint64_t>(T) + 1) ++truncated_;
  const uint64_t S = num_samples();
  if (shuffle && S < static_cast<uint64_t>(B))
    throw TunerError("bad_plan",
                     "batch_size " + std::to_string(B) + " is larger than the " + std::to_string(S) +
                         (pairs ? " preference pairs in " : " documents in ") + data->dir,
                     "Lower batch_size (and raise grad_accum to keep the effective batch) or add data.");
}

uint64_t BatchLoader::num_samples() const { return pairs_ ? data_->num_documents() / 2 : data_->num_documents(); }

uint64_t BatchLoader::batches_per_epoch() const {
  const uint64_t S = num_samples();
  return shuffle_ ? S / B_ : (S + B_ - 1) / B_;
}

void BatchLoader::set_cursor(const DataCursor& c) {
  if (c.index > num_samples())
    throw TunerError("bad_checkpoint", "data cursor " + std::to_string(c.index) + " is past the " +
                                           std::to_string(num_samples()) + (pairs_ ? " pairs of " : " documents of ") + data_->dir,
                     "Resume with the same data_dir the checkpoint was trained on.");
  cursor_ = c;
}

const std::vector<uint64_t>& BatchLoader::order() {
  if (order_epoch_ != cursor_.epoch) {
    const uint64_t S = num_samples();
    if (shuffle_) {
      order_ = shuffled_indices(S, derive_seed(seed_, cursor_.epoch));
    } else {
      order_.resize(S);
      for (uint64_t i = 0; i < S; ++i) order_[i] = i;
    }
    order_epoch_ = cursor_.epoch;
  }
  return order_;
}

void BatchLoader::fill_row(uint64_t doc, int row, BatchBuffers* out) const {
  const uint64_t b = data_->doc_offsets[doc], e = data_->doc_offsets[doc + 1];
  const int64_t n = static_cast<int64_t>(e - b);
  const int64_t used = std::min<int64_t>(n - 1, T_);  // positions with a real target
  const size_t base = static_cast<size_t>(row) * T_;
  for (int64_t t = 0; t < T_; ++t) {
    if (t < used) {
      out->tokens[base + t] = data_->tokens[b + t];
      out->targets[base + t] = data_->tokens[b + t + 1];
      out->loss_mask[base + t] = data_->mask[b + t + 1];
    } else {
      out->tokens[base + t] = 0;
      out->targets[base + t] = 0;
      out->loss_mask[base + t] = 0;
    }
  }
  fill_row_samples(doc, row, out);
}

void BatchLoader::set_split(int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world || B_ % world != 0)
    throw TunerError("bad_plan",
                     "batch_size " + std::to_string(B_) + " does not split evenly over " + std::to_string(world) + " ranks",
                     "Set batch_size to a multiple of the number of ranks (the global batch is batch_size; each rank takes "
                     "batch_size / ranks rows), or start a different number of ranks.");
  rank_ = rank;
  world_ = world;
}

int64_t BatchLoader::row_trained_tokens(uint64_t doc) const {
  const uint64_t b = data_->doc_offsets[doc], e = data_->doc_offsets[doc + 1];
  const int64_t used = std::min<int64_t>(static_cast<int64_t>(e - b) - 1, T_);
  const std::vector<uint64_t>& ss = data_->sample_starts;
  int64_t n = 0;
  for (int64_t t = 0; t < used; ++t) {
    if (!data_->mask[b + t + 1]) continue;
    // Packed data: a target that opens the next record carries no loss (fill_row_samples).
    if (!ss.empty() && std::binary_search(ss.begin(), ss.end(), b + t + 1)) continue;
    ++n;
  }
  return n;
}

void BatchLoader::next(BatchBuffers* out) {
  const int local = B_ / world_;  // this rank's rows per sample kind
  const int rows = pairs_ ? 2 * local : local;
  out->B = rows;
  out->T = T_;
  const size_t n = static_cast<size_t>(rows) * T_;
  out->tokens.resize(n);
  out->targets.resize(n);
  out->loss_mask.resize(n);
  out->samples.assign(rows, UINT64_MAX);
  // The batch starts as padding, rows left empty as one padding record each; fill_row adds each
  // filled row's real positions. (A data-parallel rank's first row can be past the end of eval
  // data, so this cannot wait for row 0.)
  out->real_tokens = 0;
  padding_total_ += static_cast<int64_t>(n);
  if (!data_->sample_starts.empty()) out->sample_start.assign(n, 0);
  else out->sample_start.clear();
  const uint64_t S = num_samples();
  const uint64_t usable = shuffle_ ? (S / B_) * B_ : S;
  if (cursor_.index >= usable) {
    cursor_.epoch += 1;
    cursor_.index = 0;
  }
  const std::vector<uint64_t>& ord = order();
  int64_t others_trained = 0;  // data parallel: loss positions of the other ranks' rows
  for (int g = 0; g < B_; ++g) {
    const uint64_t pos = cursor_.index + g;
    const int r = g - rank_ * local;  // this rank's row, when in [0, local)
    if (r < 0 || r >= local) {
      if (pos < usable)
        for (int k = 0; k < (pairs_ ? 2 : 1); ++k) others_trained += row_trained_tokens(pairs_ ? 2 * ord[pos] + k : ord[pos]);
      continue;
    }
    for (int k = 0; k < (pairs_ ? 2 : 1); ++k) {
      const int row = r + k * local;
      if (pos < usable) {
        const uint64_t sample = ord[pos];
        fill_row(pairs_ ? 2 * sample + k : sample, row, out);
        out->samples[row] = sample;
      } else {  // eval's last batch: empty rows carry no loss
        std::fill_n(out->tokens.begin() + static_cast<size_t>(row) * T_, T_, 0u);
        std::fill_n(out->targets.begin() + static_cast<size_t>(row) * T_, T_, 0u);
        std::fill_n(out->loss_mask.begin() + static_cast<size_t>(row) * T_, T_, uint8_t{0});
      }
    }
  }
  out->global_trained_tokens = world_ > 1 ? others_trained + out->trained_tokens() : -1;
  out->first_row = static_cast<int64_t>(rank_) * local;
  cursor_.index = std::min(usable, cursor_.index + B_);
}

}  // namespace tuner
