// Internal to export_gguf: which llama.cpp architecture a model becomes, its tensors' GGUF names
// and the hyper-parameter keys llama.cpp reads for it (gguf_arch.cpp), as convert_hf_to_gguf.py
// and llama-model.cpp define them.
#pragma once
#include <string>
#include <vector>

#include "tuner/gguf.h"
#include "tuner/model.h"

namespace tuner {

struct GgufArch {
  std::string name;            // general.architecture: llama, qwen2, qwen3, gemma3, gpt2, bloom
  bool permute_qk = false;     // llama: q/k rows interleaved per head (GPT-J-style rotation)
  bool bloom_qkv = false;      // bloom: fused rows per head [q, k, v] -> [all q | all k | all v]
  bool norm_plus_one = false;  // gemma3: llama.cpp multiplies by the stored norm weight, HF by 1 + w
};

// The mapping of c's architecture; TunerError unsupported_model naming dir/config.json and the
// field when the model computes something llama.cpp's architecture cannot (Gemma 3 layouts
// other than llama.cpp's fixed sliding-window pattern, local RoPE base and attention scale).
GgufArch gguf_arch_of(const ModelConfig& c, const std::string& dir);

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight" (and the GPT-2 / Bloom
// names under "transformer."); "" if the tensor has no GGUF counterpart.
std::string gguf_tensor_name(const GgufArch& a, const std::string& hf);

// The "<arch>.*" hyper-parameters (sizes, norms' epsilon, RoPE and its scaling, sliding window,
// soft-capping); what the file cannot express is returned as warnings.
std::vector<std::string> write_gguf_arch_keys(GgufWriter& w, const GgufArch& a, const ModelConfig& c);

}  // namespace tuner
