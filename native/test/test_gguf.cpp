// The GGUF writer read back by a reader written here from the specification: header, every
// value type, tensor infos, 32-byte alignment and the data each tensor's fill produced; the
// tokenizer mapping for byte-level BPE (pair merges with spaces, padding ids, the pre-tokenizer
// name, add_bos from the post-processor) and for SentencePiece-style BPE (BYTE / UNKNOWN types,
// scores, whether a space is prepended), with its errors; and the model mapping: Q/K rows permuted per head for `llama` and
// kept for `qwen2`, tied output left out, Q8_0 blocks those of quantize_matrix, llama3 rope_freqs.
// test/native/gguf-llama.test.ts then loads real exports in llama.cpp itself.
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/gguf.h"
#include "tuner/model.h"
#include "tuner/quant.h"

using namespace tuner;

namespace {

struct Value {
  uint32_t type = 0, elem = 0;
  double num = 0;
  std::string str;
  std::vector<double> nums;
  std::vector<std::string> strs;
};
struct TensorRec { std::vector<int64_t> ne; uint32_t type; uint64_t offset; };
struct File {
  uint32_t version = 0;
  std::map<std::string, Value> kv;
  std::map<std::string, TensorRec> tensors;
  std::vector<std::string> order;
  std::vector<uint8_t> bytes;
  size_t data_start = 0;
  const uint8_t* data(const std::string& t) const { return bytes.data() + data_start + tensors.at(t).offset; }
};

File read_gguf(const std::string& path) {
  File f;
  std::ifstream in(path, std::ios::binary);
  f.bytes.assign(std::istreambuf_iterator<char>(in), {});
  size_t p = 0;
  auto take = [&](void* dst, size_t n) { TUNER_CHECK(p + n <= f.bytes.size(), "GGUF read past the end"); std::memcpy(dst, f.bytes.data() + p, n); p += n; };
  auto u32 = [&] { uint32_t v; take(&v, 4); return v; };
  auto u64 = [&] { uint64_t v; take(&v, 8); return v; };
  auto str = [&] { std::string s(u64(), '\0'); take(s.data(), s.size()); return s; };
  auto scalar = [&](uint32_t t) -> double {
    switch (t) {
      case 0: case 1: case 7: { uint8_t v; take(&v, 1); return t == 1 ? (int8_t)v : v; }
      case 4: return u32();
      case 5: return (int32_t)u32();
      case 6: { float v; take(&v, 4); return v; }
      case 10: return (double)u64();
      default: TUNER_CHECK(false, "value type " + std::to_string(t) + " not read here"); return 0;
    }
  };
  EXPECT(u32() == 0x46554747);  // "GGUF"
  f.version = u32();
  const uint64_t nt = u64(), nkv = u64();
  for (uint64_t i = 0; i < nkv; i++) {
    std::string key = str();
    Value v;
    v.type = u32();
    if (v.type == 8) v.str = str();
    else if (v.type == 9) {
      v.elem = u32();
      const uint64_t n = u64();
      for (uint64_t j = 0; j < n; j++) v.elem == 8 ? v.strs.push_back(str()) : v.nums.push_back(scalar(v.elem));
    } else v.num = scalar(v.type);
    f.kv[key] = v;
  }
  for (uint64_t i = 0; i < nt; i++) {
    std::string name = str();
    TensorRec t;
    t.ne.resize(u32());
    for (auto& d : t.ne) d = (int64_t)u64();
    t.type = u32();
    t.offset = u64();
    f.tensors[name] = t;
    f.order.push_back(name);
  }
  f.data_start = (p + 31) / 32 * 32;
  return f;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

void test_container() {
  GgufWriter w;
  w.set_u32("a.u32", 7);
  w.set_i32("a.i32", -3);
  w.set_f32("a.f32", 0.5f);
  w.set_bool("a.bool", true);
  w.set_string("a.str", "héllo");
  w.set_strings("a.strs", {"x", "", "y z"});
  w.set_i32s("a.i32s", {1, -2});
  w.set_f32s("a.f32s", {1.5f});
  EXPECT_ERROR([&] { w.set_u32("a.u32", 1); }, "internal", "twice");
  w.add_tensor("t.f32", {5}, GgmlType::F32, [](uint8_t* d) { for (int i = 0; i < 5; i++) reinterpret_cast<float*>(d)[i] = (float)i; });
  w.add_tensor("t.f16", {4, 3}, GgmlType::F16, [](uint8_t* d) { std::memset(d, 0xAB, 24); });
  w.add_tensor("t.q8", {64, 2}, GgmlType::Q8_0, [](uint8_t* d) { for (int i = 0; i < 136; i++) d[i] = (uint8_t)i; });
  EXPECT(w.data_bytes() == 32 + 32 + 160);
  const std::string path = fresh_dir("gguf") + "/c.gguf";
  w.write(path);
  File f = read_gguf(path);
  EXPECT(f.version == 3);
  EXPECT(f.kv.at("a.u32").type == 4 && f.kv.at("a.u32").num == 7);
  EXPECT(f.kv.at("a.i32").type == 5 && f.kv.at("a.i32").num == -3);
  EXPECT(f.kv.at("a.f32").type == 6 && f.kv.at("a.f32").num == 0.5);
  EXPECT(f.kv.at("a.bool").type == 7 && f.kv.at("a.bool").num == 1);
  EXPECT(f.kv.at("a.str").str == "héllo");
  EXPECT((f.kv.at("a.strs").strs == std::vector<std::string>{"x", "", "y z"}));
  EXPECT((f.kv.at("a.i32s").nums == std::vector<double>{1, -2}) && f.kv.at("a.i32s").elem == 5);
  EXPECT(f.kv.at("a.f32s").elem == 6 && f.kv.at("a.f32s").nums[0] == 1.5);
  EXPECT((f.order == std::vector<std::string>{"t.f32", "t.f16", "t.q8"}));
  EXPECT(f.tensors.at("t.f16").offset == 32 && f.tensors.at("t.q8").offset == 64 && f.tensors.at("t.q8").type == 8);
  EXPECT((f.tensors.at("t.f16").ne == std::vector<int64_t>{4, 3}));
  EXPECT(reinterpret_cast<const float*>(f.data("t.f32"))[4] == 4.0f);
  EXPECT(f.data("t.q8")[135] == 135 && f.data("t.f16")[23] == 0xAB);
  EXPECT(f.bytes.size() == f.data_start + w.data_bytes());
}

const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";

void test_tokenizer_bpe() {
  const std::string dir = fresh_dir("gguf_bpe");
  write(dir + "/tokenizer.json", std::string(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġa": 4},
    "merges": [["a", "b"], ["Ġ", "a"], ["a b", "c"]]},
    "added_tokens": [{"id": 5, "content": "<|begin|>", "special": true}, {"id": 6, "content": "<|eot|>", "special": false},
                     {"id": 7, "content": "hi there", "special": false}],
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": ")") + kLlama3Regex +
                                           R"("}}, {"type": "ByteLevel", "use_regex": false}]},
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin|>"}}, {"Sequence": {"id": "A"}}]}})");
  write(dir + "/tokenizer_config.json", R"({"bos_token": "<|begin|>", "eos_token": {"content": "<|eot|>"}, "chat_template": "{{ x }}"})");
  GgufWriter w;
  EXPECT(add_gguf_tokenizer(w, dir, 10).empty());
  w.write(dir + "/t.gguf");
  File f = read_gguf(dir + "/t.gguf");
  EXPECT(f.kv.at("tokenizer.ggml.model").str == "gpt2");
  EXPECT(f.kv.at("tokenizer.ggml.pre").str == "llama-bpe");
  const auto& tokens = f.kv.at("tokenizer.ggml.tokens").strs;
  EXPECT(tokens.size() == 10 && tokens[4] == "Ġa" && tokens[5] == "<|begin|>" && tokens[8] == "[PAD8]");
  EXPECT(tokens[7] == "hi there");
  EXPECT((f.kv.at("tokenizer.ggml.token_type").nums == std::vector<double>{1, 1, 1, 1, 1, 3, 3, 4, 5, 5}));  // <|eot|> looks special
  EXPECT((f.kv.at("tokenizer.ggml.merges").strs == std::vector<std::string>{"a b", "Ġ a", "aĠb c"}));
  EXPECT(!f.kv.count("tokenizer.ggml.scores"));
  EXPECT(f.kv.at("tokenizer.ggml.bos_token_id").num == 5 && f.kv.at("tokenizer.ggml.eos_token_id").num == 6);
  EXPECT(f.kv.at("tokenizer.ggml.add_bos_token").num == 1);
  EXPECT(f.kv.at("tokenizer.chat_template").str == "{{ x }}");

  write(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}, "pre_tokenizer": {"type": "Whitespace"}})");
  GgufWriter w2;
  auto warn = add_gguf_tokenizer(w2, dir, 1);
  EXPECT(warn.size() == 1 && warn[0].find("pre-tokenizer not recognised") != std::string::npos);
  EXPECT_ERROR([&] { GgufWriter w3; write(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 4}, "merges": ["a b"]}})");
                     add_gguf_tokenizer(w3, dir, 4); }, "vocab_mismatch", "has id 4 but config.json vocab_size is 4");
  EXPECT_ERROR([&] { GgufWriter w3; write(dir + "/tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
                     add_gguf_tokenizer(w3, dir, 4); }, "unsupported_tokenizer", "Unigram");
  EXPECT_ERROR([&] { GgufWriter w3; add_gguf_tokenizer(w3, fresh_dir("gguf_none"), 4); }, "missing_tokenizer", "tokenizer.json: not found");
}

void test_tokenizer_spm() {
  const std::string dir = fresh_dir("gguf_spm");
  write(dir + "/tokenizer.json", R"({"model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁the": 4, "▁a": 5}, "merges": ["▁ t"]},
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                     {"id": 2, "content": "</s>", "special": true}]})");
  write(dir + "/tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true, "add_prefix_space": true})");
  GgufWriter w;
  add_gguf_tokenizer(w, dir, 6);
  w.write(dir + "/t.gguf");
  File f = read_gguf(dir + "/t.gguf");
  EXPECT(f.kv.at("tokenizer.ggml.model").str == "llama" && f.kv.at("tokenizer.ggml.pre").str == "default");
  EXPECT((f.kv.at("tokenizer.ggml.token_type").nums == std::vector<double>{2, 3, 3, 6, 1, 1}));
  EXPECT((f.kv.at("tokenizer.ggml.scores").nums == std::vector<double>{0, 0, 0, 0, -4, -5}));
  EXPECT(!f.kv.count("tokenizer.ggml.merges"));
  EXPECT(f.kv.at("tokenizer.ggml.unknown_token_id").num == 0 && f.kv.at("tokenizer.ggml.bos_token_id").num == 1);
  EXPECT(f.kv.at("tokenizer.ggml.add_space_prefix").num == 1);

  // Without add_prefix_space: Llama 2's Prepend normalizer adds the space, Gemma's Replace does not.
  write(dir + "/tokenizer_config.json", "{}");
  for (const auto& [normalizer, prefix] : {std::make_pair(R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}]})", 1),
                                           std::make_pair(R"({"type": "Replace", "pattern": {"String": " "}, "content": "▁"})", 0)}) {
    write(dir + "/tokenizer.json", std::string(R"({"model": {"type": "BPE", "byte_fallback": true, "vocab": {"a": 0}}, "normalizer": )") + normalizer + "}");
    GgufWriter w2;
    add_gguf_tokenizer(w2, dir, 1);
    w2.write(dir + "/n.gguf");
    EXPECT(read_gguf(dir + "/n.gguf").kv.at("tokenizer.ggml.add_space_prefix").num == prefix);
  }
}

// A tiny model folder with a tokenizer of its vocabulary size.
std::string tiny_with_tokenizer(const std::string& name, TinySpec s, const std::string& rope_scaling = "") {
  const std::string dir = fresh_dir(name);
  write_tiny_model(dir, s);
  if (!rope_scaling.empty()) {
    Json c = Json::parse_file(dir + "/config.json");
    c.set("rope_scaling", Json::parse(rope_scaling, "test"));
    write_file_atomic(dir + "/config.json", c.dump(2));
  }
  std::string vocab;
  for (int i = 0; i < s.vocab; i++) vocab += (i ? ", \"t" : "\"t") + std::to_string(i) + "\": " + std::to_string(i);
  write(dir + "/tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {" + vocab + "}, \"merges\": [\"t 1\"]}}");
  return dir;
}

void test_model_mapping() {
  TinySpec s;  // 16 hidden, 4 heads (HD 4), 2 kv heads, vocab 40
  const std::string dir = tiny_with_tokenizer("gguf_llama", s);
  auto m = Model::load(dir);
  std::map<std::string, Param*> p;
  for (Param* x : m->base_params()) p[x->name] = x;
  GgufExportOptions opt;
  opt.type = GgmlType::F32;
  export_gguf(dir + "/m.gguf", *m, dir, opt, nullptr);
  File f = read_gguf(dir + "/m.gguf");
  EXPECT(f.kv.at("general.architecture").str == "llama" && f.kv.at("llama.attention.head_count_kv").num == 2);
  EXPECT(f.tensors.size() == 2 * 9 + 3 && f.tensors.count("output.weight"));
  const float* q = reinterpret_cast<const float*>(f.data("blk.1.attn_q.weight"));
  const float* k = reinterpret_cast<const float*>(f.data("blk.1.attn_k.weight"));
  const float* v = reinterpret_cast<const float*>(f.data("blk.1.attn_v.weight"));
  const float *hq = p["model.layers.1.self_attn.q_proj.weight"]->data, *hk = p["model.layers.1.self_attn.k_proj.weight"]->data;
  // HD 4: per head, new rows (0, 1, 2, 3) are old rows (0, 2, 1, 3).
  const int C = 16, perm[4] = {0, 2, 1, 3};
  for (int h = 0; h < 4; h++)
    for (int r = 0; r < 4; r++) EXPECT(std::memcmp(q + (h * 4 + r) * C, hq + (h * 4 + perm[r]) * C, C * 4) == 0);
  for (int h = 0; h < 2; h++)
    for (int r = 0; r < 4; r++) EXPECT(std::memcmp(k + (h * 4 + r) * C, hk + (h * 4 + perm[r]) * C, C * 4) == 0);
  EXPECT(std::memcmp(v, p["model.layers.1.self_attn.v_proj.weight"]->data, 8 * C * 4) == 0);

  opt.type = GgmlType::Q8_0;  // C = 16 is no multiple of 32: every matrix falls back to F16
  export_gguf(dir + "/q.gguf", *m, dir, opt, nullptr);
  EXPECT(read_gguf(dir + "/q.gguf").tensors.at("blk.0.ffn_up.weight").type == 1);

  TinySpec wide;
  wide.hidden = 64, wide.inter = 96, wide.heads = 4, wide.kv_heads = 4, wide.tied = true, wide.arch = "Qwen2ForCausalLM";
  const std::string qdir = tiny_with_tokenizer("gguf_qwen", wide);
  auto qm = Model::load(qdir);
  opt.type = GgmlType::Q8_0;
  export_gguf(qdir + "/q.gguf", *qm, qdir, opt, nullptr);
  File g = read_gguf(qdir + "/q.gguf");
  EXPECT(g.kv.at("general.architecture").str == "qwen2" && !g.tensors.count("output.weight"));
  Param* wq = nullptr;
  for (Param* x : qm->base_params()) if (x->name == "model.layers.0.self_attn.q_proj.weight") wq = x;
  QuantMatrix ref = quantize_matrix(wq->data, 64, 64, QuantType::Q8_0, nullptr);  // qwen2: rows kept
  EXPECT(g.tensors.at("blk.0.attn_q.weight").type == 8 && std::memcmp(g.data("blk.0.attn_q.weight"), ref.data.data(), ref.data.size()) == 0);

  const std::string l3 = tiny_with_tokenizer("gguf_llama3", s, R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 16})");
  auto m3 = Model::load(l3);
  opt.type = GgmlType::F16;
  export_gguf(l3 + "/m.gguf", *m3, l3, opt, nullptr);
  File r = read_gguf(l3 + "/m.gguf");
  const float* rf = reinterpret_cast<const float*>(r.data("rope_freqs.weight"));
  EXPECT(r.tensors.at("rope_freqs.weight").ne[0] == 2);
  // HD 4: frequencies 1 and 1/100, wavelengths 2 pi (between 16/4 and 16/1: smoothed) and 628 (> 16: divided by 8).
  const double smooth = (16 / (2 * M_PI) - 1) / (4 - 1);
  EXPECT_NEAR(rf[0], 1 / ((1 - smooth) / 8 + smooth), 1e-5);
  EXPECT(rf[1] == 8.0f);
}

}  // namespace

int main() {
  try {
    test_container();
    test_tokenizer_bpe();
    test_tokenizer_spm();
    test_model_mapping();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  return finish("test_gguf");
}
