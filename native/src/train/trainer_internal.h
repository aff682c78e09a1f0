// The trainer's state between steps (private to native/src/train).
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "device/device_optimizer.h"
#include "tuner/model.h"
#include "tuner/optimizer.h"
#include "tuner/protocol.h"
#include "tuner/rng.h"
#include "tuner/schedule.h"
#include "tuner/train_device.h"
#include "tuner/shards.h"
#include "tuner/text_decoder.h"
#include "tuner/threadpool.h"
#include "tuner/train.h"
#include "train/dpo.h"

namespace tuner {

// A failure that belongs to one step (reported with "step" in the error event).
class StepError : public TunerError {
 public:
  StepError(int64_t step, std::string code, const std::string& message, std::string hint)
      : TunerError(std::move(code), message, std::move(hint)), step_(step) {}
  int64_t step() const { return step_; }

 private:
  int64_t step_;
};

// A SIGINT/SIGTERM arrived (trainer.cpp's handler). Rank 0 of a data-parallel run ends the run
// with an error event on it (run_training.cpp): the other ranks were stopped by the launcher too.
bool stop_signal_received();

// Peak resident memory of this process (VmHWM of /proc/self/status), 0 where unavailable.
int64_t peak_memory_bytes();

// Greedy continuations of `prompts` from the model's current weights (sampler.cpp): all prompts
// as the rows of one batch, one forward per new token, each row ending at a stop id ("eos") or
// after max_new_tokens ("length", in *stop_out). Nothing is written to the weights.
std::vector<std::vector<uint32_t>> greedy_continue(Model* model, const std::vector<std::vector<uint32_t>>& prompts, int max_new_tokens,
                                                   const std::vector<uint32_t>& stop_ids, ThreadPool* pool,
                                                   std::vector<const char*>* stop_out);

class Trainer {
 public:
  Trainer(const RunPlan& plan, const TrainOptions& opts, EventSink* sink, CommandReader* commands);
  // The ranks this process trains with (one process: the "none" backend); set before run().
  void attach(Communicator* comm) { comm_ = comm; }
  int run();
  int64_t step() const { return step_; }
  // Optimizer steps done, readable from another thread (rank 0's stop watcher).
  int64_t steps_done() const { return steps_done_.load(); }

 private:
  struct Control {
    bool paused = false;
    bool step_once = false;
  };
  void setup();
  void emit_start();
  void train_step();
  // LOMO's step: with clipping, a first forward + backward measures the gradient norm (LOMO's
  // two-pass clipping) and the second applies it; returns the pre-clip norm and the mean loss.
  double lomo_step(double lr, double* loss_out);
  // One micro-batch (batch_) forward and backward with d(loss_scale * loss); returns its loss.
  // SFT: the mean token loss; DPO: the mean pair loss (dpo_step.cpp), its pairs added to dpo_step_.
  float forward_backward(float loss_scale, uint64_t dropout_seed);
  // DPO (dpo_step.cpp): the data must be pairs; a full fine-tune's reference log-probs are
  // computed here from the initial weights (or read from the checkpoint it resumes).
  void dpo_setup();
  std::vector<float> precompute_reference(const ShardSet& set);
  // Reference log-probs of buf's rows [2P]: the base with its adapters off (LoRA), or `table`.
  void reference_logps(const BatchBuffers& buf, const std::vector<float>& table, double* out);
  void evaluate_dpo();
  static std::string rewards_json(const DpoStats& s);
  void emit_step(std::chrono::steady_clock::time_point t0, float loss, double lr, double grad_norm);
  void evaluate();
  void check_samples() const;  // sampler.cpp
  void sample();               // sampler.cpp
  // eval_generate.cpp: every eval_generate.every-th evaluation, greedy answers to the first eval
  // records' prompts scored against their answers (ROUGE-L, BLEU-4) into the eval event.
  void add_generation_metrics(EventLine* e);
  int64_t evaluations_ = 0;
  // The model folder's tokenizer.json decoding, read at the first scored evaluation; null when the
  // folder has none (or its decoder is neither family): the scores then run on token ids.
  const TextDecoder* generation_decoder();
  std::unique_ptr<TextDecoder> text_decoder_;
  bool text_decoder_read_ = false;
  bool handle_commands(Control* ctl);
  void apply_set(const Command& c);
  std::string save();
  std::string save_final();
  int finish(bool stopped);
  [[noreturn]] void fail_non_finite(const char* what, double value);
  std::string checkpoint_path(int64_t step) const;
  // Sum of squares of each trainable parameter's gradient (or weights), in double, wherever they live.
  std::vector<double> param_squares(bool grads) const;
  std::vector<std::pair<std::string, double>> grad_sq_by_layer(const std::vector<Param*>& params) const;
  std::string layer_norms_json(const std::vector<Param*>& params, const std::vector<std::pair<std::string, double>>& grad_sq) const;

  // The device path (device_ is cuda or host_ops): the model trains in device memory and the
  // optimizer's states live there too; the host Optimizer opt_ holds them only around
  // checkpoints (pull before a save, push after a resume) so the files are the CPU's.
  bool on_device() const { return device_model_ != nullptr; }
  void wrap_in_device_model();
  void pull_from_device();
  // Device out of memory (TunerError cuda_out_of_memory) as a StepError naming the step (-1:
  // while loading, before the first step), the memory in use and the plan's ways to use less.
  [[noreturn]] void fail_out_of_memory(const TunerError& e, int64_t step) const;
  void train_step_body();
  std::string device_memory_json() const;
  int64_t tokens_per_step() const;

  // Data parallel (data_parallel.cpp). Rank 0 alone reads commands, evaluates, samples and
  // writes checkpoints, events and the log; every rank runs the same steps on its rows.
  bool data_parallel() const { return comm_->world_size() > 1; }
  bool is_root() const { return comm_->rank() == 0; }
  void data_parallel_setup();
  // Sums the trainable gradients (in buckets) and the step's loss over the ranks and gathers
  // each rank's compute time; returns the global mean loss.
  double reduce_step(const std::vector<Param*>& params, double loss_part, std::chrono::steady_clock::time_point t0);
  // Rank 0's decision (go on, or stop) and the lr factor, given to every rank before each step.
  bool sync_control(bool go);
  // Throws ranks_diverged unless every rank holds the same trainable weights (bit for bit).
  void check_replicas_identical();
  std::string data_parallel_json() const;  // the start event's "data_parallel"
  std::string ranks_json() const;          // the step event's "ranks"
  Communicator* comm_ = single_process_communicator();
  std::vector<float> bucket_;
  std::vector<double> rank_ms_;  // last step: each rank's forward + backward time
  double allreduce_ms_ = 0;      // last step: rank 0's time in the gradient all-reduce (with waiting)
  int resumed_world_size_ = 0;   // the resumed checkpoint's ranks; 0 for a fresh run
  std::atomic<int64_t> steps_done_{0};

  RunPlan plan_;
  TrainDevice device_;  // where this run trains (setup(); the start event's `device`)
  TrainOptions opts_;
  EventSink* sink_;
  CommandReader* commands_;
  std::unique_ptr<ThreadPool> pool_;
  ShardSet data_, eval_data_;
  std::unique_ptr<dev::DeviceOps> device_ops_;  // before model_ and dev_opt_, which use it to the end
  std::unique_ptr<Model> model_;
  dev::DeviceModel* device_model_ = nullptr;    // model_ when it trains on a device
  std::unique_ptr<BatchLoader> loader_;
  std::unique_ptr<Optimizer> opt_;
  std::unique_ptr<dev::DeviceOptimizer> dev_opt_;
  Schedule schedule_;
  // Factor on the scheduled lr set by the `set` command; checkpointed so a resume matches.
  double lr_scale_ = 1.0;
  Rng rng_;
  std::string fingerprint_;
  BatchBuffers batch_;
  DpoStats dpo_step_;                         // the pairs of the current step
  std::vector<float> dpo_ref_, dpo_eval_ref_;  // full fine-tune: per document (2 per pair)
  // LOMO: what the model's grad-ready hook does with each finished gradient.
  struct LomoPass {
    bool apply = false;        // false: only add its squares to sum_sq (the norm pass)
    double lr = 0, clip = 1;   // apply: the update's lr and clip coefficient
    double sum_sq = 0;
  } lomo_;
  std::vector<std::pair<std::string, double>> grads_before_clip_;  // --layer-norms only
  // The host optimizer zeroed the gradients in its step (OptimizerWrites): the next step's
  // accumulation starts without a pass of its own to clear them.
  bool grads_zeroed_ = false;
  int64_t step_ = 0, max_steps_ = 0, last_saved_step_ = -1;
};

}  // namespace tuner
