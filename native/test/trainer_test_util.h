// Minimal check macros for the trainer's C++ tests (each test_*.cpp is one ctest executable).
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "tuner/error.h"

namespace trainer_test {

inline int g_failures = 0;

inline void expect(bool ok, const char* what, const char* file, int line) {
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
  }
}

inline void expect_near(double got, double want, double tol, const char* what, const char* file, int line) {
  if (!(std::fabs(got - want) <= tol)) {
    ++g_failures;
    std::fprintf(stderr, "%s:%d: FAILED: %s: got %.17g, want %.17g (tol %g)\n", file, line, what, got, want, tol);
  }
}

// Runs fn, which must throw TunerError with `code` and a message containing `needle`.
inline void expect_error(const std::function<void()>& fn, const std::string& code, const std::string& needle,
                         const char* file, int line) {
  try {
    fn();
  } catch (const tuner::TunerError& e) {
    const std::string msg = e.what();
    if (e.code() != code || msg.find(needle) == std::string::npos) {
      ++g_failures;
      std::fprintf(stderr, "%s:%d: FAILED: expected [%s] containing '%s', got [%s] %s\n", file, line, code.c_str(),
                   needle.c_str(), e.code().c_str(), msg.c_str());
    }
    return;
  }
  ++g_failures;
  std::fprintf(stderr, "%s:%d: FAILED: expected error [%s] '%s', nothing thrown\n", file, line, code.c_str(), needle.c_str());
}

inline int finish(const char* name) {
  if (g_failures) {
    std::fprintf(stderr, "%s: %d failure(s)\n", name, g_failures);
    return 1;
  }
  std::printf("%s: all checks passed\n", name);
  return 0;
}

}  // namespace trainer_test

#define CHECK(cond) trainer_test::expect((cond), #cond, __FILE__, __LINE__)
#define CHECK_NEAR(got, want, tol) trainer_test::expect_near((got), (want), (tol), #got, __FILE__, __LINE__)
#define CHECK_ERROR(stmt, code, needle) trainer_test::expect_error([&] { stmt; }, code, needle, __FILE__, __LINE__)
