// Minimal assertion helpers shared by the engine's ctest executables: each failed check prints
// file:line and the expression, and main() returns the failure count (ctest fails on non-zero).
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "tuner/error.h"

static int g_failures = 0;

#define EXPECT(cond)                                                        \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: EXPECT failed: %s\n", __FILE__, __LINE__, #cond); \
      g_failures++;                                                         \
    }                                                                       \
  } while (0)

#define EXPECT_NEAR(a, b, tol)                                                                  \
  do {                                                                                          \
    double _a = (a), _b = (b);                                                                  \
    if (!(std::fabs(_a - _b) <= (tol))) {                                                       \
      std::fprintf(stderr, "%s:%d: %s = %.9g vs %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); \
      g_failures++;                                                                             \
    }                                                                                           \
  } while (0)

// Runs fn, expecting a TunerError with `code` whose message contains `needle`.
inline void expect_error(const char* file, int line, const std::function<void()>& fn, const std::string& code,
                         const std::string& needle) {
  try {
    fn();
    std::fprintf(stderr, "%s:%d: expected TunerError %s, nothing thrown\n", file, line, code.c_str());
    g_failures++;
  } catch (const tuner::TunerError& e) {
    if (e.code() != code || std::string(e.what()).find(needle) == std::string::npos) {
      std::fprintf(stderr, "%s:%d: expected %s containing \"%s\", got %s: %s\n", file, line, code.c_str(), needle.c_str(),
                   e.code().c_str(), e.what());
      g_failures++;
    }
  }
}
#define EXPECT_ERROR(fn, code, needle) expect_error(__FILE__, __LINE__, fn, code, needle)

inline int finish(const char* name) {
  if (g_failures) std::fprintf(stderr, "%s: %d failure(s)\n", name, g_failures);
  else std::printf("%s: all checks passed\n", name);
  return g_failures ? 1 : 0;
}
