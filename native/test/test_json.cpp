// JSON parser/writer: valid documents parse to the right values and round-trip; every kind of
// malformed input is rejected with the source name, line:column and what was expected.
#include "check_macros.h"
#include <unistd.h>

#include <cstdio>

#include "tuner/json.h"

using tuner::Json;

static Json parse(const std::string& s) { return Json::parse(s, "test.json"); }

int main() {
  Json j = parse(R"( {"a": 1, "b": [true, false, null, -2.5e3, 0], "c": {"d": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}} )");
  EXPECT(j.is_object());
  EXPECT(j.find("a")->as_number() == 1);
  EXPECT(j.find("b")->size() == 5);
  EXPECT(j.find("b")->as_array()[0].as_bool());
  EXPECT(j.find("b")->as_array()[2].is_null());
  EXPECT(j.find("b")->as_array()[3].as_number() == -2500);
  EXPECT(j.find("c")->find("d")->as_string() == "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT(j.find("missing") == nullptr);
  // Round trip, compact and pretty, keeps key order and values.
  EXPECT(parse(j.dump()).dump() == j.dump());
  EXPECT(parse(j.dump(2)).dump() == j.dump());
  EXPECT(j.dump().rfind("{\"a\":1,\"b\":[", 0) == 0);
  EXPECT(Json(0.1).dump() == "0.10000000000000001" || Json(0.1).dump() == "0.1");
  EXPECT(parse(Json(1e-7).dump()).as_number() == 1e-7);
  EXPECT(Json((int64_t)1 << 40).dump() == "1099511627776");
  EXPECT(Json(std::string("a\x01")).dump() == "\"a\\u0001\"");

  // Errors name the source, line:col and what was expected.
  EXPECT_ERROR([] { parse("{\"a\": 1,}"); }, "bad_json", "test.json:1:9");
  EXPECT_ERROR([] { parse("{\"a\": 1,}"); }, "bad_json", "expected a string key");
  EXPECT_ERROR([] { parse("[1, 2,\n 3,]"); }, "bad_json", "test.json:2:4");
  EXPECT_ERROR([] { parse("{\"a\": 1, \"a\": 2}"); }, "bad_json", "duplicate \"a\"");
  EXPECT_ERROR([] { parse("\"abc"); }, "bad_json", "closing '\"'");
  EXPECT_ERROR([] { parse("\"a\\qb\""); }, "bad_json", "valid escape");
  EXPECT_ERROR([] { parse("\"\\ud800x\""); }, "bad_json", "low surrogate");
  EXPECT_ERROR([] { parse("01"); }, "bad_json", "end of input after the top-level value");
  EXPECT_ERROR([] { parse("1."); }, "bad_json", "digit after '.'");
  EXPECT_ERROR([] { parse("-"); }, "bad_json", "a digit");
  EXPECT_ERROR([] { parse("1e999"); }, "bad_json", "double range");
  EXPECT_ERROR([] { parse("NaN"); }, "bad_json", "a value");
  EXPECT_ERROR([] { parse("// c\n{}"); }, "bad_json", "a value");
  EXPECT_ERROR([] { parse(""); }, "bad_json", "found end of input");
  EXPECT_ERROR([] { parse("\"a\tb\""); }, "bad_json", "control characters");
  EXPECT_ERROR([] { parse(std::string(300, '[') + std::string(300, ']')); }, "bad_json", "nesting");
  EXPECT_ERROR([] { parse("{\"a\" 1}"); }, "bad_json", "':' after the key");
  EXPECT_ERROR([] { Json::parse_file("/nonexistent/x.json"); }, "file_not_found", "/nonexistent/x.json");

  // Atomic write: the file appears whole, no temp file is left behind.
  std::string path = "/tmp/tuner_test_json_" + std::to_string(::getpid()) + ".json";
  tuner::write_file_atomic(path, j.dump(2));
  EXPECT(Json::parse_file(path).dump() == j.dump());
  std::remove(path.c_str());
  return finish("test_json");
}
