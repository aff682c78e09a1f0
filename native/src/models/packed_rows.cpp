// Packed rows in the model: Batch::sample_start says where each position's record begins, and
// the forward and backward passes keep attention within records and restart positions (RoPE
// angles, GPT-2's learned positions) at each record's start. ALiBi needs nothing more: its bias
// depends on the distance between query and key only.
#include <string>

#include "llama_model.h"
#include "tuner/error.h"

namespace tuner {

void record_positions(const Batch& batch, int32_t* positions) {
  const int B = batch.B, T = batch.T;
  for (int b = 0; b < B; b++) {
    const int32_t* ss = batch.sample_start + (size_t)b * T;
    for (int t = 0; t < T; t++) {
      // A record starts at or before its position, and the next position either stays in it or
      // opens a new one right there: anything else would let attention reach another record.
      const bool ok = ss[t] >= 0 && ss[t] <= t && (t == 0 ? ss[t] == 0 : ss[t] == ss[t - 1] || ss[t] == t);
      if (!ok)
        throw TunerError("bad_batch",
                         "sample_start " + std::to_string(ss[t]) + " at row " + std::to_string(b) + ", position " + std::to_string(t) +
                             " does not describe records that follow each other",
                         "This is a bug in the batch loader; please report it.");
      positions[(size_t)b * T + t] = t - ss[t];
    }
  }
}

void LlamaModel::load_sample_starts(const Batch& batch) {
  Workspace& ws = ws_;
  if (!batch.sample_start) {
    ws.sample_start.clear();
    ws.positions.clear();
    return;
  }
  const size_t N = (size_t)batch.B * batch.T;
  ws.sample_start.assign(batch.sample_start, batch.sample_start + N);
  ws.positions.resize(N);
  record_positions(batch, ws.positions.data());
}

}  // namespace tuner
