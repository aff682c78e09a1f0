// cuBLASLt loaded with dlopen (cublaslt_loader.h). Part of tuner_core (a .cpp, no CUDA types),
// so a CPU-only build has it too and test_cublaslt_loader runs on every machine.
#include "cuda/cublaslt_loader.h"

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "comm/communicator.h"

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define TUNER_HAVE_DLOPEN 1
#endif

namespace tuner::cublaslt {

namespace {

#ifdef TUNER_HAVE_DLOPEN
// Resolves every entry point; the first that is missing is named in *missing.
bool resolve(Library& lib, std::string* missing) {
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    if (!ok) return;
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib.handle, name));
    if (!fn) {
      ok = false;
      *missing = name;
    }
  };
  sym(lib.GetVersion, "cublasLtGetVersion");
  sym(lib.Create, "cublasLtCreate");
  sym(lib.Destroy, "cublasLtDestroy");
  sym(lib.MatmulDescCreate, "cublasLtMatmulDescCreate");
  sym(lib.MatmulDescDestroy, "cublasLtMatmulDescDestroy");
  sym(lib.MatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute");
  sym(lib.MatrixLayoutCreate, "cublasLtMatrixLayoutCreate");
  sym(lib.MatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy");
  sym(lib.MatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate");
  sym(lib.MatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy");
  sym(lib.MatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute");
  sym(lib.MatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic");
  sym(lib.Matmul, "cublasLtMatmul");
  return ok;
}

// The file the library was loaded from (the dynamic loader's resolved path for a bare soname).
std::string loaded_path(const Library& lib, const char* fallback) {
  Dl_info info{};
  if (lib.GetVersion && ::dladdr(reinterpret_cast<void*>(lib.GetVersion), &info) && info.dli_fname)
    return info.dli_fname;
  return fallback;
}
#endif

constexpr const char* kHint =
    " on the loader's search path (set TUNER_CUBLASLT to the path of a libcublasLt.so to use one elsewhere)";

}  // namespace

std::string version_text(size_t v) {
  // 12.x and 13.x: major * 10000 + minor * 100 + patch; earlier 11.x: major * 1000 + ...
  const size_t major = v >= 100000 ? v / 10000 : v / 1000;
  const size_t minor = v >= 100000 ? v / 100 % 100 : v / 100 % 10;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(v % 100);
}

Library load_library(const char* setting) {
  Library lib;
  const std::string set = setting ? setting : "";
  if (set == "off") {
    lib.status = "cuBLASLt disabled (TUNER_CUBLASLT=off)";
    return lib;
  }
#ifndef TUNER_HAVE_DLOPEN
  lib.status = "cuBLASLt not loaded: run-time loading is implemented for Linux only";
  return lib;
#else
  static const char* const kDefault[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11",
                                         "libcublasLt.so", nullptr};
  const char* const explicit_names[] = {set.c_str(), nullptr};
  const char* const* names = set.empty() ? kDefault : explicit_names;
  std::string why;
  lib.handle = open_library(names, &why);
  if (!lib.handle) {
    if (set.empty()) {
      // dlerror's "<name>: cannot open shared object file: No such file or directory" per name,
      // shortened to the names; any other error (a broken or foreign library) is kept in full.
      const std::string no_file = ": cannot open shared object file: No such file or directory";
      for (size_t at; (at = why.find(no_file)) != std::string::npos;) why.erase(at, no_file.size());
      lib.status = "cuBLASLt not found: tried " + why + kHint;
    } else {
      lib.status = "cuBLASLt not loaded from TUNER_CUBLASLT=" + set + ": " + why;
    }
    return lib;
  }
  std::string missing;
  const bool complete = resolve(lib, &missing);
  const std::string path = loaded_path(lib, set.empty() ? "the loader's search path" : set.c_str());
  auto refuse = [&](const std::string& what) {
    ::dlclose(lib.handle);
    Library refused;
    refused.status = "cuBLASLt refused: " + path + " " + what + "; GEMMs use Tuner's own kernels";
    return refused;
  };
  if (!complete) return refuse("lacks " + missing + " (not a cuBLASLt 11 or newer)");
  lib.version = lib.GetVersion();
  if (lib.version < 11000) return refuse("is cuBLASLt " + version_text(lib.version) + ", older than 11.0");
  lib.path = path;
  lib.loaded = true;
  lib.status = "cuBLASLt " + version_text(lib.version) + " loaded from " + path;
  return lib;
#endif
}

const Library& cublaslt() {
  // Never destroyed: GPU work may still use it while static destructors run at exit.
  static const Library* lib = new Library(load_library(std::getenv("TUNER_CUBLASLT")));
  return *lib;
}

}  // namespace tuner::cublaslt

namespace tuner {
const char* cublaslt_status() { return cublaslt::cublaslt().status.c_str(); }
}  // namespace tuner
