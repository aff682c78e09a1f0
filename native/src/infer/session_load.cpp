// Loading an inference session: the model folder through the training loader (LlamaModel::open
// with a WeightReader, so config parsing, tensor names and shape checks are the trainer's), each
// linear quantized as it is read when a format is asked for (no second f32 copy of the model),
// an optional PEFT adapter checked against the base and applied on the fly, then the KV cache
// and workspace allocated once for the whole context.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

#include "device/device_infer.h"
#include "infer/infer_internal.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/quant_io.h"
#include "tuner/safetensors.h"

namespace tuner {

namespace {

// The longest context the model's positions support: max_position_embeddings, times the factor
// for linear / dynamic scaling (llama3 and yarn configs already state the extended length).
int context_limit(const ModelConfig& c) {
  const std::string& t = c.rope_scaling.type;
  if (t == "linear" || t == "dynamic") return (int)std::min(1e9, (double)c.max_position_embeddings * c.rope_scaling.factor);
  if (t == "xpos") return std::min(c.max_position_embeddings, xpos_max_positions(c));
  return c.max_position_embeddings;
}

// Whether any weight of the folder is stored quantized (its type in the safetensors metadata).
bool folder_is_quantized(const std::string& dir) {
  WeightFiles files = WeightFiles::open(dir);
  for (const std::string& name : files.names()) {
    const SafetensorsFile* f = nullptr;
    if (files.find(name, &f) && f->metadata().count("tuner.quant." + name)) return true;
  }
  return false;
}

}  // namespace

int checked_context(const ModelConfig& c, const InferOptions& opt) {
  const int ctx = opt.context_length > 0 ? opt.context_length : c.max_position_embeddings;
  const int limit = context_limit(c);
  if (ctx > limit)
    throw TunerError("context_too_long",
                     opt.model + "/config.json: a context of " + std::to_string(ctx) + " tokens is longer than the model supports (" +
                         std::to_string(limit) + ": max_position_embeddings" +
                         (limit != c.max_position_embeddings ? " x rope_scaling.factor" : "") + ")",
                     "Use a context length of at most " + std::to_string(limit) + " tokens.");
  return ctx;
}


void check_model_folder(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw TunerError("missing_model", dir + ": model folder not found",
                     "Set the model path to a Hugging Face model folder (config.json + *.safetensors).");
}

std::unique_ptr<InferSession> InferSession::load(const InferOptions& opt) {
  if (opt.device != "cpu" && opt.device != "cuda" && opt.device != "auto")
    throw TunerError("bad_device", "device \"" + opt.device + "\" is not one of cpu, cuda, auto",
                     "Set device to \"cpu\", \"cuda\" (the GPU) or \"auto\" (the GPU when it can, else the CPU).");
  check_model_folder(opt.model);
  std::string reason = "device is \"cpu\"";
  if (opt.device != "cpu")
    if (std::unique_ptr<InferSession> on_device = dev::load_infer_on_device(opt, &reason)) return on_device;
  auto session = std::make_unique<Session>(opt);
  session->set_device_reason(reason);
  return session;
}

size_t process_resident_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

Session::Session(const InferOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  // The folder and the context are checked before any weight is read, so a bad request fails
  // at once.
  check_model_folder(opt.model);
  checked_context(load_model_config(opt.model), opt);
  pool_ = std::make_unique<ThreadPool>(opt.threads);
  load_weights(opt);
  const ModelConfig& c = model_->config();
  const int ctx = checked_context(c, opt);
  allocate(ctx);
  info_.architecture = c.architecture;
  info_.vocab_size = c.vocab_size;
  info_.context_length = ctx;
  info_.kv_cache_bytes = kv_.size() * sizeof(float);
  info_.lora = model_->has_lora();
  info_.kernel = qgemm_kernel_name(info_.quant);
  if (info_.quant == QuantType::F32)  // f32 prefill runs sgemm on the weights as stored
    info_.kernel = info_.kernel.substr(0, info_.kernel.find(';')) + "; prefill: sgemm " + sgemm_kernel_name();
  size_t bytes = 0;
  for (const auto& v : f32_store_) bytes += v.size() * sizeof(float);
  for (const auto& layer : lin_)
    for (const InferLinear& l : layer) {
      bytes += l.q.bytes();
      if (l.lin->lora_a) bytes += (l.lin->lora_a->numel() + l.lin->lora_b->numel()) * sizeof(float);
    }
  bytes += head_.q.bytes();
  info_.weight_bytes = bytes;
  info_.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

InferWeights load_infer_weights(const InferOptions& opt, ThreadPool* pool) {
  InferWeights w;
  // A folder written quantized (tuner/quant_io.h) runs as stored and ignores opt.quant.
  const QuantType qt = folder_is_quantized(opt.model) ? QuantType::F32 : opt.quant;
  QuantType stored_quant = QuantType::F32;
  const int block = quant_block_size(qt);
  const bool tied = load_model_config(opt.model).tie_word_embeddings;
  std::map<std::string, QuantMatrix> mats;  // by weight name; a tied embedding under lm_head.weight
  std::vector<float> scratch;
  // Linears and the lm_head become QuantMatrix: in the asked format, read into a scratch buffer
  // and quantized at once (the f32 model is never held whole), or f32 when the format is f32 or
  // the width is not a multiple of its block. A tied embedding is the head's matrix itself, one
  // copy in the head's format: lookups read its f32 rows through Param::data, or decode the
  // quantized rows (as llama.cpp reads a quantized token_embd). Everything else is f32.
  WeightReader reader = [&](Param& p, const SafetensorsFile& file, const TensorInfo& t) {
    const bool embed = p.embedding;
    if (!p.linear && p.name != "lm_head.weight" && !(embed && tied)) {
      w.f32_store.emplace_back((size_t)p.numel());
      if (file.metadata().count("tuner.quant." + p.name)) {  // an untied embedding stored quantized
        QuantMatrix m = quant_matrix_read(file, p.name);
        if ((int64_t)m.rows * m.cols != p.numel())
          throw TunerError("shape_mismatch", file.path() + ": quantized tensor \"" + p.name + "\" does not hold " + shape_str(p.shape),
                           "config.json does not belong to these weights; use the one written with them.");
        dequantize_matrix(w.f32_store.back().data(), m);
      } else {
        file.read_f32(t, w.f32_store.back().data());
      }
      p.data = w.f32_store.back().data();
      return;
    }
    QuantMatrix& m = mats[embed ? std::string("lm_head.weight") : p.name];
    // A Conv1D weight (GPT-2) is stored [in, out]; every matrix here is [out, in].
    const int rows = (int)p.shape[p.in_out ? 1 : 0], cols = (int)p.shape[p.in_out ? 0 : 1];
    if (file.metadata().count("tuner.quant." + p.name)) {  // a quantized folder: as stored
      m = quant_matrix_read(file, p.name);
      if (m.rows != rows || m.cols != cols)
        throw TunerError("shape_mismatch",
                         file.path() + ": quantized tensor \"" + p.name + "\" holds a " + std::to_string(m.rows) + " x " +
                             std::to_string(m.cols) + " matrix but config.json implies " + shape_str(p.shape),
                         "config.json does not belong to these weights; use the one written with them.");
      p.data = m.type == QuantType::F32 ? reinterpret_cast<float*>(m.data.data()) : nullptr;
      if (p.linear && stored_quant == QuantType::F32) stored_quant = m.type;
      return;
    }
    if (p.in_out) {  // transposed once here, so inference runs every linear alike
      std::vector<float> stored((size_t)p.numel());
      file.read_f32(t, stored.data());
      scratch.resize((size_t)p.numel());
      in_out_to_out_in(scratch.data(), stored.data(), rows, cols);
    }
    if (qt != QuantType::F32 && cols % block == 0) {
      if (!p.in_out) {
        scratch.resize((size_t)p.numel());
        file.read_f32(t, scratch.data());
      }
      m = quantize_matrix(scratch.data(), rows, cols, qt, pool);
      p.data = nullptr;
      return;
    }
    m.type = QuantType::F32;
    m.rows = rows;
    m.cols = cols;
    m.data.resize((size_t)p.numel() * sizeof(float));
    float* dst = reinterpret_cast<float*>(m.data.data());  // stays valid: the vector's buffer moves with it
    if (p.in_out) std::memcpy(dst, scratch.data(), sizeof(float) * (size_t)p.numel());
    else file.read_f32(t, dst);
    p.data = p.in_out ? nullptr : dst;  // a transposed copy is not the [in, out] tensor p describes
  };
  w.model = LlamaModel::open(opt.model, &reader);
  scratch = std::vector<float>();
  if (!opt.adapter.empty()) {
    check_adapter(opt.adapter, *w.model, opt.model);
    w.model->load_adapter(opt.adapter);
  }
  const ModelConfig& c = w.model->config();
  w.lin.assign(c.num_layers, {});
  for (int l = 0; l < c.num_layers; l++) {
    const Layer& L = w.model->layers()[l];
    w.lin[l].resize(L.linears.size());
    for (size_t j = 0; j < L.linears.size(); j++) {
      w.lin[l][j].lin = L.linears[j];
      w.lin[l][j].q = std::move(mats.at(L.linears[j]->w->name));
    }
  }
  w.head.q = std::move(mats.at("lm_head.weight"));
  w.quant = stored_quant != QuantType::F32 ? stored_quant : qt;
  return w;
}

void Session::load_weights(const InferOptions& opt) {
  InferWeights w = load_infer_weights(opt, pool_.get());
  model_ = std::move(w.model);
  f32_store_ = std::move(w.f32_store);
  lin_ = std::move(w.lin);
  head_ = std::move(w.head);
  info_.quant = w.quant;
}

void Session::allocate(int ctx) {
  const ModelConfig& c = model_->config();
  const int64_t C = c.hidden_size, F = c.intermediate_size, QD = (int64_t)c.num_heads * c.head_dim;
  const int64_t KD = (int64_t)c.num_kv_heads * c.head_dim, NB = std::min(kChunk, ctx);
  ctx_ = ctx;
  cache_stride_ = (size_t)ctx * KD;
  kv_.assign((size_t)c.num_layers * 2 * cache_stride_, 0.0f);
  logits_.assign((size_t)c.vocab_size, 0.0f);
  int rmax = 0;
  for (const auto& layer : lin_)
    for (const InferLinear& l : layer)
      if (l.lin->lora_a) rmax = std::max(rmax, (int)l.lin->lora_a->shape[0]);
  const int half = c.head_dim / 2;
  // Other architectures' extras (0 floats where unused): fused q/k/v rows, a norm's output or
  // input [NB, max(C, QD)], LayerNorm means (or the per-head norms' rstd [NB, NH]), Gemma 3's
  // local RoPE tables.
  const bool generic = model_->generic_arch(), local = c.rope_local_theta > 0;
  int64_t sizes[] = {NB * C, NB * C, NB * C, NB * C, NB * QD, NB * QD, NB * F, NB * F, NB * rmax, NB, NB * half, NB * half,
                     attention_cache_scratch_floats(ctx, pool_->size()),
                     c.qkv != QkvLayout::Separate ? NB * (QD + 2 * KD) : 0, generic ? NB * std::max(C, QD) : 0,
                     generic ? NB * c.num_heads : 0, local ? NB * half : 0, local ? NB * half : 0};
  float** slots[] = {&h_,      &x1_,     &x2_,  &mid_,  &q_,         &att_,      &gate_, &up_, &lora_t_, &rstd_, &cos_, &sin_,
                     &attn_scratch_, &qkv_, &tmp_, &mean_, &cos_local_, &sin_local_};
  size_t total = 0;
  for (int64_t s : sizes) total += (size_t)((s + 15) & ~int64_t(15));  // 64-byte aligned slices
  ws_.assign(total, 0.0f);
  size_t off = 0;
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    *slots[i] = ws_.data() + off;
    off += (size_t)((sizes[i] + 15) & ~int64_t(15));
  }
  inv_freq_ = rope_inv_freq(c, 1, &rope_af_);
  if (local) inv_local_ = rope_local_inv_freq(c);
  dyn_len_ = c.max_position_embeddings;
}

}  // namespace tuner
