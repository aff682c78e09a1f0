// Packed rows: a document that holds several records (the shard format's sample starts) keeps
// each record to itself. For every position of a row this fills where its record begins
// (Batch::sample_start: attention and RoPE positions restart there) and drops the target that
// would predict the next record's first token from the previous record, so a record's loss is
// the loss it has alone. It also counts the row's real (non-padding) positions for the
// padding-waste report.
#include <algorithm>

#include "tuner/shards.h"

namespace tuner {

void BatchLoader::fill_row_samples(uint64_t doc, int row, BatchBuffers* out) const {
  const bool packed = !data_->sample_starts.empty();
  const uint64_t b = data_->doc_offsets[doc], e = data_->doc_offsets[doc + 1];
  const int used = static_cast<int>(std::min<int64_t>(static_cast<int64_t>(e - b) - 1, T_));
  out->real_tokens += std::max(used, 0);
  padding_real_ += std::max(used, 0);
  if (!packed) return;
  const size_t base = static_cast<size_t>(row) * T_;
  // Record starts inside this document, as row positions.
  const std::vector<uint64_t>& ss = data_->sample_starts;
  auto it = std::upper_bound(ss.begin(), ss.end(), b);
  int32_t start = 0;
  for (int t = 0; t < T_; ++t) {
    if (t >= used) {  // padding: one record of its own after the last real position
      out->sample_start[base + t] = std::max(used, 0);
      continue;
    }
    while (it != ss.end() && *it <= b + t) start = static_cast<int32_t>(*it++ - b);
    out->sample_start[base + t] = start;
    // The target b + t + 1 opens the next record: nothing before it is its context.
    if (it != ss.end() && *it == b + t + 1) out->loss_mask[base + t] = 0;
  }
}

double BatchLoader::take_padding_fraction() {
  const double f = padding_total_ > 0 ? 1.0 - static_cast<double>(padding_real_) / static_cast<double>(padding_total_) : 0.0;
  padding_real_ = padding_total_ = 0;
  return f;
}

double padding_fraction(const ShardSet& set, int T) {
  const uint64_t D = set.num_documents();
  if (D == 0 || T <= 0) return 0.0;
  uint64_t real = 0;
  for (uint64_t d = 0; d < D; ++d) {
    const uint64_t n = set.doc_offsets[d + 1] - set.doc_offsets[d];
    real += n > 0 ? std::min<uint64_t>(n - 1, static_cast<uint64_t>(T)) : 0;
  }
  return 1.0 - static_cast<double>(real) / (static_cast<double>(D) * T);
}

}  // namespace tuner
