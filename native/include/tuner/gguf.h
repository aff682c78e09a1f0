// GGUF (version 3), the single-file model format of ggml / llama.cpp, written by our own code
// from the specification (ggml docs/gguf.md) and the key and tensor names llama.cpp reads
// (gguf-py constants, convert_hf_to_gguf.py). Two layers:
//   GgufWriter         the container: typed key/value metadata, tensor infos, aligned data,
//                      written atomically (temp + rename) and streamed one tensor at a time.
//   export_gguf()      a Llama / Mistral / Qwen2 / Qwen3 / Gemma 3 / GPT-2 / Bloom model (+ its
//                      tokenizer.json and chat template) mapped onto llama.cpp's `llama`, `qwen2`,
//                      `qwen3`, `gemma3`, `gpt2` and `bloom` architectures (docs/export.md).
//
// Layout: "GGUF", u32 version 3, u64 tensor count, u64 kv count, the kv pairs (string key,
// u32 value type, value), the tensor infos (string name, u32 n_dims, u64 ne[n_dims] with ne[0]
// the contiguous dimension, u32 ggml type, u64 offset into the data region), padding to
// general.alignment (32), then each tensor's bytes, each padded to the alignment. Strings are
// u64 length + UTF-8 bytes; everything is little-endian.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tuner {

class Model;
class ThreadPool;

// ggml tensor types this writer produces (values are ggml's enum ggml_type).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, BF16 = 30 };
const char* ggml_type_name(GgmlType t);  // "F32", "F16", "Q4_0", "Q8_0", "BF16"
// Bytes of one row of ne0 values (ne0 a multiple of the block size for Q4_0 / Q8_0).
uint64_t ggml_row_bytes(GgmlType t, int64_t ne0);

constexpr uint32_t kGgufVersion = 3;
constexpr uint32_t kGgufAlignment = 32;

class GgufWriter {
 public:
  // Metadata. Keys are unique (TunerError internal on a repeat); written in insertion order.
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_strings(const std::string& key, const std::vector<std::string>& v);
  void set_i32s(const std::string& key, const std::vector<int32_t>& v);
  void set_f32s(const std::string& key, const std::vector<float>& v);
  bool has(const std::string& key) const;

  // A tensor of shape ne (GGUF order: ne[0] contiguous, so a Hugging Face weight [out, in] is
  // ne = {in, out}) and type. fill(dst) writes exactly its bytes when the file is written, so
  // only one tensor's data is ever held.
  using Fill = std::function<void(uint8_t* dst)>;
  void add_tensor(const std::string& name, const std::vector<int64_t>& ne, GgmlType type, Fill fill);
  size_t tensor_count() const { return tensors_.size(); }
  uint64_t data_bytes() const;  // the data region, padding included

  // Writes the file atomically; TunerError io_error naming the path on failure.
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    GgmlType type;
    uint64_t bytes, offset;
    Fill fill;
  };
  void begin_kv(const std::string& key, uint32_t type);
  std::vector<uint8_t> kv_;  // encoded key/value pairs
  std::vector<std::string> keys_;
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
  uint64_t next_offset_ = 0;
};

// What export_gguf writes: every matrix (the 7 projections per layer, the embedding and the
// lm_head) in `type`, as `llama-quantize --pure` does and as Tuner's engine quantizes its
// linears and lm_head, so both run the same weights. Norms, biases and rope factors are always
// F32. A matrix whose row length is not a multiple of 32 falls back to F16.
struct GgufExportOptions {
  GgmlType type = GgmlType::F16;
  // token_embd only, as llama-quantize --token-embedding-type (default: type). Tuner's engine
  // looks embeddings up in f32, so F32 here makes a quantized file run exactly its weights.
  GgmlType embedding_type = GgmlType::F16;
  bool embedding_type_set = false;
  std::string name;  // general.name (default: the model folder's name)
};

// Writes `model` (loaded from model_dir, LoRA already merged if any) with the tokenizer of
// model_dir (tokenizer.json, tokenizer_config.json) to out_path. Throws TunerError naming the
// file and field: unsupported architecture or tokenizer, vocabulary larger than vocab_size.
// Returns warnings for what llama.cpp cannot express (dynamic rope scaling, sliding windows,
// an unrecognised pre-tokenizer).
std::vector<std::string> export_gguf(const std::string& out_path, Model& model, const std::string& model_dir,
                                     const GgufExportOptions& opt, ThreadPool* pool);

// Adds the tokenizer.* keys from model_dir/tokenizer.json (+ tokenizer_config.json,
// config.json, chat_template.jinja): model, pre, tokens, token_type, merges or scores, special
// token ids, add_bos/add_eos, chat template. The token list is padded to vocab_size as
// convert_hf_to_gguf does. Returns warnings (e.g. an unrecognised pre-tokenizer).
std::vector<std::string> add_gguf_tokenizer(GgufWriter& w, const std::string& model_dir, int vocab_size);

}  // namespace tuner
