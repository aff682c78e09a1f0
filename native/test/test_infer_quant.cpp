// Sessions whose linears (and lm_head) are quantized at load time against the f32 session on the
// same model: logits within each format's tolerance at every position, prefill and decode
// (different qgemm paths) agreeing, fewer weight bytes, a LoRA adapter on a quantized base, a
// tied embedding held once, a folder stored quantized (run as stored), and matrices whose width
// is not a multiple of the format's block kept in f32.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "check_macros.h"
#include "infer_test_util.h"
#include "tuner/infer.h"
#include "tuner/quant_io.h"

using namespace tuner;

namespace {

std::unique_ptr<InferSession> open(const std::string& dir, QuantType q, const std::string& adapter = "") {
  InferOptions o;
  o.model = dir;
  o.adapter = adapter;
  o.quant = q;
  o.context_length = 40;
  o.threads = 2;
  return InferSession::load(o);
}

// Logits [T, V]: prefill of 8 rows, then decode steps.
std::vector<float> logits_of(InferSession& s, const std::vector<uint32_t>& tok) {
  const int V = s.config().vocab_size, T = (int)tok.size();
  std::vector<float> out((size_t)T * V);
  s.append(tok.data(), 8, out.data());
  for (int p = 8; p < T; p++) {
    s.append(&tok[p], 1);
    std::copy(s.logits(), s.logits() + V, out.begin() + (size_t)p * V);
  }
  return out;
}

struct Format {
  QuantType type;
  double tol;  // normalised logits error against f32 (weights-only rounding through 2 layers)
};

void formats() {
  TinySpec spec;
  spec.vocab = 96;
  spec.hidden = 128;
  spec.inter = 256;
  spec.heads = 4;
  spec.kv_heads = 2;
  std::string dir = write_scaled_model(fresh_dir("q_model"), spec);
  std::vector<uint32_t> tok = test_tokens(32, spec.vocab);
  auto f32 = open(dir, QuantType::F32);
  std::vector<float> ref = logits_of(*f32, tok);
  const Format fmts[] = {{QuantType::F16, 2e-3}, {QuantType::BF16, 2e-2}, {QuantType::Q8_0, 5e-2}, {QuantType::INT8, 5e-2},
                         {QuantType::Q4_0, 0.5}, {QuantType::NF4, 0.5}};
  for (const Format& f : fmts) {
    auto s = open(dir, f.type);
    EXPECT(s->info().quant == f.type);
    EXPECT(s->info().weight_bytes < f32->info().weight_bytes);
    EXPECT(!s->info().kernel.empty());
    std::vector<float> got = logits_of(*s, tok);
    const double err = rel_err(got.data(), ref.data(), got.size());
    // One prefill of every row through the tile path against the decode path's rows.
    auto p = open(dir, f.type);
    std::vector<float> all(got.size());
    p->append(tok.data(), (int)tok.size(), all.data());
    const double paths = rel_err(all.data(), got.data(), got.size());
    std::printf("      prefill path vs f32: %.2e\n", rel_err(all.data(), ref.data(), ref.size()));
    std::printf("%-5s vs f32: %.2e (tol %.0e); prefill vs decode: %.2e; weights %zu of %zu bytes; %s\n",
                quant_type_name(f.type), err, f.tol, paths, s->info().weight_bytes, f32->info().weight_bytes,
                s->info().kernel.c_str());
    EXPECT(err <= f.tol);
    EXPECT(err > 0);  // the weights really were quantized
    EXPECT(paths <= f.tol);  // decode may quantize activations too (int8 dot), prefill does not
    // How often the most likely token stays the same.
    int same = 0;
    const int V = spec.vocab, T = (int)tok.size();
    for (int t = 0; t < T; t++) {
      auto top = [&](const std::vector<float>& x) {
        return std::max_element(x.begin() + (size_t)t * V, x.begin() + (size_t)(t + 1) * V) - x.begin();
      };
      same += top(got) == top(ref);
    }
    std::printf("      top-1 agreement %d / %d\n", same, T);
    EXPECT(same >= (f.tol < 0.1 ? T - 3 : T / 2));
  }

  // LoRA on a quantized base (QLoRA-style inference) against LoRA on f32.
  std::string adir = fresh_dir("q_adapter");
  {
    auto m = Model::load(dir);
    LoraConfig lc;
    lc.rank = 4;
    lc.alpha = 8;
    lc.target_modules = {"q_proj", "v_proj", "down_proj"};
    m->enable_lora(lc, 3);
    for (Param* p : m->trainable_params())
      if (p->name.find("lora_B") != std::string::npos)
        for (int64_t i = 0; i < p->numel(); i++) p->data[i] = 0.05f * (float)((i * 37) % 11 - 5);
    m->save_adapter(adir);
  }
  std::vector<float> lref = logits_of(*open(dir, QuantType::F32, adir), tok);
  auto ql = open(dir, QuantType::Q8_0, adir);
  EXPECT(ql->info().lora);
  std::vector<float> lq = logits_of(*ql, tok);
  EXPECT(rel_err(lq.data(), lref.data(), lq.size()) <= 5e-2);
  EXPECT(rel_err(lref.data(), ref.data(), ref.size()) > 1e-3);  // the adapter matters
}

// Tied embeddings: one table in the session's format serves the head and (decoded row by row)
// the lookups, so nothing is held twice.
void tied() {
  TinySpec spec;
  spec.vocab = 96;
  spec.hidden = 128;
  spec.inter = 256;
  spec.tied = true;
  std::string dir = write_scaled_model(fresh_dir("q_tied"), spec);
  std::vector<uint32_t> tok = test_tokens(20, spec.vocab);
  auto f32 = open(dir, QuantType::F32);
  std::vector<float> ref = logits_of(*f32, tok);
  auto q = open(dir, QuantType::Q8_0);
  std::vector<float> got = logits_of(*q, tok);
  const double ratio = (double)q->info().weight_bytes / (double)f32->info().weight_bytes;
  std::printf("tied q8_0 vs f32: %.2e; weight bytes %.3f of f32\n", rel_err(got.data(), ref.data(), got.size()), ratio);
  EXPECT(rel_err(got.data(), ref.data(), got.size()) <= 5e-2);
  EXPECT(ratio < 34.0 / 32 / 4 + 0.02);  // q8_0 is 34 bytes per 32 weights; norms stay f32
}

// A folder stored quantized (tuner/quant_io.h: linears and head as q4_0 tensors, the rest
// plain) runs as stored, whatever format is asked for, and equals quantizing at load.
void quantized_folder() {
  TinySpec spec;
  spec.vocab = 96;
  spec.hidden = 128;
  spec.inter = 256;
  std::string src = write_scaled_model(fresh_dir("qf_src"), spec);
  std::string dir = fresh_dir("qf_q4");
  {
    auto f = SafetensorsFile::open(src + "/model.safetensors");
    SafetensorsWriter w;
    std::vector<std::vector<float>> plain;
    std::vector<QuantMatrix> quant;
    quant.reserve(f->tensors().size());
    for (const TensorInfo& t : f->tensors()) {
      plain.emplace_back((size_t)t.numel());
      f->read_f32(t, plain.back().data());
      const bool matrix = t.shape.size() == 2 && t.name != "model.embed_tokens.weight";
      if (!matrix) {
        w.add(t.name, t.shape, plain.back().data());
        continue;
      }
      quant.push_back(quantize_matrix(plain.back().data(), (int)t.shape[0], (int)t.shape[1], QuantType::Q4_0, nullptr));
      quant_matrix_add(w, t.name, quant.back());
    }
    w.write(dir + "/model.safetensors");
    write_file_atomic(dir + "/config.json", Json::parse_file(src + "/config.json").dump());
  }
  std::vector<uint32_t> tok = test_tokens(16, spec.vocab);
  auto stored = open(dir, QuantType::F32);
  EXPECT(stored->info().quant == QuantType::Q4_0);
  std::vector<float> a = logits_of(*stored, tok);
  std::vector<float> b = logits_of(*open(src, QuantType::Q4_0), tok);
  EXPECT(rel_err(a.data(), b.data(), a.size()) == 0.0);
  EXPECT(open(dir, QuantType::Q8_0)->info().quant == QuantType::Q4_0);
  EXPECT_ERROR([&] { Model::load(dir); }, "quantized_weights", "is stored quantized (q4_0)");
  edit_config(dir, "intermediate_size", Json(224));
  EXPECT_ERROR([&] { open(dir, QuantType::F32); }, "shape_mismatch", "holds a 256 x 128 matrix");
}

void unquantizable() {
  // hidden 16: no linear has a multiple of 32 inputs, so q4_0 keeps every weight in f32.
  TinySpec spec;
  std::string dir = write_tiny_model(fresh_dir("q_small"), spec);
  std::vector<uint32_t> tok = test_tokens(12, spec.vocab);
  std::vector<float> a = logits_of(*open(dir, QuantType::F32), tok);
  auto q = open(dir, QuantType::Q4_0);
  std::vector<float> b = logits_of(*q, tok);
  EXPECT(rel_err(b.data(), a.data(), a.size()) == 0.0);
}

}  // namespace

int main() {
  formats();
  tied();
  quantized_folder();
  unquantizable();
  return finish("test_infer_quant");
}
