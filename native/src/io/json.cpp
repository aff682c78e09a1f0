// Strict recursive-descent JSON parser: no comments, no trailing commas, no NaN, depth-limited
// (so a hostile file cannot overflow the stack), duplicate keys rejected (they are ambiguous).
#include "tuner/json.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <unordered_set>

#include "tuner/atomic_file.h"
#include "tuner/error.h"

namespace tuner {

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  Parser(const std::string& text, const std::string& source) : s_(text), src_(source) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("end of input after the top-level value");
    return v;
  }

 private:
  const std::string& s_;
  const std::string& src_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& expected) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); i++) {
      if (s_[i] == '\n') { line++; col = 1; } else { col++; }
    }
    std::string found = pos_ >= s_.size() ? "end of input" : "'" + std::string(1, s_[pos_]) + "'";
    if (pos_ < s_.size() && (unsigned char)s_[pos_] < 0x20) found = "control character";
    throw TunerError("bad_json",
                     src_ + ":" + std::to_string(line) + ":" + std::to_string(col) + " (byte " +
                         std::to_string(pos_) + "): expected " + expected + ", found " + found,
                     "Fix the JSON syntax at that position (strict JSON: double quotes, no "
                     "trailing commas, no comments).");
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) pos_++;
  }

  bool consume(const char* lit) {
    size_t n = std::strlen(lit);
    if (s_.compare(pos_, n, lit) == 0) { pos_ += n; return true; }
    return false;
  }

  Json parse_value(int depth) {
    if (depth > kMaxDepth) fail("at most 256 levels of nesting");
    if (pos_ >= s_.size()) fail("a value");
    char c = s_[pos_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return Json(parse_number());
    if (consume("true")) return Json(true);
    if (consume("false")) return Json(false);
    if (consume("null")) return Json(nullptr);
    fail("a value (object, array, string, number, true, false or null)");
  }

  // Members are appended with a hash set for the duplicate check, so an object of n keys (a
  // tokenizer.json vocabulary has 50k-250k) parses in O(n), not O(n^2).
  Json parse_object(int depth) {
    pos_++;  // '{'
    Json::Object members;
    std::unordered_set<std::string> seen;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') { pos_++; return Json::object(); }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') fail("a string key");
      size_t key_pos = pos_;
      std::string key = parse_string();
      if (!seen.insert(key).second) { pos_ = key_pos; fail("a key not already present in this object (duplicate \"" + key + "\")"); }
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') fail("':' after the key");
      pos_++;
      skip_ws();
      members.emplace_back(std::move(key), parse_value(depth + 1));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { pos_++; continue; }
      if (pos_ < s_.size() && s_[pos_] == '}') { pos_++; return Json::object(std::move(members)); }
      fail("',' or '}' in an object");
    }
  }

  Json parse_array(int depth) {
    pos_++;  // '['
    Json arr = Json::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') { pos_++; return arr; }
    for (;;) {
      skip_ws();
      arr.push(parse_value(depth + 1));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') { pos_++; continue; }
      if (pos_ < s_.size() && s_[pos_] == ']') { pos_++; return arr; }
      fail("',' or ']' in an array");
    }
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += (char)cp;
    else if (cp < 0x800) { out += (char)(0xC0 | (cp >> 6)); out += (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
      out += (char)(0xE0 | (cp >> 12)); out += (char)(0x80 | ((cp >> 6) & 0x3F)); out += (char)(0x80 | (cp & 0x3F));
    } else {
      out += (char)(0xF0 | (cp >> 18)); out += (char)(0x80 | ((cp >> 12) & 0x3F));
      out += (char)(0x80 | ((cp >> 6) & 0x3F)); out += (char)(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
      if (pos_ >= s_.size()) fail("4 hex digits after \\u");
      char c = s_[pos_];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) fail("a hex digit in \\u escape");
      v = v * 16 + d;
      pos_++;
    }
    return v;
  }

  std::string parse_string() {
    pos_++;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("closing '\"' of a string");
      unsigned char c = s_[pos_];
      if (c == '"') { pos_++; return out; }
      if (c < 0x20) fail("no raw control characters inside a string (escape them)");
      if (c != '\\') { out += (char)c; pos_++; continue; }
      pos_++;
      if (pos_ >= s_.size()) fail("an escape character after '\\'");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consume("\\u")) fail("a low surrogate \\uDC00-\\uDFFF after a high surrogate");
            uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("a low surrogate \\uDC00-\\uDFFF");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("a high surrogate before a low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: pos_--; fail("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
    }
  }

  double parse_number() {
    size_t start = pos_;
    if (s_[pos_] == '-') pos_++;
    if (pos_ >= s_.size() || !isdigit((unsigned char)s_[pos_])) fail("a digit");
    if (s_[pos_] == '0') pos_++;
    else while (pos_ < s_.size() && isdigit((unsigned char)s_[pos_])) pos_++;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      pos_++;
      if (pos_ >= s_.size() || !isdigit((unsigned char)s_[pos_])) fail("a digit after '.'");
      while (pos_ < s_.size() && isdigit((unsigned char)s_[pos_])) pos_++;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      pos_++;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) pos_++;
      if (pos_ >= s_.size() || !isdigit((unsigned char)s_[pos_])) fail("a digit in the exponent");
      while (pos_ < s_.size() && isdigit((unsigned char)s_[pos_])) pos_++;
    }
    std::string tok = s_.substr(start, pos_ - start);
    double v = std::strtod(tok.c_str(), nullptr);
    if (!std::isfinite(v)) { pos_ = start; fail("a number within double range"); }
    return v;
  }
};

}  // namespace

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) { char buf[8]; snprintf(buf, sizeof buf, "\\u%04x", c); out += buf; }
        else out += (char)c;
    }
  }
  return out + '"';
}

namespace {

void dump_value(std::string& out, const Json& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent < 0) return;
    out += '\n';
    out.append((size_t)(indent * lvl), ' ');
  };
  switch (v.type()) {
    case Json::Type::Null: out += "null"; break;
    case Json::Type::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Json::Type::Number: {
      double d = v.as_number();
      char buf[40];
      if (!std::isfinite(d)) { out += "null"; break; }  // JSON has no NaN/Inf
      if (d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) snprintf(buf, sizeof buf, "%.0f", d);
      else snprintf(buf, sizeof buf, "%.17g", d);
      out += buf;
      break;
    }
    case Json::Type::String: out += json_quote(v.as_string()); break;
    case Json::Type::Array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        dump_value(out, e, indent, level + 1);
      }
      if (!v.as_array().empty()) newline(level);
      out += ']';
      break;
    }
    case Json::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.as_object()) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        out += json_quote(kv.first);
        out += indent < 0 ? ":" : ": ";
        dump_value(out, kv.second, indent, level + 1);
      }
      if (!v.as_object().empty()) newline(level);
      out += '}';
      break;
    }
  }
}

}  // namespace

Json Json::array(Array a) {
  Json j;
  j.type_ = Type::Array;
  j.arr_ = std::move(a);
  return j;
}

Json Json::object(Object o) {
  Json j;
  j.type_ = Type::Object;
  j.obj_ = std::move(o);
  return j;
}

const Json* Json::find(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& kv : obj_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void Json::set(const std::string& key, Json value) {
  if (type_ != Type::Object) { type_ = Type::Object; obj_.clear(); }
  for (auto& kv : obj_)
    if (kv.first == key) { kv.second = std::move(value); return; }
  obj_.emplace_back(key, std::move(value));
}

const char* Json::type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

Json Json::parse(const std::string& text, const std::string& source) {
  return Parser(text, source).parse_document();
}

Json Json::parse_file(const std::string& path) { return parse(read_text_file(path), path); }

std::string Json::dump(int indent) const {
  std::string out;
  dump_value(out, *this, indent, 0);
  return out;
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    int err = errno;
    throw TunerError(err == ENOENT ? "file_not_found" : "io_error",
                     path + ": cannot open (" + std::strerror(err) + ")",
                     "Check that the file exists and is readable.");
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool is_regular_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string str_field(const Json& o, const char* key) {
  const Json* v = o.find(key);
  return v && v->is_string() ? v->as_string() : std::string();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  AtomicFile out(path);
  out.commit(bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), out.file()) == bytes.size());
}

}  // namespace tuner
