// A stand-in for libcublasLt (no GPU, no cuBLAS on the build machines) that test_cublaslt_loader
// loads to check what the loader accepts and refuses. It exports the entry points by name with
// the real C signatures, but none of them can run a product: loading is all that is tested.
//   FAKE_CUBLASLT_VERSION: what cublasLtGetVersion() reports (default 130001, i.e. 13.0.1)
//   FAKE_CUBLASLT_OMIT_HEURISTIC: leave out cublasLtMatmulAlgoGetHeuristic (the loader must refuse it)
#include <cstddef>
#include <cstdint>

#ifndef FAKE_CUBLASLT_VERSION
#define FAKE_CUBLASLT_VERSION 130001
#endif

namespace {
constexpr int kNotSupported = 15;  // CUBLAS_STATUS_NOT_SUPPORTED
}

extern "C" {
__attribute__((visibility("default"))) size_t cublasLtGetVersion() { return FAKE_CUBLASLT_VERSION; }
__attribute__((visibility("default"))) int cublasLtCreate(void**) { return kNotSupported; }
__attribute__((visibility("default"))) int cublasLtDestroy(void*) { return 0; }
__attribute__((visibility("default"))) int cublasLtMatmulDescCreate(void**, int, int) { return kNotSupported; }
__attribute__((visibility("default"))) int cublasLtMatmulDescDestroy(void*) { return 0; }
__attribute__((visibility("default"))) int cublasLtMatmulDescSetAttribute(void*, int, const void*, size_t) { return kNotSupported; }
__attribute__((visibility("default"))) int cublasLtMatrixLayoutCreate(void**, int, uint64_t, uint64_t, int64_t) { return kNotSupported; }
__attribute__((visibility("default"))) int cublasLtMatrixLayoutDestroy(void*) { return 0; }
__attribute__((visibility("default"))) int cublasLtMatmulPreferenceCreate(void**) { return kNotSupported; }
__attribute__((visibility("default"))) int cublasLtMatmulPreferenceDestroy(void*) { return 0; }
__attribute__((visibility("default"))) int cublasLtMatmulPreferenceSetAttribute(void*, int, const void*, size_t) { return kNotSupported; }
#ifndef FAKE_CUBLASLT_OMIT_HEURISTIC
__attribute__((visibility("default"))) int cublasLtMatmulAlgoGetHeuristic(void*, void*, void*, void*, void*, void*, void*, int,
                                                                       void*, int* count) {
  *count = 0;
  return kNotSupported;
}
#endif
__attribute__((visibility("default"))) int cublasLtMatmul(void*, void*, const void*, const void*, void*, const void*, void*,
                                                       const void*, const void*, void*, void*, void*, const void*, void*,
                                                       size_t, void*) {
  return kNotSupported;
}
}
