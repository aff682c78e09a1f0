// The run-time loader of cuBLASLt (src/cuda/cublaslt_loader.h) on any machine, GPU or not:
// TUNER_CUBLASLT=off never loads it; a path that does not exist, or the default search on a
// machine without cuBLASLt, says "not found" and lists every file it tried; stand-in libraries
// built with this test (fake_cublaslt.cpp) are loaded when complete (version decoded, the file's
// path reported) and refused, naming the cause, when an entry point is missing or the version is
// older than 11. The process-wide status follows TUNER_CUBLASLT as it was at first use.
// The dispatcher's column-major form of our row-major products (cublaslt_layout.h), run through a
// loop that computes cuBLASLt's product as NVIDIA documents it, equals the row-major product
// exactly (small integers) in all four layouts with padded strides, and has the dimensions
// cuBLASLt requires of each layout.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <vector>

#include "check_macros.h"
#include "cuda/cublaslt_layout.h"
#include "cuda/cublaslt_loader.h"
#include "tuner/cuda_device.h"

using namespace tuner::cublaslt;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void print(const char* what, const Library& lib) { std::printf("%-26s %s\n", what, lib.status.c_str()); }

// cuBLASLt's D = op(A) op(B), column-major: element (i, j) of a layout is at i + j * ld.
std::vector<float> column_major_matmul(const ColumnMajorProduct& p, const std::vector<float>& A,
                                       const std::vector<float>& B, size_t c_size) {
  std::vector<float> D(c_size, -1.0f);
  for (int j = 0; j < p.n; ++j)
    for (int i = 0; i < p.m; ++i) {
      float sum = 0;
      for (int q = 0; q < p.k; ++q) {
        const float a = p.op_a == kOpN ? A[i + q * p.a.ld] : A[q + i * p.a.ld];
        const float b = p.op_b == kOpN ? B[q + j * p.b.ld] : B[j + q * p.b.ld];
        sum += a * b;
      }
      D[i + (size_t)j * p.c.ld] = sum;
    }
  return D;
}

// Our row-major product (tuner/gemm.h's conventions) against its column-major form.
void check_mapping(tuner::Trans ta, tuner::Trans tb, int M, int N, int K, int pad) {
  using tuner::Trans;
  const int a_rows = ta == Trans::N ? M : K, a_cols = ta == Trans::N ? K : M;
  const int b_rows = tb == Trans::N ? K : N, b_cols = tb == Trans::N ? N : K;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = N + pad;
  std::vector<float> A((size_t)a_rows * lda), B((size_t)b_rows * ldb);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(int(i * 7 % 11) - 5);
  for (size_t i = 0; i < B.size(); ++i) B[i] = float(int(i * 5 % 13) - 6);
  std::vector<float> want((size_t)M * ldc, -1.0f);
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < N; ++c) {
      float sum = 0;
      for (int q = 0; q < K; ++q)
        sum += (ta == Trans::N ? A[(size_t)r * lda + q] : A[(size_t)q * lda + r]) *
               (tb == Trans::N ? B[(size_t)q * ldb + c] : B[(size_t)c * ldb + q]);
      want[(size_t)r * ldc + c] = sum;
    }
  const ColumnMajorProduct p = column_major_product(ta, tb, M, N, K, lda, ldb, ldc);
  // What cuBLASLt checks: op(A) is m x k, op(B) is k x n, D is m x n, ld >= rows.
  EXPECT((p.op_a == kOpN ? p.a.rows : p.a.cols) == (uint64_t)p.m);
  EXPECT((p.op_a == kOpN ? p.a.cols : p.a.rows) == (uint64_t)p.k);
  EXPECT((p.op_b == kOpN ? p.b.rows : p.b.cols) == (uint64_t)p.k);
  EXPECT((p.op_b == kOpN ? p.b.cols : p.b.rows) == (uint64_t)p.n);
  EXPECT(p.c.rows == (uint64_t)p.m && p.c.cols == (uint64_t)p.n);
  EXPECT(p.a.ld >= (int64_t)p.a.rows && p.b.ld >= (int64_t)p.b.rows && p.c.ld >= (int64_t)p.c.rows);
  // cuBLASLt's A is our B, its B our A.
  const std::vector<float> got = column_major_matmul(p, B, A, want.size());
  if (got != want) {
    std::fprintf(stderr, "column-major form of %c%c %dx%dx%d pad %d differs from the row-major product\n",
                 ta == Trans::N ? 'N' : 'T', tb == Trans::N ? 'N' : 'T', M, N, K, pad);
    g_failures++;
  }
}

}  // namespace

// The per-shape kernel choices a resumed run restores: what gemm_choices() writes reads back as
// the same lines, lines it did not write are skipped. (No GPU needed: the choices are host state.)
void check_gemm_choices_round_trip() {
#ifdef TUNER_HAVE_CUDA
  const std::string lines =
      "0 NT 8192 2048 2048 2048 2048 2048 bf16 fp32 16 16 16 2\n"
      "0 TN 2048 2048 8192 2048 2048 2048 bf16 fp32 16 16 16 0\n";
  EXPECT(tuner::cuda_restore_gemm_choices(lines + "not a choice\n0 NN 1 2 3 4 5 6 bf16 fp32 2 2 2 9\n") == 2);
  const std::string back = tuner::cuda_gemm_choices();
  EXPECT(contains(back, "0 NT 8192 2048 2048 2048 2048 2048 bf16 fp32 16 16 16 2\n"));
  EXPECT(contains(back, "0 TN 2048 2048 8192 2048 2048 2048 bf16 fp32 16 16 16 0\n"));
  EXPECT(!contains(back, " 9\n"));
#else
  EXPECT(tuner::cuda_restore_gemm_choices("0 NT 1 1 1 1 1 1 bf16 fp32 2 2 4 1\n") == 0 && tuner::cuda_gemm_choices().empty());
#endif
}

int main() {
  check_gemm_choices_round_trip();
  const Library off = load_library("off");
  print("TUNER_CUBLASLT=off:", off);
  EXPECT(!off.loaded && off.handle == nullptr);
  EXPECT(off.status == "cuBLASLt disabled (TUNER_CUBLASLT=off)");

  const std::string missing_path = "/nonexistent/dir/libcublasLt.so.12";
  const Library missing = load_library(missing_path.c_str());
  print("TUNER_CUBLASLT=<missing>:", missing);
  EXPECT(!missing.loaded && missing.Matmul == nullptr);
  EXPECT(contains(missing.status, "cuBLASLt not loaded from TUNER_CUBLASLT=" + missing_path));
  EXPECT(contains(missing.status, "No such file"));

  // The default search: "not found" with all four names where cuBLASLt is not installed (the
  // build machines), loaded with a version >= 11 where it is.
  const Library search = load_library(nullptr);
  print("default search:", search);
  if (search.loaded) {
    EXPECT(search.version >= 11000 && search.Matmul != nullptr);
    EXPECT(contains(search.status, "loaded from /"));
  } else {
    EXPECT(contains(search.status, "cuBLASLt not found: tried "));
    EXPECT(contains(search.status, "libcublasLt.so.13; libcublasLt.so.12; libcublasLt.so.11; libcublasLt.so"));
    EXPECT(contains(search.status, "set TUNER_CUBLASLT"));
  }
  EXPECT(load_library("").status == search.status);  // empty = unset

  const Library fake = load_library(TUNER_FAKE_CUBLASLT);
  print("complete stand-in:", fake);
  EXPECT(fake.loaded && fake.version == 130001);
  EXPECT(fake.status == std::string("cuBLASLt 13.0.1 loaded from ") + TUNER_FAKE_CUBLASLT);
  EXPECT(fake.path == TUNER_FAKE_CUBLASLT);
  EXPECT(fake.Create && fake.Destroy && fake.GetVersion && fake.MatmulDescCreate && fake.MatmulDescDestroy &&
         fake.MatmulDescSetAttribute && fake.MatrixLayoutCreate && fake.MatrixLayoutDestroy &&
         fake.MatmulPreferenceCreate && fake.MatmulPreferenceDestroy && fake.MatmulPreferenceSetAttribute &&
         fake.MatmulAlgoGetHeuristic && fake.Matmul);
  if (fake.Create) {
    Handle h = nullptr;
    EXPECT(fake.Create(&h) == kStatusNotSupported);  // the stand-in's own answer: the calls reach it
  }

  const Library partial = load_library(TUNER_FAKE_CUBLASLT_PARTIAL);
  print("missing an entry point:", partial);
  EXPECT(!partial.loaded && partial.handle == nullptr && partial.Matmul == nullptr);
  EXPECT(partial.status == std::string("cuBLASLt refused: ") + TUNER_FAKE_CUBLASLT_PARTIAL +
                               " lacks cublasLtMatmulAlgoGetHeuristic (not a cuBLASLt 11 or newer); GEMMs use "
                               "Tuner's own kernels");

  const Library old = load_library(TUNER_FAKE_CUBLASLT_OLD);
  print("version 10.2.1:", old);
  EXPECT(!old.loaded && old.handle == nullptr);
  EXPECT(contains(old.status, "is cuBLASLt 10.2.1, older than 11.0"));

  EXPECT(version_text(130001) == "13.0.1");
  EXPECT(version_text(120805) == "12.8.5");
  EXPECT(version_text(11605) == "11.6.5");  // the older 11.x encoding (major * 1000)

  for (tuner::Trans ta : {tuner::Trans::N, tuner::Trans::T})
    for (tuner::Trans tb : {tuner::Trans::N, tuner::Trans::T}) {
      check_mapping(ta, tb, 3, 5, 7, 0);
      check_mapping(ta, tb, 6, 2, 9, 3);
      check_mapping(ta, tb, 1, 8, 4, 1);
    }

  // The process-wide library reads TUNER_CUBLASLT once, at first use.
  setenv("TUNER_CUBLASLT", TUNER_FAKE_CUBLASLT_PARTIAL, 1);
  const std::string status = tuner::cublaslt_status();
  EXPECT(contains(status, "lacks cublasLtMatmulAlgoGetHeuristic"));
  EXPECT(!cublaslt().loaded && &cublaslt() == &cublaslt());
  setenv("TUNER_CUBLASLT", "off", 1);
  EXPECT(tuner::cublaslt_status() == status);
  return finish("test_cublaslt_loader");
}
