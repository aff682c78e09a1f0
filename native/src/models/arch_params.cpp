// The parameters each architecture has, under its Hugging Face names, in the order the model
// walks them (layers in order; inside a layer: norms and linears as the forward meets them):
//   Llama family   model.embed_tokens, model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
//                  post_attention_layernorm, mlp.{gate,up,down}_proj}, model.norm, lm_head
//   Qwen3          + self_attn.{q,k}_norm [HD]
//   Gemma 3        + self_attn.{q,k}_norm, post_attention_layernorm (after attention),
//                  pre_feedforward_layernorm (before the MLP), post_feedforward_layernorm
//   GPT-2          transformer.{wte, wpe}, transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2,
//                  mlp.c_fc, mlp.c_proj} (Conv1D: weights [in, out]), transformer.ln_f; tied head
//   Bloom          transformer.word_embeddings(+_layernorm), transformer.h.N.{input_layernorm,
//                  self_attention.query_key_value, self_attention.dense, post_attention_layernorm,
//                  mlp.dense_h_to_4h, mlp.dense_4h_to_h}, transformer.ln_f; tied head
#include "models/llama_model.h"

namespace tuner {

bool LlamaModel::generic_arch() const {
  const std::string& a = cfg_.architecture;
  return a != "LlamaForCausalLM" && a != "MistralForCausalLM" && a != "Qwen2ForCausalLM";
}

void LlamaModel::build_params() {
  const int C = cfg_.hidden_size, F = cfg_.intermediate_size, V = cfg_.vocab_size;
  const int QD = cfg_.num_heads * cfg_.head_dim, KD = cfg_.num_kv_heads * cfg_.head_dim, HD = cfg_.head_dim;
  const std::string& a = cfg_.architecture;
  const bool gpt2 = a == "GPT2LMHeadModel", bloom = a == "BloomForCausalLM";
  auto linear = [&](Layer& L, Linear& l, const std::string& name, const std::string& module, int out, int in, bool bias) {
    init_linear(l, name, module, out, in, bias);
    l.w->linear = true;
    if (cfg_.conv1d) {
      l.in_out = l.w->in_out = true;
      l.w->shape = {in, out};
    }
    l.index = (int)L.linears.size();
    L.linears.push_back(&l);
  };
  auto norm = [&](const std::string& name, int n, Param** bias) {
    Param* w = add_param(name + ".weight", {n});
    if (bias && cfg_.norm == NormKind::Layer) *bias = add_param(name + ".bias", {n});
    return w;
  };
  layers_.resize(cfg_.num_layers);
  if (gpt2 || bloom) {
    const std::string t = "transformer.";
    embed_ = add_param(t + (gpt2 ? "wte.weight" : "word_embeddings.weight"), {V, C});
    if (gpt2) pos_embed_ = add_param(t + "wpe.weight", {cfg_.max_position_embeddings, C});
    if (bloom) embed_norm_ = norm(t + "word_embeddings_layernorm", C, &embed_norm_b_);
    for (int i = 0; i < cfg_.num_layers; i++) {
      Layer& L = layers_[i];
      const std::string p = t + "h." + std::to_string(i) + ".";
      if (gpt2) {
        L.ln1 = norm(p + "ln_1", C, &L.ln1_b);
        linear(L, L.qkv, p + "attn.c_attn", "c_attn", QD + 2 * KD, C, true);
        linear(L, L.o, p + "attn.c_proj", "c_proj", C, QD, true);
        L.ln2 = norm(p + "ln_2", C, &L.ln2_b);
        linear(L, L.up, p + "mlp.c_fc", "c_fc", F, C, true);
        linear(L, L.down, p + "mlp.c_proj", "c_proj", C, F, true);
      } else {
        L.ln1 = norm(p + "input_layernorm", C, &L.ln1_b);
        linear(L, L.qkv, p + "self_attention.query_key_value", "query_key_value", QD + 2 * KD, C, true);
        linear(L, L.o, p + "self_attention.dense", "dense", C, QD, true);
        L.ln2 = norm(p + "post_attention_layernorm", C, &L.ln2_b);
        linear(L, L.up, p + "mlp.dense_h_to_4h", "dense_h_to_4h", F, C, true);
        linear(L, L.down, p + "mlp.dense_4h_to_h", "dense_4h_to_h", C, F, true);
      }
    }
    norm_ = norm(t + "ln_f", C, &norm_b_);
    lm_head_ = embed_;
    if (bloom) alibi_ = alibi_slopes(cfg_.num_heads);
  } else {
    embed_ = add_param("model.embed_tokens.weight", {V, C});
    for (int i = 0; i < cfg_.num_layers; i++) {
      Layer& L = layers_[i];
      const std::string p = "model.layers." + std::to_string(i) + ".";
      L.ln1 = norm(p + "input_layernorm", C, nullptr);
      linear(L, L.q, p + "self_attn.q_proj", "q_proj", QD, C, cfg_.attention_bias);
      linear(L, L.k, p + "self_attn.k_proj", "k_proj", KD, C, cfg_.attention_bias);
      linear(L, L.v, p + "self_attn.v_proj", "v_proj", KD, C, cfg_.attention_bias);
      if (cfg_.qk_norm) {
        L.q_norm = norm(p + "self_attn.q_norm", HD, nullptr);
        L.k_norm = norm(p + "self_attn.k_norm", HD, nullptr);
      }
      linear(L, L.o, p + "self_attn.o_proj", "o_proj", C, QD, cfg_.o_proj_bias);
      if (cfg_.sandwich_norms) {
        L.post_attn = norm(p + "post_attention_layernorm", C, nullptr);
        L.ln2 = norm(p + "pre_feedforward_layernorm", C, nullptr);
      } else {
        L.ln2 = norm(p + "post_attention_layernorm", C, nullptr);
      }
      linear(L, L.gate, p + "mlp.gate_proj", "gate_proj", F, C, cfg_.mlp_bias);
      linear(L, L.up, p + "mlp.up_proj", "up_proj", F, C, cfg_.mlp_bias);
      linear(L, L.down, p + "mlp.down_proj", "down_proj", C, F, cfg_.mlp_bias);
      if (cfg_.sandwich_norms) L.post_ff = norm(p + "post_feedforward_layernorm", C, nullptr);
    }
    norm_ = norm("model.norm", C, nullptr);
    lm_head_ = cfg_.tie_word_embeddings ? embed_ : add_param("lm_head.weight", {V, C});
  }
  embed_->embedding = true;
  for (int i = 0; i < cfg_.num_layers; i++)
    for (Linear* l : layers_[i].linears) l->stream = (uint64_t)i * 7 + l->index + 1;
}

}  // namespace tuner
