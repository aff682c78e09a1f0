// The memory-saving modes of the model give the same numbers as the plain one, bit for bit:
// activation checkpointing (forward keeps each layer's input only, backward recomputes the
// layer) on a full fine-tune and on LoRA with dropout, over two micro-batches of accumulation;
// LOMO's released gradients (each handed to the hook as backward completes it, from one buffer
// reused by every layer) equal the gradients of an ordinary backward. Checkpointing's saving
// is what the layout says: (layers - 1) times a layer's activations less its input.
#include <cstring>
#include <map>
#include <vector>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/model.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Data {
  std::vector<uint32_t> tok, tgt;
  std::vector<uint8_t> mask;
  Batch batch;
  Data(int B, int T, int V, int salt) {
    for (int i = 0; i < B * T; i++) {
      tok.push_back((uint32_t)(i * 7 + 3 + salt) % V);
      tgt.push_back((uint32_t)(i * 11 + 5 + salt) % V);
      mask.push_back(i % T >= 2);
    }
    batch = Batch{tok.data(), tgt.data(), mask.data(), B, T};
  }
};

struct Result {
  std::vector<float> losses;
  std::map<std::string, std::vector<float>> grads;
};

// Two accumulated micro-batches (dropout seeds 11 and 12), then every trainable gradient.
Result run(const std::string& dir, bool checkpointing, const LoraConfig* lora, ThreadPool* pool, size_t* act_bytes) {
  auto m = Model::load(dir);
  if (lora) m->enable_lora(*lora, 7);
  m->set_gradient_checkpointing(checkpointing);
  Result r;
  Data d1(2, 9, 40, 0), d2(2, 9, 40, 3);
  m->zero_grad();
  r.losses.push_back(m->forward(d1.batch, true, 11, pool));
  m->backward(0.5f, pool);
  r.losses.push_back(m->forward(d2.batch, true, 12, pool));
  m->backward(0.5f, pool);
  for (Param* p : m->trainable_params()) r.grads[p->name].assign(p->grad, p->grad + p->numel());
  *act_bytes = m->activation_bytes(2, 9);
  return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

int main() {
  ThreadPool pool(2);
  TinySpec spec;
  spec.layers = 3;
  const std::string dir = write_tiny_model(fresh_dir("modes"), spec);
  LoraConfig lora;
  lora.rank = 3;
  lora.alpha = 6;
  lora.dropout = 0.2f;
  lora.target_modules = {"q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"};

  for (const LoraConfig* lc : {static_cast<const LoraConfig*>(nullptr), static_cast<const LoraConfig*>(&lora)}) {
    size_t plain_bytes = 0, ckpt_bytes = 0;
    const Result plain = run(dir, false, lc, &pool, &plain_bytes);
    const Result ckpt = run(dir, true, lc, &pool, &ckpt_bytes);
    EXPECT(same_bits(plain.losses, ckpt.losses));
    EXPECT(plain.grads.size() == ckpt.grads.size());
    for (const auto& [name, g] : plain.grads) {
      const bool same = same_bits(g, ckpt.grads.at(name));
      if (!same) std::fprintf(stderr, "checkpointing changed the gradient of %s\n", name.c_str());
      EXPECT(same);
    }
    // Per layer (N = 18 rows, C 16, QD 16, KD 8, F 24, 4 heads; each buffer rounded to 16
    // floats): x1, q, k, v, att, mid, x2 (N*C or N*QD/KD), gate, up (N*F), rstd1, rstd2 (N),
    // lse (B*NH*T = N*NH), plus one [N, r] per adapted linear; all but the input are shared.
    auto al = [](long n) { return (n + 15) / 16 * 16; };
    const long N = 18;
    long shared = 4 * al(N * 16) + al(N * 16) + 2 * al(N * 8) + 2 * al(N * 24) + 2 * al(N) + al(N * 4);
    if (lc) shared += 5 * al(N * 3);
    EXPECT((long)(plain_bytes - ckpt_bytes) == (spec.layers - 1) * shared * 4);
  }

  // LOMO: the hook sees each gradient once, complete, equal to an ordinary backward's.
  {
    auto plain = Model::load(dir);
    Data d(2, 9, 40, 0);
    plain->zero_grad();
    plain->forward(d.batch, true, 0, &pool);
    plain->backward(1.0f, &pool);
    std::map<std::string, std::vector<float>> want;
    for (Param* p : plain->trainable_params()) want[p->name].assign(p->grad, p->grad + p->numel());
    auto m = Model::load(dir);
    std::map<std::string, std::vector<float>> seen;
    m->set_grad_ready_hook([&](Param* p) {
      EXPECT(seen.count(p->name) == 0);
      seen[p->name].assign(p->grad, p->grad + p->numel());
    });
    m->zero_grad();
    m->forward(d.batch, true, 0, &pool);
    m->backward(1.0f, &pool);
    EXPECT(seen.size() == want.size());
    for (const auto& [name, g] : want) EXPECT(seen.count(name) && same_bits(g, seen.at(name)));
    // Layer gradients are released after the hook: only the embedding, norm and head keep one.
    int held = 0;
    for (Param* p : m->trainable_params()) held += p->grad != nullptr;
    EXPECT(held == 3);
  }
  return finish("test_model_modes");
}
