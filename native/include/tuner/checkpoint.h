// Checkpoints: a folder per save, written to a temporary name, fsynced, then renamed, so a
// crash at any moment leaves either the previous checkpoints or a complete new one.
//   LoRA: adapter_config.json + adapter_model.safetensors (PEFT layout, loadable as is)
//   full: config.json + model.safetensors + the base's tokenizer files (tokenizer.json,
//         tokenizer_config.json, generation_config.json, …): a Hugging Face folder, loadable as is
//   both: trainer_state.json (step, data cursor, RNG, plan fingerprint, losses so far)
//         optimizer.safetensors (per trainable tensor, fp32: AdamW exp_avg / exp_avg_sq, Lion
//         exp_avg, SGD momentum_buffer; none for LOMO or SGD without momentum)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tuner/shards.h"

namespace tuner {

class Model;
class Optimizer;

struct TrainerState {
  int64_t step = 0;  // optimizer steps done
  DataCursor cursor;
  uint64_t rng_state = 0;
  std::string plan_fingerprint;
  std::string data_fingerprint;
  std::string method;
  double lr_scale = 1.0;  // factor on the scheduled lr from the `set` command
  int world_size = 1;     // data-parallel ranks that trained it (1 in checkpoints older than data parallel)
  // On a GPU: the GEMM kernel each product shape ran (cuda_gemm_choices(), ours or cuBLASLt's, timed
  // per process), restored on resume so the resumed steps multiply as the run they continue did.
  // Empty on the CPU and in older checkpoints.
  std::string gemm_choices;
  // DPO of a full fine-tune: the reference log-probs of every training (and eval) sequence,
  // computed once from the initial weights; saved as dpo_reference.safetensors (tensors "train",
  // "eval"), since a resumed run no longer has those weights. Empty otherwise.
  std::vector<float> dpo_reference, dpo_eval_reference;
};

// Writes checkpoint `dir` (must not exist yet) for the model, optimizer and state; a full
// checkpoint takes its tokenizer files from `tokenizer_dir` (the plan's model_dir).
void save_checkpoint(const std::string& dir, const Model& model, bool lora, const std::string& tokenizer_dir,
                     const Optimizer& opt, const TrainerState& state);

// Reads trainer_state.json of a checkpoint. Throws TunerError("bad_checkpoint") when missing.
TrainerState read_trainer_state(const std::string& dir);

// Checks checkpoint `dir` before a resume loads anything from it: the folder exists, its
// trainer_state.json reads, and its weight files (adapter_model or model, and optimizer
// .safetensors) are whole. Throws TunerError("bad_checkpoint") naming the folder and the file.
void check_checkpoint(const std::string& dir, bool lora);

// Reads dpo_reference.safetensors of a checkpoint into state->dpo_reference (and
// dpo_eval_reference when `eval_sequences` > 0), each checked to hold that many values.
void load_dpo_reference(const std::string& dir, uint64_t train_sequences, uint64_t eval_sequences, TrainerState* state);

// Restores the optimizer's states and step count; every trainable tensor must be present with its shape.
void load_optimizer_state(const std::string& dir, Optimizer* opt);

// Removes leftovers of interrupted saves (".tmp-*" folders) under `parent`.
void remove_stale_temp_dirs(const std::string& parent);

// Whether `path` exists (following links), and whether it is a folder.
bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// Makes the writes inside `path` (a file or a folder) durable.
void fsync_path(const std::string& path);
void ensure_dir(const std::string& path);
// Saves the model as a PEFT adapter folder (lora) or a Hugging Face model folder into `dir`,
// the latter with the tokenizer files of `tokenizer_dir` copied beside the weights.
void save_model_folder(const std::string& dir, const Model& model, bool lora, const std::string& tokenizer_dir);
// Moves folder `tmp` to `final_dir`, replacing an existing one.
void replace_dir_atomically(const std::string& tmp, const std::string& final_dir);

}  // namespace tuner
