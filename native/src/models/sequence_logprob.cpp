// Sequence log-probabilities for preference tuning (DPO): the loss of a pair is a function of
// each row's summed log p(target) over its response tokens, so the model reports those sums
// after a forward and takes a weight per row for backward instead of the mean over tokens.
// The head ran on ws.head_rows rows: every row (their losses at their own index, 0 where the
// mask is 0) or the loss rows packed to the front in order (head_forward), so the i-th packed
// row is the i-th position with mask = 1.
#include "models/llama_model.h"
#include "tuner/error.h"

namespace tuner {

void LlamaModel::sequence_logprobs(double* out /* [B] */) const {
  const Workspace& ws = ws_;
  const int B = ws.B, T = ws.T;
  for (int b = 0; b < B; b++) out[b] = 0.0;
  for (int n = 0, i = 0; n < B * T; n++) {
    if (!ws.mask[n]) continue;
    out[n / T] -= ws.losses[ws.head_packed() ? i : n];
    i++;
  }
}

std::vector<float> LlamaModel::head_row_weights() const {
  const Workspace& ws = ws_;
  const int N = ws.B * ws.T;
  std::vector<float> w(ws.head_rows, 0.0f);
  for (int n = 0, i = 0; n < N; n++) {
    if (!ws.mask[n]) continue;
    w[ws.head_packed() ? i : n] = row_weights_[n / ws.T];
    i++;
  }
  return w;
}

void LlamaModel::backward_rows(const float* row_weights /* [B] */, ThreadPool* pool) {
  if (!have_forward_)
    throw TunerError("internal", "backward_rows() called without a forward() on this batch", "This is a bug in Tuner; please report it.");
  row_weights_.assign(row_weights, row_weights + ws_.B);
  try {
    backward(1.0f, pool);
  } catch (...) {
    row_weights_.clear();
    throw;
  }
  row_weights_.clear();
}

}  // namespace tuner
