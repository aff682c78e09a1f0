// Text-similarity metrics of generated answers against reference answers, on words: ROUGE-L as rouge_score
// computes it (longest common subsequence; F-measure, beta 1) and corpus BLEU-4 as sacrebleu's
// corpus_bleu computes it (clipped n-gram counts summed over the corpus, brevity penalty on the
// summed lengths, smoothing "exp": the k-th order with no match counts as 1 / (2^k total)).
// The scores take ids: words become ids through WordIds (one table for hypothesis and reference),
// or token ids stand in for words when the model folder has no tokenizer to decode them.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tuner {

// rouge_score's tokenize (no stemmer): lowercase, every run of characters other than [a-z0-9]
// separates words, so "Don't stop!" is {"don", "t", "stop"}.
std::vector<std::string> rouge_words(const std::string& text);

// sacrebleu's default tokenizer "13a" (mteval-v13a): drop "<skipped>", join "-\n", newlines as
// spaces, unescape &quot; &amp; &lt; &gt;, split off ASCII punctuation except ' , . -, split
// . and , unless between digits, split - after a digit; words are the whitespace-separated runs.
std::vector<std::string> bleu_words_13a(const std::string& text);

// Stable ids for words, shared by a hypothesis and its reference so equal words get equal ids.
class WordIds {
 public:
  std::vector<uint32_t> ids(const std::vector<std::string>& words);

 private:
  std::unordered_map<std::string, uint32_t> table_;
};

// ROUGE-L F1 of one hypothesis against one reference, in [0, 1]; 0 when either is empty.
double rouge_l_f1(const std::vector<uint32_t>& hyp, const std::vector<uint32_t>& ref);

// Corpus BLEU: add each (hypothesis, reference) pair, then score() in [0, 100].
class CorpusBleu {
 public:
  void add(const std::vector<uint32_t>& hyp, const std::vector<uint32_t>& ref);
  double score() const;
  // Clipped matches and totals of n-gram order n (1..4), and the summed lengths.
  int64_t correct(int n) const { return correct_[n - 1]; }
  int64_t total(int n) const { return total_[n - 1]; }
  int64_t hyp_length() const { return hyp_len_; }
  int64_t ref_length() const { return ref_len_; }

 private:
  int64_t correct_[4] = {0, 0, 0, 0}, total_[4] = {0, 0, 0, 0};
  int64_t hyp_len_ = 0, ref_len_ = 0;
};

}  // namespace tuner
