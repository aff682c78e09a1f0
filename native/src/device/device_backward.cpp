// DeviceModel's backward: the CPU engine's llama_backward.cpp and linear.cpp as device ops. Every
// product takes bf16 operands (gradients are rounded to bf16 copies where a GEMM reads them) and
// accumulates in fp32: weight gradients dW += dY^T X straight into the fp32 gradients (beta = 1),
// input gradients dX = dY W. RMSNorm, RoPE, SwiGLU, biases and the embedding's scatter-add run in
// fp32; attention's gradients come back as bf16 and go through RoPE's backward in fp32. QLoRA's
// input gradients multiply by one base weight at a time, dequantized into a shared bf16 buffer.
#include "device/device_model_internal.h"
#include "tuner/error.h"

namespace tuner::dev {

// dx (+)= dy W (+ d'(dt A)); with LoRA also leaves dt = s dy B in act.lora_dt16 for
// linear_backward_weights.
void DeviceModel::Impl::linear_backward_input(const Linear& l, float* dx, bool accumulate, const bf16* dy16, int N) {
  const DeviceTensor& w = t(l.w);
  if (dx) {
    const bf16* W = w.w16.get();
    if (w.q) {
      ops.dequantize(deq.get(), *w.q);
      W = deq.get();
    }
    ops.gemm(Trans::N, Trans::N, N, l.in, l.out, 1.0f, dy16, l.out, W, l.in, accumulate ? 1.0f : 0.0f, dx, l.in);
  }
  if (!l.lora_a) return;
  const int r = (int)l.lora_a->shape[0];
  ops.gemm(Trans::N, Trans::N, N, r, l.out, l.scaling, dy16, l.out, t(l.lora_b).w16.get(), r, 0.0f, act.lora_dt, r);
  ops.to_bf16(act.lora_dt16, act.lora_dt, (int64_t)N * r);
  if (!dx) return;
  const bf16* A = t(l.lora_a).w16.get();
  if (!lora_dropout(l)) {
    ops.gemm(Trans::N, Trans::N, N, l.in, r, 1.0f, act.lora_dt16, r, A, l.in, 1.0f, dx, l.in);
    return;
  }
  // d(x) = mask * x / (1 - p): its transpose applies the same mask to dt A.
  ops.gemm(Trans::N, Trans::N, N, l.in, r, 1.0f, act.lora_dt16, r, A, l.in, 0.0f, act.lora_tmp2, l.in);
  ops.dropout(dx, act.lora_tmp2, (int64_t)N * l.in, l.dropout, dropout_seed, l.stream, dropout_first_token * l.in, true);
}

// dW += dy^T x, db += colsum(dy); LoRA: dB += s dy^T t, dA += dt^T d(x).
void DeviceModel::Impl::linear_backward_weights(const Linear& l, const bf16* dy16, const float* dy, const bf16* x,
                                                const bf16* t16, int N) {
  DeviceTensor& w = t(l.w);
  if (w.g.get()) ops.gemm(Trans::T, Trans::N, l.out, l.in, N, 1.0f, dy16, l.out, x, l.in, 1.0f, w.g.get(), l.in);
  if (l.b && t(l.b).g.get()) ops.bias_backward(t(l.b).g.get(), dy, N, l.out);
  if (!l.lora_a) return;
  const int r = (int)l.lora_a->shape[0];
  ops.gemm(Trans::T, Trans::N, l.out, r, N, l.scaling, dy16, l.out, t16, r, 1.0f, t(l.lora_b).g.get(), r);
  ops.gemm(Trans::T, Trans::N, r, l.in, N, 1.0f, act.lora_dt16, r, lora_input(l, x, N), l.in, 1.0f, t(l.lora_a).g.get(), l.in);
}

void DeviceModel::Impl::backward(float loss_scale) {
  if (!have_forward)
    throw TunerError("internal", "backward() called without a forward() on this batch", "This is a bug in Tuner; please report it.");
  if (forward_adapter_off)
    throw TunerError("internal", "backward() after a forward with the adapters disabled", "This is a bug in Tuner; please report it.");
  have_forward = false;  // the logits become dlogits below
  logits_valid = false;
  const ModelConfig& c = cfg();
  const int B = act.B, T = act.T, N = B * T, C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int NH = c.num_heads, NKV = c.num_kv_heads, HD = c.head_dim;
  const int64_t QD = (int64_t)NH * HD, KD = (int64_t)NKV * HD, NC = (int64_t)N * C, NF = (int64_t)N * F;
  const int32_t* pos = packed ? act.positions : nullptr;

  // ---- loss and lm_head: d xf in act.dx, then the final norm: d resid_final in act.dres ----
  // The head ran on head_rows rows (every row, or the loss rows packed to the front): d xf of
  // packed rows goes to their places, zero elsewhere.
  const int rows = head_rows;
  DeviceTensor& head = t(host.lm_head());
  float* dxh = head_packed() ? act.x32 : act.dx;
  if (head_packed()) ops.fill_zero(act.dx, sizeof(float) * NC);
  if (rows > 0) {
    ops.cross_entropy_backward(act.logits, act.lse, act.targets, head_packed() ? nullptr : act.mask, rows, V,
                               loss_rows ? loss_scale / (float)loss_rows : 0.0f);
    if (c.final_softcap > 0) ops.softcap_backward(act.logits, act.cap_t, (int64_t)rows * V);
    ops.to_bf16(act.logits16, act.logits, (int64_t)rows * V);
    const bf16* xh = head_packed() ? act.xf_packed : act.xf;
    if (head.g.get()) ops.gemm(Trans::T, Trans::N, V, C, rows, 1.0f, act.logits16, V, xh, C, 1.0f, head.g.get(), C);
    ops.gemm(Trans::N, Trans::N, rows, C, V, 1.0f, act.logits16, V, head.w16.get(), C, 0.0f, dxh, C);
  }
  if (head_packed()) {
    int row = 0;
    for (auto [first, count] : head_runs) {
      ops.copy(act.dx + (int64_t)first * C, dxh + (int64_t)row * C, sizeof(float) * count * C);
      row += count;
    }
  }
  norm_backward(act.dres, act.dx, act.resid_final, act.meanf, act.rstdf, host.final_norm(), host.final_norm_bias(), N, C, false);

  DeviceTensor& embed = t(host.embed());
  for (int l = c.num_layers - 1; l >= 0; l--) {
    const Layer& L = host.layers()[l];
    LayerBufs& a = act.layers[l];
    // Checkpointing: the shared activations hold the last layer's after forward; refill them.
    if (checkpointing && l + 1 < c.num_layers) layer_forward(l, nullptr, true);
    if (generic()) {  // Qwen3, Gemma 3, GPT-2, Bloom
      arch_layer_backward(l);
      continue;
    }
    // ---- MLP: out = mid + down(silu(gate(x2)) * up(x2)); dres holds d out ----
    ops.to_bf16(act.dres16, act.dres, NC);
    linear_backward_input(L.down, act.dm, false, act.dres16, N);
    ops.swiglu_forward(act.m32, a.gate, a.up, NF);  // m, recomputed rather than kept per layer
    ops.to_bf16(act.m16, act.m32, NF);
    ops.swiglu_backward(act.dgate, act.dup, act.dm, a.gate, a.up, NF);
    linear_backward_weights(L.down, act.dres16, act.dres, act.m16, a.t[L.down.index], N);
    ops.to_bf16(act.dgate16, act.dgate, NF);
    ops.to_bf16(act.dup16, act.dup, NF);
    linear_backward(L.gate, act.dx, false, act.dgate16, act.dgate, a.x2, a.t[L.gate.index], N);
    linear_backward(L.up, act.dx, true, act.dup16, act.dup, a.x2, a.t[L.up.index], N);
    DeviceTensor& ln2 = t(L.ln2);
    ops.rmsnorm_backward(act.dres, ln2.g.get(), act.dx, a.mid, ln2.w.get(), a.rstd2, N, C, true);
    // ---- attention: mid = resid_in + o(attn(rope(q(x1)), rope(k(x1)), v(x1))); dres = d mid ----
    ops.to_bf16(act.dres16, act.dres, NC);
    linear_backward(L.o, act.datt, false, act.dres16, act.dres, a.y, a.t[L.o.index], N);
    ops.to_bf16(act.datt16, act.datt, N * QD);
    ops.attention_backward(act.dq16, act.dk16, act.dv16, act.datt16, a.y, a.lse, a.q, a.k, a.v, act.attn_ws, attention_shape(l));
    ops.to_f32(act.q32, act.dq16, N * QD);
    ops.to_f32(act.k32, act.dk16, N * KD);
    ops.to_f32(act.v32, act.dv16, N * KD);
    ops.rope_backward(act.q32, act.cos, act.sin, B, T, NH, HD, pos);
    ops.rope_backward(act.k32, act.cos, act.sin, B, T, NKV, HD, pos);
    ops.to_bf16(act.dq16, act.q32, N * QD);
    ops.to_bf16(act.dk16, act.k32, N * KD);
    // Below the first layer only the embedding (or a trained ln1) uses d resid_in: LoRA skips it.
    DeviceTensor& ln1 = t(L.ln1);
    const bool need_dx = l > 0 || embed.g.get() || ln1.g.get();
    float* dx1 = need_dx ? act.dx : nullptr;
    linear_backward(L.q, dx1, false, act.dq16, act.q32, a.x1, a.t[L.q.index], N);
    linear_backward(L.k, dx1, true, act.dk16, act.k32, a.x1, a.t[L.k.index], N);
    linear_backward(L.v, dx1, true, act.dv16, act.v32, a.x1, a.t[L.v.index], N);
    if (need_dx) ops.rmsnorm_backward(act.dres, ln1.g.get(), act.dx, a.resid_in, ln1.w.get(), a.rstd1, N, C, true);
  }
  embed_backward();
}

void DeviceModel::backward(float loss_scale, ThreadPool*) { impl_->backward(loss_scale); }

}  // namespace tuner::dev
