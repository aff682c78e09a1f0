// tokenizer.json (+ tokenizer_config.json, config.json) -> the tokenizer.* keys of GGUF, as
// llama.cpp's convert_hf_to_gguf.py derives them, so llama.cpp tokenizes and detokenizes text
// the way the Hugging Face tokenizer does:
//   byte-level BPE (GPT-2, Llama 3, Qwen2)   tokenizer.ggml.model "gpt2", tokens as the
//       vocabulary spells them ("Ġthe"), merges "a b", the pre-tokenizer named from its regex;
//   BPE with byte fallback (Llama 2, Mistral, SentencePiece converted)   "llama", tokens
//       "▁the", byte tokens <0xNN> typed BYTE, scores = -id (the merge priority order).
// Ids the tokenizer leaves empty below config.json's vocab_size become "[PAD<id>]" UNUSED.
#include <cstdio>
#include <string>
#include <vector>

#include "tuner/error.h"
#include "tuner/gguf.h"
#include "tuner/json.h"

namespace tuner {

namespace {

// llama_token_type (gguf-py TokenType).
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// The Split regexes of the pre-tokenizers llama.cpp implements, by its name for them.
struct PreTokenizer { const char* name; const char* regex; };
const PreTokenizer kPreTokenizers[] = {
    {"llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
    {"qwen2", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
};

bool starts_ends(const std::string& s, const std::string& a, const std::string& b) {
  return s.size() >= a.size() + b.size() && s.compare(0, a.size(), a) == 0 && s.compare(s.size() - b.size(), b.size(), b) == 0;
}

// convert_hf_to_gguf's does_token_look_special: added tokens that are control tokens in practice.
bool looks_special(const std::string& t) {
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || starts_ends(t, "<|", "|>") ||
         starts_ends(t, "<\xEF\xBD\x9C", "\xEF\xBD\x9C>") || starts_ends(t, "<unused", ">");
}

bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

// Every pre-tokenizer of a tokenizer.json `pre_tokenizer` (a Sequence or a single one).
std::vector<const Json*> pre_tokenizers(const Json& tok) {
  std::vector<const Json*> out;
  const Json* p = tok.find("pre_tokenizer");
  if (!p || !p->is_object()) return out;
  const Json* seq = p->find("pretokenizers");
  if (seq && seq->is_array())
    for (const Json& e : seq->as_array()) out.push_back(&e);
  else
    out.push_back(p);
  return out;
}

// A special token entry of tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
std::string token_content(const Json* v) {
  if (!v) return "";
  if (v->is_string()) return v->as_string();
  if (v->is_object()) return str_field(*v, "content");
  return "";
}

// Whether a SentencePiece-style tokenizer.json puts "▁" before the text: a Prepend normalizer
// (Llama 2) or a Metaspace pre-tokenizer that prepends; Gemma's only replaces spaces.
bool prepends_space(const Json& tok) {
  std::vector<const Json*> parts;
  if (const Json* n = tok.find("normalizer"); n && n->is_object()) {
    const Json* seq = n->find("normalizers");
    if (seq && seq->is_array()) for (const Json& e : seq->as_array()) parts.push_back(&e);
    else parts.push_back(n);
  }
  for (const Json* p : pre_tokenizers(tok)) parts.push_back(p);
  for (const Json* p : parts) {
    const std::string t = str_field(*p, "type");
    if (t == "Prepend" && str_field(*p, "prepend") == "\xE2\x96\x81") return true;
    if (t == "Metaspace") {
      const std::string scheme = str_field(*p, "prepend_scheme");
      const Json* aps = p->find("add_prefix_space");
      if (scheme == "always" || scheme == "first" || (scheme.empty() && aps && aps->is_bool() && aps->as_bool())) return true;
    }
  }
  return false;
}

// "\u0120" for a space inside a merge pair, as gguf-py encodes the list-of-pairs merge format.
std::string encode_merge_part(const std::string& s) {
  std::string out;
  for (char c : s) out += c == ' ' ? std::string("\xC4\xA0") : std::string(1, c);
  return out;
}

}  // namespace

std::vector<std::string> add_gguf_tokenizer(GgufWriter& w, const std::string& dir, int vocab_size) {
  std::vector<std::string> warnings;
  const std::string tpath = dir + "/tokenizer.json";
  if (!is_regular_file(tpath))
    throw TunerError("missing_tokenizer", tpath + ": not found",
                     "GGUF embeds the tokenizer: copy tokenizer.json (and tokenizer_config.json) from the base model into the model folder.");
  Json tok = Json::parse_file(tpath);
  const Json* model = tok.find("model");
  if (!model || !model->is_object()) throw TunerError("bad_tokenizer", tpath + ": field \"model\" is missing", "Use the tokenizer.json published with the model.");
  const std::string type = str_field(*model, "type");
  if (type != "BPE")
    throw TunerError("unsupported_tokenizer", tpath + ": tokenizer model \"" + type + "\" is not supported for GGUF export",
                     "Tuner writes byte-level BPE (GPT-2, Llama 3, Qwen2) and SentencePiece-style BPE (Llama 2, Mistral) tokenizers.");
  const Json* bf = model->find("byte_fallback");
  const bool spm = bf && bf->is_bool() && bf->as_bool();
  const Json* vocab = model->find("vocab");
  if (!vocab || !vocab->is_object()) throw TunerError("bad_tokenizer", tpath + ": field \"model.vocab\" must be an object of token -> id", "");

  std::vector<std::string> tokens((size_t)vocab_size);
  std::vector<int32_t> types((size_t)vocab_size, 0);
  auto place = [&](const std::string& text, double id_num, int32_t t) {
    if (!(id_num >= 0) || id_num != (double)(int64_t)id_num)
      throw TunerError("bad_tokenizer", tpath + ": token \"" + text + "\" has an invalid id", "");
    const int64_t id = (int64_t)id_num;
    if (id >= vocab_size)
      throw TunerError("vocab_mismatch", tpath + ": token \"" + text + "\" has id " + std::to_string(id) + " but config.json vocab_size is " + std::to_string(vocab_size),
                       "The tokenizer does not belong to this model; use the tokenizer files published with its weights.");
    tokens[(size_t)id] = text;
    types[(size_t)id] = t;
  };
  const std::string unk = str_field(*model, "unk_token");
  for (const auto& [text, id] : vocab->as_object()) {
    if (!id.is_number()) throw TunerError("bad_tokenizer", tpath + ": model.vocab[\"" + text + "\"] must be a number", "");
    int32_t t = kNormal;
    if (spm && is_byte_token(text)) t = kByte;
    else if (spm && text == unk) t = kUnknown;
    place(text, id.as_number(), t);
  }
  std::vector<std::pair<std::string, int64_t>> added;  // content -> id
  if (const Json* at = tok.find("added_tokens"); at && at->is_array()) {
    for (const Json& a : at->as_array()) {
      const Json* id = a.find("id");
      const std::string content = str_field(a, "content");
      if (!id || !id->is_number()) throw TunerError("bad_tokenizer", tpath + ": an added_tokens entry has no numeric id", "");
      const Json* sp = a.find("special");
      const bool special = (sp && sp->is_bool() && sp->as_bool()) || looks_special(content);
      std::string text = content;
      if (!special) {  // user-defined spaces pre-normalised, as convert_hf_to_gguf does (llama.cpp prints them as they are)
        std::string r;
        for (size_t i = 0; i < text.size(); i++) {
          if (text.compare(i, 3, "\xE2\x96\x81") == 0) { r += ' '; i += 2; } else r += text[i];
        }
        text = r;
      }
      int32_t t = special ? kControl : kUserDefined;
      if (spm && content == unk) t = kUnknown;
      place(text, id->as_number(), t);
      added.emplace_back(content, (int64_t)id->as_number());
    }
  }
  std::vector<float> scores;
  if (spm) scores.assign((size_t)vocab_size, 0.0f);
  for (int i = 0; i < vocab_size; i++) {
    if (types[(size_t)i] == 0) {
      tokens[(size_t)i] = "[PAD" + std::to_string(i) + "]";
      types[(size_t)i] = kUnused;
    } else if (spm && types[(size_t)i] == kNormal) {
      scores[(size_t)i] = -(float)i;
    }
  }

  // Pre-tokenizer: named from the Split regex (byte-level BPE only).
  std::string pre = "default";
  if (!spm) {
    std::string regex;
    bool byte_level_regex = false;
    for (const Json* p : pre_tokenizers(tok)) {
      const std::string pt = str_field(*p, "type");
      if (pt == "Split") {
        if (const Json* pat = p->find("pattern"); pat && pat->is_object()) regex = str_field(*pat, "Regex");
      } else if (pt == "ByteLevel") {
        const Json* ur = p->find("use_regex");
        byte_level_regex = !ur || (ur->is_bool() && ur->as_bool());
      }
    }
    if (regex.empty() && byte_level_regex) pre = "gpt-2";
    for (const auto& k : kPreTokenizers)
      if (regex == k.regex) pre = k.name;
    if (pre == "default")
      warnings.push_back(tpath + ": pre-tokenizer not recognised (llama.cpp implements a fixed set); written as \"default\", so llama.cpp may split text differently from this tokenizer (token ids given directly are unaffected)");
  }

  w.set_string("tokenizer.ggml.model", spm ? "llama" : "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_strings("tokenizer.ggml.tokens", tokens);
  if (spm) w.set_f32s("tokenizer.ggml.scores", scores);
  w.set_i32s("tokenizer.ggml.token_type", types);
  if (!spm) {
    const Json* merges = model->find("merges");
    if (!merges || !merges->is_array() || merges->size() == 0)
      throw TunerError("bad_tokenizer", tpath + ": byte-level BPE without \"model.merges\"", "Use the tokenizer.json published with the model.");
    std::vector<std::string> m;
    m.reserve(merges->size());
    for (const Json& e : merges->as_array()) {
      if (e.is_string()) m.push_back(e.as_string());
      else if (e.is_array() && e.size() == 2 && e.as_array()[0].is_string() && e.as_array()[1].is_string())
        m.push_back(encode_merge_part(e.as_array()[0].as_string()) + " " + encode_merge_part(e.as_array()[1].as_string()));
      else throw TunerError("bad_tokenizer", tpath + ": model.merges entries must be \"a b\" strings or [a, b] pairs", "");
    }
    w.set_strings("tokenizer.ggml.merges", m);
  }

  // Special tokens: tokenizer_config.json by content, then config.json's *_token_id.
  Json tc = Json::object();
  const std::string cpath = dir + "/tokenizer_config.json";
  if (is_regular_file(cpath)) tc = Json::parse_file(cpath);
  Json cfg = Json::object();
  if (is_regular_file(dir + "/config.json")) cfg = Json::parse_file(dir + "/config.json");
  auto id_of = [&](const std::string& content) -> int64_t {
    if (content.empty()) return -1;
    for (const auto& [c, id] : added)
      if (c == content) return id;
    if (const Json* v = vocab->find(content); v && v->is_number()) return (int64_t)v->as_number();
    return -1;
  };
  const struct { const char* hf; const char* gguf; } kSpecial[] = {
      {"bos", "bos_token_id"}, {"eos", "eos_token_id"}, {"unk", "unknown_token_id"}, {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}};
  std::string bos_text, eos_text;
  for (const auto& s : kSpecial) {
    const std::string content = token_content(tc.find(std::string(s.hf) + "_token"));
    if (std::string(s.hf) == "bos") bos_text = content;
    if (std::string(s.hf) == "eos") eos_text = content;
    int64_t id = id_of(content);
    if (id < 0)
      if (const Json* v = cfg.find(std::string(s.hf) + "_token_id"); v && v->is_number()) id = (int64_t)v->as_number();
    if (id < 0 && std::string(s.hf) == "unk" && spm) id = id_of(unk);
    if (id >= 0 && id < vocab_size) w.set_u32(std::string("tokenizer.ggml.") + s.gguf, (uint32_t)id);
  }
  // add_bos / add_eos: the post-processor's template, overridden by tokenizer_config.json.
  int add_bos = -1, add_eos = -1;
  if (const Json* pp = tok.find("post_processor"); pp && pp->is_object()) {
    std::vector<const Json*> procs;
    if (const Json* list = pp->find("processors"); list && list->is_array())
      for (const Json& e : list->as_array()) procs.push_back(&e);
    else
      procs.push_back(pp);
    for (const Json* p : procs) {
      const Json* single = p->find("single");
      if (str_field(*p, "type") != "TemplateProcessing" || !single || !single->is_array() || single->size() < 2) continue;
      auto special_id = [](const Json& e) {
        const Json* st = e.find("SpecialToken");
        return st && st->is_object() ? str_field(*st, "id") : std::string();
      };
      const std::string first = special_id(single->as_array().front()), last = special_id(single->as_array().back());
      if (!first.empty()) add_bos = first == bos_text || bos_text.empty();
      if (!last.empty()) add_eos = last == eos_text;
    }
  }
  if (const Json* v = tc.find("add_bos_token"); v && v->is_bool()) add_bos = v->as_bool();
  if (const Json* v = tc.find("add_eos_token"); v && v->is_bool()) add_eos = v->as_bool();
  if (add_bos >= 0) w.set_bool("tokenizer.ggml.add_bos_token", add_bos == 1);
  if (add_eos >= 0) w.set_bool("tokenizer.ggml.add_eos_token", add_eos == 1);
  if (const Json* v = tc.find("add_prefix_space"); v && v->is_bool()) w.set_bool("tokenizer.ggml.add_space_prefix", v->as_bool());
  else if (spm) w.set_bool("tokenizer.ggml.add_space_prefix", prepends_space(tok));  // llama.cpp's default for "llama" is true

  // Chat template: tokenizer_config.json, else chat_template.jinja beside it.
  const Json* ct = tc.find("chat_template");
  if (ct && ct->is_string()) {
    w.set_string("tokenizer.chat_template", ct->as_string());
  } else if (ct && ct->is_array()) {
    for (const Json& e : ct->as_array()) {
      const std::string name = str_field(e, "name"), text = str_field(e, "template");
      if (text.empty()) continue;
      w.set_string(name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name, text);
    }
  } else if (is_regular_file(dir + "/chat_template.jinja")) {
    w.set_string("tokenizer.chat_template", read_text_file(dir + "/chat_template.jinja"));
  }
  return warnings;
}

}  // namespace tuner
