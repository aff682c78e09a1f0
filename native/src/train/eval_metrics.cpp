// ROUGE-L and corpus BLEU-4 on word (or token) ids (tuner/eval_metrics.h): the formulas of rouge_score's
// rouge_scorer (_score_lcs) and sacrebleu's BLEU.compute_bleu with smooth_method "exp".
#include "tuner/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace tuner {

double rouge_l_f1(const std::vector<uint32_t>& hyp, const std::vector<uint32_t>& ref) {
  if (hyp.empty() || ref.empty()) return 0.0;
  // LCS length by dynamic programming over one row at a time.
  std::vector<int> prev(ref.size() + 1, 0), cur(ref.size() + 1, 0);
  for (uint32_t h : hyp) {
    for (size_t j = 1; j <= ref.size(); j++) cur[j] = h == ref[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  const double lcs = prev[ref.size()];
  const double p = lcs / hyp.size(), r = lcs / ref.size();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

namespace {
std::map<std::vector<uint32_t>, int64_t> ngram_counts(const std::vector<uint32_t>& s, int n) {
  std::map<std::vector<uint32_t>, int64_t> out;
  for (size_t i = 0; i + n <= s.size(); i++) out[std::vector<uint32_t>(s.begin() + i, s.begin() + i + n)]++;
  return out;
}
}  // namespace

void CorpusBleu::add(const std::vector<uint32_t>& hyp, const std::vector<uint32_t>& ref) {
  hyp_len_ += (int64_t)hyp.size();
  ref_len_ += (int64_t)ref.size();
  for (int n = 1; n <= 4; n++) {
    const auto h = ngram_counts(hyp, n), r = ngram_counts(ref, n);
    for (const auto& [g, c] : h) {
      total_[n - 1] += c;
      auto it = r.find(g);
      if (it != r.end()) correct_[n - 1] += std::min(c, it->second);  // clipped by the reference's count
    }
  }
}

double CorpusBleu::score() const {
  // No matching n-gram of any order: sacrebleu returns 0 before smoothing.
  if (correct_[0] == 0 && correct_[1] == 0 && correct_[2] == 0 && correct_[3] == 0) return 0.0;
  double log_sum = 0;
  double smooth = 1;
  for (int n = 1; n <= 4; n++) {
    if (total_[n - 1] == 0) return 0.0;  // no n-gram of this order: sacrebleu's precision 0
    double p;
    if (correct_[n - 1] == 0) {
      smooth *= 2;
      p = 1.0 / (smooth * total_[n - 1]);
    } else {
      p = (double)correct_[n - 1] / total_[n - 1];
    }
    log_sum += std::log(p);
  }
  if (hyp_len_ == 0) return 0.0;
  const double bp = hyp_len_ >= ref_len_ ? 1.0 : std::exp(1.0 - (double)ref_len_ / hyp_len_);
  return 100.0 * bp * std::exp(log_sum / 4);
}

}  // namespace tuner
