// tokenizer.json's decoding (tuner/text_decoder.h), following the Hugging Face tokenizers
// decoders: ByteLevel (characters -> bytes through GPT-2's bytes_to_unicode, a token with a
// character outside the table as its own UTF-8, then the bytes read as UTF-8 with U+FFFD for each
// maximal invalid part), ByteFallback (a run of <0xNN> tokens that is not valid UTF-8 gives one
// U+FFFD per byte), Replace "▁" -> " ", Fuse, Strip and Metaspace; and transformers'
// clean_up_tokenization when tokenizer_config.json asks for it.
#include "tuner/text_decoder.h"

#include <string>

#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

namespace {

const std::string kMeta = "\xE2\x96\x81";        // "▁"
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// GPT-2's bytes_to_unicode, reversed: code point -> byte, -1 when the code point is not in it.
int unicode_to_byte(uint32_t cp) {
  static const std::vector<int> table = [] {
    std::vector<int> t(324, -1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[printable ? b : 256 + n++] = b;
    }
    return t;
  }();
  return cp < table.size() ? table[cp] : -1;
}

// Code points of UTF-8 text that is valid (tokenizer.json parsed as JSON).
std::vector<uint32_t> code_points(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// Length of the valid UTF-8 sequence at b[i], or 0 with `bad` the length of its maximal invalid
// part (Rust's from_utf8_lossy replaces each such part by one U+FFFD).
size_t utf8_at(const std::string& b, size_t i, size_t* bad) {
  const unsigned char c = static_cast<unsigned char>(b[i]);
  *bad = 1;
  if (c < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else return 0;
  for (int k = 1; k < len; ++k) {
    if (i + k >= b.size()) return *bad = k, 0;
    const unsigned char d = static_cast<unsigned char>(b[i + k]);
    if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return *bad = k, 0;
  }
  return len;
}

std::string utf8_lossy(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size();) {
    size_t bad;
    if (size_t n = utf8_at(bytes, i, &bad)) out.append(bytes, i, n), i += n;
    else out += kReplacement, i += bad;
  }
  return out;
}

bool valid_utf8(const std::string& bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t bad, n = utf8_at(bytes, i, &bad);
    if (!n) return false;
    i += n;
  }
  return true;
}

int byte_token(const std::string& t) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>' || hex(t[3]) < 0 || hex(t[4]) < 0) return -1;
  return hex(t[3]) * 16 + hex(t[4]);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

// transformers' PreTrainedTokenizerBase.clean_up_tokenization.
std::string clean_up_tokenization(std::string s) {
  static const char* const kPairs[][2] = {{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
                                          {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& r : kPairs) replace_all(s, r[0], r[1]);
  return s;
}

}  // namespace

std::unique_ptr<TextDecoder> TextDecoder::load(const std::string& dir, std::string* why_unsupported) {
  const std::string path = dir + "/tokenizer.json";
  if (!is_regular_file(path)) return nullptr;
  auto d = from_json(Json::parse_file(path), path, why_unsupported);
  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (d && is_regular_file(cfg_path)) {
    const Json cfg = Json::parse_file(cfg_path);
    const Json* c = cfg.is_object() ? cfg.find("clean_up_tokenization_spaces") : nullptr;
    d->cleanup_spaces_ = c && c->is_bool() && c->as_bool();
  }
  return d;
}

std::unique_ptr<TextDecoder> TextDecoder::parse(const std::string& json_text, const std::string& source, std::string* why_unsupported) {
  return from_json(Json::parse(json_text, source), source, why_unsupported);
}

std::unique_ptr<TextDecoder> TextDecoder::from_json(const Json& tok, const std::string& source, std::string* why_unsupported) {
  const Json* model = tok.is_object() ? tok.find("model") : nullptr;
  const Json* vocab = model && model->is_object() ? model->find("vocab") : nullptr;
  if (!vocab || !(vocab->is_object() || vocab->is_array()))
    throw TunerError("bad_tokenizer", source + ": field \"model.vocab\" is missing", "Use the tokenizer.json published with the model.");
  auto d = std::unique_ptr<TextDecoder>(new TextDecoder());
  auto put = [&](double id, const std::string& token, bool special) {
    if (id < 0 || id > 1e8 || id != static_cast<double>(static_cast<int64_t>(id)))
      throw TunerError("bad_tokenizer", source + ": token \"" + token + "\" has id " + std::to_string(id) + ", not a token id",
                       "Use the tokenizer.json published with the model.");
    const size_t i = static_cast<size_t>(id);
    if (i >= d->tokens_.size()) d->tokens_.resize(i + 1), d->special_.resize(i + 1, 0);
    d->tokens_[i] = token;
    d->special_[i] = special;
  };
  if (vocab->is_object()) {  // BPE, WordPiece: token -> id
    for (const auto& [token, id] : vocab->as_object())
      if (id.is_number()) put(id.as_number(), token, false);
  } else {  // Unigram: [token, score] at index id
    for (size_t i = 0; i < vocab->as_array().size(); ++i) {
      const Json& e = vocab->as_array()[i];
      if (e.is_array() && !e.as_array().empty() && e.as_array()[0].is_string()) put(static_cast<double>(i), e.as_array()[0].as_string(), false);
    }
  }
  if (const Json* added = tok.find("added_tokens"); added && added->is_array())
    for (const Json& a : added->as_array()) {
      const Json* id = a.is_object() ? a.find("id") : nullptr;
      const Json* special = a.is_object() ? a.find("special") : nullptr;
      if (id && id->is_number()) put(id->as_number(), str_field(a, "content"), special && special->is_bool() && special->as_bool());
    }

  // The decoder: one of the two families, or a reason why not.
  std::vector<const Json*> parts;
  if (const Json* dec = tok.find("decoder"); dec && dec->is_object()) {
    const Json* seq = dec->find("decoders");
    if (str_field(*dec, "type") == "Sequence" && seq && seq->is_array())
      for (const Json& e : seq->as_array()) parts.push_back(&e);
    else
      parts.push_back(dec);
  }
  bool byte_level = false, sentencepiece = false;
  for (const Json* p : parts) {
    const std::string t = str_field(*p, "type");
    if (t == "ByteLevel") byte_level = true;
    if (t == "Metaspace") {
      sentencepiece = true;
      const std::string scheme = str_field(*p, "prepend_scheme");
      const Json* aps = p->find("add_prefix_space");
      d->strip_first_ = scheme == "always" || scheme == "first" || (scheme.empty() && aps && aps->is_bool() && aps->as_bool());
    }
    if (t == "Replace" && str_field(*p, "content") == " ") {
      const Json* pat = p->find("pattern");
      if (pat && pat->is_object() && str_field(*pat, "String") == kMeta) sentencepiece = true;
    }
    if (t == "Strip" && str_field(*p, "content") == " ") {
      const Json* start = p->find("start");
      d->strip_fused_ = start && start->is_number() && start->as_number() >= 1;
    }
  }
  if (byte_level == sentencepiece) {
    const std::string why = source + ": field \"decoder\" is " + (parts.empty() ? std::string("missing") : byte_level ? "both ByteLevel and Metaspace" : "neither ByteLevel nor SentencePiece-style (Replace \"\xE2\x96\x81\", Metaspace)");
    if (why_unsupported) {
      *why_unsupported = why;
      return nullptr;
    }
    throw TunerError("bad_tokenizer", why, "Decoding to text reads byte-level BPE and SentencePiece-style tokenizers only.");
  }
  d->kind_ = byte_level ? Kind::ByteLevel : Kind::SentencePiece;
  return d;
}

std::string TextDecoder::decode(const std::vector<uint32_t>& ids) const {
  std::vector<const std::string*> toks;
  for (uint32_t id : ids)
    if (id < tokens_.size() && !special_[id] && !tokens_[id].empty()) toks.push_back(&tokens_[id]);
  std::string out;
  if (kind_ == Kind::ByteLevel) {
    std::string bytes;
    for (const std::string* t : toks) {
      std::string mine;
      bool mapped = true;
      for (uint32_t cp : code_points(*t)) {
        const int b = unicode_to_byte(cp);
        if (b < 0) { mapped = false; break; }
        mine += static_cast<char>(b);
      }
      bytes += mapped ? mine : *t;
    }
    out = utf8_lossy(bytes);
  } else {
    std::string run;  // consecutive <0xNN> bytes
    auto flush = [&] {
      if (run.empty()) return;
      if (valid_utf8(run)) out += run;
      else for (size_t k = 0; k < run.size(); ++k) out += kReplacement;
      run.clear();
    };
    for (size_t i = 0; i < toks.size(); ++i) {
      if (int b = byte_token(*toks[i]); b >= 0) {
        run += static_cast<char>(b);
        continue;
      }
      flush();
      std::string t = *toks[i];
      replace_all(t, kMeta, " ");
      if (i == 0 && strip_first_ && toks[i]->compare(0, kMeta.size(), kMeta) == 0) t.erase(0, 1);
      out += t;
    }
    flush();
    if (strip_fused_ && !out.empty() && out[0] == ' ') out.erase(0, 1);
  }
  return cleanup_spaces_ ? clean_up_tokenization(out) : out;
}

}  // namespace tuner
