// The trainer's DPO stage: each micro-batch of P preference pairs runs as 2P rows (chosen, then
// rejected) through one training forward; the pair losses (dpo.h) against the reference model's
// log-probs give each row's weight for one backward, so gradients flow through both answers.
// The reference is the frozen base with the LoRA adapters switched off (a forward without
// gradients, no second copy of the weights) or, for a full fine-tune whose weights change,
// log-probs of the initial weights computed once before the first step and saved with every
// checkpoint, so a resumed run uses the very same numbers.
#include <cmath>
#include <cstdio>

#include "tuner/checkpoint.h"
#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/protocol.h"
#include "trainer_internal.h"

namespace tuner {

void Trainer::dpo_setup() {
  for (const ShardSet* s : {&data_, &eval_data_}) {
    if (s->dir.empty()) continue;
    if (plan_.is_dpo() && !s->preference_pairs)
      throw TunerError("bad_shards",
                       s->dir + "/manifest.json: stage \"dpo\" trains on preference pairs, but this data was prepared as single documents",
                       "Prepare a preference dataset (records with \"prompt\", \"chosen\" and \"rejected\") with stage \"dpo\" in ARGS.json.");
    if (!plan_.is_dpo() && s->preference_pairs)
      throw TunerError("bad_shards",
                       s->dir + "/manifest.json: this data holds preference pairs (chosen and rejected answers), which stage \"" +
                           plan_.stage + "\" would train on alike",
                       "Set stage to \"dpo\" in ARGS.json, or prepare the data for stage \"sft\" (the chosen answers only).");
  }
  if (!plan_.is_dpo() || plan_.is_lora()) return;
  if (!opts_.resume_dir.empty()) {
    TrainerState st;
    load_dpo_reference(opts_.resume_dir, data_.num_documents(), eval_data_.num_documents(), &st);
    dpo_ref_ = std::move(st.dpo_reference);
    dpo_eval_ref_ = std::move(st.dpo_eval_reference);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  dpo_ref_ = precompute_reference(data_);
  if (!eval_data_.dir.empty()) dpo_eval_ref_ = precompute_reference(eval_data_);
  std::fprintf(stderr, "tuner-train: reference log-probs of %llu sequences in %.1f s\n",
               static_cast<unsigned long long>(dpo_ref_.size() + dpo_eval_ref_.size()),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

std::vector<float> Trainer::precompute_reference(const ShardSet& set) {
  std::vector<float> table(set.num_documents(), 0.0f);
  BatchLoader in_order(&set, plan_.batch_size, plan_.seq_len, plan_.seed, false, true);
  BatchBuffers buf;
  std::vector<double> logps;
  for (uint64_t i = 0; i < in_order.batches_per_epoch(); ++i) {
    in_order.next(&buf);
    model_->evaluate(buf.batch(), pool_.get());
    logps.resize(buf.B);
    model_->sequence_logprobs(logps.data());
    const int P = buf.B / 2;
    for (int r = 0; r < buf.B; ++r)
      if (buf.samples[r] != UINT64_MAX) table[2 * buf.samples[r] + (r < P ? 0 : 1)] = static_cast<float>(logps[r]);
  }
  return table;
}

void Trainer::reference_logps(const BatchBuffers& buf, const std::vector<float>& table, double* out) {
  if (plan_.is_lora()) {
    model_->set_adapter_enabled(false);
    model_->evaluate(buf.batch(), pool_.get());
    model_->set_adapter_enabled(true);
    model_->sequence_logprobs(out);
    return;
  }
  const int P = buf.B / 2;
  for (int r = 0; r < buf.B; ++r)
    out[r] = buf.samples[r] == UINT64_MAX ? 0.0 : static_cast<double>(table[2 * buf.samples[r] + (r < P ? 0 : 1)]);
}

float Trainer::forward_backward(float loss_scale, uint64_t dropout_seed) {
  if (!plan_.is_dpo()) {
    const float loss = model_->forward(batch_.batch(), true, dropout_seed, pool_.get());
    // Data parallel: checked after the ranks' sum (train_step), so every rank stops on it together
    // and rank 0 reports it, rather than one rank ending alone.
    if (!std::isfinite(loss) && !data_parallel()) fail_non_finite("loss", loss);
    model_->backward(loss_scale, pool_.get());
    return loss;
  }
  const int rows = batch_.B, P = rows / 2;
  std::vector<double> ref(rows), logps(rows);
  reference_logps(batch_, dpo_ref_, ref.data());
  model_->forward(batch_.batch(), true, dropout_seed, pool_.get());
  model_->sequence_logprobs(logps.data());
  DpoStats s;
  std::vector<float> weights(rows);
  dpo_loss(logps.data(), ref.data(), nullptr, P, plan_.pref_beta, loss_scale, weights.data(), &s);
  const double loss = s.mean(s.loss);
  if (!std::isfinite(loss)) fail_non_finite("loss", loss);
  model_->backward_rows(weights.data(), pool_.get());
  dpo_step_.add(s);
  return static_cast<float>(loss);
}

void Trainer::evaluate_dpo() {
  BatchLoader eval(&eval_data_, plan_.batch_size, plan_.seq_len, plan_.seed, false, true);
  uint64_t batches = eval.batches_per_epoch();
  if (plan_.eval_max_batches > 0 && batches > static_cast<uint64_t>(plan_.eval_max_batches)) batches = plan_.eval_max_batches;
  DpoStats total;
  int64_t tokens = 0;
  BatchBuffers buf;
  for (uint64_t i = 0; i < batches; ++i) {
    sink_->mark_loop_alive();  // an evaluation over many batches is progress, batch by batch
    eval.next(&buf);
    const int rows = buf.B, P = rows / 2;
    std::vector<double> ref(rows), logps(rows);
    std::vector<uint8_t> valid(P);
    for (int r = 0; r < P; ++r) valid[r] = buf.samples[r] != UINT64_MAX;
    reference_logps(buf, dpo_eval_ref_, ref.data());
    model_->evaluate(buf.batch(), pool_.get());
    model_->sequence_logprobs(logps.data());
    dpo_loss(logps.data(), ref.data(), valid.data(), P, plan_.pref_beta, 1.0, nullptr, &total);
    tokens += buf.trained_tokens();
  }
  const double loss = total.mean(total.loss);
  if (!std::isfinite(loss)) fail_non_finite("eval loss", loss);
  sink_->emit(EventLine("eval").integer("step", step_).num("loss", loss).integer("tokens", tokens).raw("rewards", rewards_json(total)));
  std::fprintf(stderr, "eval at step %lld: dpo loss %.4f, reward margin %.4f, accuracy %.3f over %lld pairs\n",
               static_cast<long long>(step_), loss, total.mean(total.margin), total.mean(total.accurate),
               static_cast<long long>(total.pairs));
}

// {"chosen":…,"rejected":…,"margin":…,"accuracy":…}: means over the pairs (TRL's rewards/*).
std::string Trainer::rewards_json(const DpoStats& s) {
  return "{\"chosen\":" + format_double(s.mean(s.chosen_reward)) + ",\"rejected\":" + format_double(s.mean(s.rejected_reward)) +
         ",\"margin\":" + format_double(s.mean(s.margin)) + ",\"accuracy\":" + format_double(s.mean(s.accurate)) +
         ",\"pairs\":" + std::to_string(s.pairs) + "}";
}

}  // namespace tuner
