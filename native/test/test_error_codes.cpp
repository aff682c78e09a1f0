// Every error the engine can report carries a hint: the catalogue (tuner/error_codes.h) gives
// every code a non-empty one, every code thrown anywhere in native/ is in the catalogue (found
// by reading the sources, so a new code cannot be added without its hint), a TunerError thrown
// with no hint of its own gets its code's, and a real bad index (thrown without a hint) shows it.
#include <dirent.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/error_codes.h"
#include "tuner/model.h"

using namespace tuner;

namespace {

// native/, from this file's own path (CMake compiles it by absolute path).
std::string native_dir() {
  std::string f = __FILE__;
  f = f.substr(0, f.rfind('/'));   // native/test
  return f.substr(0, f.rfind('/'));  // native
}

void list_sources(const std::string& dir, std::vector<std::string>* out) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) list_sources(path, out);
    else if (std::regex_search(name, std::regex(R"(\.(cpp|h|inc|cu|cuh)$)"))) out->push_back(path);
  }
  closedir(d);
}

// Codes at the places errors are raised: the first argument of TunerError(...) / StepError(step, ...)
// / throw_js(env, ...) / emit_error(sink, ...) / report(...) (a literal, or both sides of a ?:).
std::set<std::string> codes_in_sources(size_t* files) {
  std::vector<std::string> paths;
  for (const char* sub : {"src", "include", "tools", "cli", "addon"}) list_sources(native_dir() + "/" + sub, &paths);
  *files = paths.size();
  std::set<std::string> codes;
  const std::regex call(
      R"re((?:\bTunerError\(|\bStepError\([^,]+,|\bthrow_js\([^,]+,|\bemit_error\([^,]+,|\breport\(|"code", Json\(std::string\()\s*((?:[^,;()"]|"[^"]*")*))re");
  const std::regex literal(R"rx("([a-z][a-z0-9_]*)")rx");
  for (const std::string& p : paths) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    for (auto it = std::sregex_iterator(text.begin(), text.end(), call); it != std::sregex_iterator(); ++it) {
      const std::string first = (*it)[1];
      for (auto l = std::sregex_iterator(first.begin(), first.end(), literal); l != std::sregex_iterator(); ++l)
        codes.insert((*l)[1]);
    }
  }
  return codes;
}

}  // namespace

int main() {
  // The catalogue: unique codes, each with a hint that says something.
  std::set<std::string> listed;
  for (size_t i = 0; i < kErrorCodeCount; ++i) {
    const ErrorCodeInfo& c = kErrorCodes[i];
    EXPECT(listed.insert(c.code).second);
    EXPECT(std::strlen(c.hint) > 20);
    EXPECT(TunerError(c.code, "m").hint() == c.hint);
  }
  EXPECT(TunerError("bad_plan", "m", "Own hint.").hint() == "Own hint.");
  EXPECT(!std::string(error_code_hint("no_such_code")).empty());

  // Every code raised in the sources is in the catalogue (and so has a hint).
  size_t files = 0;
  const std::set<std::string> used = codes_in_sources(&files);
  EXPECT(files > 50);
  EXPECT(used.size() > 30);  // the scan itself works
  for (const char* known : {"cuda_out_of_memory", "cuda_error", "no_cuda_device", "bad_index", "truncated_file", "file_not_found", "io_error", "out_of_memory", "internal", "bad_sampler"})
    EXPECT(used.count(known));
  for (const std::string& code : used) {
    if (!is_error_code(code)) std::fprintf(stderr, "error code \"%s\" is raised in native/ but missing from error_codes.cpp\n", code.c_str());
    EXPECT(is_error_code(code));
    EXPECT(!TunerError(code, "m").hint().empty());
  }
  // Codes built at run time ("non_finite_" + what) are listed by hand.
  for (const char* built : {"non_finite_loss", "non_finite_gradient", "non_finite_eval_loss"}) EXPECT(is_error_code(built));

  // A real error raised without a hint of its own: a shard name that leaves the model folder.
  {
    TinySpec spec;
    std::string d = write_tiny_model(fresh_dir("badindex"), spec);
    std::rename((d + "/model.safetensors").c_str(), (d + "/model-00001.safetensors").c_str());
    Json wm = Json::object();
    for (const auto& kv : tiny_shapes(spec)) wm.set(kv.first, Json("../model-00001.safetensors"));
    Json index = Json::object();
    index.set("weight_map", wm);
    write_file_atomic(d + "/model.safetensors.index.json", index.dump());
    try {
      Model::load(d);
      EXPECT(!"a shard outside the folder must be refused");
    } catch (const TunerError& e) {
      EXPECT(e.code() == "bad_index");
      EXPECT(e.hint().find("model.safetensors.index.json") != std::string::npos);
    }
  }
  return finish("test_error_codes");
}
