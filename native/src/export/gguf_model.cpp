// A model -> one GGUF file for llama.cpp: the architecture's keys and tensor names
// (gguf_arch.cpp), the tokenizer (gguf_tokenizer.cpp), and each tensor in llama.cpp's layout:
//   llama: q_proj and k_proj rows (and biases) permuted per head, since llama.cpp rotates
//       adjacent pairs (GPT-J style) where transformers rotates halves: new row 2j + s = old
//       row s * HD/2 + j; llama3 rope scaling becomes the rope_freqs tensor (per-frequency
//       divisors)
//   gpt2: Conv1D weights [in, out] transposed to [out, in]
//   bloom: query_key_value rows regrouped from per head [q, k, v] to [all q | all k | all v]
//   gemma3: every norm weight stored as 1 + w
// Matrices in the requested type (F16 where a row is not a multiple of the 32-value block),
// vectors F32.
#include <cmath>
#include <cstring>

#include "export/gguf_arch.h"
#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/gguf.h"
#include "tuner/model.h"
#include "tuner/quant.h"

namespace tuner {

namespace {

// llama_ftype of the file as a whole (general.file_type).
uint32_t file_type(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
  }
  return 0;
}

// rows [n_head * HD, cols]: per head, interleave the two halves (convert_hf_to_gguf's permute).
void permute_rows(float* dst, const float* src, int64_t rows, int64_t cols, int n_head) {
  const int64_t hd = rows / n_head, half = hd / 2;
  for (int h = 0; h < n_head; h++)
    for (int64_t j = 0; j < half; j++)
      for (int s = 0; s < 2; s++)
        std::memcpy(dst + (h * hd + 2 * j + s) * cols, src + (h * hd + s * half + j) * cols, (size_t)cols * sizeof(float));
}

// llama3 rope scaling as llama.cpp applies it: one divisor per frequency (rope_freqs.weight).
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  const int old_ctx = r.original_max_position_embeddings > 0 ? r.original_max_position_embeddings : 8192;
  const double low_wavelen = old_ctx / r.low_freq_factor, high_wavelen = old_ctx / r.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < c.head_dim; i += 2) {
    const float freq = 1.0f / std::pow(c.rope_theta, (float)i / (float)c.head_dim);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) out.push_back(1.0f);
    else if (wavelen > low_wavelen) out.push_back(r.factor);
    else {
      const double smooth = (old_ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      out.push_back((float)(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return out;
}

// Bloom's fused rows [NH][3][HD] (per head q, k, v) -> [3][NH][HD], each row `cols` wide.
void regroup_bloom_qkv(float* dst, const float* src, int64_t rows, int64_t cols, int n_head) {
  const int64_t hd = rows / (3 * n_head);
  for (int h = 0; h < n_head; h++)
    for (int j = 0; j < 3; j++)
      std::memcpy(dst + (j * n_head + h) * hd * cols, src + (h * 3 + j) * hd * cols, (size_t)(hd * cols) * sizeof(float));
}

}  // namespace

std::vector<std::string> export_gguf(const std::string& out_path, Model& model, const std::string& dir, const GgufExportOptions& opt,
                                     ThreadPool* pool) {
  const ModelConfig& c = model.config();
  const GgufArch arch = gguf_arch_of(c, dir);
  std::string name = opt.name;
  if (name.empty()) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    name = d.substr(d.rfind('/') == std::string::npos ? 0 : d.rfind('/') + 1);
  }

  GgufWriter w;
  w.set_string("general.architecture", arch.name);
  w.set_string("general.name", name);
  w.set_u32("general.alignment", kGgufAlignment);
  w.set_u32("general.file_type", file_type(opt.type));
  w.set_u32("general.quantization_version", 2);
  std::vector<std::string> warnings = write_gguf_arch_keys(w, arch, c);
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "llama3" && arch.name != "llama")
    warnings.push_back("rope_scaling \"llama3\" is written for llama.cpp's llama architecture only: " + arch.name +
                       " runs without it (identical up to the original context length)");
  for (auto& wn : add_gguf_tokenizer(w, dir, c.vocab_size)) warnings.push_back(wn);

  // Tensors, in the order llama.cpp's converter writes them (token_embd, per layer, output).
  std::vector<Param*> params = model.base_params();
  std::vector<float> rope_factors;
  if (rs.type == "llama3" && arch.name == "llama") {
    rope_factors = llama3_rope_factors(c);
    w.add_tensor("rope_freqs.weight", {(int64_t)rope_factors.size()}, GgmlType::F32,
                 [&rope_factors](uint8_t* dst) { std::memcpy(dst, rope_factors.data(), rope_factors.size() * 4); });
  }
  for (Param* p : params) {
    const std::string gname = gguf_tensor_name(arch, p->name);
    TUNER_CHECK(!gname.empty(), "no GGUF name for tensor " + p->name);
    const bool matrix = p->shape.size() == 2;
    // GGUF rows: a Conv1D weight [in, out] is written transposed, [out, in].
    const int64_t rows = matrix ? p->shape[p->in_out ? 1 : 0] : 1, cols = matrix ? p->shape[p->in_out ? 0 : 1] : p->shape[0];
    const bool is_q = p->name.find("q_proj.") != std::string::npos, is_k = p->name.find("k_proj.") != std::string::npos;
    const int perm_heads = arch.permute_qk && is_q ? c.num_heads : arch.permute_qk && is_k ? c.num_kv_heads : 0;
    const int regroup_heads = arch.bloom_qkv && gname.find(".attn_qkv.") != std::string::npos ? c.num_heads : 0;
    const bool plus_one = arch.norm_plus_one && !matrix;  // Gemma 3's vectors are all norm weights
    const bool embedding = gname == "token_embd.weight" || gname == "position_embd.weight";
    GgmlType t = GgmlType::F32;
    if (matrix) {
      t = embedding && opt.embedding_type_set ? opt.embedding_type : opt.type;
      if ((t == GgmlType::Q8_0 || t == GgmlType::Q4_0) && cols % 32 != 0) t = GgmlType::F16;
    }
    std::vector<int64_t> ne = matrix ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
    w.add_tensor(gname, ne, t, [p, rows, cols, perm_heads, regroup_heads, plus_one, t, pool](uint8_t* dst) {
      const int64_t n = rows * cols;
      std::vector<float> tmp;
      const float* src = p->data;
      if (perm_heads > 0 || regroup_heads > 0 || plus_one || p->in_out) {
        tmp.resize((size_t)n);
        // A bias is one "row" of n_head * HD values: permute or regroup its elements.
        const int64_t r = rows == 1 ? cols : rows, k = rows == 1 ? 1 : cols;
        if (perm_heads > 0) permute_rows(tmp.data(), src, r, k, perm_heads);
        else if (regroup_heads > 0) regroup_bloom_qkv(tmp.data(), src, r, k, regroup_heads);
        else if (p->in_out)
          in_out_to_out_in(tmp.data(), src, rows, cols);
        else
          for (int64_t i = 0; i < n; i++) tmp[i] = 1.0f + src[i];
        src = tmp.data();
      }
      switch (t) {
        case GgmlType::F32: std::memcpy(dst, src, (size_t)n * 4); break;
        case GgmlType::F16: convert_from_f32(dst, src, n, DType::F16); break;
        case GgmlType::BF16: convert_from_f32(dst, src, n, DType::BF16); break;
        case GgmlType::Q8_0:
        case GgmlType::Q4_0: {
          QuantMatrix q = quantize_matrix(src, (int)rows, (int)cols, t == GgmlType::Q8_0 ? QuantType::Q8_0 : QuantType::Q4_0, pool);
          TUNER_CHECK(q.data.size() == ggml_row_bytes(t, cols) * rows, "quantized size differs from the GGUF block layout");
          std::memcpy(dst, q.data.data(), q.data.size());
          break;
        }
      }
    });
  }
  w.write(out_path);
  return warnings;
}

}  // namespace tuner
