// Direct Preference Optimization (Rafailov et al. 2023), the loss TRL's DPOTrainer computes with
// loss_type "sigmoid": per pair, with sequence log-probs summed over the response tokens,
//   z = beta * ((logp_chosen - ref_chosen) - (logp_rejected - ref_rejected))
//   loss = -log sigmoid(z)
// averaged over the pairs of a micro-batch. Rewards are beta times each log-ratio; the margin is
// their difference (z) and a pair counts as accurate when z > 0.
#pragma once
#include <cstdint>
#include <vector>

namespace tuner {

// Sums over pairs, for means over a step or an evaluation.
struct DpoStats {
  double loss = 0, chosen_reward = 0, rejected_reward = 0, margin = 0, accurate = 0;
  int64_t pairs = 0;
  void add(const DpoStats& o);
  double mean(double sum) const { return pairs > 0 ? sum / static_cast<double>(pairs) : 0.0; }
};

// logps / ref: [2P] (P chosen rows, then P rejected). Adds the pairs' sums to *stats and, when
// row_weights is not null, writes the weight of each row's token losses [2P] for backward:
// d(scale * mean loss)/d(-logp_row), so the gradient flows through chosen and rejected alike.
// Pairs with valid[i] == 0 (an eval batch's padding) count nowhere.
void dpo_loss(const double* logps, const double* ref, const uint8_t* valid, int P, double beta, double scale,
              float* row_weights, DpoStats* stats);

}  // namespace tuner
