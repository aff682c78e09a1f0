// The device inference session's set-up (device_infer.h): which device a load runs on, the
// weights uploaded in their device formats, the KV cache and workspace allocated once for the
// whole context.
#include <algorithm>
#include <chrono>

#include "device/device_infer_internal.h"
#include "device/device_model.h"
#include "tuner/error.h"
#include "tuner/gemm_bf16.h"
#include "tuner/train_device.h"

namespace tuner::dev {

std::string device_infer_unsupported(const ModelConfig& c, const InferOptions&) {
  // The session's forward (device_infer_forward.cpp) runs every layer the device model trains:
  // what it refuses (xPos, fused per-head q/k/v with fewer key/value heads, odd or > 256 head_dim)
  // generates on the CPU.
  return device_model_unsupported(c);
}

std::unique_ptr<InferSession> load_infer_on_device(const InferOptions& opt, std::string* cpu_reason) {
  const CudaRuntimeInfo devices = train_devices();  // the stand-in alone under TUNER_DEVICE_OPS=host
  const bool cuda = opt.device == "cuda";
  if (devices.devices.empty()) {
    const std::string why = "no CUDA device (" + (devices.reason.empty() ? std::string("none found") : devices.reason) + ")";
    if (cuda)
      throw TunerError("no_cuda_device", "device is \"cuda\", but this machine has " + why,
                       "Set device to \"auto\" or \"cpu\" to generate on the CPU, or run on a machine with an NVIDIA GPU and "
                       "driver (and a Tuner built with CUDA, docs/cuda.md).");
    *cpu_reason = why;
    return nullptr;
  }
  const CudaDevice& gpu = devices.devices.front();
  // The prefill products run bf16 tensor-core instructions (mma.sync m16n8k16 bf16): Ampere or newer.
  const std::string why_not =
      gpu.cc_major < 8 ? "its compute capability is " + std::to_string(gpu.cc_major) + "." + std::to_string(gpu.cc_minor) +
                             " and the device kernels need 8.0 or newer (Ampere, Ada, Hopper)"
                       : device_infer_unsupported(load_model_config(opt.model), opt);
  if (!why_not.empty()) {
    if (cuda)
      throw TunerError("cuda_inference_unavailable", "device is \"cuda\" and " + gpu.name + " is present, but " + why_not,
                       "Set device to \"auto\" or \"cpu\" to generate on the CPU.");
    *cpu_reason = gpu.name + " found, but " + why_not;
    return nullptr;
  }
  const bool host = host_ops_requested();
  try {
    if (host)
      return make_device_infer_session(opt, make_host_ops(), "host_ops",
                                       "TUNER_DEVICE_OPS=host: the GPU path on the CPU stand-in of the device ops (a test hook)");
    return make_device_infer_session(opt, make_cuda_ops(gpu.index), "cuda",
                                     cuda ? "device is \"cuda\"" : "a CUDA device was found");
  } catch (const TunerError& e) {
    // auto: a model that does not fit the GPU's memory generates on the CPU instead.
    if (cuda || e.code() != "cuda_out_of_memory") throw;
    *cpu_reason = gpu.name + " found, but the model does not fit its memory (" + e.what() + ")";
    return nullptr;
  }
}

std::unique_ptr<InferSession> make_device_infer_session(const InferOptions& opt, std::unique_ptr<DeviceOps> ops,
                                                        const std::string& device, const std::string& reason) {
  return std::make_unique<DeviceInferSession>(opt, std::move(ops), device, reason);
}

DeviceInferSession::DeviceInferSession(const InferOptions& opt, std::unique_ptr<DeviceOps> ops, const std::string& device,
                                       const std::string& reason)
    : ops_(std::move(ops)) {
  const auto t0 = std::chrono::steady_clock::now();
  checked_context(load_model_config(opt.model), opt);  // before any weight is read
  ThreadPool pool(opt.threads);                        // quantization at load
  InferWeights w = load_infer_weights(opt, &pool);
  model_ = std::move(w.model);
  const ModelConfig& c = model_->config();
  ctx_ = checked_context(c, opt);
  upload(w, &pool);
  allocate();
  info_.architecture = c.architecture;
  info_.vocab_size = c.vocab_size;
  info_.context_length = ctx_;
  info_.quant = w.quant;
  info_.kv_cache_bytes = kv_.bytes();
  info_.lora = model_->has_lora();
  const std::string where = device == "cuda" ? "cuda" : "host_ops";
  info_.kernel = w.quant == QuantType::F32 || w.quant == QuantType::BF16
                     ? where + ": bf16 weights" + (w.quant == QuantType::F32 ? " (f32 runs as bf16 on the device)" : "") +
                           "; decode gemv_bf16, prefill gemm"
                     : where + ": " + quant_type_name(w.quant) + " weights; decode qgemv, prefill qgemm";
  size_t bytes = embed_.bytes() + wpe_.bytes() + alibi_.bytes() + final_norm_.bytes() + embed_norm_.bytes() + head_.bytes();
  for (size_t l = 0; l < lin_.size(); l++) {
    bytes += norms_[l].bytes();
    for (const DeviceLinear& d : lin_[l]) bytes += d.bytes();
  }
  info_.weight_bytes = bytes;
  info_.device = device;
  info_.device_name = ops_->device_name();
  info_.device_reason = reason;
  info_.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void DeviceInferSession::upload(InferWeights& w, ThreadPool* pool) {
  DeviceOps& ops = *ops_;
  auto f32 = [&](const float* src, int64_t n) {
    DeviceArray<float> a(ops, n);
    ops.upload(a.get(), src, a.bytes());
    return a;
  };
  std::vector<uint16_t> staging;
  auto b16 = [&](const float* src, int64_t n) {
    staging.resize((size_t)n);
    round_to_bf16(staging.data(), src, n, pool);
    DeviceArray<bf16> a(ops, n);
    ops.upload(a.get(), staging.data(), a.bytes());
    return a;
  };
  auto linear = [&](InferLinear& il, DeviceLinear& d) {
    d.lin = il.lin;
    d.out = il.q.rows, d.in = il.q.cols;
    if (const float* wf = il.f32()) {
      d.w16 = b16(wf, (int64_t)d.out * d.in);
    } else if (il.q.type == QuantType::BF16) {  // the device's own weight format: uploaded as stored
      d.w16 = DeviceArray<bf16>(ops, (int64_t)d.out * d.in);
      ops.upload(d.w16.get(), il.q.data.data(), d.w16.bytes());
    } else {
      d.q = ops.upload_quant(il.q);
    }
    il.q = QuantMatrix();  // the host copy is no longer needed
    const Linear* l = il.lin;
    if (!l) return;
    if (l->b) d.bias = f32(l->b->data, l->b->numel());
    if (l->lora_a) {
      d.rank = (int)l->lora_a->shape[0];
      d.scaling = l->scaling;
      d.lora_a = b16(l->lora_a->data, l->lora_a->numel());
      d.lora_b = b16(l->lora_b->data, l->lora_b->numel());
    }
  };
  const ModelConfig& c = model_->config();
  auto norm = [&](const Param* w, const Param* b) {
    DeviceNorm d;
    if (!w) return d;
    if (c.norm == NormKind::RMSOnePlus) {  // Gemma: 1 + w, the sum the CPU makes before each use
      std::vector<float> one_plus((size_t)w->numel());
      for (size_t i = 0; i < one_plus.size(); i++) one_plus[i] = 1.0f + w->data[i];
      d.w = f32(one_plus.data(), (int64_t)one_plus.size());
    } else {
      d.w = f32(w->data, w->numel());
    }
    if (b) d.b = f32(b->data, b->numel());
    return d;
  };
  // The embedding table fp32: as stored, or (tied and quantized) the head's rows decoded, which is
  // what the CPU session looks up.
  if (const float* E = model_->embed()->data) {
    embed_ = f32(E, model_->embed()->numel());
  } else {
    std::vector<float> table((size_t)w.head.q.rows * w.head.q.cols);
    dequantize_matrix(table.data(), w.head.q);
    embed_ = f32(table.data(), (int64_t)table.size());
  }
  const auto& layers = model_->layers();
  lin_.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; l++) {
    lin_[l].resize(w.lin[l].size());
    for (size_t j = 0; j < w.lin[l].size(); j++) linear(w.lin[l][j], lin_[l][j]);
    const Layer& L = layers[l];
    DeviceLayerNorms n;
    n.ln1 = norm(L.ln1, L.ln1_b), n.ln2 = norm(L.ln2, L.ln2_b);
    n.q = norm(L.q_norm, nullptr), n.k = norm(L.k_norm, nullptr);
    n.post_attn = norm(L.post_attn, nullptr), n.post_ff = norm(L.post_ff, nullptr);
    norms_.push_back(std::move(n));
  }
  final_norm_ = norm(model_->final_norm(), model_->final_norm_bias());
  embed_norm_ = norm(model_->embed_norm(), model_->embed_norm_bias());
  if (const Param* P = model_->position_embed()) wpe_ = f32(P->data, P->numel());
  if (const float* slopes = model_->alibi()) alibi_ = f32(slopes, c.num_heads);
  linear(w.head, head_);
  // The host's fp32 tensors (norms, biases, the embedding) live on the device now.
  for (Param* p : model_->base_params()) p->data = nullptr;
  w.f32_store.clear();
}

void DeviceInferSession::allocate() {
  const ModelConfig& c = model_->config();
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, HD = c.head_dim;
  const int64_t QD = (int64_t)c.num_heads * HD, KD = (int64_t)c.num_kv_heads * HD, NH = c.num_heads;
  nb_ = std::min(kChunk, ctx_);
  const int64_t NB = nb_;
  cache_stride_ = (size_t)ctx_ * KD;
  kv_ = DeviceArray<bf16>(*ops_, (int64_t)c.num_layers * 2 * (int64_t)cache_stride_);
  ops_->fill_zero(kv_.get(), kv_.bytes());
  int rank = 0;
  for (const auto& layer : lin_)
    for (const DeviceLinear& d : layer) rank = std::max(rank, d.rank);
  // One allocation, 256-byte aligned slices (as DeviceModel's plan()).
  size_t off = 0;
  std::vector<std::pair<void**, size_t>> slices;
  auto take = [&](void** slot, int64_t bytes) {
    slices.push_back({slot, off});
    off += (size_t)((bytes + 255) & ~int64_t(255));
  };
  auto f = [&](float** s, int64_t n) { take(reinterpret_cast<void**>(s), n * 4); };
  auto b = [&](bf16** s, int64_t n) { take(reinterpret_cast<void**>(s), n * 2); };
  take(reinterpret_cast<void**>(&tok_), NB * 4);
  take(reinterpret_cast<void**>(&pos_), NB * 4);
  f(&h_, NB * C), f(&x32_, NB * C), f(&q32_, NB * QD), f(&k32_, NB * KD), f(&v32_, NB * KD), f(&y32_, NB * QD);
  f(&gate_, NB * F), f(&up_, NB * F), f(&m32_, NB * F), f(&rstd_, NB * NH), f(&lora_t32_, NB * rank), f(&logits_dev_, NB * V);
  f(&mean_, NB * NH), f(&t32_, NB * std::max({C, QD, KD}));
  if (c.qkv != QkvLayout::Separate) f(&qkv32_, NB * (QD + 2 * KD));
  if (c.final_softcap > 0) f(&cap_t_, NB * V);
  b(&x16_, NB * std::max({C, QD, F})), b(&q16_, NB * QD), b(&y16_, NB * QD), b(&lora_t16_, NB * rank);
  ws_ = DeviceArray<uint8_t>(*ops_, (int64_t)off);
  for (auto& [slot, at] : slices) *slot = ws_.get() + at;
  // RoPE tables for every position, as the CPU session computes them; under rope_scaling dynamic
  // append() writes each new position's row from the base of that moment.
  const int64_t half = HD / 2;
  cos_ = DeviceArray<float>(*ops_, ctx_ * half);
  sin_ = DeviceArray<float>(*ops_, ctx_ * half);
  inv_freq_ = rope_inv_freq(c, 1, &rope_af_);
  dyn_len_ = c.max_position_embeddings;
  auto table = [&](DeviceArray<float>& cos_dev, DeviceArray<float>& sin_dev, const std::vector<double>& inv, float af) {
    std::vector<float> cos((size_t)(ctx_ * half)), sin(cos.size());
    rope_table(cos.data(), sin.data(), inv, af, ctx_, (int)half);
    ops_->upload(cos_dev.get(), cos.data(), cos_dev.bytes());
    ops_->upload(sin_dev.get(), sin.data(), sin_dev.bytes());
  };
  if (c.rope_scaling.type != "dynamic") table(cos_, sin_, inv_freq_, rope_af_);
  if (c.rope_local_theta > 0) {
    cos_local_ = DeviceArray<float>(*ops_, ctx_ * half);
    sin_local_ = DeviceArray<float>(*ops_, ctx_ * half);
    table(cos_local_, sin_local_, rope_local_inv_freq(c), 1.0f);
  }
  logits_.assign((size_t)V, 0.0f);
}

}  // namespace tuner::dev
