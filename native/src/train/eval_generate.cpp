// Evaluation beyond loss: every eval_generate.every-th evaluation the trainer answers the
// prompts of the first eval records greedily from its current weights (the sampler's
// greedy_continue) and scores each answer against the record's own answer: ROUGE-L F1 (mean
// over the records) and corpus BLEU-4 (tuner/eval_metrics.h), on the decoded text as rouge_score
// and sacrebleu split it when the model folder has a tokenizer.json (tuner/text_decoder.h), on
// token ids otherwise; the event's `metrics_on` says which. The scores ride in that evaluation's
// `eval` event. A record's prompt is everything before its first trained
// token, its answer the trained tokens that follow (the first answer of a conversation, the
// first record of a packed sequence), without the stop ids that end it. Nothing is written to
// the weights, the optimizer or the RNG, so the run's numbers do not change.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "tuner/error.h"
#include "trainer_internal.h"
#include "tuner/eval_metrics.h"

namespace tuner {

const TextDecoder* Trainer::generation_decoder() {
  if (text_decoder_read_) return text_decoder_.get();
  text_decoder_read_ = true;
  std::string why;
  try {
    text_decoder_ = TextDecoder::load(plan_.model_dir, &why);
  } catch (const TunerError& e) {  // a tokenizer.json that cannot be read costs the text scores, not the run
    why = e.what();
  }
  if (!text_decoder_)
    std::fprintf(stderr, "eval generation: scoring token ids, not text: %s\n",
                 why.empty() ? (plan_.model_dir + "/tokenizer.json: not found").c_str() : why.c_str());
  return text_decoder_.get();
}

void Trainer::add_generation_metrics(EventLine* e) {
  ++evaluations_;
  const EvalGeneratePlan& g = plan_.eval_generate;
  if (g.every <= 0 || evaluations_ % g.every != 0) return;
  const auto t0 = std::chrono::steady_clock::now();
  const ShardSet& s = eval_data_;
  const int64_t limit = model_->config().max_position_embeddings;
  auto is_stop = [&](uint32_t id) { return std::find(g.stop_ids.begin(), g.stop_ids.end(), id) != g.stop_ids.end(); };
  std::vector<std::vector<uint32_t>> prompts, refs;
  size_t longest_ref = 0;
  for (uint64_t d = 0; d < s.num_documents() && (int)prompts.size() < g.max_records; ++d) {
    const uint64_t b = s.doc_offsets[d];
    uint64_t end = s.doc_offsets[d + 1];
    auto next = std::upper_bound(s.sample_starts.begin(), s.sample_starts.end(), b);  // a packed document's first record
    if (next != s.sample_starts.end() && *next < end) end = *next;
    uint64_t a = b + 1;
    while (a < end && !s.mask[a]) ++a;
    if (a >= end) continue;  // no answer to compare with
    uint64_t z = a;
    while (z < end && s.mask[z]) ++z;
    std::vector<uint32_t> ref(s.tokens.begin() + a, s.tokens.begin() + z);
    while (!ref.empty() && is_stop(ref.back())) ref.pop_back();
    if (ref.empty() || (int64_t)(a - b) + g.max_new_tokens > limit) continue;
    prompts.emplace_back(s.tokens.begin() + b, s.tokens.begin() + a);
    longest_ref = std::max(longest_ref, ref.size());
    refs.push_back(std::move(ref));
  }
  if (prompts.empty()) return;
  // An answer much longer than the longest reference cannot score better: stop a little past it.
  const int max_new = std::min<int>(g.max_new_tokens, (int)longest_ref + 8);
  const std::vector<std::vector<uint32_t>> hyps = greedy_continue(model_.get(), prompts, max_new, g.stop_ids, pool_.get(), nullptr);
  const TextDecoder* decoder = generation_decoder();
  double rouge = 0;
  CorpusBleu bleu;
  for (size_t i = 0; i < hyps.size(); ++i) {
    if (decoder) {
      const std::string hyp = decoder->decode(hyps[i]), ref = decoder->decode(refs[i]);
      WordIds rouge_ids, bleu_ids;
      const std::vector<uint32_t> rh = rouge_ids.ids(rouge_words(hyp)), rr = rouge_ids.ids(rouge_words(ref));
      const std::vector<uint32_t> bh = bleu_ids.ids(bleu_words_13a(hyp)), br = bleu_ids.ids(bleu_words_13a(ref));
      rouge += rouge_l_f1(rh, rr);
      bleu.add(bh, br);
    } else {
      rouge += rouge_l_f1(hyps[i], refs[i]);
      bleu.add(hyps[i], refs[i]);
    }
  }
  rouge /= (double)hyps.size();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  e->num("rouge_l", std::round(rouge * 1e4) / 1e4).num("bleu", std::round(bleu.score() * 100) / 100);
  e->str("metrics_on", decoder ? "text" : "token_ids");
  e->integer("generated", (int64_t)hyps.size()).num("generate_ms", std::round(ms * 1000) / 1000);
  std::fprintf(stderr, "eval generation at step %lld: %zu records, ROUGE-L %.4f, BLEU %.2f (%.0f ms)\n", static_cast<long long>(step_),
               hyps.size(), rouge, bleu.score(), ms);
}

}  // namespace tuner
