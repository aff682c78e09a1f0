// Every engine error code with its fallback hint (include/tuner/error_codes.h). Sorted by code.
#include "tuner/error_codes.h"

#include <cstring>

namespace tuner {

const ErrorCodeInfo kErrorCodes[] = {
    {"adapter_mismatch", "The adapter does not belong to this base model; use the base named in adapter_config.json."},
    {"bad_adapter", "Point the adapter path at a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)."},
    {"bad_arguments", "Run the tool with --help for its options."},
    {"bad_batch", "The batch does not fit the model; prepare the data again for this model."},
    {"bad_checkpoint", "Resume from a complete checkpoint folder (output_dir/checkpoints/step-*) of the same plan."},
    {"bad_config", "Fix config.json (it should be the one published with the model)."},
    {"bad_device", "Set device to cpu, cuda or auto."},
    {"bad_gemm_shape", "A GPU matrix product was given sizes it cannot take: a bug in Tuner; please report it with the log, "
                       "and set device to cpu in ARGS.json meanwhile."},
    {"bad_index", "Fix model.safetensors.index.json: its weight_map must map every tensor name to a shard file in the "
                  "model folder; or download the model again."},
    {"bad_json", "Fix the JSON syntax at that position (strict JSON: double quotes, no trailing commas, no comments)."},
    {"bad_lora", "Set lora.r and lora.alpha to positive numbers (e.g. r 8, alpha 16)."},
    {"bad_plan", "Fix the run plan (ARGS.json) field named in the message."},
    {"bad_position", "Truncate to a position between 0 and the current one."},
    {"bad_quant_shape", "Keep this matrix in f16 or f32, or use a format whose block size divides its width."},
    {"bad_quant_tensor", "Quantize the model again; the file was not written by this version of Tuner or was changed."},
    {"bad_safetensors", "The file is not a valid safetensors file; download or export it again."},
    {"bad_sampler", "Fix the sampling settings."},
    {"bad_shards", "Prepare the data again (Tuner: Prepare Dataset) to rewrite the shard directory."},
    {"bad_token", "Tokenize with this model's tokenizer."},
    {"bad_tokenizer", "Use the tokenizer.json published with the model."},
    {"bad_tokens", "Pass at least one token id."},
    {"comm_unavailable", "Launch data-parallel runs with mpirun (Open MPI installed) or torchrun (RANK, WORLD_SIZE, MASTER_ADDR, "
                         "MASTER_PORT set); see docs/scale.md."},
    {"context_full", "Start a new conversation or load the model with a longer context."},
    {"context_too_long", "Use a context length the model supports (max_position_embeddings in config.json)."},
    {"control", "Check that the run folder is writable and on a local disk (the control socket lives there)."},
    {"cuda_error", "A CUDA call failed; update the NVIDIA driver, or set device to cpu in ARGS.json."},
    {"cuda_inference_unavailable", "The GPU cannot generate with this model (the message says why); load it with device auto "
                                   "or cpu to generate on the CPU."},
    {"cuda_out_of_memory", "The GPU ran out of memory: lower batch_size or max_length, turn on gradient_checkpointing, or use "
                           "method qlora."},
    {"cuda_training_unavailable", "The GPU path cannot train this plan (the message says why); set device to auto or cpu in "
                                  "ARGS.json to train on the CPU."},
    {"data_mismatch", "Resume with the shard directory the run started with (prepare a new run for new data)."},
    {"file_not_found", "Check that the file exists and is readable."},
    {"internal", "This is a bug in Tuner; please report it with the log."},
    {"io_error", "Check that the folder is writable, the disk is not full and the file is readable."},
    {"missing_config", "Point the model path at the folder that holds config.json and *.safetensors."},
    {"missing_model", "Set the model path to a Hugging Face model folder (config.json + *.safetensors)."},
    {"missing_tensor", "The weights do not match config.json; download the complete model."},
    {"missing_tokenizer", "Copy tokenizer.json (and tokenizer_config.json) from the base model into the model folder."},
    {"missing_weights", "Download the model's *.safetensors files (pytorch_model.bin is not supported)."},
    {"no_cuda_device", "No usable CUDA GPU: set device to auto or cpu in ARGS.json (or install the NVIDIA driver on a machine "
                       "with a GPU)."},
    {"no_logits", "Append the prompt first."},
    {"non_finite_eval_loss", "Lower optimizer.lr, set max_grad_norm (e.g. 1.0), or check the eval data; then --resume from the "
                             "last checkpoint."},
    {"non_finite_gradient", "Lower optimizer.lr, set max_grad_norm (e.g. 1.0) to clip gradients, or check the data for broken "
                            "examples; then --resume from the last checkpoint."},
    {"non_finite_loss", "Lower optimizer.lr, set max_grad_norm (e.g. 1.0) to clip gradients, or check the data for broken "
                        "examples; then --resume from the last checkpoint."},
    {"non_finite_weights", "The weights hold NaN or infinity (a diverged run or a damaged file); use the model as published "
                           "or an earlier checkpoint."},
    {"out_of_memory", "Lower batch_size or seq_len, use LoRA or a quantized format, or close other programs."},
    {"plan_mismatch", "Resume with the plan the checkpoint was made with; only paths, threads and intervals may change."},
    {"quantized_weights", "Train from the original model folder; a quantized folder is for generating text."},
    {"rank_lost", "A rank of the data-parallel run ended (killed, out of memory, or the job was cancelled); resume from the "
                  "last checkpoint."},
    {"ranks_diverged", "The ranks of a data-parallel run no longer hold the same weights (a bug or a faulty machine); resume "
                       "from the last checkpoint and report it with the log."},
    {"run_busy", "That run is still training: stop it (or wait for it) before starting another in its folder."},
    {"sampler_no_token", "Ban fewer tokens, or lower no_repeat_ngram_size."},
    {"sequence_too_long", "Lower seq_len to at most the model's max_position_embeddings."},
    {"session_freed", "Load the model again with inferLoad()."},
    {"shape_mismatch", "config.json does not belong to these weights; use the config.json published with them."},
    {"truncated_file", "The file is incomplete (an interrupted download or copy); download or copy it again."},
    {"unknown_quant", "Use one of the formats the playground offers: f32, f16, bf16, q8_0, q4_0, int8, nf4."},
    {"unknown_quant_type", "Use one of f32, f16, bf16, q8_0, q4_0, int8, nf4."},
    {"unsupported_architecture", "Choose a Llama, Mistral, Qwen2, Qwen3, Gemma 3 (text), GPT-2 or Bloom model (e.g. SmolLM, Qwen2.5, gemma-3-1b, bloom-560m)."},
    {"unsupported_dtype", "Convert the weights to float32, float16 or bfloat16."},
    {"unsupported_method", "Use method \"full\" or \"lora\" for this model."},
    {"unsupported_model", "Export supports LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Gemma3ForCausalLM, GPT2LMHeadModel and BloomForCausalLM."},
    {"unsupported_option", "Turn the option named in the message off for this model."},
    {"unsupported_tokenizer", "Use a byte-level BPE (GPT-2, Llama 3, Qwen2) or SentencePiece-style BPE (Llama 2, Mistral) tokenizer."},
    {"vocab_mismatch", "The tokenizer does not belong to this model; use the tokenizer files published with its weights."},
};

const size_t kErrorCodeCount = sizeof(kErrorCodes) / sizeof(kErrorCodes[0]);

static const ErrorCodeInfo* find_code(const std::string& code) {
  for (size_t i = 0; i < kErrorCodeCount; ++i)
    if (code == kErrorCodes[i].code) return &kErrorCodes[i];
  return nullptr;
}

const char* error_code_hint(const std::string& code) {
  const ErrorCodeInfo* info = find_code(code);
  return info ? info->hint : "See the message above; if it does not say what to change, please report it with the log.";
}

bool is_error_code(const std::string& code) { return find_code(code) != nullptr; }

}  // namespace tuner
