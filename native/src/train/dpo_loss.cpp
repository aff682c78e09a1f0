// DPO's loss and its gradient with respect to each sequence's log-probability (dpo.h). Double
// precision throughout: the log-ratios are differences of sums over hundreds of tokens.
#include <cmath>

#include "train/dpo.h"

namespace tuner {

void DpoStats::add(const DpoStats& o) {
  loss += o.loss;
  chosen_reward += o.chosen_reward;
  rejected_reward += o.rejected_reward;
  margin += o.margin;
  accurate += o.accurate;
  pairs += o.pairs;
}

namespace {
// -log sigmoid(z) = log(1 + exp(-z)), without overflow for large |z|.
double neg_log_sigmoid(double z) { return z >= 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z)); }
double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }
}  // namespace

void dpo_loss(const double* logps, const double* ref, const uint8_t* valid, int P, double beta, double scale,
              float* row_weights, DpoStats* stats) {
  int counted = 0;
  for (int i = 0; i < P; i++) counted += !valid || valid[i] ? 1 : 0;
  for (int i = 0; i < P; i++) {
    if (row_weights) row_weights[i] = row_weights[P + i] = 0.0f;
    if (valid && !valid[i]) continue;
    const double chosen = beta * (logps[i] - ref[i]), rejected = beta * (logps[P + i] - ref[P + i]);
    const double z = chosen - rejected;
    stats->loss += neg_log_sigmoid(z);
    stats->chosen_reward += chosen;
    stats->rejected_reward += rejected;
    stats->margin += z;
    stats->accurate += z > 0 ? 1.0 : 0.0;
    stats->pairs += 1;
    if (!row_weights) continue;
    // d loss / d z = -sigmoid(-z); dz/dlogp_chosen = beta, dz/dlogp_rejected = -beta; a row's
    // token losses are -logp, hence the sign.
    const double g = scale * sigmoid(-z) * beta / counted;
    row_weights[i] = static_cast<float>(g);
    row_weights[P + i] = static_cast<float>(-g);
  }
}

}  // namespace tuner
