// xPos (Sun et al., "A Length-Extrapolatable Transformer", 2022; torchscale's XPOS): RoPE whose
// rotation of a query at position n is also scaled by zeta_i^(n / scale_base) per dimension pair
// i, and a key's by the reciprocal, so the score of query m and key n carries
// zeta_i^((m - n) / scale_base): attention decays with distance, more in the fast-rotating pairs.
// zeta_i = (2i + 0.4 HD) / (1.4 HD), in [0.29, 1). The engine keeps RoPE's cos/sin tables for
// the queries scaled by zeta^(n/γ) and a second pair for the keys scaled by zeta^(-n/γ); the
// backward passes use the same tables (the scaling is diagonal per pair, so the transpose of
// "rotate, then scale" is "scale, then rotate back", which rope_pair_grad with scaled cos/sin is).
#include <cmath>
#include <string>

#include "llama_model.h"
#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/model.h"

namespace tuner {

float xpos_scale(const ModelConfig& cfg, int pair, int position) {
  if (cfg.rope_scaling.type != "xpos") return 1.0f;
  const double HD = cfg.head_dim;
  const double zeta = (2.0 * pair + 0.4 * HD) / (1.4 * HD);
  return (float)std::pow(zeta, (double)position / cfg.rope_scaling.scale_base);
}

int xpos_max_positions(const ModelConfig& cfg) {
  // zeta >= 0.4 / 1.4: a key's factor (1/zeta)^(n/γ) stays below e^60 (1e26, far from float's
  // 3e38, with room for the products) while n/γ <= 60 / ln(3.5) = 47.9.
  return (int)std::floor(47.0 * cfg.rope_scaling.scale_base);
}

void LlamaModel::xpos_tables(Workspace& ws, int T) const {
  if (cfg_.rope_scaling.type != "xpos") {
    ws.cos_k.clear();
    ws.sin_k.clear();
    return;
  }
  if (T > xpos_max_positions(cfg_))
    throw TunerError("sequence_too_long",
                     std::to_string(T) + " positions is past what xPos with scale_base " + message_number(cfg_.rope_scaling.scale_base) +
                         " keeps finite in float (" + std::to_string(xpos_max_positions(cfg_)) + ")",
                     "Raise rope_scaling.scale_base or lower max_length.");
  const int half = cfg_.head_dim / 2;
  ws.cos_k.resize((size_t)T * half);
  ws.sin_k.resize((size_t)T * half);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < half; i++) {
      const size_t at = (size_t)t * half + i;
      const float z = xpos_scale(cfg_, i, t);
      ws.cos_k[at] = ws.cos[at] / z;
      ws.sin_k[at] = ws.sin[at] / z;
      ws.cos[at] *= z;
      ws.sin[at] *= z;
    }
}

void LlamaModel::set_rope_scaling(const Json& rope_scaling) {
  if (cfg_.positions != PositionKind::Rope)
    throw TunerError("bad_plan",
                     "rope_scaling is set but " + cfg_.architecture + " has no rotary position embeddings (" +
                         (cfg_.positions == PositionKind::Alibi ? "ALiBi" : "learned positions") + ")",
                     "Remove rope_scaling from ARGS.json for this model.");
  cfg_.rope_scaling = parse_rope_scaling(rope_scaling, "plan", "rope_scaling", cfg_.max_position_embeddings);
  Json rs = rope_scaling;
  if (cfg_.rope_scaling.type == "llama3" && !rs.find("original_max_position_embeddings"))
    rs.set("original_max_position_embeddings", Json(cfg_.rope_scaling.original_max_position_embeddings));
  config_json_.set("rope_scaling", rs);
  ws_.rope_T = -1;  // the next forward builds its tables from the new scaling
}

}  // namespace tuner
