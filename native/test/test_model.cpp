// Model behaviour that the PyTorch comparison cannot see: LoRA dropout gradients (checked by
// finite differences with the same dropout mask), PEFT initialisation (B = 0 leaves the output
// unchanged), save/load round trips, determinism, a stable workspace, gradient accumulation,
// the lm_head on packed loss rows in training matching the full head.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/model.h"
#include "tuner/threadpool.h"

using namespace tuner;

struct Data {
  std::vector<uint32_t> tok, tgt;
  std::vector<uint8_t> mask;
  Batch batch;
  Data(int B, int T, int V) {
    for (int i = 0; i < B * T; i++) {
      tok.push_back((uint32_t)(i * 7 + 3) % V);
      tgt.push_back((uint32_t)(i * 11 + 5) % V);
      mask.push_back(i % T >= 2);
    }
    batch = Batch{tok.data(), tgt.data(), mask.data(), B, T};
  }
};

static std::vector<float> logits_of(Model& m, const Batch& b, ThreadPool* pool) {
  m.forward(b, false, 0, pool);
  int n = b.B * b.T * m.config().vocab_size;
  return std::vector<float>(m.logits(), m.logits() + n);
}

// d loss / d p[i] by central differences (loss in float; h chosen for the tiny model's scale).
static double fd(Model& m, const Batch& b, bool training, uint64_t seed, float* p, ThreadPool* pool, float h = 1e-2f) {
  float old = *p;
  *p = old + h;
  double lp = m.forward(b, training, seed, pool);
  *p = old - h;
  double lm = m.forward(b, training, seed, pool);
  *p = old;
  return (lp - lm) / (2 * h);
}

// Every trainable gradient after zero_grad + forward + backward(1), and the loss.
static std::vector<float> grads_of(Model& m, const Batch& b, bool training, ThreadPool* pool, float* loss) {
  m.zero_grad();
  *loss = m.forward(b, training, 0, pool);
  m.backward(1.0f, pool);
  std::vector<float> g;
  for (Param* p : m.trainable_params()) g.insert(g.end(), p->grad, p->grad + p->numel());
  return g;
}

int main() {
  ThreadPool pool(2);
  TinySpec spec;
  std::string dir = write_tiny_model(fresh_dir("model"), spec);
  Data d(2, 6, spec.vocab);

  // Full fine-tune: analytic gradients vs finite differences on a sample of every kind of weight.
  {
    auto m = Model::load(dir);
    m->zero_grad();
    m->forward(d.batch, true, 0, &pool);
    m->backward(1.0f, &pool);
    std::vector<Param*> ps = m->trainable_params();
    EXPECT(ps.size() == m->base_params().size());
    std::vector<std::vector<float>> g;
    for (Param* p : ps) g.emplace_back(p->grad, p->grad + p->numel());
    for (size_t k = 0; k < ps.size(); k++)
      for (int64_t i : {(int64_t)0, ps[k]->numel() / 2, ps[k]->numel() - 1}) {
        double num = fd(*m, d.batch, true, 0, ps[k]->data + i, &pool);
        if (std::fabs(num - g[k][i]) > 2e-3 * (1 + std::fabs(num)))
          std::fprintf(stderr, "%s[%lld]: fd %.6g vs grad %.6g\n", ps[k]->name.c_str(), (long long)i, num, g[k][i]);
        EXPECT_NEAR(num, g[k][i], 2e-3 * (1 + std::fabs(num)));
      }
    // Gradients accumulate across backward calls (micro-batches), scaled by loss_scale.
    m->forward(d.batch, true, 0, &pool);
    m->backward(0.5f, &pool);
    for (size_t k = 0; k < ps.size(); k++)
      for (int64_t i = 0; i < ps[k]->numel(); i += 7) EXPECT_NEAR(ps[k]->grad[i], 1.5f * g[k][i], 1e-5 * (1 + std::fabs(g[k][i])));
  }

  // LoRA: B = 0 leaves the output unchanged; gradients with dropout match finite differences
  // under the same dropout seed; dropout changes nothing in eval mode.
  {
    auto base = Model::load(dir);
    std::vector<float> ref = logits_of(*base, d.batch, &pool);
    auto m = Model::load(dir);
    LoraConfig lc;
    lc.rank = 3;
    lc.alpha = 6;
    lc.dropout = 0.25f;
    lc.target_modules = {"q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"};
    m->enable_lora(lc, 99);
    EXPECT(m->has_lora());
    std::vector<float> same = logits_of(*m, d.batch, &pool);
    EXPECT(std::memcmp(same.data(), ref.data(), ref.size() * 4) == 0);
    std::vector<Param*> ps = m->trainable_params();
    EXPECT(ps.size() == 2 * 5 * 2);
    EXPECT(ps[0]->name == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    EXPECT(ps[1]->name == "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
    // A ~ U(-1/sqrt(in), 1/sqrt(in)): within the bound and not degenerate.
    float amax = 0;
    for (int64_t i = 0; i < ps[0]->numel(); i++) amax = std::max(amax, std::fabs(ps[0]->data[i]));
    EXPECT(amax <= 0.25f && amax > 0.15f);
    for (Param* p : ps)
      if (p->name.find("lora_B") != std::string::npos)
        for (int64_t i = 0; i < p->numel(); i++) p->data[i] = 0.2f * std::sin(1.0f + i + p->numel());
    for (Param* p : m->base_params()) EXPECT(p->grad == nullptr);
    m->zero_grad();
    m->forward(d.batch, true, 5, &pool);
    m->backward(1.0f, &pool);
    for (Param* p : ps)
      for (int64_t i : {(int64_t)0, p->numel() / 3, p->numel() - 1}) {
        double num = fd(*m, d.batch, true, 5, p->data + i, &pool);
        EXPECT_NEAR(num, p->grad[i], 2e-3 * (1 + std::fabs(num)));
      }
    float l_train5 = m->forward(d.batch, true, 5, &pool);
    float l_train6 = m->forward(d.batch, true, 6, &pool);
    float l_eval1 = m->forward(d.batch, false, 5, &pool);
    float l_eval2 = m->forward(d.batch, false, 6, &pool);
    EXPECT(l_train5 != l_train6);  // a different dropout mask
    EXPECT(l_eval1 == l_eval2);    // no dropout in eval

    // PEFT adapter round trip gives identical outputs.
    std::string ad = fresh_dir("adapter");
    m->save_adapter(ad);
    Json cfg = Json::parse_file(ad + "/adapter_config.json");
    EXPECT(cfg.find("r")->as_number() == 3 && cfg.find("lora_alpha")->as_number() == 6);
    EXPECT(cfg.find("peft_type")->as_string() == "LORA");
    auto m2 = Model::load(dir);
    m2->load_adapter(ad);
    std::vector<float> a = logits_of(*m, d.batch, &pool), b = logits_of(*m2, d.batch, &pool);
    EXPECT(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    EXPECT(std::memcmp(a.data(), ref.data(), a.size() * 4) != 0);
  }

  // save_pretrained round trip (tied and untied), determinism, stable workspace.
  for (bool tied : {false, true}) {
    TinySpec s = spec;
    s.tied = tied;
    s.arch = tied ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
    auto m = Model::load(write_tiny_model(fresh_dir(tied ? "tied" : "untied"), s));
    for (Param* p : m->base_params()) p->data[0] += 0.125f;  // "trained"
    std::string out = fresh_dir(tied ? "saved_tied" : "saved");
    m->save_pretrained(out);
    auto m2 = Model::load(out);
    EXPECT(m2->num_params() == m->num_params());
    EXPECT(m2->config().tie_word_embeddings == tied);
    std::vector<float> a = logits_of(*m, d.batch, &pool), b = logits_of(*m2, d.batch, &pool);
    EXPECT(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    const float* before = m->logits();
    std::vector<float> c = logits_of(*m, d.batch, &pool);
    EXPECT(m->logits() == before);  // same buffer: no reallocation for the same (B, T)
    EXPECT(std::memcmp(a.data(), c.data(), a.size() * 4) == 0);
    EXPECT(m->activation_bytes(2, 12) > m->activation_bytes(2, 6));
    // Another batch shape in between (a short last batch) leaves results unchanged.
    Data small(1, 4, s.vocab);
    m->forward(small.batch, true, 0, &pool);
    std::vector<float> again = logits_of(*m, d.batch, &pool);
    EXPECT(std::memcmp(a.data(), again.data(), a.size() * 4) == 0);
    // Identical gradients from identical steps (fixed reduction orders).
    m->zero_grad();
    m->forward(d.batch, true, 0, &pool);
    m->backward(1.0f, &pool);
    std::vector<float> g1;
    for (Param* p : m->trainable_params()) g1.insert(g1.end(), p->grad, p->grad + p->numel());
    m->zero_grad();
    m->forward(d.batch, true, 0, &pool);
    m->backward(1.0f, &pool);
    std::vector<float> g2;
    for (Param* p : m->trainable_params()) g2.insert(g2.end(), p->grad, p->grad + p->numel());
    EXPECT(g1 == g2);
  }
  // A training forward runs the lm_head on the loss rows alone (packed); evaluation runs it on
  // every row. Both give the same loss and gradients (the head GEMMs sum over fewer zero rows,
  // so to rounding), for half the rows masked, every row counted, and none counted.
  for (bool tied : {false, true}) {
    TinySpec s = spec;
    s.tied = tied;
    auto m = Model::load(write_tiny_model(fresh_dir(tied ? "packed_tied" : "packed"), s));
    Data half(3, 8, s.vocab);
    for (int i = 0; i < 3 * 8; i++) half.mask[i] = (i * 5 + i / 7) % 4 < 2;  // scattered, 12 of 24
    half.mask[0] = 0;
    half.mask[23] = 1;
    for (int variant = 0; variant < 3; variant++) {
      if (variant == 1) std::fill(half.mask.begin(), half.mask.end(), 1);
      if (variant == 2) std::fill(half.mask.begin(), half.mask.end(), 0);
      float lf = 0, lp = 0;
      std::vector<float> gf = grads_of(*m, half.batch, false, &pool, &lf);
      std::vector<float> gp = grads_of(*m, half.batch, true, &pool, &lp);
      EXPECT_NEAR(lp, lf, 1e-6 * std::fabs(lf));
      double gmax = 0, err = 0;
      for (size_t i = 0; i < gf.size(); i++) {
        gmax = std::max(gmax, (double)std::fabs(gf[i]));
        err = std::max(err, (double)std::fabs(gp[i] - gf[i]) - 1e-6 * std::fabs(gf[i]));
      }
      EXPECT(err <= 1e-7 * gmax);
      if (variant == 0) EXPECT(gmax > 0);
      if (variant == 1) EXPECT(gp == gf && lp == lf);  // nothing to pack: the very same path
      if (variant == 2) EXPECT(lp == 0.0f && gmax == 0.0);
      // evaluate(): the eval loss of the full head, from the packed one.
      const float le = m->evaluate(half.batch, &pool);
      const float lfull = m->forward(half.batch, false, 0, &pool);
      EXPECT_NEAR(le, lfull, 1e-6 * std::fabs(lfull));
      if (variant == 1) EXPECT(le == lfull);
    }
  }
  return finish("test_model");
}
