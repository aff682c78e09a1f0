// DeviceModel's setup: what trains on a device (device_model_unsupported), the weights uploaded
// in the layout of the method (full fine-tune: fp32 masters + bf16 copies + fp32 gradients;
// LoRA: the frozen base as bf16 only, QLoRA's as the host quantized it), the parameter list the
// trainer updates, host <-> device copies, and the activations' memory plan per (B, T).
// Forward and backward are device_forward.cpp and device_backward.cpp (the layers of Qwen3, Gemma 3,
// GPT-2 and Bloom device_arch.cpp).
#include <algorithm>
#include <string>
#include <vector>

#include "device/device_model_internal.h"
#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner::dev {

std::string device_model_unsupported(const ModelConfig& c) {
  // Every architecture the CPU engine trains (config.cpp refuses the rest before this is asked).
  const std::string& a = c.architecture;
  if (a != "LlamaForCausalLM" && a != "MistralForCausalLM" && a != "Qwen2ForCausalLM" && a != "Qwen3ForCausalLM" &&
      a != "Gemma3ForCausalLM" && a != "GPT2LMHeadModel" && a != "BloomForCausalLM")
    return a + " does not train on a GPU (the device path covers Llama, Mistral, Qwen2, Qwen3, Gemma 3, GPT-2 and Bloom)";
  if (c.qkv == QkvLayout::FusedPerHead && c.num_kv_heads != c.num_heads)
    return a + " with fused per-head q/k/v and fewer key/value heads than heads does not train on a GPU";
  if (c.rope_scaling.type == "xpos") return "xPos positions (rope_scaling xpos) do not train on a GPU yet";
  if (c.head_dim % 2 != 0 || c.head_dim > 256) return "head_dim " + std::to_string(c.head_dim) + " does not train on a GPU (even, at most 256)";
  return "";
}

// GPT-2's Conv1D weights are [in, out] on the host (as stored) and [out, in] on the device, so
// that its products are every other linear's; everything else has one layout.
void upload_values(DeviceOps& ops, const Param& p, float* device, const float* host) {
  const size_t bytes = (size_t)p.numel() * sizeof(float);
  if (!p.in_out) {
    ops.upload(device, host, bytes);
    return;
  }
  std::vector<float> t((size_t)p.numel());
  in_out_to_out_in(t.data(), host, p.shape[1], p.shape[0]);
  ops.upload(device, t.data(), bytes);
}

void download_values(DeviceOps& ops, const Param& p, float* host, const float* device) {
  const size_t bytes = (size_t)p.numel() * sizeof(float);
  if (!p.in_out) {
    ops.download(host, device, bytes);
    return;
  }
  std::vector<float> t((size_t)p.numel());
  ops.download(t.data(), device, bytes);
  in_out_to_out_in(host, t.data(), p.shape[0], p.shape[1]);  // [out, in] back to [in, out]
}

namespace {
// The weights matrix products read (the decoder linears and the lm_head): bf16 on the device.
bool is_gemm_weight(const LlamaModel& h, const Param* p) {
  if (p == h.lm_head()) return true;
  for (const Layer& L : h.layers())
    for (const Linear* lin : L.linears)
      if (lin->w == p) return true;
  return false;
}

const Linear* quantized_linear(const LlamaModel& h, const Param* p) {
  for (const Layer& L : h.layers())
    for (const Linear* lin : L.linears)
      if (lin->w == p && lin->qw) return lin;
  return nullptr;
}

// LoRA adapters in the host's trainable_params() order (A then B of each target linear, layer
// by layer), read from the layers so that the host never allocates its own gradients.
std::vector<Param*> adapter_params(const LlamaModel& h) {
  std::vector<Param*> out;
  for (const Layer& L : h.layers())
    for (const Linear* lin : L.linears)
      if (lin->lora_a) out.push_back(lin->lora_a), out.push_back(lin->lora_b);
  return out;
}
}  // namespace

// The base weights in the method's layout; LoRA's adapters as trainable fp32 + bf16.
void DeviceModel::Impl::upload_base() {
  const bool lora = host.has_lora();
  size_t deq_elems = 0;
  for (Param* p : host.base_params()) {
    DeviceTensor& d = tensors[p];
    if (const Linear* lin = quantized_linear(host, p)) {
      if (!lora)
        throw TunerError("unsupported_method", "a quantized (QLoRA) base trains only LoRA adapters on a GPU",
                         "Use method \"qlora\" (LoRA on the quantized base) or load the model unquantized.");
      d.q = ops.upload_quant(*lin->qw);
      deq_elems = std::max(deq_elems, (size_t)lin->qw->rows * lin->qw->cols);
      continue;
    }
    TUNER_CHECK(p->data, "a base weight without data");
    const bool gemm = is_gemm_weight(host, p) || (p == host.embed() && host.lm_head() == p);
    const bool f32 = !lora || !gemm || p == host.embed();
    d.w = DeviceArray<float>(ops, p->numel());
    upload_values(ops, *p, d.w.get(), p->data);
    if (gemm) {
      d.w16 = DeviceArray<bf16>(ops, p->numel());
      ops.to_bf16(d.w16.get(), d.w.get(), p->numel());
    }
    if (!f32) d.w.reset();  // LoRA's frozen matrices: bf16 only
    if (!lora) {
      d.g = DeviceArray<float>(ops, p->numel());
      ops.fill_zero(d.g.get(), d.g.bytes());
    }
  }
  if (deq_elems) deq = DeviceArray<bf16>(ops, (int64_t)deq_elems);
  if (lora) setup_lora();
  rebuild_params();
}

void DeviceModel::Impl::setup_lora() {
  for (Param* p : adapter_params(host)) {
    DeviceTensor& d = tensors[p];
    d.w = DeviceArray<float>(ops, p->numel());
    ops.upload(d.w.get(), p->data, d.w.bytes());
    d.w16 = DeviceArray<bf16>(ops, p->numel());
    ops.to_bf16(d.w16.get(), d.w.get(), p->numel());
    d.g = DeviceArray<float>(ops, p->numel());
    ops.fill_zero(d.g.get(), d.g.bytes());
  }
  lora_uploaded = true;
}

void DeviceModel::Impl::rebuild_params() {
  params.clear();
  for (Param* p : host.has_lora() ? adapter_params(host) : host.base_params()) {
    DeviceTensor& d = t(p);
    params.push_back(DeviceParam{p, d.w.get(), d.g.get(), d.w16.get(), p->numel()});
  }
}

AttentionShape DeviceModel::Impl::attention_shape(int layer) const {
  const ModelConfig& c = cfg();
  AttentionShape s;
  s.B = act.B, s.T = act.T, s.NH = c.num_heads, s.NKV = c.num_kv_heads, s.HD = c.head_dim;
  s.window = c.attention_window(layer);
  s.scale = c.attn_scale;
  s.softcap = c.attn_softcap;
  s.alibi = act.alibi;
  s.sample_start = packed ? act.sample_start : nullptr;
  return s;
}

size_t DeviceModel::Impl::plan(Activations& a, int B, int T, uint8_t* base) const {
  const ModelConfig& c = cfg();
  const int64_t N = (int64_t)B * T, C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t QD = (int64_t)c.num_heads * c.head_dim, KD = (int64_t)c.num_kv_heads * c.head_dim;
  size_t off = 0;
  auto take = [&](int64_t bytes) -> uint8_t* {
    uint8_t* p = base ? base + off : nullptr;
    off += (size_t)((bytes + 255) & ~int64_t(255));  // 256-byte aligned slices
    return p;
  };
  auto f32 = [&](int64_t n) { return reinterpret_cast<float*>(take(n * 4)); };
  auto b16 = [&](int64_t n) { return reinterpret_cast<bf16*>(take(n * 2)); };
  int r = 0;
  for (const Layer& L : host.layers())
    for (const Linear* lin : L.linears)
      if (lin->lora_a) r = (int)lin->lora_a->shape[0];
  const int64_t inmax = std::max({C, F, QD});
  const bool ln = c.norm == NormKind::Layer, gated = c.mlp != MlpKind::Gelu;
  a.layers.assign(c.num_layers, LayerBufs());
  for (int l = 0; l < c.num_layers; l++) {
    LayerBufs& x = a.layers[l];
    if (checkpointing && l > 0) {
      x = a.layers[0];
      x.resid_in = f32(N * C);
      continue;
    }
    x.resid_in = f32(N * C);
    x.rstd1 = f32(N);
    x.x1 = b16(N * C);
    x.q = b16(N * QD);
    x.k = b16(N * KD);
    x.v = b16(N * KD);
    x.y = b16(N * QD);
    x.lse = f32((int64_t)B * c.num_heads * T);
    x.mid = f32(N * C);
    x.rstd2 = f32(N);
    x.x2 = b16(N * C);
    x.gate = gated ? f32(N * F) : nullptr;  // GPT-2, Bloom: GELU on up alone
    x.up = f32(N * F);
    for (const Linear* lin : host.layers()[l].linears)
      if (lin->lora_a) x.t[lin->index] = b16(N * r);
    if (ln) x.mean1 = f32(N), x.mean2 = f32(N);
    if (c.qk_norm) x.q_pre = f32(N * QD), x.k_pre = f32(N * KD), x.q_rstd = f32(N * c.num_heads), x.k_rstd = f32(N * c.num_kv_heads);
    if (c.sandwich_norms) x.attn_out = f32(N * C), x.rstd_pa = f32(N), x.ff_out = f32(N * C), x.rstd_pf = f32(N);
  }
  a.resid_final = f32(N * C);
  a.rstdf = f32(N);
  a.xf = b16(N * C);
  a.xf_packed = b16(N * C);
  a.logits = f32(N * V);
  a.logits16 = b16(N * V);
  a.losses = f32(N);
  a.lse = f32(N);
  a.x32 = f32(N * C);
  a.q32 = f32(N * QD);
  a.k32 = f32(N * KD);
  a.v32 = f32(N * KD);
  a.m32 = f32(N * F);
  a.m16 = b16(N * F);
  a.dm = f32(N * F);
  a.dgate = gated ? f32(N * F) : nullptr;
  a.dup = f32(N * F);
  a.dgate16 = gated ? b16(N * F) : nullptr;
  a.dup16 = b16(N * F);
  a.dres = f32(N * C);
  a.dres16 = b16(N * C);
  a.dx = f32(N * C);
  a.datt = f32(N * QD);
  a.datt16 = b16(N * QD);
  a.dq16 = b16(N * QD);
  a.dk16 = b16(N * KD);
  a.dv16 = b16(N * KD);
  a.lora_dt = r ? f32(N * r) : nullptr;
  a.lora_dt16 = r ? b16(N * r) : nullptr;
  a.lora_tmp = r ? f32(N * inmax) : nullptr;
  a.lora_tmp2 = r ? f32(N * inmax) : nullptr;
  a.lora_x16 = r ? b16(N * inmax) : nullptr;
  // The attention backward's workspace for the widest layer (windows differ per layer).
  size_t ws = 0;
  for (int l = 0; l < c.num_layers; l++) {
    AttentionShape s;
    s.B = B, s.T = T, s.NH = c.num_heads, s.NKV = c.num_kv_heads, s.HD = c.head_dim, s.window = c.attention_window(l);
    ws = std::max(ws, ops.attention_backward_workspace_bytes(s));
  }
  a.attn_ws = ws ? take((int64_t)ws) : nullptr;
  a.tokens = reinterpret_cast<uint32_t*>(take(N * 4));
  a.targets = reinterpret_cast<uint32_t*>(take(N * 4));
  a.mask = take(N);
  a.sample_start = reinterpret_cast<int32_t*>(take(N * 4));
  a.positions = reinterpret_cast<int32_t*>(take(N * 4));
  a.cos = f32((int64_t)T * c.head_dim / 2);
  a.sin = f32((int64_t)T * c.head_dim / 2);
  // Other architectures (device_arch.cpp): only what the traits use.
  const bool fused = c.qkv != QkvLayout::Separate;
  a.meanf = ln ? f32(N) : nullptr;
  a.emb_raw = c.embed_norm ? f32(N * C) : nullptr;
  a.emb_mean = c.embed_norm ? f32(N) : nullptr;
  a.emb_rstd = c.embed_norm ? f32(N) : nullptr;
  a.qkv32 = fused ? f32(N * (QD + 2 * KD)) : nullptr;
  a.qkv16 = fused ? b16(N * (QD + 2 * KD)) : nullptr;
  a.dqk = c.qk_norm ? f32(N * std::max(QD, KD)) : nullptr;
  a.pos_ids = host.position_embed() ? reinterpret_cast<uint32_t*>(take(N * 4)) : nullptr;
  a.alibi = host.alibi() ? f32(c.num_heads) : nullptr;
  a.cos_local = c.rope_local_theta > 0 ? f32((int64_t)T * c.head_dim / 2) : nullptr;
  a.sin_local = c.rope_local_theta > 0 ? f32((int64_t)T * c.head_dim / 2) : nullptr;
  a.cap_t = c.final_softcap > 0 ? f32(N * V) : nullptr;
  const bool one_plus = c.norm == NormKind::RMSOnePlus;
  a.ones = one_plus ? f32(std::max<int64_t>(C, c.head_dim)) : nullptr;
  a.norm_w = one_plus ? f32(std::max<int64_t>(C, c.head_dim)) : nullptr;
  return off;
}

void DeviceModel::Impl::ensure_activations(int B, int T) {
  if (act.B == B && act.T == T && act.mem.get()) return;
  act.mem.reset();  // the old shape's memory goes before the new is taken
  act.B = act.T = 0;
  const size_t bytes = plan(act, B, T, nullptr);
  act.mem = DeviceArray<uint8_t>(ops, (int64_t)bytes);
  plan(act, B, T, act.mem.get());
  act.B = B, act.T = T, act.bytes = bytes;
  rope_T = -1;
  if (act.ones) {
    const std::vector<float> ones((size_t)std::max(cfg().hidden_size, cfg().head_dim), 1.0f);
    ops.upload(act.ones, ones.data(), ones.size() * sizeof(float));
  }
  if (act.alibi) ops.upload(act.alibi, host.alibi(), sizeof(float) * cfg().num_heads);
}

DeviceModel::DeviceModel(std::unique_ptr<LlamaModel> host, DeviceOps& ops) : host_(std::move(host)), ops_(ops) {
  const std::string why = device_model_unsupported(host_->config());
  if (!why.empty())
    throw TunerError("unsupported_architecture", why, "Train this model with device \"cpu\" in ARGS.json.");
  impl_ = std::make_unique<Impl>(*host_, ops_);
}

DeviceModel::~DeviceModel() = default;

const ModelConfig& DeviceModel::config() const { return host_->config(); }

void DeviceModel::enable_lora(const LoraConfig& cfg, uint64_t seed) {
  if (!impl_->tensors.empty()) {  // a full-tune layout on the device: keep what it trained
    pull_to_host();
    impl_->tensors.clear();
    impl_->params.clear();
  }
  host_->enable_lora(cfg, seed);
  impl_->act = Activations();  // the layout gains the adapters' activations
  impl_->have_forward = false;
}

bool DeviceModel::has_lora() const { return host_->has_lora(); }

std::vector<Param*> DeviceModel::trainable_params() {
  std::vector<Param*> out;
  for (const DeviceParam& p : device_params()) out.push_back(p.host);
  return out;
}

std::vector<Param*> DeviceModel::base_params() { return host_->base_params(); }
int64_t DeviceModel::num_params() const { return host_->num_params(); }
int64_t DeviceModel::num_trainable_params() const { return host_->num_trainable_params(); }

const std::vector<DeviceParam>& DeviceModel::device_params() const {
  if (impl_->tensors.empty()) impl_->upload_base();
  return impl_->params;
}

void DeviceModel::zero_grad() {
  for (const DeviceParam& p : device_params())
    if (p.g) ops_.fill_zero(p.g, (size_t)p.n * sizeof(float));
}

void DeviceModel::weights_changed() {
  for (const DeviceParam& p : device_params())
    if (p.w16) ops_.to_bf16(p.w16, p.w, p.n);
}

void DeviceModel::pull_to_host() const {
  for (const DeviceParam& p : device_params()) download_values(ops_, *p.host, p.host->data, p.w);
}

void DeviceModel::push_from_host() {
  for (const DeviceParam& p : device_params()) upload_values(ops_, *p.host, p.w, p.host->data);
  weights_changed();
}

size_t DeviceModel::activation_bytes(int B, int T) const {
  Activations tmp;
  return impl_->plan(tmp, B, T, nullptr);
}

void DeviceModel::set_gradient_checkpointing(bool on) {
  if (on == impl_->checkpointing) return;
  impl_->checkpointing = on;
  impl_->act = Activations();  // the next forward lays the activations out for the new mode
  impl_->have_forward = false;
}

void DeviceModel::set_bf16(bool) {}

void DeviceModel::set_adapter_enabled(bool on) { impl_->adapter_off = !on; }

void DeviceModel::set_rope_scaling(const Json& rope_scaling) {
  // Checked before the host takes it, so a refused scaling leaves the model as it was.
  ModelConfig next = host_->config();
  next.rope_scaling = parse_rope_scaling(rope_scaling, "plan", "rope_scaling", next.max_position_embeddings);
  const std::string why = device_model_unsupported(next);
  if (!why.empty()) throw TunerError("unsupported_option", why, "Choose another rope_scaling, or train with device \"cpu\".");
  static_cast<Model&>(*host_).set_rope_scaling(rope_scaling);
  impl_->rope_T = -1;
}

void DeviceModel::save_pretrained(const std::string& dir) const {
  pull_to_host();
  host_->save_pretrained(dir);
}

void DeviceModel::save_adapter(const std::string& dir) const {
  pull_to_host();
  host_->save_adapter(dir);
}

void DeviceModel::load_adapter(const std::string& dir) {
  const bool had = host_->has_lora();
  if (!had) {
    // The host's load_adapter enables LoRA with the folder's settings: the device layout follows.
    if (!impl_->tensors.empty()) pull_to_host();
    impl_->tensors.clear();
    impl_->params.clear();
    impl_->act = Activations();
  }
  host_->load_adapter(dir);
  push_from_host();
}

void DeviceModel::sequence_logprobs(double*) const {
  throw TunerError("internal", "sequence_logprobs: DPO does not train on a GPU yet", "This is a bug in Tuner; please report it.");
}

void DeviceModel::backward_rows(const float*, ThreadPool*) {
  throw TunerError("internal", "backward_rows: DPO does not train on a GPU yet", "This is a bug in Tuner; please report it.");
}

}  // namespace tuner::dev
