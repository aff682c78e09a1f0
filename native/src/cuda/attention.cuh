// Causal attention on the GPU: flash-attention 2 style forward and backward on tensor cores,
// and a split-K decode kernel over a KV cache. The same contract as the CPU engine's
// attention_forward / attention_backward (tuner/ops.h) on device buffers in the same layouts:
//   q, y, dq, dy [B*T, NH*HD];  k, v, dk, dv [B*T, NKV*HD];  lse [B, NH, T] (natural log)
// GQA (NH a multiple of NKV: query head h uses kv head h / (NH / NKV)), a sliding window W
// (query i sees keys i - W < j <= i; 0 = none), packed rows (sample_start [B*T]: keys j >= the
// start of i's record), Gemma's scale (query_pre_attn_scalar^-0.5) and soft-capping, Bloom's
// ALiBi slopes [NH]. Elements are bf16 or fp16 (T); softmax and every sum run in fp32.
//
// Head dims 64, 80, 96 and 128 run on tensor cores (mma.sync m16n8k16); other head dims that
// are multiples of 8 up to 128 run the next of those with zero-padded columns; anything else up
// to 256 (e.g. Gemma's 256) runs the SIMT kernels, which are also what AttentionPath::simt forces.
// All calls are asynchronous on `stream`; errors in the arguments throw TunerError.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tuner::cuda {

struct AttentionParams {
  int B = 1, T = 1, NH = 1, NKV = 1, HD = 64;
  int window = 0;                          // 0: plain causal
  float scale = 0.0f;                      // 0: 1 / sqrt(HD)
  float softcap = 0.0f;                    // scores = cap * tanh(scores / cap) when > 0
  const float* alibi = nullptr;            // device [NH] slopes, or null
  const int32_t* sample_start = nullptr;   // device [B*T] record starts, or null
  // Backward's dQ on tensor cores: true (the default) computes it in a query-major kernel that
  // writes each element once after summing the key blocks in a fixed order, so dQ repeats bit
  // for bit; false sums the key blocks' shares with fp32 atomics (last bits vary run to run),
  // faster by the cost of recomputing S and dP, and needs an fp32 dQ accumulator in the workspace.
  bool deterministic = true;
};

enum class AttentionPath { automatic, tensor_cores, simt };

// Which kernels `automatic` picks for these sizes and pointers (tensor cores when the head dim
// fits and the rows are 16-byte aligned).
AttentionPath attention_path(const AttentionParams& p, const void* q, const void* k, const void* v);

// y = softmax(scores) v per query row; lse = each row's log-sum-exp, which backward needs.
template <typename T>
void attention_forward(T* y, float* lse, const T* q, const T* k, const T* v, const AttentionParams& p,
                       cudaStream_t stream, AttentionPath path = AttentionPath::automatic);

// Device scratch the backward needs, whichever path it takes: D = rowsum(dY o Y), the SIMT
// path's fp32 dK / dV accumulators and, when p.deterministic is off, the fp32 dQ accumulator.
size_t attention_backward_workspace_bytes(const AttentionParams& p);

// dq, dk, dv are overwritten (dk, dv summed over the query heads sharing a kv head). y and lse
// are the forward's. On tensor cores dK and dV have one writer each and a fixed order, and dQ
// too unless p.deterministic is off (then it is summed across key blocks with fp32 atomics and
// its last bits may differ between runs). The SIMT path writes each dQ row once and sums dK and
// dV with fp32 atomics.
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dy, const T* y, const float* lse, const T* q, const T* k, const T* v,
                        void* workspace, const AttentionParams& p, cudaStream_t stream,
                        AttentionPath path = AttentionPath::automatic);

// Generation: n query rows at positions pos .. pos + n - 1 (one sequence) against a KV cache of
// pos + n rows [ctx, NKV*HD] that already holds their keys and values; q, y [n, NH*HD]. The
// keys are cut into chunks spread over the GPU (split-K) and the partial softmaxes combined.
struct DecodeParams {
  int n = 1, pos = 0, NH = 1, NKV = 1, HD = 64;
  int window = 0;
  float scale = 0.0f, softcap = 0.0f;
  const float* alibi = nullptr;  // device [NH] or null
};
size_t attention_decode_workspace_bytes(const DecodeParams& p);
template <typename T>
void attention_decode(T* y, const T* q, const T* k_cache, const T* v_cache, void* workspace, const DecodeParams& p,
                      cudaStream_t stream);

}  // namespace tuner::cuda
