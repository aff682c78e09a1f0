// The sampler on fixed logits: each filter with transformers' semantics (banned ids, repetition
// penalty, no_repeat_ngram_size, temperature, top-k, top-p, min-p) and their order, greedy
// argmax with ties, seeded determinism, draw frequencies that follow the softmax, and the
// errors for bad settings and an empty candidate set.
#include <cmath>
#include <limits>
#include <vector>

#include "check_macros.h"
#include "tuner/infer.h"

using namespace tuner;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

SamplerSettings greedy() { return SamplerSettings(); }
SamplerSettings sampling(float t) {
  SamplerSettings s;
  s.temperature = t;
  return s;
}

std::vector<float> processed(const SamplerSettings& st, std::vector<float> x, std::vector<uint32_t> seq = {},
                             std::vector<uint32_t> banned = {}) {
  Sampler s;
  s.reset(st);
  s.process(x.data(), (int)x.size(), seq.data(), (int)seq.size(), banned.data(), (int)banned.size());
  return x;
}

// Which ids are still candidates (finite) after processing.
std::vector<int> kept(const std::vector<float>& x) {
  std::vector<int> k;
  for (size_t i = 0; i < x.size(); i++)
    if (x[i] != -kInf) k.push_back((int)i);
  return k;
}

void filters() {
  // Greedy: argmax, first index on ties; the warpers do not run.
  Sampler g;
  g.reset(greedy());
  std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT(g.sample(l.data(), 4, nullptr, 0, nullptr, 0) == 1);
  uint32_t ban1 = 1;
  EXPECT(g.sample(l.data(), 4, nullptr, 0, &ban1, 1) == 3);

  // Repetition penalty over the whole sequence: positive / p, negative * p, each id once.
  SamplerSettings rp = greedy();
  rp.repetition_penalty = 2.0f;
  auto r = processed(rp, {2.0f, -2.0f, 1.0f, 3.0f}, {0, 1, 1, 0});
  EXPECT(r == std::vector<float>({1.0f, -4.0f, 1.0f, 3.0f}));

  // no_repeat_ngram_size: after "1 2 3 1 2", n = 3 bans 3 (it would repeat "1 2 3"), n = 2 bans
  // what followed a 2 before (3), n = 1 bans every id seen.
  std::vector<uint32_t> seq = {1, 2, 3, 1, 2};
  std::vector<float> flat(6, 0.0f);
  SamplerSettings ng = greedy();
  ng.no_repeat_ngram_size = 3;
  EXPECT(kept(processed(ng, flat, seq)) == std::vector<int>({0, 1, 2, 4, 5}));
  ng.no_repeat_ngram_size = 2;
  EXPECT(kept(processed(ng, flat, {1, 2, 3, 2})) == std::vector<int>({0, 1, 2, 4, 5}));
  ng.no_repeat_ngram_size = 1;
  EXPECT(kept(processed(ng, flat, seq)) == std::vector<int>({0, 4, 5}));
  ng.no_repeat_ngram_size = 4;  // no earlier "3 1 2"
  EXPECT(kept(processed(ng, flat, seq)).size() == 6);
  ng.no_repeat_ngram_size = 7;  // longer than the sequence + 1: nothing to repeat
  EXPECT(kept(processed(ng, flat, seq)).size() == 6);

  // Temperature divides; top-k keeps ties with the k-th score.
  auto t = processed(sampling(2.0f), {2.0f, -4.0f});
  EXPECT(t == std::vector<float>({1.0f, -2.0f}));
  SamplerSettings tk = sampling(1.0f);
  tk.top_k = 2;
  EXPECT(kept(processed(tk, {1.0f, 3.0f, 2.0f, 0.0f})) == std::vector<int>({1, 2}));
  EXPECT(kept(processed(tk, {1.0f, 3.0f, 1.0f, 0.0f})) == std::vector<int>({0, 1, 2}));

  // top-p / min-p on probabilities 0.5, 0.3, 0.15, 0.05 (ids 2, 0, 3, 1).
  std::vector<float> pl = {std::log(0.3f), std::log(0.05f), std::log(0.5f), std::log(0.15f)};
  SamplerSettings tp = sampling(1.0f);
  tp.top_p = 0.75f;  // ascending cumulative 0.05, 0.20, 0.50: the first two are <= 0.25
  EXPECT(kept(processed(tp, pl)) == std::vector<int>({0, 2}));
  tp.top_p = 0.9f;  // <= 0.1: only 0.05 goes
  EXPECT(kept(processed(tp, pl)) == std::vector<int>({0, 2, 3}));
  tp.top_p = 0.01f;  // the most likely always stays
  EXPECT(kept(processed(tp, pl)) == std::vector<int>({2}));
  SamplerSettings mp = sampling(1.0f);
  mp.min_p = 0.5f;  // keep p >= 0.25
  EXPECT(kept(processed(mp, pl)) == std::vector<int>({0, 2}));
  mp.min_p = 0.2f;  // keep p >= 0.1
  EXPECT(kept(processed(mp, pl)) == std::vector<int>({0, 2, 3}));

  // Order: the repetition penalty acts before temperature (on raw logits), top-k before top-p.
  SamplerSettings order = sampling(0.5f);
  order.repetition_penalty = 4.0f;
  auto o = processed(order, {4.0f, 1.0f}, {0});
  EXPECT(o == std::vector<float>({2.0f, 2.0f}));
  SamplerSettings kp = sampling(1.0f);
  kp.top_k = 3;
  kp.top_p = 0.7f;  // within the top 3 (0.5, 0.3, 0.15 renormalised): cumulative 0.158 <= 0.3 goes
  EXPECT(kept(processed(kp, pl)) == std::vector<int>({0, 2}));
}

void draws() {
  std::vector<float> pl = {std::log(0.3f), std::log(0.05f), std::log(0.5f), std::log(0.15f)};
  SamplerSettings st = sampling(1.0f);
  st.seed = 1234;
  Sampler a, b;
  a.reset(st);
  b.reset(st);
  std::vector<int> count(4, 0);
  bool same = true;
  const int n = 40000;
  for (int i = 0; i < n; i++) {
    uint32_t x = a.sample(pl.data(), 4, nullptr, 0, nullptr, 0);
    same = same && x == b.sample(pl.data(), 4, nullptr, 0, nullptr, 0);
    count[x]++;
  }
  EXPECT(same);
  const double p[] = {0.3, 0.05, 0.5, 0.15};
  for (int i = 0; i < 4; i++) EXPECT_NEAR(count[i] / (double)n, p[i], 0.01);
  // Another seed, another sequence; reset restarts the stream.
  st.seed = 1235;
  b.reset(st);
  std::vector<uint32_t> s1, s2;
  for (int i = 0; i < 32; i++) s1.push_back(b.sample(pl.data(), 4, nullptr, 0, nullptr, 0));
  b.reset(st);
  for (int i = 0; i < 32; i++) s2.push_back(b.sample(pl.data(), 4, nullptr, 0, nullptr, 0));
  EXPECT(s1 == s2);
  st.seed = 1234;
  a.reset(st);
  std::vector<uint32_t> s3;
  for (int i = 0; i < 32; i++) s3.push_back(a.sample(pl.data(), 4, nullptr, 0, nullptr, 0));
  EXPECT(s3 != s1);
  // A filter that leaves one candidate makes sampling deterministic whatever the seed.
  st.top_k = 1;
  a.reset(st);
  for (int i = 0; i < 50; i++) EXPECT(a.sample(pl.data(), 4, nullptr, 0, nullptr, 0) == 2);
}

void errors() {
  Sampler s;
  auto bad = [&](SamplerSettings st, const char* field) {
    EXPECT_ERROR([&] { s.reset(st); }, "bad_sampler", field);
  };
  SamplerSettings st;
  st.temperature = -1;
  bad(st, "temperature");
  st = SamplerSettings();
  st.top_p = 0;
  bad(st, "top_p");
  st = SamplerSettings();
  st.min_p = 1.5f;
  bad(st, "min_p");
  st = SamplerSettings();
  st.repetition_penalty = 0;
  bad(st, "repetition_penalty");
  st = SamplerSettings();
  st.top_k = -1;
  bad(st, "top_k");
  st = SamplerSettings();
  st.no_repeat_ngram_size = -2;
  bad(st, "no_repeat_ngram_size");
  s.reset(SamplerSettings());
  std::vector<float> l = {1.0f, 2.0f};
  std::vector<uint32_t> banned = {0, 1};
  EXPECT_ERROR([&] { s.sample(l.data(), 2, nullptr, 0, banned.data(), 2); }, "sampler_no_token", "excluded");
}

}  // namespace

int main() {
  filters();
  draws();
  errors();
  return finish("test_infer_sampler");
}
