// Every failure the user can cause (bad file, bad config, bad plan) is a TunerError with a
// stable code, a message naming the file / tensor / field, and a hint saying what to change.
// The trainer turns it into an `error` event and a non-zero exit; nothing aborts or dumps core.
// A code thrown without a hint gets its code's hint from the catalogue (error_codes.h).
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tuner/error_codes.h"

namespace tuner {

class TunerError : public std::runtime_error {
 public:
  TunerError(std::string code, const std::string& message, std::string hint = "")
      : std::runtime_error(message), code_(std::move(code)),
        hint_(hint.empty() ? std::string(error_code_hint(code_)) : std::move(hint)) {}
  const std::string& code() const { return code_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string code_;
  std::string hint_;
};

// A number as a message shows it: the shortest text that reads back as v ("0", "1e-06", "0.5",
// "1e+12"), never std::to_string's "0.000000".
inline std::string message_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "infinity" : "-infinity";
  char buf[32];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Internal invariant check (a bug in Tuner, not in the user's input): names file:line.
#define TUNER_CHECK(cond, msg)                                                              \
  do {                                                                                      \
    if (!(cond))                                                                            \
      throw ::tuner::TunerError("internal", std::string(__FILE__) + ":" +                   \
                                                std::to_string(__LINE__) + ": " + (msg),    \
                                "This is a bug in Tuner; please report it with the log."); \
  } while (0)

}  // namespace tuner
