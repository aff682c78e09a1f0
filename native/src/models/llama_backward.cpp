// Backward pass: walks the forward in reverse, using the activations the forward kept and a
// few shared scratch buffers. Accumulates into every trainable Param::grad (LoRA A/B, or every
// base weight for a full fine-tune; frozen weights skip their weight-gradient GEMMs).
#include <algorithm>
#include <cstring>

#include "models/llama_model.h"
#include "tuner/error.h"
#include "tuner/gemm.h"
#include "tuner/gemm_bf16.h"
#include "tuner/ops.h"
#include "tuner/ops_arch.h"

namespace tuner {

// Loss -> logits -> d xf in ws.dx. The head ran on ws.head_rows rows: every row, or the loss
// rows packed to the front (head_forward).
void LlamaModel::head_backward(float loss_scale, ThreadPool* pool) {
  Workspace& ws = ws_;
  const int N = ws.B * ws.T, C = cfg_.hidden_size, V = cfg_.vocab_size;
  float* dlogits = ws.logits;  // the logits buffer becomes dlogits
  const int rows = ws.head_rows;
  {
    ProfScope ps(prof_, kProfLoss);
    if (row_weights_.empty()) {
      cross_entropy_backward_inplace(dlogits, ws.lse, ws.targets.data(), ws.head_packed() ? nullptr : ws.mask.data(), rows, V,
                                     loss_scale, pool);
    } else {
      const std::vector<float> w = head_row_weights();
      cross_entropy_backward_rows_inplace(dlogits, ws.lse, ws.targets.data(), w.data(), rows, V, pool);
    }
    if (cfg_.final_softcap > 0 && rows > 0) softcap_backward(dlogits, ws.cap_t, (int64_t)rows * V, pool);
  }
  ProfScope ps(prof_, kProfHead);
  if (rows > 0) {
    if (lm_head16_ && lm_head_->grad) {
      // Both products read dlogits, the step's largest operand: rounded to bf16 once, in place,
      // they read half the bytes and round nothing (the products of rounding while packing: gemm_bf16.h).
      const uint16_t* d16 = round_rows_to_bf16_in_place(dlogits, V, rows, V, pool);
      gemm_bf16(Trans::T, Trans::N, V, C, rows, 1.0f, d16, 2 * V, ws.xf, C, 1.0f, lm_head_->grad, C, pool);
      gemm_bf16(Trans::N, Trans::N, rows, C, V, 1.0f, d16, 2 * V, lm_head16_, C, 0.0f, ws.dx, C, pool);
    } else if (lm_head16_bwd_) {
      // A frozen head (LoRA), packed once where the CPU has the bf16 kernel, else rounded once:
      // dx's product is dlogits' one reader, and rounds them as it packs.
      gemm_bf16(Trans::N, rows, 1.0f, dlogits, V, *lm_head16_bwd_, Bf16KTail{}, 0.0f, ws.dx, C, pool);
    } else if (lm_head16_) {
      gemm_bf16(Trans::N, Trans::N, rows, C, V, 1.0f, dlogits, V, lm_head16_, C, 0.0f, ws.dx, C, pool);
    } else {
      if (lm_head_->grad) sgemm(Trans::T, Trans::N, V, C, rows, 1.0f, dlogits, V, ws.xf, C, 1.0f, lm_head_->grad, C, pool);
      sgemm(Trans::N, Trans::N, rows, C, V, 1.0f, dlogits, V, lm_head_->data, C, 0.0f, ws.dx, C, pool);
    }
  }
  if (!ws.head_packed()) return;
  // Unpack d xf from the last row down (a packed row only ever moves to a later position, so no
  // source is overwritten before it moves); rows outside the loss get zero.
  for (int n = N - 1, i = rows - 1; n >= 0; n--) {
    float* dst = ws.dx + (int64_t)n * C;
    if (ws.mask[n]) {
      if (i != n) std::memcpy(dst, ws.dx + (int64_t)i * C, sizeof(float) * C);
      i--;
    } else {
      std::memset(dst, 0, sizeof(float) * C);
    }
  }
}

void LlamaModel::backward(float loss_scale, ThreadPool* pool) {
  if (!have_forward_)
    throw TunerError("internal", "backward() called without a forward() on this batch", "This is a bug in Tuner; please report it.");
  if (forward_adapter_off_)
    throw TunerError("internal", "backward() after a forward with the adapters disabled", "This is a bug in Tuner; please report it.");
  ensure_grads();
  have_forward_ = false;  // the logits buffer becomes dlogits below
  if (generic_arch()) return backward_arch(loss_scale, pool);
  Workspace& ws = ws_;
  const int B = ws.B, T = ws.T, N = B * T;
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size;
  const int NH = cfg_.num_heads, NKV = cfg_.num_kv_heads, HD = cfg_.head_dim;

  prof_.in_backward = true;
  head_backward(loss_scale, pool);  // d xf in ws.dx
  { ProfScope ps(prof_, kProfNormRope); rmsnorm_backward(ws.dres, norm_->grad, ws.dx, ws.resid_final, norm_->data, ws.rstdf, N, C, false, pool); }

  for (int l = cfg_.num_layers - 1; l >= 0; l--) {
    Layer& L = layers_[l];
    LayerActs& a = ws.layers[l];
    if (grad_hook_) bind_layer_grads(l);  // LOMO
    // Checkpointing: the shared activations hold the last layer's after forward; refill them.
    if (checkpointing_ && l + 1 < cfg_.num_layers) recompute_layer(l, pool);
    // ---- MLP: out = mid + down(silu(gate(x2)) * up(x2)); dres holds d out ----
    // d m first (it needs no m), then one pass recomputes m and turns d m into d gate, d up,
    // then the down projection's weight gradients use m.
    { ProfScope ps(prof_, kProfLinear); linear_backward_input(L.down, ws.dm, false, ws.dres, a.lora_t[6], N, pool); }
    { ProfScope ps(prof_, kProfElementwise); swiglu_forward_backward(ws.m, ws.dm, ws.dup, ws.dm, a.gate, a.up, (int64_t)N * F, pool); }
    { ProfScope ps(prof_, kProfLinear); linear_backward_weights(L.down, ws.dres, ws.m, N, pool); }
    {
      ProfScope ps(prof_, kProfLinear);
      linear_backward(L.gate, ws.dx, false, ws.dm, a.x2, a.lora_t[4], N, pool);
      linear_backward(L.up, ws.dx, true, ws.dup, a.x2, a.lora_t[5], N, pool);
    }
    { ProfScope ps(prof_, kProfNormRope); rmsnorm_backward(ws.dres, L.ln2->grad, ws.dx, a.mid, L.ln2->data, a.rstd2, N, C, true, pool); }
    // ---- attention: mid = resid_in + o(attn(rope(q(x1)), rope(k(x1)), v(x1))); dres = d mid ----
    { ProfScope ps(prof_, kProfLinear); linear_backward(L.o, ws.datt, false, ws.dres, a.att, a.lora_t[3], N, pool); }
    {
      ProfScope ps(prof_, kProfAttention);
      AttentionExtras ex;
      ex.bf16 = bf16_;
      attention_backward(ws.dq, ws.dk, ws.dv, ws.datt, a.att, a.lse, a.q, a.k, a.v, ws.attn_scratch, B, T, NH, NKV, HD,
                         cfg_.attention_window(l), pool, &ex, ws.starts());
    }
    {
      ProfScope ps(prof_, kProfNormRope);
      rope_backward(ws.dq, ws.cos, ws.sin, B, T, NH, HD, pool, ws.pos());
      rope_backward(ws.dk, ws.kcos(), ws.ksin(), B, T, NKV, HD, pool, ws.pos());
    }
    // Below the first layer only the embedding could use d resid_in; LoRA (embedding frozen,
    // norms frozen) skips those products.
    const bool need_dx = l > 0 || embed_->grad || L.ln1->grad;
    float* dx1 = need_dx ? ws.dx : nullptr;
    {
      ProfScope ps(prof_, kProfLinear);
      linear_backward(L.q, dx1, false, ws.dq, a.x1, a.lora_t[0], N, pool);
      linear_backward(L.k, dx1, true, ws.dk, a.x1, a.lora_t[1], N, pool);
      linear_backward(L.v, dx1, true, ws.dv, a.x1, a.lora_t[2], N, pool);
    }
    if (need_dx) {
      ProfScope ps(prof_, kProfNormRope);
      rmsnorm_backward(ws.dres, L.ln1->grad, ws.dx, a.resid_in, L.ln1->data, a.rstd1, N, C, true, pool);
    }
    if (grad_hook_) release_layer_grads(l);  // LOMO: this layer's weights are updated now
  }

  // Embedding: scatter-add rows; column blocks in parallel keep each sum's order fixed.
  if (embed_->grad) {
    ProfScope ps(prof_, kProfEmbed);
    float* dE = embed_->grad;
    const int CB = 64;
    parallel_rows(pool, (C + CB - 1) / CB, [&](int64_t b, int64_t e, int) {
      int c0 = (int)b * CB, c1 = std::min(C, (int)e * CB);
      for (int n = 0; n < N; n++) {
        float* dst = dE + (int64_t)ws.tokens[n] * C;
        const float* src = ws.dres + (int64_t)n * C;
        for (int c = c0; c < c1; c++) dst[c] += src[c];
      }
    });
  }
  if (grad_hook_) release_outer_grads();
}

}  // namespace tuner
