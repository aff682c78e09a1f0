// Sliding-window attention at the model level: which layers get a window, read from config.json
// as transformers reads it (MistralConfig, Qwen2Config), and what a window does to a forward
// pass (rows inside the window are untouched, later rows change). The numbers themselves are
// checked against PyTorch in test/native/reference.test.ts; the kernels in test_ops.cpp.
#include <algorithm>
#include <vector>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/model.h"

using namespace tuner;

static void edit_config(const std::string& dir, const std::string& key, Json value) {
  Json c = Json::parse_file(dir + "/config.json");
  c.set(key, std::move(value));
  write_file_atomic(dir + "/config.json", c.dump());
}

static std::vector<int> windows(const ModelConfig& c) {
  std::vector<int> w;
  for (int l = 0; l < c.num_layers; l++) w.push_back(c.attention_window(l));
  return w;
}

static Json layer_types(std::initializer_list<const char*> names) {
  Json a = Json::array();
  for (const char* n : names) a.push(Json(n));
  return a;
}

static void test_config() {
  using V = std::vector<int>;
  TinySpec spec;
  spec.layers = 3;
  // Llama has no sliding window, whatever the file says.
  {
    std::string d = write_tiny_model(fresh_dir("llama"), spec);
    edit_config(d, "sliding_window", Json(4));
    EXPECT(windows(load_model_config(d)) == V({0, 0, 0}));
  }
  // Mistral: every layer; an absent key is MistralConfig's default 4096, null is none.
  spec.arch = "MistralForCausalLM";
  {
    std::string d = write_tiny_model(fresh_dir("mistral"), spec);
    EXPECT(windows(load_model_config(d)) == V({4096, 4096, 4096}));
    edit_config(d, "sliding_window", Json(5));
    EXPECT(windows(load_model_config(d)) == V({5, 5, 5}));
    edit_config(d, "sliding_window", Json());
    EXPECT(windows(load_model_config(d)) == V({0, 0, 0}));
    edit_config(d, "sliding_window", Json(0));
    EXPECT_ERROR([&] { load_model_config(d); }, "bad_config", "\"sliding_window\" must be an integer from 1 to 1000000000 (found 0)");
  }
  // Qwen2: nothing unless use_sliding_window; then layers >= max_window_layers (default 28),
  // or those layer_types marks.
  spec.arch = "Qwen2ForCausalLM";
  {
    std::string d = write_tiny_model(fresh_dir("qwen2"), spec);
    edit_config(d, "sliding_window", Json(5));
    EXPECT(windows(load_model_config(d)) == V({0, 0, 0}));
    edit_config(d, "use_sliding_window", Json(true));
    EXPECT(windows(load_model_config(d)) == V({0, 0, 0}));  // 3 layers, all below 28
    edit_config(d, "max_window_layers", Json(1));
    EXPECT(windows(load_model_config(d)) == V({0, 5, 5}));
    edit_config(d, "max_window_layers", Json(0));
    EXPECT(windows(load_model_config(d)) == V({5, 5, 5}));
    edit_config(d, "layer_types", layer_types({"sliding_attention", "full_attention", "sliding_attention"}));
    EXPECT(windows(load_model_config(d)) == V({5, 0, 5}));
    edit_config(d, "layer_types", layer_types({"sliding_attention", "full_attention"}));
    EXPECT_ERROR([&] { load_model_config(d); }, "bad_config", "\"layer_types\" must be an array with one entry per layer");
    edit_config(d, "layer_types", layer_types({"full_attention", "chunked_attention", "full_attention"}));
    EXPECT_ERROR([&] { load_model_config(d); }, "bad_config", "entry 1 must be \"full_attention\" or \"sliding_attention\"");
    edit_config(d, "layer_types", layer_types({"full_attention", "full_attention", "sliding_attention"}));
    edit_config(d, "use_sliding_window", Json(false));
    EXPECT_ERROR([&] { load_model_config(d); }, "bad_config", "entry 2 is \"sliding_attention\" but the model has no sliding window");
    edit_config(d, "layer_types", Json());
    edit_config(d, "use_sliding_window", Json("yes"));
    EXPECT_ERROR([&] { load_model_config(d); }, "bad_config", "\"use_sliding_window\" must be true or false");
  }
}

static std::vector<float> logits_of(Model& m, int T) {
  std::vector<uint32_t> tok(T), tgt(T);
  std::vector<uint8_t> mask(T, 1);
  for (int t = 0; t < T; t++) { tok[t] = (uint32_t)(t * 7 + 3) % 40; tgt[t] = (uint32_t)(t * 5 + 1) % 40; }
  Batch b{tok.data(), tgt.data(), mask.data(), 1, T};
  m.forward(b, false, 0, nullptr);
  return std::vector<float>(m.logits(), m.logits() + (size_t)T * m.config().vocab_size);
}

// A sequence longer than the window runs; positions before the window's edge see every earlier
// token either way (the same bits as without a window), later ones see fewer and change.
static void test_forward() {
  TinySpec spec;
  spec.arch = "MistralForCausalLM";
  const int T = 12, W = 4, V = spec.vocab;
  auto full = Model::load(write_tiny_model(fresh_dir("full"), spec));  // default window 4096 > T
  spec.sliding_window = W;
  auto windowed = Model::load(write_tiny_model(fresh_dir("windowed"), spec));
  std::vector<float> a = logits_of(*full, T), b = logits_of(*windowed, T);
  for (int t = 0; t < T; t++) {
    bool same = std::equal(a.begin() + t * V, a.begin() + (t + 1) * V, b.begin() + t * V);
    EXPECT(same == (t < W));
  }
}

int main() {
  test_config();
  test_forward();
  return finish("test_sliding_window");
}
