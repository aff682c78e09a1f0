// Data parallel in tuner-train: N processes (ranks) each hold the whole model and train on their
// share of every global batch (BatchLoader::set_split), then sum their gradients so that every
// rank takes the same optimizer step. Each rank scales its gradient by its share of the global
// batch's loss tokens, so the sum is the gradient of the one-process mean loss: N ranks with
// batch_size B follow the one-process run with batch_size B up to the order of fp32 additions.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "tuner/error.h"
#include "tuner/json.h"
#include "trainer_internal.h"

namespace tuner {

namespace {

// Gradients smaller than this are copied into one buffer and summed together (one collective per
// bucket rather than per LoRA matrix); bigger ones are summed in place.
const size_t kBucketFloats = size_t{1} << 20;  // 4 MiB

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void Trainer::data_parallel_setup() {
  const int world = comm_->world_size();
  if (plan_.is_lomo())
    throw TunerError("bad_plan", "method \"lomo\" cannot run on " + std::to_string(world) + " ranks: it applies each gradient during backward, before the ranks could sum them",
                     "Use method \"full\" or \"lora\" for a data-parallel run, or start one process.");
  if (plan_.is_dpo())
    throw TunerError("bad_plan", "stage \"dpo\" does not run data parallel yet (" + std::to_string(world) + " ranks started)",
                     "Start one process for a DPO run.");
  loader_->set_split(comm_->rank(), world);
  rank_ms_.assign(world, 0.0);
}

double Trainer::reduce_step(const std::vector<Param*>& params, double loss_part, std::chrono::steady_clock::time_point t0) {
  const double compute_ms = ms_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  bucket_.resize(kBucketFloats);
  std::vector<Param*> pending;
  size_t fill = 0;
  const auto flush = [&]() {
    if (fill == 0) return;
    comm_->all_reduce_sum(bucket_.data(), fill);
    size_t at = 0;
    for (Param* p : pending) {
      std::memcpy(p->grad, bucket_.data() + at, sizeof(float) * static_cast<size_t>(p->numel()));
      at += static_cast<size_t>(p->numel());
    }
    pending.clear();
    fill = 0;
  };
  for (Param* p : params) {
    const size_t n = static_cast<size_t>(p->numel());
    if (n >= kBucketFloats) {
      comm_->all_reduce_sum(p->grad, n);
      continue;
    }
    if (fill + n > kBucketFloats) flush();
    std::memcpy(bucket_.data() + fill, p->grad, sizeof(float) * n);
    pending.push_back(p);
    fill += n;
  }
  flush();
  allreduce_ms_ = ms_since(t1);
  // The loss (this rank's share of the global mean) and every rank's compute time, in one call.
  const int world = comm_->world_size();
  std::vector<float> stats(1 + world, 0.0f);
  stats[0] = static_cast<float>(loss_part);
  stats[1 + comm_->rank()] = static_cast<float>(compute_ms);
  comm_->all_reduce_sum(stats.data(), stats.size());
  for (int r = 0; r < world; ++r) rank_ms_[r] = stats[1 + r];
  return stats[0];
}

bool Trainer::sync_control(bool go) {
  if (!data_parallel()) return go;
  struct {
    int32_t go;
    int32_t unused;
    double lr_scale;
  } msg{go ? 1 : 0, 0, lr_scale_};
  comm_->broadcast(&msg, sizeof msg, 0);
  lr_scale_ = msg.lr_scale;  // a `set` command reaches rank 0 only
  return msg.go != 0;
}

void Trainer::check_replicas_identical() {
  if (!data_parallel()) return;
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the trainable weights' bytes
  for (const Param* p : opt_->params()) {
    const unsigned char* b = reinterpret_cast<const unsigned char*>(p->data);
    for (size_t i = 0, n = sizeof(float) * static_cast<size_t>(p->numel()); i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  uint64_t root_hash = h;
  comm_->broadcast(&root_hash, sizeof root_hash, 0);
  float differing = root_hash == h ? 0.0f : 1.0f;
  comm_->all_reduce_sum(&differing, 1);
  if (differing > 0)
    throw StepError(step_, "ranks_diverged",
                    std::to_string(static_cast<int>(differing)) + " of " + std::to_string(comm_->world_size()) +
                        " ranks hold other trainable weights than rank 0 at step " + std::to_string(step_),
                    "");
}

std::string Trainer::data_parallel_json() const {
  JsonObject o;
  o.integer("world_size", comm_->world_size()).str("backend", comm_->backend());
  o.integer("rank_batch_size", plan_.batch_size / comm_->world_size());
  if (resumed_world_size_ > 0) o.integer("resumed_world_size", resumed_world_size_);
  return o.finish();
}

std::string Trainer::ranks_json() const {
  const double rank_tokens = static_cast<double>(tokens_per_step()) / comm_->world_size();
  std::string json = "[";
  for (size_t r = 0; r < rank_ms_.size(); ++r) {
    const double ms = rank_ms_[r];
    if (r) json += ",";
    json += "{\"rank\":" + std::to_string(r) + ",\"tokens_per_s\":" +
            format_double(ms > 0 ? std::round(rank_tokens / (ms / 1000.0) * 10) / 10 : 0.0) +
            ",\"ms\":" + format_double(std::round(ms * 1000) / 1000) + "}";
  }
  return json + "]";
}

}  // namespace tuner
