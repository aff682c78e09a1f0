// Generation on a device: an InferSession whose weights, KV cache and forward live on a DeviceOps
// (cuda_ops on the GPU; host_ops, the CPU stand-in, under TUNER_DEVICE_OPS=host in the tests).
// It loads the weights as the CPU session does (load_infer_weights: same files, same
// quantization at load) and uploads them: linears and the lm_head as bf16 (the f32 format runs
// as bf16 on the device, info.kernel says so) or in their quantized format (int8, nf4, q4_0,
// q8_0) through upload_quant; norms, biases and the embedding table fp32; a LoRA adapter's A and
// B as bf16, applied on the fly (y += scaling (x A^T) B^T, never merged). KV cache: bf16
// [ctx, NKV*HD] per layer for k (after RoPE) and v, in device memory.
//
// append(ids, n) runs the training forward's ops (device_forward.cpp's order: RMSNorm, q/k/v,
// RoPE at absolute positions through a pos array, attention, o_proj into the fp32 residual,
// SwiGLU MLP; device_arch.cpp's steps for Qwen3, Gemma 3, GPT-2 and Bloom) with k/v rounded into
// the cache rows, attention over the cache (attention_decode,
// causal for a prompt's rows too), and downloads the last row's fp32 logits (or every row's when
// asked). Rows of at most kGemvMaxRows (decode) run the linears as matrix-vector products on fp32
// inputs (gemv_bf16 / qgemv, each weight read once); longer prompts run gemm / qgemm on bf16
// inputs in chunks of kChunk rows. Sampling is the host Sampler on the downloaded logits.
#pragma once
#include <memory>
#include <string>

#include "device/device_ops.h"
#include "tuner/infer.h"

namespace tuner::dev {

// Why this model / options cannot generate on a device ("" when they can): the device model's
// checks (device_model_unsupported: xPos, fused per-head q/k/v with fewer key/value heads, an
// odd or > 256 head_dim, an architecture it does not train).
std::string device_infer_unsupported(const ModelConfig& c, const InferOptions& opt);

// The session InferSession::load returns for device "cuda" or "auto": on the first CUDA device
// (host_ops under TUNER_DEVICE_OPS=host). Null when "auto" settles on the CPU, with the reason
// in *cpu_reason (no device, a model or GPU the device path does not run, or a model that does not
// fit the GPU's memory). Throws no_cuda_device / cuda_inference_unavailable for "cuda" that cannot be
// honoured, naming the fix.
std::unique_ptr<InferSession> load_infer_on_device(const InferOptions& opt, std::string* cpu_reason);

// A device session on `ops` (device: "cuda" or "host_ops"; reason: why this device).
std::unique_ptr<InferSession> make_device_infer_session(const InferOptions& opt, std::unique_ptr<DeviceOps> ops,
                                                        const std::string& device, const std::string& reason);

}  // namespace tuner::dev
