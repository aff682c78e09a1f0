// The part of NVIDIA's cuBLASLt C API that the GEMM dispatcher uses, declared here because the
// build has no cuBLAS headers (and links no cuBLAS): the library is loaded at run time
// (cublaslt_loader.h). No CUDA header is needed either, so the loader builds in a CPU-only build.
//
// Values are those of NVIDIA's public headers, checked against two copies of each:
//   cublas_api.h 12.3.4 and 11.9.2 (cublasStatus_t, cublasOperation_t, cublasComputeType_t,
//     CUBLAS_VERSION = major * 10000 + minor * 100 + patch; a copy of an earlier 11.x header has
//     major * 1000, so the loader decodes both);
//   cublasLt.h of cuBLAS 11.x and 12.x (the attribute enums, the heuristic result struct,
//     the function signatures) and NVIDIA's nvmath-python bindings generated from the CUDA 12/13
//     headers (MatmulDescAttribute TRANSA = 3, TRANSB = 4; MatmulPreferenceAttribute
//     MAX_WORKSPACE_BYTES = 1, REDUCTION_SCHEME_MASK = 3, MIN_ALIGNMENT_A..D_BYTES = 5..8);
//   library_types.h of CUDA 13.0 (cudaDataType_t; gemm_dispatch.cu static_asserts these against
//     the toolkit's header).
// Every value used has been stable since cuBLASLt 11.0; the ABI (sizes of the structs passed by
// value or array) is the same in 11, 12 and 13.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tuner::cublaslt {

using Status = int32_t;  // cublasStatus_t
constexpr Status kStatusSuccess = 0;          // CUBLAS_STATUS_SUCCESS
constexpr Status kStatusNotSupported = 15;    // CUBLAS_STATUS_NOT_SUPPORTED

using Operation = int32_t;  // cublasOperation_t
constexpr Operation kOpN = 0;  // CUBLAS_OP_N
constexpr Operation kOpT = 1;  // CUBLAS_OP_T

using DataType = int32_t;  // cudaDataType_t (library_types.h)
constexpr DataType kR32F = 0;    // CUDA_R_32F
constexpr DataType kR16F = 2;    // CUDA_R_16F
constexpr DataType kR16BF = 14;  // CUDA_R_16BF

using ComputeType = int32_t;  // cublasComputeType_t
constexpr ComputeType kCompute32F = 68;  // CUBLAS_COMPUTE_32F: fp32 accumulation, no down-conversion

using MatmulDescAttribute = int32_t;  // cublasLtMatmulDescAttributes_t; both int32_t values
constexpr MatmulDescAttribute kDescTransA = 3;  // CUBLASLT_MATMUL_DESC_TRANSA
constexpr MatmulDescAttribute kDescTransB = 4;  // CUBLASLT_MATMUL_DESC_TRANSB

using PreferenceAttribute = int32_t;  // cublasLtMatmulPreferenceAttributes_t
constexpr PreferenceAttribute kPrefMaxWorkspaceBytes = 1;  // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, uint64_t
constexpr PreferenceAttribute kPrefReductionSchemeMask = 3;  // CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, uint32_t
constexpr PreferenceAttribute kPrefMinAlignmentABytes = 5;  // CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, uint32_t
constexpr PreferenceAttribute kPrefMinAlignmentBBytes = 6;  // ..._B_BYTES
constexpr PreferenceAttribute kPrefMinAlignmentCBytes = 7;  // ..._C_BYTES
constexpr PreferenceAttribute kPrefMinAlignmentDBytes = 8;  // ..._D_BYTES

// cublasLtReductionScheme_t: how split-K partial sums are added (no split-K, 0, is always allowed).
constexpr uint32_t kReductionInplace = 1;      // CUBLASLT_REDUCTION_SCHEME_INPLACE: in C, in C's type
constexpr uint32_t kReductionComputeType = 2;  // CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE: fp32 partials in the workspace
// (CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE = 4 keeps partials in C's type, outside C.)

// Opaque handles (pointers to library-owned structs).
using Handle = struct LtContext*;                  // cublasLtHandle_t
using MatmulDesc = struct LtMatmulDescOpaque*;     // cublasLtMatmulDesc_t
using MatrixLayout = struct LtMatrixLayoutOpaque*; // cublasLtMatrixLayout_t
using MatmulPreference = struct LtPreferenceOpaque*;  // cublasLtMatmulPreference_t

// cublasLtMatmulAlgo_t: semi-opaque, 8 x uint64_t, filled by the heuristic and passed back.
struct MatmulAlgo {
  uint64_t data[8];
};

// cublasLtMatmulHeuristicResult_t.
struct HeuristicResult {
  MatmulAlgo algo;
  size_t workspaceSize;
  Status state;  // other fields are valid only when this is kStatusSuccess
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(MatmulAlgo) == 64, "cublasLtMatmulAlgo_t is 64 bytes");
static_assert(sizeof(HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes on LP64");

// The entry points, as function-pointer types. `stream` is a cudaStream_t (a pointer).
using CreateFn = Status (*)(Handle*);
using DestroyFn = Status (*)(Handle);
using GetVersionFn = size_t (*)();
using MatmulDescCreateFn = Status (*)(MatmulDesc*, ComputeType computeType, DataType scaleType);
using MatmulDescDestroyFn = Status (*)(MatmulDesc);
using MatmulDescSetAttributeFn = Status (*)(MatmulDesc, MatmulDescAttribute, const void* buf, size_t sizeInBytes);
using MatrixLayoutCreateFn = Status (*)(MatrixLayout*, DataType type, uint64_t rows, uint64_t cols, int64_t ld);
using MatrixLayoutDestroyFn = Status (*)(MatrixLayout);
using MatmulPreferenceCreateFn = Status (*)(MatmulPreference*);
using MatmulPreferenceDestroyFn = Status (*)(MatmulPreference);
using MatmulPreferenceSetAttributeFn = Status (*)(MatmulPreference, PreferenceAttribute, const void* buf,
                                                  size_t sizeInBytes);
using MatmulAlgoGetHeuristicFn = Status (*)(Handle, MatmulDesc, MatrixLayout Adesc, MatrixLayout Bdesc,
                                            MatrixLayout Cdesc, MatrixLayout Ddesc, MatmulPreference,
                                            int requestedAlgoCount, HeuristicResult results[], int* returnAlgoCount);
// D = alpha op(A) op(B) + beta C, column-major; alpha and beta point to host floats (scale type 32F).
using MatmulFn = Status (*)(Handle, MatmulDesc, const void* alpha, const void* A, MatrixLayout Adesc, const void* B,
                            MatrixLayout Bdesc, const void* beta, const void* C, MatrixLayout Cdesc, void* D,
                            MatrixLayout Ddesc, const MatmulAlgo* algo, void* workspace, size_t workspaceSizeInBytes,
                            void* stream);

}  // namespace tuner::cublaslt
