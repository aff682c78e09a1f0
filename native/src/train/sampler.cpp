// Samples during training: greedy continuations of the plan's prompts from the current weights,
// sent as one `sample` event, so the answers can be read next to the loss as they improve.
//
// All prompts run as the rows of one batch [B = prompts, T = longest prompt + max_new_tokens],
// right-padded: with causal attention a position never sees the padding after it, so row b's
// next token is the argmax of its logits at its last filled position. One forward per new token
// over the whole width (no KV cache: the trainer's model has none); at a few dozen tokens and a
// handful of prompts that is about one training step's forward. Dropout is off and nothing is
// written to the weights, the optimizer or the RNG, so a run's numbers do not change.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tuner/error.h"
#include "trainer_internal.h"

namespace tuner {

void Trainer::check_samples() const {
  const SamplePlan& sp = plan_.samples;
  if (sp.interval <= 0) return;
  const ModelConfig& cfg = model_->config();
  for (size_t i = 0; i < sp.prompts.size(); ++i) {
    for (uint32_t id : sp.prompts[i]) {
      if (id >= static_cast<uint32_t>(cfg.vocab_size))
        throw TunerError("bad_plan", "samples.prompts[" + std::to_string(i) + "] has token id " + std::to_string(id) + ", but the model has " +
                                         std::to_string(cfg.vocab_size) + " tokens",
                         "Prepare the run again with this model's tokenizer.");
    }
    const int64_t need = static_cast<int64_t>(sp.prompts[i].size()) + sp.max_new_tokens;
    if (cfg.max_position_embeddings > 0 && need > cfg.max_position_embeddings)
      throw TunerError("bad_plan", "samples.prompts[" + std::to_string(i) + "] is " + std::to_string(sp.prompts[i].size()) + " tokens; with " +
                                       std::to_string(sp.max_new_tokens) + " new tokens that is more than the model's " +
                                       std::to_string(cfg.max_position_embeddings) + " positions",
                       "Shorten the sample prompt in ARGS.json.");
  }
}

std::vector<std::vector<uint32_t>> greedy_continue(Model* model, const std::vector<std::vector<uint32_t>>& prompts, int max_new_tokens,
                                                   const std::vector<uint32_t>& stop_ids, ThreadPool* pool, std::vector<const char*>* stop_out) {
  const int B = static_cast<int>(prompts.size());
  int longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, static_cast<int>(p.size()));
  const int T = longest + max_new_tokens;
  const int V = model->config().vocab_size;
  std::vector<uint32_t> tokens(static_cast<size_t>(B) * T, 0), targets(static_cast<size_t>(B) * T, 0);
  std::vector<uint8_t> mask(static_cast<size_t>(B) * T, 0);
  std::vector<int> len(B);
  std::vector<std::vector<uint32_t>> out(B);
  std::vector<const char*> stop(B, "length");
  std::vector<bool> done(B, false);
  for (int b = 0; b < B; ++b) {
    len[b] = static_cast<int>(prompts[b].size());
    std::copy(prompts[b].begin(), prompts[b].end(), tokens.begin() + static_cast<size_t>(b) * T);
  }
  Batch batch;
  batch.tokens = tokens.data();
  batch.targets = targets.data();
  batch.loss_mask = mask.data();
  batch.B = B;
  batch.T = T;
  for (int k = 0; k < max_new_tokens; ++k) {
    bool any = false;
    for (int b = 0; b < B; ++b) any = any || !done[b];
    if (!any) break;
    model->forward(batch, false, 0, pool);
    const float* logits = model->logits();  // [B, T, V], every row (training = false)
    for (int b = 0; b < B; ++b) {
      if (done[b]) continue;
      const float* row = logits + (static_cast<size_t>(b) * T + (len[b] - 1)) * V;
      uint32_t best = 0;
      for (int v = 1; v < V; ++v)
        if (row[v] > row[best]) best = static_cast<uint32_t>(v);  // first index on ties, as torch.argmax
      if (std::find(stop_ids.begin(), stop_ids.end(), best) != stop_ids.end()) {
        done[b] = true;
        stop[b] = "eos";
        continue;
      }
      out[b].push_back(best);
      tokens[static_cast<size_t>(b) * T + len[b]] = best;
      ++len[b];
      if (len[b] >= T) done[b] = true;
    }
  }
  if (stop_out) *stop_out = stop;
  return out;
}

void Trainer::sample() {
  const SamplePlan& sp = plan_.samples;
  const auto t0 = std::chrono::steady_clock::now();
  const int B = static_cast<int>(sp.prompts.size());
  std::vector<const char*> stop;
  const std::vector<std::vector<uint32_t>> out = greedy_continue(model_.get(), sp.prompts, sp.max_new_tokens, sp.stop_ids, pool_.get(), &stop);
  std::string outputs = "[";
  for (int b = 0; b < B; ++b) {
    std::string ids = "[";
    for (size_t i = 0; i < out[b].size(); ++i) ids += (i ? "," : "") + std::to_string(out[b][i]);
    ids += "]";
    outputs += std::string(b ? "," : "") + "{\"index\":" + std::to_string(b) + ",\"ids\":" + ids + ",\"stop\":\"" + stop[b] + "\"}";
  }
  outputs += "]";
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  sink_->emit(EventLine("sample").integer("step", step_).raw("outputs", outputs).num("ms", std::round(ms * 1000) / 1000));
  std::fprintf(stderr, "samples at step %lld: %d prompts in %.1f ms\n", static_cast<long long>(step_), B, ms);
}

}  // namespace tuner
