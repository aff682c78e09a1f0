// Packed rows keep each record to itself: a row holding three records (one longer than a
// 64-row attention block) plus padding gives each record the loss it has alone, and the
// gradient of the packed batch's summed loss equals the sum of the records' own gradients
// (fp32 tolerance), for plain causal attention, GQA and a sliding window. The attention
// kernel with record starts matches the reference kernel's masked attention.
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/model.h"
#include "tuner/ops.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Record {
  std::vector<uint32_t> ids;
  std::vector<uint8_t> mask;  // 1: the token is trained on (as in the shards)
};

std::vector<Record> make_records(int V) {
  std::mt19937 rng(5);
  std::vector<Record> out;
  for (int n : {9, 70, 12}) {
    Record r;
    for (int i = 0; i < n; i++) {
      r.ids.push_back(rng() % V);
      r.mask.push_back(i >= 2 && rng() % 4 != 0);
    }
    out.push_back(r);
  }
  return out;
}

struct Rows {
  std::vector<uint32_t> tok, tgt;
  std::vector<uint8_t> mask;
  std::vector<int32_t> start;
  Batch batch(int B, int T) const {
    Batch b{tok.data(), tgt.data(), mask.data(), B, T};
    b.sample_start = start.empty() ? nullptr : start.data();
    return b;
  }
};

// One record alone: inputs ids[0..n-2], targets ids[1..n-1].
Rows alone(const Record& r) {
  Rows o;
  for (size_t t = 0; t + 1 < r.ids.size(); t++) {
    o.tok.push_back(r.ids[t]);
    o.tgt.push_back(r.ids[t + 1]);
    o.mask.push_back(r.mask[t + 1]);
  }
  return o;
}

// The records packed into one row of T positions, as the batch loader fills it; only record
// `only` counts in the loss (-1: all of them).
Rows packed(const std::vector<Record>& recs, int T, int only) {
  Rows o;
  std::vector<uint32_t> ids;
  std::vector<uint8_t> mask;
  std::vector<int32_t> owner, start;
  for (size_t k = 0; k < recs.size(); k++) {
    const int s = (int)ids.size();
    for (size_t i = 0; i < recs[k].ids.size(); i++) {
      ids.push_back(recs[k].ids[i]);
      mask.push_back(recs[k].mask[i]);
      owner.push_back((int)k);
      start.push_back(s);
    }
  }
  const int used = (int)ids.size() - 1;
  for (int t = 0; t < T; t++) {
    const bool real = t < used;
    o.tok.push_back(real ? ids[t] : 0);
    o.tgt.push_back(real ? ids[t + 1] : 0);
    const bool same = real && owner[t + 1] == owner[t];
    o.mask.push_back(same && mask[t + 1] && (only < 0 || owner[t] == only));
    o.start.push_back(real ? start[t] : used);
  }
  return o;
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double mx = 0, scale = 1e-6;
  for (size_t i = 0; i < a.size(); i++) scale = std::max(scale, (double)std::fabs(b[i]));
  for (size_t i = 0; i < a.size(); i++) mx = std::max(mx, std::fabs((double)a[i] - b[i]) / scale);
  return mx;
}

void check_model(const char* label, const TinySpec& spec, ThreadPool* pool) {
  const std::string dir = write_tiny_model(fresh_dir(std::string("packing_") + label), spec);
  auto m = Model::load(dir);
  const std::vector<Record> recs = make_records(spec.vocab);
  const int T = 100;
  double worst_loss = 0;
  for (size_t k = 0; k < recs.size(); k++) {
    Rows a = alone(recs[k]);
    const float want = m->evaluate(a.batch(1, (int)a.tok.size()), pool);
    Rows p = packed(recs, T, (int)k);
    const float got = m->evaluate(p.batch(1, T), pool);
    worst_loss = std::max(worst_loss, (double)std::fabs(got - want));
    EXPECT_NEAR(got, want, 2e-5 * std::max(1.0f, std::fabs(want)));
  }
  // Gradients of the summed token losses: packed (mean x count) against each record alone.
  std::map<std::string, std::vector<float>> sum_alone;
  m->zero_grad();
  for (const Record& r : recs) {
    Rows a = alone(r);
    int64_t count = 0;
    for (uint8_t x : a.mask) count += x;
    m->forward(a.batch(1, (int)a.tok.size()), true, 0, pool);
    m->backward((float)count, pool);
  }
  for (Param* p : m->trainable_params()) sum_alone[p->name].assign(p->grad, p->grad + p->numel());
  m->zero_grad();
  Rows all = packed(recs, T, -1);
  int64_t count = 0;
  for (uint8_t x : all.mask) count += x;
  m->forward(all.batch(1, T), true, 0, pool);
  m->backward((float)count, pool);
  double worst_grad = 0;
  for (Param* p : m->trainable_params()) {
    const double e = max_rel(std::vector<float>(p->grad, p->grad + p->numel()), sum_alone[p->name]);
    worst_grad = std::max(worst_grad, e);
    if (e > 1e-4) std::fprintf(stderr, "%s: %s gradient differs, max rel err %.2e\n", label, p->name.c_str(), e);
    EXPECT(e <= 1e-4);
  }
  std::printf("%-22s per-record loss max abs diff %.2e, summed gradient max rel diff %.2e\n", label, worst_loss, worst_grad);
}

// The fast kernel with record starts against the reference's masked attention, forward and backward.
void check_kernel(ThreadPool* pool) {
  const int B = 2, T = 150, NH = 4, NKV = 2, HD = 8, QD = NH * HD, KD = NKV * HD;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0, 1);
  std::vector<float> q((size_t)B * T * QD), k((size_t)B * T * KD), v((size_t)B * T * KD), dy((size_t)B * T * QD);
  for (auto* x : {&q, &k, &v, &dy})
    for (float& f : *x) f = nd(rng);
  std::vector<int32_t> ss((size_t)B * T);
  const int cuts[2][4] = {{0, 10, 90, 140}, {0, 64, 65, 149}};  // record starts per row
  for (int b = 0; b < B; b++)
    for (int t = 0, c = 0; t < T; t++) {
      while (c + 1 < 4 && cuts[b][c + 1] <= t) c++;
      ss[(size_t)b * T + t] = cuts[b][c];
    }
  for (int window : {0, 20}) {
    std::vector<float> y_ref(q.size()), probs((size_t)B * NH * T * T), y(q.size()), lse((size_t)B * NH * T);
    attention_forward_ref(y_ref.data(), probs.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HD, window, ss.data());
    std::vector<float> scratch(attention_scratch_floats(T, pool->size()));
    attention_forward(y.data(), lse.data(), q.data(), k.data(), v.data(), scratch.data(), B, T, NH, NKV, HD, window, pool,
                      nullptr, ss.data());
    std::vector<float> dq_ref(q.size()), dk_ref(k.size()), dv_ref(v.size()), dq(q.size()), dk(k.size()), dv(v.size());
    attention_backward_ref(dq_ref.data(), dk_ref.data(), dv_ref.data(), dy.data(), probs.data(), q.data(), k.data(), v.data(), B,
                           T, NH, NKV, HD, window, ss.data());
    attention_backward(dq.data(), dk.data(), dv.data(), dy.data(), y.data(), lse.data(), q.data(), k.data(), v.data(),
                       scratch.data(), B, T, NH, NKV, HD, window, pool, nullptr, ss.data());
    const double e = std::max({max_rel(y, y_ref), max_rel(dq, dq_ref), max_rel(dk, dk_ref), max_rel(dv, dv_ref)});
    std::printf("attention with record starts, window %2d: max rel diff vs reference %.2e\n", window, e);
    EXPECT(e < 1e-4);
  }
}

}  // namespace

int main() {
  ThreadPool pool(2);
  check_kernel(&pool);
  TinySpec gqa;
  check_model("llama-gqa", gqa, &pool);
  TinySpec window;
  window.arch = "MistralForCausalLM";
  window.sliding_window = 6;
  check_model("mistral-window6", window, &pool);
  TinySpec qwen;
  qwen.arch = "Qwen2ForCausalLM";
  qwen.kv_heads = 1;
  check_model("qwen2-mqa", qwen, &pool);
  return g_failures ? 1 : 0;
}
