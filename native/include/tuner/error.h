// Every failure the user can cause (bad file, bad config, bad plan) is a TunerError with a
// stable code, a message naming the file / tensor / field, and a hint saying what to change.
// The trainer turns it into an `error` event and a non-zero exit; nothing aborts or dumps core.
#pragma once
#include <stdexcept>
#include <string>

namespace tuner {

class TunerError : public std::runtime_error {
 public:
  TunerError(std::string code, const std::string& message, std::string hint = "")
      : std::runtime_error(message), code_(std::move(code)), hint_(std::move(hint)) {}
  const std::string& code() const { return code_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string code_;
  std::string hint_;
};

// Internal invariant check (a bug in Tuner, not in the user's input): names file:line.
#define TUNER_CHECK(cond, msg)                                                              \
  do {                                                                                      \
    if (!(cond))                                                                            \
      throw ::tuner::TunerError("internal", std::string(__FILE__) + ":" +                   \
                                                std::to_string(__LINE__) + ": " + (msg),    \
                                "This is a bug in Tuner; please report it with the log."); \
  } while (0)

}  // namespace tuner
