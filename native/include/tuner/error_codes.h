// The catalogue of every error code the engine reports (TunerError codes, the `error` events of
// tuner-train, the tools' JSON error lines, the addon's JS errors), each with the hint given
// when the place that throws has nothing more specific to say. A TunerError thrown with an
// empty hint takes its code's hint from here, so no error reaches the user without one;
// test_error_codes checks that every code thrown anywhere in native/ is listed.
#pragma once
#include <cstddef>
#include <string>

namespace tuner {

struct ErrorCodeInfo {
  const char* code;  // stable, snake_case; docs/trainer-protocol.md lists them for users
  const char* hint;  // what to change, never empty
};

extern const ErrorCodeInfo kErrorCodes[];
extern const size_t kErrorCodeCount;

// The catalogue hint of `code`; for a code missing from the catalogue (a bug the test catches),
// a generic hint rather than nothing.
const char* error_code_hint(const std::string& code);
bool is_error_code(const std::string& code);

}  // namespace tuner
