// The trainer: a run plan (the resolved ARGS the extension writes as plan.json) and the loop
// that trains a Model on shards under it, speaking the protocol of protocol.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/model.h"
#include "tuner/optimizer.h"
#include "tuner/schedule.h"

namespace tuner {

class Json;

// Samples during training: every `interval` steps (and after the last) the trainer continues
// each prompt greedily from the current weights and sends the tokens in a `sample` event, so a
// user sees the answers change next to the loss. Prompts arrive tokenized (the extension applies
// the chat template); sampling reads the weights only, so the run's numbers are unchanged.
struct SamplePlan {
  int64_t interval = 0;  // 0: no samples
  int max_new_tokens = 32;
  std::vector<std::vector<uint32_t>> prompts;
  std::vector<uint32_t> stop_ids;  // EOS / end of turn: a sample ends there
};

// Generation metrics at evaluation: every `every`-th evaluation the trainer answers the first
// max_records eval records' prompts greedily (up to max_new_tokens, ending at stop_ids) and
// scores the answers against the records' own (ROUGE-L F1, corpus BLEU-4, on token ids).
struct EvalGeneratePlan {
  int64_t every = 0;  // 0: never
  int max_records = 8;
  int max_new_tokens = 64;
  std::vector<uint32_t> stop_ids;
};

struct RunPlan {
  std::string model_dir, data_dir, output_dir;
  // full | lora | qlora (LoRA on a frozen base stored in base_quant) | lomo (full, each tensor
  // updated during backward: no optimizer state, no whole-model gradient).
  std::string method = "lora";
  std::string base_quant = "nf4";  // qlora: nf4 | int8 | int4 (q4_0 blocks)
  LoraConfig lora;
  OptimizerConfig optimizer;
  ScheduleKind schedule = ScheduleKind::Constant;
  int64_t warmup_steps = 0;
  int64_t max_steps = 0;  // from the plan, or derived from epochs
  double epochs = 0;      // 0 when max_steps was given
  int batch_size = 0, seq_len = 0, grad_accum = 1;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  uint64_t seed = 42;
  int threads = 0;  // 0: every core
  int64_t save_interval = 0, eval_interval = 0;  // 0: never (a final checkpoint is always written)
  std::string eval_data_dir;  // empty: no eval
  int64_t eval_max_batches = 0;  // 0: the whole eval set
  SamplePlan samples;
  // Keep each layer's input only and recompute the layer in backward (same numbers, less memory).
  bool gradient_checkpointing = false;
  EvalGeneratePlan eval_generate;
  // A rope_scaling object (JSON text, config.json's syntax) that replaces the model's: ARGS.json's
  // rope_scaling override. Empty: config.json's.
  std::string rope_scaling;
  // fp32 | bf16: bf16 weights and activations in the matmuls, f32 master weights, optimizer
  // state, norms, softmax and loss (Model::set_bf16).
  std::string precision = "fp32";
  // sft: next-token loss on the mask = 1 tokens; dpo: Direct Preference Optimization on
  // "preference-pairs" shards, loss -log sigmoid(pref_beta * (chosen - rejected log-ratio))
  // against the frozen reference (the base with adapters off, or log-probs of the initial
  // weights computed before the first step for a full fine-tune).
  std::string stage = "sft";
  double pref_beta = 0.1;
  // auto | cpu | cuda: where to train (train_device.h; auto picks a GPU only when the engine can
  // train the plan there). Not part of the fingerprint: a run may resume on another device.
  std::string device = "auto";

  // Methods that train adapters (and save a PEFT folder) on a frozen base.
  bool is_lora() const { return method == "lora" || method == "qlora"; }
  bool is_lomo() const { return method == "lomo"; }
  bool is_dpo() const { return stage == "dpo"; }
};

// Parses and validates a plan. Relative paths are resolved against base_dir (the plan file's
// folder). Throws TunerError("bad_plan") naming the file, line (found in `text`, the plan's
// source, when given), field, what is wrong and the fix.
RunPlan parse_plan(const Json& j, const std::string& source, const std::string& base_dir,
                   const std::string& text = "");
RunPlan load_plan(const std::string& path);

// Hash of every plan field that changes the numbers a run computes (not paths, threads or
// intervals), so a resume can refuse a checkpoint from a different run.
std::string plan_fingerprint(const RunPlan& plan);

// Converts a number of epochs into optimizer steps for this data set.
int64_t steps_for_epochs(double epochs, uint64_t batches_per_epoch, int grad_accum);

struct TrainOptions {
  std::string resume_dir;  // empty: fresh run
  bool start_paused = false;  // wait for a command before the first step (debugger "stop on entry")
  bool layer_norms = false;   // add per-layer gradient and weight norms to each step event (debugger)
  std::string control;        // a Unix socket path (Windows: a named pipe) to take commands on besides stdin (a detached run)
  // A heartbeat event this often (protocol.h Heartbeat); 0: none. 5 s: a window tells a hung
  // trainer within half a minute, and an hours-long run adds some 60 kB an hour to events.jsonl.
  int heartbeat_ms = 5000;
};

// Command line of tuner-train: --plan FILE [--resume DIR] [--start-paused] [--layer-norms]
// [--control SOCKET] [--heartbeat-ms N] | --help | --version.
struct CliArgs {
  std::string plan_path;
  TrainOptions options;
  bool help = false, version = false;
};
// Throws TunerError("bad_arguments") naming the argument and the fix.
CliArgs parse_cli_args(int argc, const char* const* argv);
extern const char* const kCliUsage;

// Runs the whole training; events go to stdout. Returns the process exit code: 0 when it
// completed or was stopped by a command, non-zero after an error event.
int run_training(const RunPlan& plan, const TrainOptions& opts);

}  // namespace tuner
