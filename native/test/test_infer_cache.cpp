// The inference session's KV-cached forward against the training forward (Model::forward with
// training = false): a prefill then one decode step at a time must give the full forward's
// logits at every position, for each architecture variant (GQA, MHA + tied, Mistral and Qwen2
// sliding windows, Qwen2 biases) and each rope_scaling type; a prompt appended in chunks (and
// one longer than the internal chunk) gives the same as one append; truncate + append equals a
// fresh session; the thread count does not change a bit; and the cache's limits are errors.
// (Prefill rows go through sgemm like the full forward, decode rows through qgemm's f32
// matrix-vector kernel: equal to float rounding, not bit for bit.)
#include <cstdio>
#include <memory>
#include <vector>

#include "check_macros.h"
#include "infer_test_util.h"
#include "infer/infer_internal.h"
#include "tuner/infer.h"

using namespace tuner;

namespace {

constexpr double kTol = 1e-4;  // normalised logits error (float32 sums in another order)

std::unique_ptr<InferSession> open(const std::string& dir, int ctx = 0, int threads = 2) {
  InferOptions o;
  o.model = dir;
  o.context_length = ctx;
  o.threads = threads;
  return InferSession::load(o);
}

// Prefill of `prefill` tokens (all rows' logits), then decode steps; every position compared.
void check_decode(const std::string& name, const std::string& dir, int T, int prefill, ThreadPool* pool) {
  auto model = Model::load(dir);
  const int V = model->config().vocab_size;
  std::vector<uint32_t> tok = test_tokens(T, V, (int)name.size());
  std::vector<float> ref = full_forward_logits(*model, tok, pool);
  auto s = open(dir, T);
  std::vector<float> rows((size_t)prefill * V);
  s->append(tok.data(), prefill, rows.data());
  double worst = rel_err(rows.data(), ref.data(), rows.size());
  EXPECT(rel_err(s->logits(), rows.data() + (size_t)(prefill - 1) * V, V) == 0.0);
  for (int p = prefill; p < T; p++) {
    s->append(&tok[p], 1);
    EXPECT(s->position() == p + 1);
    worst = std::max(worst, rel_err(s->logits(), ref.data() + (size_t)p * V, V));
  }
  std::printf("%-28s decode vs full forward: max rel err %.2e over %d positions\n", name.c_str(), worst, T);
  if (worst > kTol) std::fprintf(stderr, "%s: decode error %.3e\n", name.c_str(), worst);
  EXPECT(worst <= kTol);

  // The same prompt in uneven chunks.
  auto c = open(dir, T);
  std::vector<float> all((size_t)T * V);
  for (int p0 = 0, step = 3; p0 < T; p0 += step, step += 4) {
    const int n = std::min(step, T - p0);
    c->append(tok.data() + p0, n, all.data() + (size_t)p0 * V);
  }
  const double chunked = rel_err(all.data(), ref.data(), all.size());
  EXPECT(chunked <= kTol);
  EXPECT(rel_err(c->logits(), s->logits(), V) <= kTol);
}

void variants(ThreadPool* pool) {
  TinySpec gqa;
  check_decode("llama gqa", write_tiny_model(fresh_dir("gqa"), gqa), 24, 5, pool);
  TinySpec mha;
  mha.kv_heads = 4;
  mha.tied = true;
  check_decode("llama mha tied", write_tiny_model(fresh_dir("mha"), mha), 20, 1, pool);
  TinySpec mistral;
  mistral.arch = "MistralForCausalLM";
  mistral.sliding_window = 3;
  check_decode("mistral window 3", write_tiny_model(fresh_dir("mistral"), mistral), 24, 7, pool);
  TinySpec qwen;
  qwen.arch = "Qwen2ForCausalLM";
  qwen.kv_heads = 1;
  std::string qd = write_tiny_model(fresh_dir("qwen"), qwen);
  check_decode("qwen2 biases", qd, 20, 4, pool);
  // Layer 0 full attention, layer 1 a window of 4.
  edit_config(qd, "use_sliding_window", Json(true));
  edit_config(qd, "sliding_window", Json(4));
  edit_config(qd, "max_window_layers", Json(1));
  check_decode("qwen2 window layer 1", qd, 20, 9, pool);

  auto rope = [&](const char* name, Json rs) {
    std::string d = write_tiny_model(fresh_dir(name), TinySpec());
    edit_config(d, "rope_scaling", rs);
    check_decode(std::string("rope ") + name, d, 30, 6, pool);
  };
  auto obj = [](std::initializer_list<std::pair<const char*, Json>> kv) {
    Json o = Json::object();
    for (auto& [k, v] : kv) o.set(k, v);
    return o;
  };
  rope("linear", obj({{"type", Json("linear")}, {"factor", Json(2.0)}}));
  // Within max_position_embeddings dynamic NTK keeps the base frequencies (the part a full
  // forward can check; beyond it generation follows transformers, test/native/generate-reference).
  rope("dynamic", obj({{"type", Json("dynamic")}, {"factor", Json(2.0)}}));
  rope("llama3", obj({{"rope_type", Json("llama3")}, {"factor", Json(8.0)}, {"low_freq_factor", Json(1.0)},
                      {"high_freq_factor", Json(4.0)}, {"original_max_position_embeddings", Json(64)}}));
  rope("yarn", obj({{"rope_type", Json("yarn")}, {"factor", Json(4.0)}, {"original_max_position_embeddings", Json(16)},
                    {"beta_fast", Json(32.0)}, {"beta_slow", Json(1.0)}}));

  // Dynamic NTK past max_position_embeddings: one append is one forward call with the base
  // for its full length, as one full forward has it, even when it runs as several chunks.
  {
    std::string dd = write_tiny_model(fresh_dir("dyn_long"), TinySpec());
    edit_config(dd, "max_position_embeddings", Json(8));
    edit_config(dd, "rope_scaling", obj({{"type", Json("dynamic")}, {"factor", Json(40.0)}}));
    auto model = Model::load(dd);
    std::vector<uint32_t> tok = test_tokens(300, model->config().vocab_size);
    std::vector<float> ref = full_forward_logits(*model, tok, pool);
    auto s = open(dd, 300);
    std::vector<float> rows(ref.size());
    s->append(tok.data(), 300, rows.data());
    const double err = rel_err(rows.data(), ref.data(), rows.size());
    std::printf("%-28s one 300-token append vs full forward: max rel err %.2e\n", "rope dynamic past max_pos", err);
    EXPECT(err <= kTol);
  }

  // A prompt longer than the session's internal chunk (256 rows) and several attention row
  // blocks, with a window of 40.
  TinySpec longspec;
  longspec.arch = "MistralForCausalLM";
  longspec.sliding_window = 40;
  std::string ld = write_tiny_model(fresh_dir("long"), longspec);
  edit_config(ld, "max_position_embeddings", Json(512));
  check_decode("mistral window 40, T 300", ld, 300, 290, pool);
}

// The cached attention kernel against its double-precision reference: decode rows and prompt
// blocks (several 64-row blocks, the last partial), odd head sizes, GQA, windows.
void attention_kernel() {
  ThreadPool pool(2);
  const int NH = 6, NKV = 2, HD = 10, QD = NH * HD, KD = NKV * HD, ctx = 300;
  std::vector<float> kc((size_t)ctx * KD), vc(kc.size()), q((size_t)ctx * QD);
  for (size_t i = 0; i < kc.size(); i++) {
    kc[i] = (float)((i * 37) % 23) / 23.0f - 0.5f;
    vc[i] = (float)((i * 11) % 19) / 19.0f - 0.5f;
  }
  for (size_t i = 0; i < q.size(); i++) q[i] = (float)((i * 13) % 29) / 7.0f - 2.0f;
  std::vector<float> scratch((size_t)attention_cache_scratch_floats(ctx, pool.size()));
  double worst = 0;
  for (int n : {1, 5, 70, 130})
    for (int p : {0, 3, 100})
      for (int w : {0, 1, 7, 64}) {
        std::vector<float> y((size_t)n * QD), ref(y.size());
        attention_cache_forward(y.data(), q.data(), kc.data(), vc.data(), scratch.data(), n, p, NH, NKV, HD, w, &pool);
        attention_cache_reference(ref.data(), q.data(), kc.data(), vc.data(), n, p, NH, NKV, HD, w);
        worst = std::max(worst, rel_err(y.data(), ref.data(), y.size()));
      }
  std::printf("cached attention kernel vs reference: max rel err %.2e\n", worst);
  EXPECT(worst <= 1e-5);
}

void session_rules() {
  TinySpec spec;
  std::string dir = write_tiny_model(fresh_dir("rules"), spec);
  const int V = spec.vocab;
  std::vector<uint32_t> tok = test_tokens(12, V);

  auto s = open(dir, 8);
  EXPECT(s->info().context_length == 8 && s->info().vocab_size == V && !s->info().lora);
  EXPECT(s->info().kv_cache_bytes == (size_t)2 * spec.layers * 8 * spec.kv_heads * (spec.hidden / spec.heads) * sizeof(float));
  EXPECT_ERROR([&] { s->sample(nullptr, 0); }, "no_logits", "nothing appended");
  s->append(tok.data(), 8);
  EXPECT_ERROR([&] { s->append(tok.data(), 1); }, "context_full", "exceed the context of 8 tokens");
  EXPECT_ERROR([&] { s->truncate(9); }, "bad_position", "holds 8 tokens");
  uint32_t bad = (uint32_t)V;
  s->truncate(0);
  EXPECT_ERROR([&] { s->append(&bad, 1); }, "bad_token", "outside the vocabulary");
  EXPECT(s->position() == 0);
  EXPECT_ERROR([&] { open(dir, 65); }, "context_too_long", "max_position_embeddings");

  // Truncate then append other tokens == a fresh session fed the same (to rounding: the cached
  // rows came from products of another height); the same calls on one thread give the same bits
  // as on two.
  auto a = open(dir, 12);
  a->append(tok.data(), 10);
  a->truncate(4);
  std::vector<uint32_t> other = test_tokens(6, V, 5);
  a->append(other.data(), 6);
  std::vector<uint32_t> seq(tok.begin(), tok.begin() + 4);
  seq.insert(seq.end(), other.begin(), other.end());
  EXPECT(a->tokens() == seq);
  auto b = open(dir, 12, 1);
  b->append(tok.data(), 10);
  b->truncate(4);
  b->append(other.data(), 6);
  EXPECT(rel_err(a->logits(), b->logits(), V) == 0.0);
  auto c = open(dir, 12);
  c->append(seq.data(), 4);
  c->append(seq.data() + 4, 6);
  EXPECT(rel_err(a->logits(), c->logits(), V) <= kTol);

  // Linear scaling allows factor x max_position_embeddings.
  Json rs = Json::object();
  rs.set("type", Json("linear"));
  rs.set("factor", Json(2.0));
  edit_config(dir, "rope_scaling", rs);
  EXPECT(open(dir, 128)->info().context_length == 128);
}

}  // namespace

int main() {
  ThreadPool pool(2);
  attention_kernel();
  variants(&pool);
  session_rules();
  return finish("test_infer_cache");
}
