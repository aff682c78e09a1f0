// ROUGE-L F1 and corpus BLEU-4 against values computed by hand from rouge_score's and
// sacrebleu's definitions (LCS F-measure; clipped n-gram precisions, brevity penalty, "exp"
// smoothing), each case exercising one part of the formula.
#include <cmath>
#include <cstdio>

#include "check_macros.h"
#include "tuner/eval_metrics.h"

using namespace tuner;
using Ids = std::vector<uint32_t>;

int main() {
  // LCS of 1 2 3 4 5 and 1 3 5 6 is 1 3 5: P = 3/4, R = 3/5, F = 2PR / (P + R) = 2/3.
  EXPECT_NEAR(rouge_l_f1({1, 3, 5, 6}, {1, 2, 3, 4, 5}), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({1, 2, 3}, {1, 2, 3}), 1.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({7, 8}, {1, 2, 3}), 0.0, 1e-12);
  EXPECT_NEAR(rouge_l_f1({}, {1}), 0.0, 1e-12);
  // Order matters for a subsequence: 3 2 1 against 1 2 3 shares one token in order.
  EXPECT_NEAR(rouge_l_f1({3, 2, 1}, {1, 2, 3}), 1.0 / 3.0, 1e-12);

  {  // Matching lengths, every order matched: (5/6 * 4/5 * 3/4 * 2/3)^(1/4) = (1/3)^(1/4).
    CorpusBleu b;
    b.add({1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 7});
    EXPECT_NEAR(b.score(), 100.0 * std::pow(1.0 / 3.0, 0.25), 1e-9);
  }
  {  // Brevity penalty exp(1 - 5/4) and "exp" smoothing of the 3- and 4-gram orders with no
     // match: p3 = 1 / (2 * 2), p4 = 1 / (4 * 1); p1 = 2/4, p2 = 1/3.
    CorpusBleu b;
    b.add({1, 2, 3, 9}, {1, 2, 4, 5, 6});
    const double want = 100.0 * std::exp(1.0 - 5.0 / 4.0) * std::pow(0.5 * (1.0 / 3.0) * 0.25 * 0.25, 0.25);
    EXPECT_NEAR(b.score(), want, 1e-9);
    EXPECT(b.correct(3) == 0 && b.total(3) == 2 && b.total(4) == 1);
  }
  {  // Clipping: four 7s against a reference with one 7 match once.
    CorpusBleu b;
    b.add({7, 7, 7, 7}, {7, 1, 2, 3});
    EXPECT(b.correct(1) == 1 && b.total(1) == 4);
  }
  {  // Corpus level: counts and lengths are summed before the score, not averaged per pair.
    CorpusBleu b;
    b.add({1, 2, 3, 4}, {1, 2, 3, 4});
    b.add({5, 6, 7, 8, 9}, {5, 6, 7, 0, 9});
    // p1 = (4 + 4) / (4 + 5), p2 = (3 + 2) / (3 + 4), p3 = (2 + 1) / (2 + 3) (5 6 7 matches),
    // p4 = (1 + 0) / (1 + 2); lengths 9 = 9, so no brevity penalty.
    EXPECT_NEAR(b.score(), 100.0 * std::pow((8.0 / 9) * (5.0 / 7) * (3.0 / 5) * (1.0 / 3), 0.25), 1e-9);
  }
  {  // A hypothesis shorter than 4 tokens has no 4-gram: BLEU 0 (sacrebleu without effective order).
    CorpusBleu b;
    b.add({1, 2, 3}, {1, 2, 3});
    EXPECT_NEAR(b.score(), 0.0, 1e-12);
  }
  if (!g_failures) std::printf("test_eval_metrics: all checks passed\n");
  return g_failures ? 1 : 0;
}
