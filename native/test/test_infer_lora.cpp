// LoRA applied on the fly by the inference session against the same adapter merged into the
// weights (W += alpha/r * B A, PEFT's merge_and_unload) and against the training forward with
// the adapter: equal logits at every position, prefill and decode. Then an adapter that does not
// fit the base model (other shapes, unsupported modules or options, stray tensors, no config)
// is refused with an error naming the file and a hint naming the adapter's base.
#include <random>
#include <vector>

#include "check_macros.h"
#include "infer_test_util.h"
#include "tuner/infer.h"
#include "tuner/safetensors.h"

using namespace tuner;

namespace {

constexpr double kTol = 1e-4;

std::unique_ptr<InferSession> open(const std::string& model, const std::string& adapter = "") {
  InferOptions o;
  o.model = model;
  o.adapter = adapter;
  o.context_length = 32;
  o.threads = 2;
  return InferSession::load(o);
}

// Prefill of 6 tokens, then decode: every position's logits [T, V].
std::vector<float> session_logits(InferSession& s, const std::vector<uint32_t>& tok) {
  const int V = s.config().vocab_size, T = (int)tok.size();
  std::vector<float> out((size_t)T * V);
  s.append(tok.data(), 6, out.data());
  for (int p = 6; p < T; p++) {
    s.append(&tok[p], 1);
    std::copy(s.logits(), s.logits() + V, out.begin() + (size_t)p * V);
  }
  return out;
}

// A trained-looking adapter (B != 0) on `targets` of the model in dir; returns the model with it.
std::unique_ptr<Model> make_adapter(const std::string& dir, const std::string& out, std::vector<std::string> targets,
                                    int rank, float alpha) {
  auto m = Model::load(dir);
  LoraConfig lc;
  lc.rank = rank;
  lc.alpha = alpha;
  lc.target_modules = std::move(targets);
  m->enable_lora(lc, 11);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.4f);
  for (Param* p : m->trainable_params())
    if (p->name.find("lora_B") != std::string::npos)
      for (int64_t i = 0; i < p->numel(); i++) p->data[i] = nd(rng);
  m->save_adapter(out);
  return m;
}

void on_the_fly_equals_merged(ThreadPool* pool) {
  TinySpec spec;
  spec.arch = "Qwen2ForCausalLM";  // biases on q/k/v too
  std::string dir = write_tiny_model(fresh_dir("base"), spec);
  std::string adir = fresh_dir("adapter");
  const int rank = 4;
  const float alpha = 12.0f, scaling = alpha / rank;
  auto lora_model = make_adapter(dir, adir, {"q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"}, rank, alpha);

  // The merged folder: W += scaling * B A for every adapted linear.
  auto merged = Model::load(dir);
  std::vector<Param*> base = merged->base_params();
  std::vector<Param*> lora = lora_model->trainable_params();
  int merged_count = 0;
  for (size_t i = 0; i + 1 < lora.size(); i += 2) {
    const Param* A = lora[i];      // ...lora_A.weight [r, in]
    const Param* B = lora[i + 1];  // ...lora_B.weight [out, r]
    std::string wname = A->name.substr(std::string("base_model.model.").size());
    wname = wname.substr(0, wname.find(".lora_A")) + ".weight";
    for (Param* w : base) {
      if (w->name != wname) continue;
      const int64_t out = w->shape[0], in = w->shape[1];
      for (int64_t o = 0; o < out; o++)
        for (int64_t c = 0; c < in; c++) {
          double acc = 0;
          for (int r = 0; r < rank; r++) acc += (double)B->data[o * rank + r] * A->data[r * in + c];
          w->data[o * in + c] += (float)(scaling * acc);
        }
      merged_count++;
    }
  }
  EXPECT(merged_count == 5 * spec.layers);
  std::string mdir = fresh_dir("merged");
  merged->save_pretrained(mdir);

  std::vector<uint32_t> tok = test_tokens(20, spec.vocab);
  auto fly = open(dir, adir);
  EXPECT(fly->info().lora);
  auto plain = open(dir);
  EXPECT(fly->info().weight_bytes > plain->info().weight_bytes);
  std::vector<float> a = session_logits(*fly, tok);
  std::vector<float> b = session_logits(*open(mdir), tok);
  std::vector<float> ref = full_forward_logits(*lora_model, tok, pool);
  const double vs_merged = rel_err(a.data(), b.data(), a.size()), vs_train = rel_err(a.data(), ref.data(), a.size());
  std::printf("LoRA on the fly vs merged: %.2e, vs training forward with the adapter: %.2e\n", vs_merged, vs_train);
  EXPECT(vs_merged <= kTol);
  EXPECT(vs_train <= kTol);
  // The adapter really changes the output.
  std::vector<float> c = session_logits(*plain, tok);
  EXPECT(rel_err(a.data(), c.data(), a.size()) > 1e-2);
}

void mismatches() {
  TinySpec spec;
  std::string dir = write_tiny_model(fresh_dir("m_base"), spec);
  TinySpec wide = spec;
  wide.hidden = 32;
  std::string wdir = write_tiny_model(fresh_dir("m_wide"), wide);
  std::string wad = fresh_dir("m_wide_adapter");
  make_adapter(wdir, wad, {"q_proj", "v_proj"}, 2, 4.0f);
  EXPECT_ERROR([&] { open(dir, wad); }, "adapter_mismatch", "q_proj.lora_A.weight\" has shape [2, 32]");
  try {
    open(dir, wad);
  } catch (const TunerError& e) {
    EXPECT(e.hint().find(wdir) != std::string::npos);  // names the adapter's base
  }

  std::string ad = fresh_dir("m_adapter");
  make_adapter(dir, ad, {"q_proj", "v_proj"}, 2, 4.0f);
  EXPECT(open(dir, ad)->info().lora);
  auto edit = [&](const std::string& key, Json v) {
    Json c = Json::parse_file(ad + "/adapter_config.json");
    Json keep = c;
    c.set(key, std::move(v));
    write_file_atomic(ad + "/adapter_config.json", c.dump());
    return keep;
  };
  Json orig = edit("target_modules", Json::array({Json("q_proj"), Json("lm_head")}));
  EXPECT_ERROR([&] { open(dir, ad); }, "bad_adapter", "target module \"lm_head\"");
  edit("target_modules", Json("q_proj|v_proj"));
  EXPECT_ERROR([&] { open(dir, ad); }, "bad_adapter", "regular expression");
  edit("target_modules", Json::array({Json("q_proj"), Json("v_proj"), Json("k_proj")}));
  EXPECT_ERROR([&] { open(dir, ad); }, "adapter_mismatch", "k_proj.lora_A.weight\" is missing");
  write_file_atomic(ad + "/adapter_config.json", orig.dump());
  edit("use_dora", Json(true));
  EXPECT_ERROR([&] { open(dir, ad); }, "bad_adapter", "\"use_dora\" is set");
  write_file_atomic(ad + "/adapter_config.json", orig.dump());
  edit("r", Json(3));
  EXPECT_ERROR([&] { open(dir, ad); }, "adapter_mismatch", "needs [3, 16]");
  write_file_atomic(ad + "/adapter_config.json", orig.dump());

  // A stray tensor (e.g. an embedding adapter) is not dropped silently.
  {
    std::vector<float> z(4 * 16, 0.0f);
    SafetensorsWriter w;
    auto f = SafetensorsFile::open(ad + "/adapter_model.safetensors");
    std::vector<std::vector<float>> keep;
    for (const TensorInfo& t : f->tensors()) {
      keep.emplace_back((size_t)t.numel());
      f->read_f32(t, keep.back().data());
      w.add(t.name, t.shape, keep.back().data());
    }
    w.add("base_model.model.model.embed_tokens.lora_embedding_A", {4, 16}, z.data());
    w.write(ad + "/adapter_model.safetensors");
  }
  EXPECT_ERROR([&] { open(dir, ad); }, "adapter_mismatch", "lora_embedding_A\" does not belong");
  EXPECT_ERROR([&] { open(dir, fresh_dir("m_empty")); }, "bad_adapter", "no adapter_config.json");
}

}  // namespace

int main() {
  ThreadPool pool(2);
  on_the_fly_equals_merged(&pool);
  mismatches();
  return finish("test_infer_lora");
}
