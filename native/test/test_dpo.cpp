// DPO's building blocks: the pair loss and its row weights against the closed form (and padding
// pairs that count nowhere); the model's sequence log-probs equal minus the summed token losses
// of a one-row forward; backward_rows' gradient equals a central finite difference of
// sum_b w_b * (-logp_b) on a base weight and on a LoRA weight; with the adapters switched off
// the model computes its base (LoRA B nonzero, the same logits as the plain model).
#include <cmath>
#include <vector>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "train/dpo.h"
#include "tuner/model.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

void test_loss() {
  // Two pairs and a padding pair: z = beta * ((c - rc) - (r - rr)).
  const double beta = 0.5;
  const double logps[6] = {-10, -12, -99, -11, -9, -99}, ref[6] = {-11, -11, 0, -11, -11, 0};
  const uint8_t valid[3] = {1, 1, 0};
  float w[6];
  DpoStats s;
  dpo_loss(logps, ref, valid, 3, beta, 1.0, w, &s);
  const double z0 = beta * ((-10 + 11) - (-11 + 11)), z1 = beta * ((-12 + 11) - (-9 + 11));
  EXPECT(s.pairs == 2);
  EXPECT_NEAR(s.loss, std::log1p(std::exp(-z0)) + std::log1p(std::exp(-z1)), 1e-12);
  EXPECT_NEAR(s.margin, z0 + z1, 1e-12);
  EXPECT_NEAR(s.accurate, 1.0, 0.0);  // z0 > 0, z1 < 0
  EXPECT_NEAR(s.chosen_reward, beta * (1 + -1), 1e-12);
  // Row weight = d(mean loss)/d(-logp): sigmoid(-z) * beta / pairs, negated for the rejected row.
  const double g0 = 1.0 / (1.0 + std::exp(z0)) * beta / 2;
  EXPECT_NEAR(w[0], g0, 1e-7);
  EXPECT_NEAR(w[3], -g0, 1e-7);
  EXPECT(w[2] == 0.0f && w[5] == 0.0f);
  // Large margins stay finite.
  const double big[2] = {0, -1e4}, zero[2] = {0, 0};
  DpoStats t;
  dpo_loss(big, zero, nullptr, 1, 1.0, 1.0, w, &t);
  EXPECT(std::isfinite(t.loss) && t.loss < 1e-300 + 1e-12);
  dpo_loss(zero, big, nullptr, 1, 1.0, 1.0, w, &t);
  EXPECT_NEAR(t.loss, 1e4, 1e-6);
}

struct Rows {
  std::vector<uint32_t> tok, tgt;
  std::vector<uint8_t> mask;
  Batch batch;
  Rows(int B, int T, int V) {
    for (int i = 0; i < B * T; i++) {
      tok.push_back((uint32_t)(i * 7 + 3) % V);
      tgt.push_back((uint32_t)(i * 11 + 5) % V);
      mask.push_back(i % T >= 2 + (i / T));  // each row's response starts later
    }
    batch = Batch{tok.data(), tgt.data(), mask.data(), B, T};
  }
};

// sum_b w_b * (-logp_b) after an evaluate().
double weighted(Model& m, const Batch& b, const std::vector<float>& w, ThreadPool* pool) {
  m.evaluate(b, pool);
  std::vector<double> lp(b.B);
  m.sequence_logprobs(lp.data());
  double s = 0;
  for (int i = 0; i < b.B; i++) s -= w[i] * lp[i];
  return s;
}

// p's gradient at `at` against a central difference of weighted() (p's grad from backward_rows).
void check_fd(Model& m, Param* p, std::initializer_list<int64_t> at, const Batch& b, const std::vector<float>& w, ThreadPool* pool) {
  for (int64_t i : at) {
    const float x = p->data[i], h = 1e-2f;
    p->data[i] = x + h;
    const double up = weighted(m, b, w, pool);
    p->data[i] = x - h;
    const double down = weighted(m, b, w, pool);
    p->data[i] = x;
    const double fd = (up - down) / (2 * h);
    EXPECT_NEAR(p->grad[i], fd, 2e-3 + 2e-2 * std::fabs(fd));
  }
}

void test_model(const std::string& dir, ThreadPool* pool) {
  const int B = 3, T = 8;
  Rows r(B, T, 40);
  auto m = Model::load(dir);
  // Sequence log-probs: each row alone, its mean loss times its trained tokens.
  std::vector<double> lp(B);
  m->forward(r.batch, true, 0, pool);
  m->sequence_logprobs(lp.data());
  for (int b = 0; b < B; b++) {
    Batch one{r.tok.data() + b * T, r.tgt.data() + b * T, r.mask.data() + b * T, 1, T};
    int n = 0;
    for (int t = 0; t < T; t++) n += r.mask[b * T + t];
    const float mean = m->evaluate(one, pool);
    EXPECT_NEAR(lp[b], -(double)mean * n, 1e-4 * std::fabs(lp[b]));
  }
  // backward_rows against a central difference, full fine-tune (two base weights).
  const std::vector<float> w = {0.7f, -1.3f, 0.4f};
  for (const char* name : {"model.layers.1.mlp.down_proj.weight", "lm_head.weight"}) {
    auto full = Model::load(dir);
    full->zero_grad();
    full->forward(r.batch, true, 0, pool);
    full->backward_rows(w.data(), pool);
    for (Param* p : full->trainable_params())
      if (p->name == name) check_fd(*full, p, {0, p->numel() / 2, p->numel() - 1}, r.batch, w, pool);
  }
  // LoRA: B made nonzero so the adapter changes the output; a lora_A gradient by central difference.
  auto lora = Model::load(dir);
  LoraConfig cfg;
  cfg.rank = 2;
  cfg.alpha = 4;
  cfg.target_modules = {"q_proj", "v_proj"};
  lora->enable_lora(cfg, 5);
  for (Param* p : lora->trainable_params())
    for (int64_t i = 0; i < p->numel(); i++)
      if (p->name.find("lora_B") != std::string::npos) p->data[i] = 0.05f * (float)((i % 7) - 3);
  lora->zero_grad();
  lora->forward(r.batch, true, 0, pool);
  lora->backward_rows(w.data(), pool);
  Param* a = nullptr;
  for (Param* p : lora->trainable_params())
    if (p->name.find("layers.0.self_attn.q_proj.lora_A") != std::string::npos) a = p;
  EXPECT(a != nullptr);
  if (a) check_fd(*lora, a, {1, a->numel() - 2}, r.batch, w, pool);
  // Adapters off: the base's log-probs exactly; on again: different ones.
  std::vector<double> base(B), off(B), on(B);
  m->evaluate(r.batch, pool);
  m->sequence_logprobs(base.data());
  lora->set_adapter_enabled(false);
  lora->evaluate(r.batch, pool);
  lora->sequence_logprobs(off.data());
  lora->set_adapter_enabled(true);
  lora->evaluate(r.batch, pool);
  lora->sequence_logprobs(on.data());
  for (int b = 0; b < B; b++) {
    EXPECT(off[b] == base[b]);
    EXPECT(on[b] != base[b]);
  }
  // A forward with the adapters off has no backward.
  lora->set_adapter_enabled(false);
  lora->forward(r.batch, true, 0, pool);
  EXPECT_ERROR([&] { lora->backward(1.0f, pool); }, "internal", "adapters disabled");
  lora->set_adapter_enabled(true);
}

}  // namespace

int main() {
  test_loss();
  ThreadPool pool(2);
  TinySpec spec;
  test_model(write_tiny_model(fresh_dir("dpo"), spec), &pool);
  return finish("test_dpo");
}
