// cuBLASLt, loaded at run time with dlopen when the user's machine has it, so that the GEMM
// dispatcher (gemm_dispatch.cu) can pick, per shape, whichever of cuBLASLt and our own kernels is
// faster. The engine never links cuBLAS: without the library (or with TUNER_CUBLASLT=off) every
// product runs on our kernels. Plain C++ without CUDA types, so it builds (and its tests run) in
// a CPU-only build too.
//
// Where it looks (TUNER_CUBLASLT unset or empty): libcublasLt.so.13, .so.12, .so.11, then
// libcublasLt.so, through the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache).
// TUNER_CUBLASLT=off never loads it; TUNER_CUBLASLT=<path> loads that file only.
#pragma once
#include <cstddef>
#include <string>

#include "cuda/cublaslt_api.h"

namespace tuner::cublaslt {

// The resolved entry points of one loaded library, or why there are none.
struct Library {
  bool loaded = false;
  std::string status;  // "cuBLASLt 13.0.1 loaded from /usr/lib/.../libcublasLt.so.13", "cuBLASLt not found: ..."
  std::string path;    // the file it was loaded from
  size_t version = 0;  // cublasLtGetVersion(), e.g. 130001
  void* handle = nullptr;  // dlopen's handle, kept open for the life of the process

  CreateFn Create = nullptr;
  DestroyFn Destroy = nullptr;
  GetVersionFn GetVersion = nullptr;
  MatmulDescCreateFn MatmulDescCreate = nullptr;
  MatmulDescDestroyFn MatmulDescDestroy = nullptr;
  MatmulDescSetAttributeFn MatmulDescSetAttribute = nullptr;
  MatrixLayoutCreateFn MatrixLayoutCreate = nullptr;
  MatrixLayoutDestroyFn MatrixLayoutDestroy = nullptr;
  MatmulPreferenceCreateFn MatmulPreferenceCreate = nullptr;
  MatmulPreferenceDestroyFn MatmulPreferenceDestroy = nullptr;
  MatmulPreferenceSetAttributeFn MatmulPreferenceSetAttribute = nullptr;
  MatmulAlgoGetHeuristicFn MatmulAlgoGetHeuristic = nullptr;
  MatmulFn Matmul = nullptr;
};

// Loads cuBLASLt as TUNER_CUBLASLT's value `setting` says (nullptr or "": the default search,
// "off": not at all, anything else: that path). A library that lacks one of the entry points, or
// reports a version older than 11, is refused (closed again) and `status` names what it lacks.
// Never throws. The process-wide library is cublaslt(); this is for tests.
Library load_library(const char* setting);

// The process's cuBLASLt, loaded on first use as TUNER_CUBLASLT says (thread-safe, never unloaded).
const Library& cublaslt();

// "13.0.1" from 130001 (cuBLAS 11.x also used major * 1000 + minor * 100 + patch).
std::string version_text(size_t version);

}  // namespace tuner::cublaslt

namespace tuner {
// One line on the process's cuBLASLt for tuner-cuda-info and the hardware probe:
// "cuBLASLt 13.0.1 loaded from ...", "cuBLASLt not found: tried ...", "cuBLASLt disabled (TUNER_CUBLASLT=off)".
const char* cublaslt_status();
}  // namespace tuner
