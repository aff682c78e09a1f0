// The command-line tools' shared ending: run the tool, and report a failure as one JSON line on
// stderr ({code, message, hint}) with exit code 2 (a TunerError) or 3 (anything else), so tests
// and the extension read every tool's errors the same way.
#pragma once
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "tuner/error.h"
#include "tuner/json.h"

namespace tuner {

template <class Run>
int run_tool(Run&& run) {
  try {
    return run();
  } catch (const TunerError& e) {
    Json err = Json::object();
    err.set("code", Json(e.code()));
    err.set("message", Json(std::string(e.what())));
    err.set("hint", Json(e.hint()));
    std::fprintf(stderr, "%s\n", err.dump().c_str());
    return 2;
  } catch (const std::bad_alloc&) {
    Json err = Json::object();
    err.set("code", Json(std::string("out_of_memory")));
    err.set("message", Json(std::string("ran out of memory")));
    err.set("hint", Json(std::string(error_code_hint("out_of_memory"))));
    std::fprintf(stderr, "%s\n", err.dump().c_str());
    return 3;
  } catch (const std::exception& e) {
    Json err = Json::object();
    err.set("code", Json(std::string("internal")));
    err.set("message", Json(std::string(e.what())));
    err.set("hint", Json(std::string(error_code_hint("internal"))));
    std::fprintf(stderr, "%s\n", err.dump().c_str());
    return 3;
  }
}

}  // namespace tuner
