// A model of any architecture the CPU engine trains (the Llama family: RMSNorm, RoPE with every
// rope_scaling the CPU engine knows but xPos, SwiGLU, separate q/k/v with optional biases, GQA,
// sliding windows, packed rows; and Qwen3, Gemma 3, GPT-2, Bloom through device_arch.cpp)
// trained on a DeviceOps (device_ops.h): the GPU through cuda_ops, or its CPU stand-in host_ops
// in the tests. The host LlamaModel it is made from stays
// the source of truth for names, config, LoRA initialisation, loading and saving; the weights
// that train live in device memory and are copied back to the host Params on pull_to_host()
// (checkpoints, saves).
//
// Precision (mixed, as bf16 training on GPUs is done): matrix products take bf16 operands and
// accumulate in fp32; the residual stream, norms, RoPE, SwiGLU, the loss, gradients, master
// weights and optimizer states are fp32; attention reads bf16 q/k/v and runs its softmax in fp32.
//   full fine-tune: fp32 master weights + their bf16 copy (remade by weights_changed()), fp32
//     gradients;
//   LoRA: the frozen base only as bf16 (no fp32 copy, no gradients), adapters as in a full tune;
//   QLoRA: the frozen base quantized (nf4 / int8 as the host's load_quantized_base made it),
//     forward through qgemm, input gradients through a dequantized bf16 copy of one weight at a
//     time.
// The CPU engine checked against PyTorch is the reference: test_device_model compares logits,
// loss and gradients with it within bf16 tolerances (docs/cuda.md states them).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "device/device_ops.h"
#include "tuner/model.h"

namespace tuner {

class LlamaModel;

namespace dev {

// One trainable tensor in device memory, in the order of Model::trainable_params().
struct DeviceParam {
  Param* host = nullptr;   // its host Param (name, shape; data valid after pull_to_host())
  float* w = nullptr;      // fp32 master weights [numel]
  float* g = nullptr;      // fp32 gradient [numel]
  bf16* w16 = nullptr;     // the bf16 copy the products read (null where none is kept)
  int64_t n = 0;
};

// Why this model cannot train on a device ("" when it can): features the device path does not
// have (xPos, head_dim above 256; checked before anything is uploaded).
std::string device_model_unsupported(const ModelConfig& cfg);

// A parameter's values (weights, gradients, optimizer states) host -> device and back: GPT-2's
// Conv1D weights are [in, out] on the host, as stored, and [out, in] on the device, like every
// other linear; everything else is copied as it is.
void upload_values(DeviceOps& ops, const Param& p, float* device, const float* host);
void download_values(DeviceOps& ops, const Param& p, float* host, const float* device);

class DeviceModel final : public Model {
 public:
  // `host` is loaded (Model::load or load_quantized_base); `ops` outlives the model.
  DeviceModel(std::unique_ptr<LlamaModel> host, DeviceOps& ops);
  ~DeviceModel() override;

  const ModelConfig& config() const override;
  void enable_lora(const LoraConfig& cfg, uint64_t seed) override;
  bool has_lora() const override;
  std::vector<Param*> trainable_params() override;
  std::vector<Param*> base_params() override;
  int64_t num_params() const override;
  int64_t num_trainable_params() const override;
  // pool is unused (the ops run the work); the batch is copied to the device.
  float forward(const Batch& batch, bool training, uint64_t dropout_seed, ThreadPool* pool) override;
  float evaluate(const Batch& batch, ThreadPool* pool) override;
  // Downloaded on first use after a forward with training = false.
  const float* logits() const override;
  void zero_grad() override;
  void backward(float loss_scale, ThreadPool* pool) override;
  size_t activation_bytes(int B, int T) const override;
  // DPO is not trained on a device yet (device_model_unsupported's callers refuse it first):
  // these throw TunerError internal.
  void sequence_logprobs(double* out) const override;
  void backward_rows(const float* row_weights, ThreadPool* pool) override;
  void set_adapter_enabled(bool on) override;
  void set_rope_scaling(const Json& rope_scaling) override;
  void set_gradient_checkpointing(bool on) override;
  void set_bf16(bool on) override;  // always bf16 on a device; accepted for the trainer's sake
  void weights_changed() override;  // remakes the bf16 copies from the fp32 masters
  // Pull the device weights to the host first, then the host model writes the folder.
  void save_pretrained(const std::string& dir) const override;
  void save_adapter(const std::string& dir) const override;
  // Into the host model, then pushed to the device.
  void load_adapter(const std::string& dir) override;

  // ---- the trainer's device path (train/device_step.*) ----
  DeviceOps& ops() const { return ops_; }
  const std::vector<DeviceParam>& device_params() const;  // trainable_params() order
  // Trainable weights device -> host Params (checkpoints, saves) and host -> device (resume).
  void pull_to_host() const;
  void push_from_host();
  LlamaModel& host() const { return *host_; }

 private:
  struct Impl;
  std::unique_ptr<LlamaModel> host_;
  DeviceOps& ops_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dev
}  // namespace tuner
