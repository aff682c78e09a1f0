// Merging a LoRA adapter into its base model and writing the result as a Hugging Face folder
// that transformers loads like any other (docs/export.md). The GGUF side is tuner/gguf.h.
//
// Merge semantics are PEFT's merge_and_unload: for each adapted Linear, W[out, in] +=
// s * B[out, r] @ A[r, in] with s = lora_alpha / r, or lora_alpha / sqrt(r) when the adapter
// says use_rslora. The adapter is read straight from its files (adapter_config.json +
// adapter_model.safetensors, PEFT names), so any PEFT LoRA adapter merges, not only Tuner's.
#pragma once
#include <string>
#include <vector>

#include "tuner/dtype.h"
#include "tuner/quant.h"

namespace tuner {

class Model;
class ThreadPool;

struct MergeReport {
  int modules = 0;       // Linear weights changed
  int rank = 0;
  float scaling = 0.0f;  // s above
  bool rslora = false;
};

// Adds the adapter's products into model's base weights (the model must not have LoRA
// enabled). Throws TunerError bad_adapter / adapter_mismatch naming the file, tensor or field:
// unsupported adapter kinds (DoRA, per-module rank_pattern / alpha_pattern, trained biases,
// modules_to_save, fan_in_fan_out), tensors missing or of the wrong shape, or a tensor the
// base does not have.
MergeReport merge_lora(Model& model, const std::string& adapter_dir, ThreadPool* pool);

// The storage dtype a merged folder keeps: the base's torch_dtype (float32 / float16 /
// bfloat16), F32 when it names none.
DType base_storage_dtype(const Model& model);

// Writes model (base weights, usually merged) to out_dir as a Hugging Face folder:
// config.json (base_dir's, torch_dtype set to dtype), model.safetensors in dtype (tied
// weights once), and every tokenizer / generation file of base_dir copied (tokenizer.json,
// tokenizer_config.json with its chat template, special_tokens_map.json, generation_config.json,
// chat_template.jinja, tokenizer.model, vocab.json, merges.txt, added_tokens.json). Each file is
// written atomically. Returns the files written.
std::vector<std::string> write_model_folder(const std::string& out_dir, Model& model, const std::string& base_dir,
                                            DType dtype);

// Copies base_dir's tokenizer and generation files (the list above) into out_dir; returns them.
std::vector<std::string> copy_tokenizer_files(const std::string& out_dir, const std::string& base_dir);

// Writes model as a quantized folder the inference engine runs as stored (docs/inference.md,
// "Quantized folder"): the matrices it quantizes at load time (every *_proj linear, the
// lm_head, and a tied embedding, which is the head) stored in `type` through quant_io.h, other
// tensors f32, so the folder generates exactly what the original quantized at load generates;
// config.json (torch_dtype float32, as the plain tensors are) and the tokenizer files. A matrix
// whose width is not a multiple of the format's block stays f32, as at load.
std::vector<std::string> write_quantized_folder(const std::string& out_dir, Model& model, const std::string& base_dir,
                                                QuantType type, ThreadPool* pool);

}  // namespace tuner
