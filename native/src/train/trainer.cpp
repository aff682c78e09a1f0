// The training loop of tuner-train: load data and model, then per optimizer step run
// grad_accum micro-batches (forward, backward with loss_scale = 1/grad_accum), check the loss
// and gradient are finite, clip by global norm, take an AdamW step at the scheduled lr, and
// report it. Commands from stdin are honoured between steps. Everything that decides the
// numbers (data order, dropout seeds) comes from the seed and is saved in checkpoints, so a
// resumed run continues bit for bit.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <memory>

#include "tuner/checkpoint.h"
#include "kernels/cpu/vector_kernels.h"
#include "tuner/error.h"
#include "tuner/gemm_bf16.h"
#include "tuner/hardware_info.h"
#include "tuner/json.h"
#include "tuner/protocol.h"
#include "tuner/quant.h"
#include "tuner/rng.h"
#include "tuner/threadpool.h"
#include "models/llama_model.h"
#include "trainer_internal.h"

namespace tuner {

namespace {

std::atomic<bool> g_stop_signal{false};

void on_stop_signal(int sig) {
  g_stop_signal.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// "model.layers.3.self_attn.q_proj.lora_A" -> "layers.3"; parameters outside the decoder layers
// (embeddings, final norm, lm_head) are their own group, named without "model." and ".weight".
std::string layer_group(const std::string& name) {
  const size_t at = name.find("layers.");
  if (at != std::string::npos) {
    const size_t end = name.find('.', at + 7);
    return name.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  std::string g = name.rfind("model.", 0) == 0 ? name.substr(6) : name;
  if (g.size() > 7 && g.compare(g.size() - 7, 7, ".weight") == 0) g.resize(g.size() - 7);
  return g;
}

void step_dir_name(int64_t step, char* buf, size_t n) {
  std::snprintf(buf, n, "step-%08lld", static_cast<long long>(step));
}

}  // namespace

bool stop_signal_received() { return g_stop_signal.load(); }

std::vector<double> Trainer::param_squares(bool grads) const {
  if (on_device()) return grads ? dev_opt_->grad_squares() : dev_opt_->weight_squares();
  const std::vector<Param*>& params = opt_->params();
  std::vector<double> out;
  for (const Param* p : params) {
    const float* x = grads ? p->grad : p->data;
    double s = 0.0;
    for (int64_t i = 0; i < p->numel(); ++i) s += static_cast<double>(x[i]) * x[i];
    out.push_back(s);
  }
  return out;
}

// Sum of squared gradients per layer group, in parameter order (only with --layer-norms: a
// debugger's Variables view, not worth a pass over the gradients on every ordinary step).
std::vector<std::pair<std::string, double>> Trainer::grad_sq_by_layer(const std::vector<Param*>& params) const {
  const std::vector<double> sq = param_squares(true);
  std::vector<std::pair<std::string, double>> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string g = layer_group(params[i]->name);
    if (out.empty() || out.back().first != g) out.emplace_back(g, 0.0);
    out.back().second += sq[i];
  }
  return out;
}

// [{"name":"layers.0","grad_norm":…,"weight_norm":…},…]: gradient norms before clipping, norms of
// the trainable weights after this step's update.
std::string Trainer::layer_norms_json(const std::vector<Param*>& params, const std::vector<std::pair<std::string, double>>& grad_sq) const {
  const std::vector<double> sq = param_squares(false);
  std::vector<double> weight_sq(grad_sq.size(), 0.0);
  size_t k = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string g = layer_group(params[i]->name);
    while (k < grad_sq.size() && grad_sq[k].first != g) ++k;
    if (k == grad_sq.size()) break;
    weight_sq[k] += sq[i];
  }
  std::string json = "[";
  for (size_t i = 0; i < grad_sq.size(); ++i) {
    if (i) json += ",";
    json += "{\"name\":" + json_quote(grad_sq[i].first) + ",\"grad_norm\":" + format_double(std::sqrt(grad_sq[i].second)) +
            ",\"weight_norm\":" + format_double(std::sqrt(weight_sq[i])) + "}";
  }
  return json + "]";
}

std::string Trainer::checkpoint_path(int64_t step) const {
  char buf[32];
  step_dir_name(step, buf, sizeof buf);
  return plan_.output_dir + "/checkpoints/" + buf;
}

Trainer::Trainer(const RunPlan& plan, const TrainOptions& opts, EventSink* sink, CommandReader* commands)
    : plan_(plan), opts_(opts), sink_(sink), commands_(commands) {}

void Trainer::setup() {
  // The device first: a plan that asks for a GPU this run cannot use fails before anything loads.
  device_ = choose_train_device_for_run(plan_, probe_hardware().cpu_model, comm_->world_size());
  if (is_root())
    std::fprintf(stderr, "tuner-train: training on the %s (%s)%s%s\n",
                 device_.kind == "cuda" ? "GPU" : device_.kind == "host_ops" ? "GPU path's CPU stand-in" : "CPU", device_.name.c_str(),
                 device_.reason.empty() ? "" : ": ", device_.reason.c_str());
  if (device_.kind == "host_ops")
    std::fprintf(stderr, "tuner-train: host_ops runs the CPU engine's kernels behind the device ops, for tests of the GPU path on "
                         "machines without a GPU; it is slower than the CPU trainer\n");
  // Fail now, not after hours of training, if the outputs cannot be written (rank 0 writes them).
  if (is_root()) ensure_dir(plan_.output_dir + "/checkpoints");
  // The checkpoint is checked whole before anything is loaded from it (a full run loads its
  // model from there), so a wrong or damaged folder is named as the checkpoint.
  if (!opts_.resume_dir.empty()) check_checkpoint(opts_.resume_dir, plan_.is_lora());
  pool_ = std::make_unique<ThreadPool>(plan_.threads);
  data_ = load_shards(plan_.data_dir);
  if (!plan_.eval_data_dir.empty()) eval_data_ = load_shards(plan_.eval_data_dir);

  const std::string model_dir = (!opts_.resume_dir.empty() && !plan_.is_lora()) ? opts_.resume_dir : plan_.model_dir;
  if (plan_.method == "qlora") {
    // int4 is ggml's q4_0 blocks; nf4 and int8 are named as quant.h names them.
    QuantType qt = QuantType::NF4;
    if (plan_.base_quant == "int4") qt = QuantType::Q4_0;
    else quant_type_from_name(plan_.base_quant, &qt);
    model_ = Model::load_quantized_base(model_dir, qt, pool_.get());
  } else {
    model_ = Model::load(model_dir);
  }
  if (device_.on_device()) wrap_in_device_model();
  if (!plan_.rope_scaling.empty()) model_->set_rope_scaling(Json::parse(plan_.rope_scaling, "plan rope_scaling"));
  if (plan_.gradient_checkpointing) model_->set_gradient_checkpointing(true);
  if (on_device()) {
    // The device path trains mixed precision whatever the plan says (device_model.h).
    std::fprintf(stderr, "tuner-train: the %s trains bf16-mixed (bf16 matmul operands and attention inputs; fp32 master weights, "
                         "gradients, norms, loss and optimizer states)%s\n", device_.kind == "cuda" ? "GPU" : "device path",
                 plan_.precision == "fp32" ? ": the plan's precision fp32 applies on the CPU only" : "");
  } else if (plan_.precision == "bf16") {
    model_->set_bf16(true);
    std::fprintf(stderr, "tuner-train: bf16 matmuls on %s%s\n", gemm_bf16_kernel_name(),
                 gemm_bf16_native() ? "" : " (this CPU has no bf16 instructions: the f32 kernels run the bf16-rounded values, slower than fp32)");
  }
  if (plan_.is_lomo()) {
    model_->set_grad_ready_hook([this](Param* p) {
      const double sq = vector_kernels().sum_squares(p->grad, p->numel());
      lomo_.sum_sq += sq;
      if (lomo_.apply) lomo_update(p, lomo_.lr, plan_.optimizer.weight_decay, lomo_.clip, pool_.get());
    });
  }
  const ModelConfig& cfg = model_->config();
  for (const ShardSet* s : {&data_, &eval_data_}) {
    if (s->num_documents() > 0 && s->vocab_size > static_cast<uint32_t>(cfg.vocab_size))
      throw TunerError("bad_shards",
                       s->dir + ": token ids go up to vocab_size " + std::to_string(s->vocab_size) + " but " + plan_.model_dir +
                           " has " + std::to_string(cfg.vocab_size) + " tokens",
                       "Prepare the data with this model's tokenizer.");
  }
  dpo_setup();
  loader_ = std::make_unique<BatchLoader>(&data_, plan_.batch_size, plan_.seq_len, plan_.seed, true, plan_.is_dpo());
  if (data_parallel()) data_parallel_setup();
  max_steps_ = plan_.max_steps;
  if (max_steps_ == 0) {
    max_steps_ = steps_for_epochs(plan_.epochs, loader_->batches_per_epoch(), plan_.grad_accum);
    if (max_steps_ < 1)
      throw TunerError("bad_plan",
                       "epochs " + format_double(plan_.epochs) + " over " + std::to_string(loader_->batches_per_epoch()) +
                           " batches per epoch with grad_accum " + std::to_string(plan_.grad_accum) + " gives no optimizer step",
                       "Raise epochs, lower batch_size or grad_accum, or set max_steps.");
  }
  schedule_.kind = plan_.schedule;
  schedule_.base_lr = plan_.optimizer.lr;
  schedule_.warmup_steps = plan_.warmup_steps;
  schedule_.total_steps = max_steps_;

  check_samples();
  if (plan_.is_lora()) model_->enable_lora(plan_.lora, plan_.seed);
  rng_.set_state(derive_seed(plan_.seed, 0x44524F50));  // "DROP": the dropout-seed stream
  fingerprint_ = plan_fingerprint(plan_);

  if (!opts_.resume_dir.empty()) {
    const TrainerState st = read_trainer_state(opts_.resume_dir);
    if (st.plan_fingerprint != fingerprint_)
      throw TunerError("plan_mismatch",
                       opts_.resume_dir + " was trained under a different plan (fingerprint " + st.plan_fingerprint +
                           ", this plan " + fingerprint_ + ")",
                       "Resume with the plan the checkpoint was made with; only paths, threads and intervals may change.");
    if (st.data_fingerprint != data_.content_fingerprint)
      throw TunerError("data_mismatch",
                       opts_.resume_dir + " was trained on other data than " + plan_.data_dir + " holds now",
                       "Resume with the shard directory the run started with (prepare a new run for new data).");
    if (plan_.is_lora()) model_->load_adapter(opts_.resume_dir);
    step_ = st.step;
    steps_done_ = step_;
    // The data cursor is the global one, so another world size continues the same sample order
    // with the same global batches; only the order of the fp32 additions changes.
    resumed_world_size_ = st.world_size;
    if (st.world_size != comm_->world_size() && is_root())
      std::fprintf(stderr,
                   "tuner-train: %s was trained on %d rank(s), this run has %d: the same samples follow in the same global "
                   "batches, but gradients are summed in another order, so the losses match the original run within fp32 "
                   "rounding, not bit for bit\n",
                   opts_.resume_dir.c_str(), st.world_size, comm_->world_size());
    // Resuming from this run's own latest checkpoint: it is already on disk, do not rewrite it.
    char* a = ::realpath(opts_.resume_dir.c_str(), nullptr);
    char* b = ::realpath(checkpoint_path(step_).c_str(), nullptr);
    if (a && b && std::string(a) == b) last_saved_step_ = step_;
    std::free(a);
    std::free(b);
    loader_->set_cursor(st.cursor);
    rng_.set_state(st.rng_state);
    lr_scale_ = st.lr_scale;
    if (device_.kind == "cuda") cuda_restore_gemm_choices(st.gemm_choices);
  }
  // On a device the host Optimizer only holds the states around checkpoints (its params have
  // no host gradients); the device optimizer updates.
  opt_ = std::make_unique<Optimizer>(plan_.optimizer, model_->trainable_params(), on_device());
  if (!opts_.resume_dir.empty()) load_optimizer_state(opts_.resume_dir, opt_.get());
  if (on_device()) {
    dev_opt_ = std::make_unique<dev::DeviceOptimizer>(device_model_->ops(), plan_.optimizer, device_model_->device_params());
    if (!opts_.resume_dir.empty()) {
      // The checkpoint's weights and states as the host just loaded them (a CPU run's or a
      // device run's: the files are the same).
      device_model_->push_from_host();
      dev_opt_->push_from(*opt_);
    }
    opt_->release_states();  // the device holds them; pulled again for each checkpoint
  }
  if (is_root()) {
    remove_stale_temp_dirs(plan_.output_dir + "/checkpoints");
    remove_stale_temp_dirs(plan_.output_dir);
  }
}

void Trainer::wrap_in_device_model() {
  device_ops_ = device_.kind == "cuda" ? dev::make_cuda_ops(0) : dev::make_host_ops();
  std::unique_ptr<LlamaModel> host(dynamic_cast<LlamaModel*>(model_.get()));
  TUNER_CHECK(host != nullptr, "the device path needs the engine's LlamaModel");
  model_.release();  // now owned by `host`
  auto wrapped = std::make_unique<dev::DeviceModel>(std::move(host), *device_ops_);
  device_model_ = wrapped.get();
  model_ = std::move(wrapped);
}

void Trainer::pull_from_device() {
  if (!on_device()) return;
  device_model_->pull_to_host();
  dev_opt_->pull_to(opt_.get());
}

namespace {

// "812.5 KiB", "1.21 GiB": binary units, three significant figures.
std::string memory_text(size_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) v /= 1024.0, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace

void Trainer::fail_out_of_memory(const TunerError& e, int64_t step) const {
  // The ways this plan can use less device memory, as the estimator words them (ARGS.json names).
  std::vector<std::string> ways = {"a smaller batch_size (now " + std::to_string(plan_.batch_size) +
                                        ") with more gradient_accumulation (the same tokens per step)",
                                    "a shorter max_length (now " + std::to_string(plan_.seq_len) + ")"};
  if (!plan_.gradient_checkpointing) ways.push_back("gradient_checkpointing true");
  if (plan_.method != "qlora") ways.push_back("method \"qlora\" (quantization \"nf4\")");
  std::string ways_text;
  for (size_t i = 0; i < ways.size(); ++i) ways_text += (i == 0 ? "" : i + 1 == ways.size() ? ", or " : ", ") + ways[i];
  const dev::DeviceMemoryInfo m = device_ops_->memory();
  std::string usage = "peak " + memory_text(m.peak);
  if (m.total > 0) usage += " of " + memory_text(m.total);
  throw StepError(step, "cuda_out_of_memory",
                  device_.name + " ran out of memory " + (step > 0 ? "at step " + std::to_string(step) : std::string("while loading the model")) +
                      " (" + usage + "): " + e.what(),
                  "Use less GPU memory: " + ways_text + "." + (step > 1 ? " Then --resume from the last checkpoint." : ""));
}

std::string Trainer::device_memory_json() const {
  const dev::DeviceMemoryInfo m = device_ops_->memory();
  JsonObject j;
  j.integer("in_use_bytes", static_cast<int64_t>(m.in_use)).integer("peak_bytes", static_cast<int64_t>(m.peak));
  j.integer("total_bytes", static_cast<int64_t>(m.total));
  return j.finish();
}

void Trainer::emit_start() {
  const ModelConfig& c = model_->config();
  JsonObject m;
  m.str("architecture", c.architecture).str("model_type", c.model_type).integer("vocab_size", c.vocab_size);
  m.integer("hidden_size", c.hidden_size).integer("intermediate_size", c.intermediate_size).integer("num_layers", c.num_layers);
  m.integer("num_heads", c.num_heads).integer("num_kv_heads", c.num_kv_heads).integer("head_dim", c.head_dim);
  JsonObject d;
  d.integer("documents", static_cast<int64_t>(data_.num_documents())).integer("tokens", static_cast<int64_t>(data_.tokens.size()));
  d.integer("truncated_documents", static_cast<int64_t>(loader_->truncated_documents()));
  d.integer("batches_per_epoch", static_cast<int64_t>(loader_->batches_per_epoch()));
  if (plan_.is_dpo()) d.integer("pairs", static_cast<int64_t>(data_.num_documents() / 2));
  EventLine e("start");
  e.str("method", plan_.method).str("stage", plan_.stage).raw("model", m.finish()).integer("params", model_->num_params());
  e.integer("trainable_params", model_->num_trainable_params()).integer("tokens_per_step", tokens_per_step());
  e.integer("threads", pool_->size()).integer("max_steps", max_steps_).integer("step", step_);
  if (opts_.resume_dir.empty()) e.null("resumed_from");
  else e.str("resumed_from", opts_.resume_dir);
  e.raw("data", d.finish());
  // Padding waste of an epoch (each document one row) and whether records share rows.
  e.num("padding", std::round(padding_fraction(data_, plan_.seq_len) * 1e4) / 1e4).boolean("packed", !data_.sample_starts.empty());
  if (data_parallel()) e.raw("data_parallel", data_parallel_json());
  JsonObject dev;
  dev.str("kind", device_.kind).str("name", device_.name).str("reason", device_.reason);
  e.raw("device", dev.finish());
  if (on_device()) e.raw("device_memory", device_memory_json());  // weights, gradients and optimizer states
  sink_->emit(e);
  std::fprintf(stderr, "tuner-train: %s %s, %lld params (%lld trainable), %d threads, steps %lld..%lld\n",
               plan_.method.c_str(), c.architecture.c_str(), static_cast<long long>(model_->num_params()),
               static_cast<long long>(model_->num_trainable_params()), pool_->size(), static_cast<long long>(step_ + 1),
               static_cast<long long>(max_steps_));
}

int64_t Trainer::tokens_per_step() const {
  // DPO: each pair is two sequences (chosen and rejected).
  return static_cast<int64_t>(plan_.batch_size) * (plan_.is_dpo() ? 2 : 1) * plan_.seq_len * plan_.grad_accum;
}

void Trainer::fail_non_finite(const char* what, double value) {
  // The step's update was not applied and nothing is saved, so the last checkpoint stays good.
  std::string code = std::string("non_finite_") + what;
  for (char& c : code) c = c == ' ' ? '_' : c;
  throw StepError(step_ + 1, code,
                  std::string("the ") + what + " is " + (std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf") + " at step " + std::to_string(step_ + 1),
                  "Lower optimizer.lr, set max_grad_norm (e.g. 1.0) to clip gradients, or check the data for broken "
                  "examples; then --resume from the last checkpoint.");
}

double Trainer::lomo_step(double lr, double* loss_out) {
  // Both passes see the same batch and dropout draws, so the norm measured first is the norm of
  // the gradients the second pass applies.
  loader_->next(&batch_);
  const uint64_t dropout_seed = rng_.next_u64();
  double norm = 0.0;
  if (plan_.max_grad_norm > 0) {
    model_->zero_grad();
    lomo_ = LomoPass();
    forward_backward(1.0f, dropout_seed);
    norm = std::sqrt(lomo_.sum_sq);
    if (!std::isfinite(norm)) fail_non_finite("gradient", norm);
  }
  model_->zero_grad();
  lomo_ = LomoPass();
  lomo_.apply = true;
  lomo_.lr = lr;
  lomo_.clip = clip_coefficient(norm, plan_.max_grad_norm);
  dpo_step_ = DpoStats();  // the pass that applies the update is the step's
  const float loss = forward_backward(1.0f, dropout_seed);
  if (plan_.max_grad_norm <= 0) norm = std::sqrt(lomo_.sum_sq);
  // Without clipping a non-finite gradient is found only after it was applied: the weights are
  // then broken, and the error says to resume from the last checkpoint.
  if (!std::isfinite(norm)) fail_non_finite("gradient", norm);
  opt_->set_step_count(opt_->step_count() + 1);
  *loss_out = loss;
  return norm;
}

void Trainer::train_step() {
  if (!on_device()) return train_step_body();
  try {
    train_step_body();
  } catch (const TunerError& e) {
    if (e.code() == "cuda_out_of_memory" && !dynamic_cast<const StepError*>(&e)) fail_out_of_memory(e, step_ + 1);
    throw;
  }
}

void Trainer::train_step_body() {
  const auto t0 = std::chrono::steady_clock::now();
  if (plan_.is_lomo()) {
    const double lr = schedule_.lr(step_) * lr_scale_;
    double loss = 0.0;
    const double grad_norm = lomo_step(lr, &loss);
    ++step_;
    emit_step(t0, static_cast<float>(loss), lr, grad_norm);
    return;
  }
  if (!grads_zeroed_) model_->zero_grad();
  grads_zeroed_ = false;
  dpo_step_ = DpoStats();
  const float loss_scale = 1.0f / static_cast<float>(plan_.grad_accum);
  double loss_sum = 0.0;
  const std::vector<Param*>& params = opt_->params();
  for (int a = 0; a < plan_.grad_accum; ++a) {
    loader_->next(&batch_);
    if (!data_parallel()) {
      loss_sum += forward_backward(loss_scale, rng_.next_u64());
      continue;
    }
    // This rank's share of the global batch's loss tokens: its mean-loss gradient times the
    // share, summed over the ranks, is the gradient of the global mean loss.
    const int64_t global = batch_.global_trained_tokens;
    const double share = global > 0 ? static_cast<double>(batch_.trained_tokens()) / static_cast<double>(global) : 0.0;
    loss_sum += forward_backward(static_cast<float>(loss_scale * share), rng_.next_u64()) * share;
  }
  if (data_parallel()) {
    loss_sum = reduce_step(params, loss_sum, t0);
    if (!std::isfinite(loss_sum)) fail_non_finite("loss", loss_sum);
  }
  const double grad_norm = on_device() ? dev_opt_->grad_norm() : global_grad_norm(params, pool_.get());
  if (!std::isfinite(grad_norm)) fail_non_finite("gradient", grad_norm);
  if (opts_.layer_norms) grads_before_clip_ = grad_sq_by_layer(params);
  // Clipping is folded into the update (one pass over the gradients instead of two).
  const double clip = clip_coefficient(grad_norm, plan_.max_grad_norm);
  const double lr = schedule_.lr(step_) * lr_scale_;
  if (on_device()) {
    dev_opt_->step(lr, clip);
    model_->weights_changed();  // the device's rounded copy of the updated weights is remade
  } else {
    // The update also writes the bf16 copies the products read and zeroes the gradients, chunk
    // by chunk while each is in cache, instead of two more passes over every weight.
    const std::vector<uint16_t*> copies = model_->bf16_copies(params);
    opt_->step(lr, pool_.get(), clip, {copies.empty() ? nullptr : &copies, true});
    grads_zeroed_ = true;
    if (copies.empty()) model_->weights_changed();  // bf16: the copy is remade before the next forward
  }
  ++step_;
  emit_step(t0, static_cast<float>(loss_sum / plan_.grad_accum), lr, grad_norm);
}

void Trainer::emit_step(std::chrono::steady_clock::time_point t0, float loss, double lr, double grad_norm) {
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::vector<Param*>& params = opt_->params();
  EventLine e("step");
  e.integer("step", step_).integer("epoch", static_cast<int64_t>(loader_->cursor().epoch)).numf("loss", loss);
  e.num("lr", lr).num("grad_norm", grad_norm).integer("tokens", tokens_per_step());
  e.num("tokens_per_s", std::round(tokens_per_step() / (ms / 1000.0) * 10) / 10).num("ms", std::round(ms * 1000) / 1000);
  if (data_parallel()) e.raw("ranks", ranks_json()).num("allreduce_ms", std::round(allreduce_ms_ * 1000) / 1000);
  e.integer("peak_memory_bytes", peak_memory_bytes());
  if (on_device()) e.raw("device_memory", device_memory_json());
  e.num("padding", std::round(loader_->take_padding_fraction() * 1e4) / 1e4);  // this step's batches
  if (opts_.layer_norms && !plan_.is_lomo()) e.raw("layers", layer_norms_json(params, grads_before_clip_));
  if (plan_.is_dpo()) e.raw("rewards", rewards_json(dpo_step_));
  sink_->emit(e);
  steps_done_ = step_;
  std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3g grad_norm %.3g %.1f ms\n", static_cast<long long>(step_),
               static_cast<long long>(max_steps_), loss, lr, grad_norm, ms);
}

void Trainer::evaluate() {
  if (plan_.is_dpo()) return evaluate_dpo();
  BatchLoader eval(&eval_data_, plan_.batch_size, plan_.seq_len, plan_.seed, false);
  uint64_t batches = eval.batches_per_epoch();
  if (plan_.eval_max_batches > 0 && batches > static_cast<uint64_t>(plan_.eval_max_batches)) batches = plan_.eval_max_batches;
  double weighted = 0.0;
  int64_t tokens = 0;
  BatchBuffers buf;
  for (uint64_t i = 0; i < batches; ++i) {
    sink_->mark_loop_alive();  // an evaluation over many batches is progress, batch by batch
    eval.next(&buf);
    const int64_t n = buf.trained_tokens();
    if (n == 0) continue;
    const float loss = model_->evaluate(buf.batch(), pool_.get());
    weighted += static_cast<double>(loss) * n;
    tokens += n;
  }
  const double loss = tokens > 0 ? weighted / tokens : 0.0;
  if (!std::isfinite(loss)) fail_non_finite("eval loss", loss);
  EventLine e("eval");
  e.integer("step", step_).num("loss", loss).integer("tokens", tokens);
  add_generation_metrics(&e);
  sink_->emit(e);
  std::fprintf(stderr, "eval at step %lld: loss %.4f over %lld tokens\n", static_cast<long long>(step_), loss, static_cast<long long>(tokens));
}

std::string Trainer::save() {
  const std::string dir = checkpoint_path(step_);
  if (step_ == last_saved_step_ || !is_root()) return dir;
  TrainerState st;
  st.step = step_;
  st.cursor = loader_->cursor();
  st.rng_state = rng_.state();
  st.plan_fingerprint = fingerprint_;
  st.data_fingerprint = data_.content_fingerprint;
  st.method = plan_.method;
  st.lr_scale = lr_scale_;
  st.world_size = comm_->world_size();
  st.dpo_reference = dpo_ref_;
  st.dpo_eval_reference = dpo_eval_ref_;
  if (device_.kind == "cuda") st.gemm_choices = cuda_gemm_choices();
  pull_from_device();  // the device's weights and optimizer states into the host's, which are saved
  save_checkpoint(dir, *model_, plan_.is_lora(), plan_.model_dir, *opt_, st);
  if (on_device()) opt_->release_states();
  last_saved_step_ = step_;
  sink_->emit(EventLine("checkpoint").integer("step", step_).str("path", dir));
  std::fprintf(stderr, "checkpoint: %s\n", dir.c_str());
  return dir;
}

std::string Trainer::save_final() {
  const std::string final_dir = plan_.output_dir + (plan_.is_lora() ? "/adapter" : "/model");
  const std::string tmp = plan_.output_dir + "/.tmp-final-" + std::to_string(::getpid());
  ensure_dir(tmp);
  if (on_device()) device_model_->pull_to_host();
  save_model_folder(tmp, *model_, plan_.is_lora(), plan_.model_dir);
  fsync_path(tmp);
  replace_dir_atomically(tmp, final_dir);
  return final_dir;
}

int Trainer::finish(bool stopped) {
  check_replicas_identical();
  if (!is_root()) return 0;
  const std::string ckpt = save();
  JsonObject outputs;
  if (stopped) {
    outputs.str(plan_.is_lora() ? "adapter" : "model", ckpt);
  } else {
    outputs.str(plan_.is_lora() ? "adapter" : "model", save_final());
  }
  outputs.str("checkpoint", ckpt);
  sink_->emit(EventLine("done").integer("step", step_).str("reason", stopped ? "stopped" : "completed").raw("outputs", outputs.finish()));
  std::fprintf(stderr, "tuner-train: %s at step %lld\n", stopped ? "stopped" : "done", static_cast<long long>(step_));
  return 0;
}

int Trainer::run() {
  try {
    setup();
  } catch (const TunerError& e) {
    // Out of device memory while the weights, adapters and optimizer states are uploaded.
    if (device_ops_ && e.code() == "cuda_out_of_memory" && !dynamic_cast<const StepError*>(&e)) fail_out_of_memory(e, -1);
    throw;
  }
  emit_start();
  // The other ranks of a data-parallel run end on a signal (the default): rank 0 reports it.
  if (is_root()) {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
  }
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout becomes a write error, handled above
  Control ctl;
  ctl.paused = opts_.start_paused;
  while (step_ < max_steps_) {
    if (!sync_control(is_root() ? handle_commands(&ctl) : true)) return finish(true);
    train_step();
    sink_->mark_loop_alive();
    if (ctl.step_once) {
      ctl.step_once = false;
      ctl.paused = true;
    }
    const bool last = step_ == max_steps_;
    // The weights are the same on every rank: rank 0 alone evaluates and samples.
    if (is_root() && !eval_data_.dir.empty() && ((plan_.eval_interval > 0 && step_ % plan_.eval_interval == 0) || last)) evaluate();
    sink_->mark_loop_alive();
    if (is_root() && plan_.samples.interval > 0 && (step_ % plan_.samples.interval == 0 || last)) sample();
    sink_->mark_loop_alive();
    if (plan_.save_interval > 0 && step_ % plan_.save_interval == 0 && !last) {
      check_replicas_identical();
      save();
    }
  }
  return finish(false);
}

// `set`: a new factor on the scheduled lr from the next step on. The parser has checked that
// the value is positive and finite.
void Trainer::apply_set(const Command& c) {
  const double base = plan_.optimizer.lr;
  if (c.lr > 0 && !(base > 0)) {
    std::fprintf(stderr, "tuner-train: ignored command: set lr needs a plan with optimizer.lr > 0; use lr_scale\n");
    return;
  }
  lr_scale_ = c.lr > 0 ? c.lr / base : c.lr_scale;
  std::fprintf(stderr, "lr scale %.6g from step %lld (peak lr %.6g)\n", lr_scale_, static_cast<long long>(step_ + 1), base * lr_scale_);
}

// Applies queued commands; blocks while paused. Every entry into the paused state is announced
// with a `paused` event and every exit by `resumed` (except `step`, which runs one step and
// pauses again). Returns false when the run must stop.
bool Trainer::handle_commands(Control* ctl) {
  bool announced = false;
  for (;;) {
    sink_->mark_loop_alive();  // each check, also every wait while paused: the loop still runs
    // A closed stdout means the extension (or pipe) is gone: save and stop rather than train
    // on unobserved.
    if (g_stop_signal.load() || sink_->broken()) return false;
    Command c;
    if (commands_->poll(&c)) {
      switch (c.type) {
        case CommandType::Pause: ctl->paused = true; break;
        case CommandType::Resume: ctl->paused = false; break;
        case CommandType::Step:
          ctl->paused = false;
          ctl->step_once = true;
          return true;
        case CommandType::Save: save(); break;
        case CommandType::Stop: return false;
        case CommandType::Set: apply_set(c); break;
      }
      continue;
    }
    if (!ctl->paused) {
      if (announced) sink_->emit(EventLine("resumed").integer("step", step_));
      return true;
    }
    if (!announced) {
      sink_->emit(EventLine("paused").integer("step", step_));
      announced = true;
    }
    if (commands_->input_ended()) {
      // Nobody can send `resume` any more: carry on rather than wait forever.
      std::fprintf(stderr, "tuner-train: stdin closed while paused; resuming\n");
      ctl->paused = false;
      continue;
    }
    commands_->wait_for_input(200);
  }
}

}  // namespace tuner
