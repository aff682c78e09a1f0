// A small strict JSON parser and writer (RFC 8259) for config.json, safetensors headers, index
// files and adapter configs. The native build has no third-party dependency, so this is ours.
// Parse errors are TunerError("bad_json") naming the source (a file path), the byte offset,
// line:column and what was expected there.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tuner {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // keeps file order

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), b_(b) {}
  Json(double d) : type_(Type::Number), num_(d) {}
  Json(int i) : type_(Type::Number), num_(i) {}
  Json(int64_t i) : type_(Type::Number), num_(static_cast<double>(i)) {}
  Json(const char* s) : type_(Type::String), str_(s) {}
  Json(std::string s) : type_(Type::String), str_(std::move(s)) {}
  static Json array(Array a = {});
  static Json object(Object o = {});

  // Parses `text`; `source` (usually a file path) is named in errors.
  static Json parse(const std::string& text, const std::string& source);
  static Json parse_file(const std::string& path);
  // Compact when indent < 0; otherwise pretty-printed with `indent` spaces.
  std::string dump(int indent = -1) const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool as_bool() const { return b_; }
  double as_number() const { return num_; }
  const std::string& as_string() const { return str_; }
  const Array& as_array() const { return arr_; }
  Array& as_array() { return arr_; }
  const Object& as_object() const { return obj_; }

  // Object access: find returns nullptr when absent; set replaces or appends.
  const Json* find(const std::string& key) const;
  void set(const std::string& key, Json value);
  void push(Json value) { arr_.push_back(std::move(value)); }
  size_t size() const { return type_ == Type::Array ? arr_.size() : obj_.size(); }

  static const char* type_name(Type t);

 private:
  Type type_ = Type::Null;
  bool b_ = false;
  double num_ = 0;
  std::string str_;
  Array arr_;
  Object obj_;
};

// Reads a whole file; TunerError("file_not_found"/"io_error") naming it otherwise.
std::string read_text_file(const std::string& path);
// Whether path names a regular file (not a folder): optional side files of a model folder.
bool is_regular_file(const std::string& path);
// o[key] when it is a string, else "" (absent, null or another type).
std::string str_field(const Json& o, const char* key);
// Writes via `path.tmp-<pid>` then rename, so readers never see a half-written file.
void write_file_atomic(const std::string& path, const std::string& bytes);

// A JSON string literal for s: quoted, with control characters, quotes and backslashes escaped.
std::string json_quote(const std::string& s);

}  // namespace tuner
