// QLoRA's frozen base (Model::load_quantized_base): the decoder layers' linear weights become
// QuantMatrix as they are read (one f32 tensor in a scratch buffer at a time, so the f32 model is
// never held whole), the embedding, norms and lm_head stay f32, as bitsandbytes and PEFT's
// prepare_model_for_kbit_training keep them. A folder already written quantized
// (tuner/quant_io.h) trains as stored. Gradients flow through the dequantized weights:
//   forward   y = x dequant(W)^T            qgemm (tiles decoded while packing)
//   backward  dx = dy dequant(W)            dequantized once per linear into deq_ [out, in]
// and LoRA's A and B are fp32 on top, as in plain LoRA.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "models/llama_model.h"
#include "quant/quant_internal.h"
#include "tuner/error.h"
#include "tuner/quant_io.h"
#include "tuner/safetensors.h"
#include "tuner/threadpool.h"

namespace tuner {

void release_whole_pages(const void* data, size_t bytes) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t b = ((uintptr_t)data + page - 1) / page * page;
  const uintptr_t e = ((uintptr_t)data + bytes) / page * page;
  if (e > b) madvise((void*)b, e - b, MADV_DONTNEED);
}

std::unique_ptr<Model> Model::load_quantized_base(const std::string& dir, QuantType type, ThreadPool* pool) {
  return LlamaModel::open_quantized_base(dir, type, pool);
}

void Model::set_grad_ready_hook(GradReadyHook) {
  throw TunerError("unsupported_method", "this model cannot update weights during backward (LOMO)", "Use method \"full\" or \"lora\".");
}

void Model::set_gradient_checkpointing(bool on) {
  if (on)
    throw TunerError("unsupported_option", "this model cannot recompute activations (gradient_checkpointing)",
                     "Set gradient_checkpointing to false.");
}

std::unique_ptr<LlamaModel> LlamaModel::open_quantized_base(const std::string& dir, QuantType type, ThreadPool* pool) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw TunerError("missing_model", dir + ": model folder not found",
                     "Set the model path to a Hugging Face model folder (config.json + *.safetensors).");
  TUNER_CHECK(type == QuantType::NF4 || type == QuantType::INT8 || type == QuantType::Q4_0, "the frozen base is quantized to nf4, int8 or q4_0");
  ModelConfig cfg = load_model_config(dir);
  Json cj = Json::parse_file(dir + "/config.json");
  auto m = std::make_unique<LlamaModel>(cfg, cj, dir, false);
  std::map<const Param*, Linear*> linear_of;
  for (Layer& L : m->layers_)
    for (Linear* lin : L.linears) linear_of[lin->w] = lin;
  const int block = quant_block_size(type);
  std::vector<float> scratch, transposed;
  LlamaModel* self = m.get();
  WeightReader read_one = [&](Param& p, const SafetensorsFile& file, const TensorInfo& t) {
    auto it = linear_of.find(&p);
    const bool stored_quant = file.metadata().count("tuner.quant." + p.name) > 0;
    // Quantized as [out, in] rows whatever the file's layout (GPT-2's Conv1D stores [in, out]).
    const Linear* lin = it != linear_of.end() ? it->second : nullptr;
    if (lin && (stored_quant || lin->in % block == 0)) {
      const int rows = lin->out, cols = lin->in;
      auto q = std::make_unique<QuantMatrix>();
      if (stored_quant) {
        *q = quant_matrix_read(file, p.name);
        if (q->rows != rows || q->cols != cols)
          throw TunerError("shape_mismatch", file.path() + ": quantized tensor \"" + p.name + "\" holds a " + std::to_string(q->rows) +
                                                 " x " + std::to_string(q->cols) + " matrix but config.json implies " + shape_str(p.shape),
                           "config.json does not belong to these weights; use the one written with them.");
      } else {
        scratch.resize((size_t)p.numel());
        file.read_f32(t, scratch.data());
        if (lin->in_out) {  // [in, out] -> [out, in]
          transposed.resize(scratch.size());
          in_out_to_out_in(transposed.data(), scratch.data(), rows, cols);
          scratch.swap(transposed);
        }
        *q = quantize_matrix(scratch.data(), rows, cols, type, pool);
      }
      if (q->type == QuantType::F32) {  // a plain matrix in a quantized folder: keep it as f32
        self->f32_store_.emplace_back((size_t)p.numel());
        dequantize_matrix(self->f32_store_.back().data(), *q);
        p.data = self->f32_store_.back().data();
        return;
      }
      it->second->qw = q.get();
      self->qweights_.push_back(std::move(q));
      p.data = nullptr;
      return;
    }
    self->f32_store_.emplace_back((size_t)p.numel());
    if (stored_quant) {
      QuantMatrix q = quant_matrix_read(file, p.name);
      if ((int64_t)q.rows * q.cols != p.numel())
        throw TunerError("shape_mismatch", file.path() + ": quantized tensor \"" + p.name + "\" does not hold " + shape_str(p.shape),
                         "config.json does not belong to these weights; use the one written with them.");
      dequantize_matrix(self->f32_store_.back().data(), q);
    } else {
      file.read_f32(t, self->f32_store_.back().data());
    }
    p.data = self->f32_store_.back().data();
  };
  WeightReader reader = [&](Param& p, const SafetensorsFile& file, const TensorInfo& t) {
    read_one(p, file, t);
    // The tensor's mapped file pages are clean, so the kernel can always read them again: kept,
    // every page read would stay resident and the load peak would hold the whole f32 file beside
    // the quantized weights.
    release_whole_pages(file.data(t), size_t(t.end - t.begin));
  };
  m->load_weights(&reader);
  return m;
}

const float* LlamaModel::dense_weight(const Linear& l, ThreadPool* pool) {
  if (!l.qw) return l.w->data;
  const QuantMatrix& q = *l.qw;
  deq_.resize((size_t)q.rows * q.cols);
  // Row blocks in parallel with the format's portable decoder (the definition the qgemm kernels
  // are tested against), so the weights backward sees are exactly dequantize_matrix's.
  const QuantView view = quant_view(q);
  const QDequantRows dequant = qgemm_kernels_generic().dequant[(int)q.type];
  float* out = deq_.data();
  const int RB = 16;
  parallel_rows(pool, (q.rows + RB - 1) / RB, [&](int64_t b, int64_t e, int) {
    const int r0 = (int)b * RB, r1 = std::min(q.rows, (int)e * RB);
    dequant(out + (int64_t)r0 * q.cols, view, r0, r1);
  });
  return out;
}

}  // namespace tuner
