// Helpers shared by the inference tests (test_infer_*.cpp): config edits on a tiny model folder,
// the training forward's logits as the oracle, and a normalised logits error.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tiny_model_fixture.h"
#include "tuner/model.h"
#include "tuner/threadpool.h"

inline void edit_config(const std::string& dir, const std::string& key, tuner::Json value) {
  tuner::Json c = tuner::Json::parse_file(dir + "/config.json");
  c.set(key, std::move(value));
  tuner::write_file_atomic(dir + "/config.json", c.dump());
}

// Token ids that visit the whole vocabulary in a fixed, irregular order.
inline std::vector<uint32_t> test_tokens(int n, int V, int salt = 0) {
  std::vector<uint32_t> t;
  for (int i = 0; i < n; i++) t.push_back((uint32_t)((i * 7 + salt * 13 + (i * i) % 5 + 3) % V));
  return t;
}

// Logits [T, V] of the training forward (training = false) over one row of tokens.
inline std::vector<float> full_forward_logits(tuner::Model& m, const std::vector<uint32_t>& tokens, tuner::ThreadPool* pool) {
  const int T = (int)tokens.size(), V = m.config().vocab_size;
  std::vector<uint32_t> targets(T, 0);
  std::vector<uint8_t> mask(T, 0);
  tuner::Batch b{tokens.data(), targets.data(), mask.data(), 1, T};
  m.forward(b, false, 0, pool);
  return std::vector<float>(m.logits(), m.logits() + (size_t)T * V);
}

// max |a - b| / max |b| over n values (the reference tests' normalised error).
inline double rel_err(const float* a, const float* b, size_t n) {
  double num = 0, den = 1e-30;
  for (size_t i = 0; i < n; i++) {
    num = std::max(num, (double)std::fabs(a[i] - b[i]));
    den = std::max(den, (double)std::fabs(b[i]));
  }
  return num / den;
}

// A tiny model scaled like a trained one (linear weights ~ N(0, 1/in), norms ~ 1, embeddings
// ~ N(0, 0.25)), so activations stay O(1) through the layers: what quantization error tests need
// (the plain fixture's N(0, 0.3) weights amplify any perturbation layer after layer).
inline std::string write_scaled_model(const std::string& dir, const TinySpec& s) {
  write_tiny_model(dir, s);
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<std::vector<float>> store;
  tuner::SafetensorsWriter w;
  for (auto& [name, shape] : tiny_shapes(s)) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    store.emplace_back((size_t)n);
    const bool norm = name.find("norm") != std::string::npos, bias = name.find(".bias") != std::string::npos;
    const bool embed = name == "model.embed_tokens.weight";
    const float scale = norm ? 0.05f : bias ? 0.1f : embed ? 0.5f : 1.0f / std::sqrt((float)shape.back());
    for (auto& x : store.back()) x = (norm ? 1.0f : 0.0f) + scale * nd(rng);
    w.add(name, shape, store.back().data());
  }
  w.write(dir + "/model.safetensors");
  return dir;
}
