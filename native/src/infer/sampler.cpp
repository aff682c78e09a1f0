// Next-token sampling with Hugging Face generate()'s semantics, in its order: the logits
// processors (suppressed ids, RepetitionPenaltyLogitsProcessor, NoRepeatNGramLogitsProcessor),
// then, when sampling, the warpers (Temperature, TopK, TopP, MinP, each with
// min_tokens_to_keep = 1), then one draw from the softmax with the engine's Rng. Greedy
// (temperature 0) is the argmax after the processors, the first index on ties like torch.argmax.
// Ties in the sorted filters are broken by token id, so results never depend on a sort's
// stability.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_set>

#include "kernels/cpu/vector_kernels.h"
#include "tuner/error.h"
#include "tuner/infer.h"

namespace tuner {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

[[noreturn]] void bad(const std::string& field, const std::string& range) {
  throw TunerError("bad_sampler", "sampler setting " + field + " must be " + range, "Fix the sampling settings.");
}
}  // namespace

void Sampler::reset(const SamplerSettings& s) {
  if (!(s.temperature >= 0 && std::isfinite(s.temperature))) bad("temperature", ">= 0 (0 = greedy)");
  if (s.top_k < 0) bad("top_k", ">= 0 (0 = off)");
  if (!(s.top_p > 0 && s.top_p <= 1)) bad("top_p", "in (0, 1] (1 = off)");
  if (!(s.min_p >= 0 && s.min_p <= 1)) bad("min_p", "in [0, 1] (0 = off)");
  if (!(s.repetition_penalty > 0 && std::isfinite(s.repetition_penalty))) bad("repetition_penalty", "> 0 (1 = off)");
  if (s.no_repeat_ngram_size < 0) bad("no_repeat_ngram_size", ">= 0 (0 = off)");
  s_ = s;
  rng_ = Rng(s.seed);
}

void Sampler::process(float* scores, int V, const uint32_t* seq, int n_seq, const uint32_t* banned, int n_banned) {
  for (int i = 0; i < n_banned; i++)
    if (banned[i] < (uint32_t)V) scores[banned[i]] = kNegInf;
  // RepetitionPenaltyLogitsProcessor: every id in the sequence once, prompt included.
  if (s_.repetition_penalty != 1.0f) {
    std::unordered_set<uint32_t> seen;
    for (int i = 0; i < n_seq; i++)
      if (seq[i] < (uint32_t)V && seen.insert(seq[i]).second) {
        float& x = scores[seq[i]];
        x = x < 0 ? x * s_.repetition_penalty : x / s_.repetition_penalty;
      }
  }
  // NoRepeatNGramLogitsProcessor: ban each token that would complete an n-gram already in the
  // sequence, i.e. follows an earlier occurrence of the last n-1 tokens.
  const int ng = s_.no_repeat_ngram_size;
  if (ng > 0 && n_seq + 1 >= ng) {
    const uint32_t* prefix = seq + n_seq - (ng - 1);
    for (int i = 0; i + ng <= n_seq; i++)
      if (std::equal(seq + i, seq + i + ng - 1, prefix) && seq[i + ng - 1] < (uint32_t)V) scores[seq[i + ng - 1]] = kNegInf;
  }
  if (s_.temperature == 0.0f) return;
  if (s_.temperature != 1.0f)
    for (int i = 0; i < V; i++) scores[i] /= s_.temperature;
  // TopKLogitsWarper: drop every score below the k-th largest (ties with it stay).
  if (s_.top_k > 0 && s_.top_k < V) {
    order_.resize(V);
    for (int i = 0; i < V; i++) order_[i] = (uint32_t)i;
    std::nth_element(order_.begin(), order_.begin() + (s_.top_k - 1), order_.end(),
                     [&](uint32_t a, uint32_t b) { return scores[a] > scores[b]; });
    const float kth = scores[order_[s_.top_k - 1]];
    for (int i = 0; i < V; i++)
      if (scores[i] < kth) scores[i] = kNegInf;
  }
  if (s_.top_p >= 1.0f && s_.min_p <= 0.0f) return;
  // The candidates left, highest score first (ties: lower id first).
  order_.clear();
  for (int i = 0; i < V; i++)
    if (scores[i] != kNegInf) order_.push_back((uint32_t)i);
  if (order_.empty()) return;
  std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  const double top = scores[order_[0]];
  double z = 0;
  for (uint32_t id : order_) z += std::exp((double)scores[id] - top);
  // TopPLogitsWarper: sorted ascending, drop the tokens whose cumulative probability (from the
  // least likely up, themselves included) is <= 1 - top_p; the most likely always stays.
  if (s_.top_p < 1.0f) {
    double cum = 0;
    for (size_t j = order_.size(); j-- > 1;) {
      cum += std::exp((double)scores[order_[j]] - top) / z;
      if (cum <= 1.0 - (double)s_.top_p) scores[order_[j]] = kNegInf;
      else break;
    }
  }
  // MinPLogitsWarper: drop tokens less likely than min_p x the top probability (over the
  // distribution top-p left, which it renormalises; the ratio to the top is the same).
  if (s_.min_p > 0.0f) {
    const double cut = std::log((double)s_.min_p);
    for (size_t j = 1; j < order_.size(); j++)
      if ((double)scores[order_[j]] - top < cut) scores[order_[j]] = kNegInf;
  }
}

uint32_t Sampler::sample(const float* logits, int V, const uint32_t* seq, int n_seq, const uint32_t* banned, int n_banned) {
  scores_.assign(logits, logits + V);
  float* s = scores_.data();
  process(s, V, seq, n_seq, banned, n_banned);
  // The first id with the highest score (NaN scores never win): the vectorised max, then its
  // first occurrence, since a greedy decode step does nothing else over the [V] row.
  const float mx = vector_kernels().row_max(s, V);
  int best = -1;
  if (mx != kNegInf && !std::isnan(mx))
    for (int i = 0; i < V && best < 0; i++)
      if (s[i] == mx) best = i;
  if (best < 0)
    throw TunerError("sampler_no_token", "every token id is excluded (banned, or its logit is -inf)",
                     "Ban fewer tokens, or lower no_repeat_ngram_size.");
  if (s_.temperature == 0.0f) return (uint32_t)best;
  // One uniform draw in [0, 1) against the cumulative softmax, in id order.
  const double top = s[best];
  double z = 0;
  for (int i = 0; i < V; i++)
    if (s[i] != kNegInf) z += std::exp((double)s[i] - top);
  const double u = (double)(rng_.next_u64() >> 11) * 0x1.0p-53 * z;
  double cum = 0;
  int last = best;
  for (int i = 0; i < V; i++) {
    if (s[i] == kNegInf) continue;
    cum += std::exp((double)s[i] - top);
    last = i;
    if (u < cum) return (uint32_t)i;
  }
  return (uint32_t)last;
}

}  // namespace tuner
