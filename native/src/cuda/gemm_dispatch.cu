// gemm() and gemm_out_bf16(): our kernel or cuBLASLt, whichever measured faster for the shape
// (gemm_dispatch.cuh). Without cuBLASLt they are gemm_own / gemm_own_out_bf16.
#include <cuda_runtime.h>
#include <library_types.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cuda/cublaslt_layout.h"
#include "cuda/cublaslt_loader.h"
#include "cuda/cuda_check.cuh"
#include "cuda/gemm_dispatch.cuh"
#include "cuda/gemm_launch.cuh"
#include "tuner/cuda_device.h"

namespace tuner::cuda {

namespace {

namespace lt = tuner::cublaslt;

// cublaslt_api.h declares these without CUDA headers; here the toolkit's own header checks them.
static_assert(lt::kR32F == CUDA_R_32F && lt::kR16F == CUDA_R_16F && lt::kR16BF == CUDA_R_16BF,
              "cudaDataType_t values in cublaslt_api.h differ from library_types.h");

constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // per (device, stream); NVIDIA's advice for Hopper
constexpr int kCandidates = 3;                        // cuBLASLt heuristic results timed per shape
constexpr int kTimedReps = 3;                         // after one untimed warm-up run each
// cuBLASLt is chosen only when at least 5% faster than ours: a near tie keeps our kernel, so timing
// noise rarely makes two processes choose differently for the same shape.
constexpr float kRequiredGain = 0.95f;

using gemm_detail::DenseArgs;  // one product as gemm() receives it (C fp32, or bf16 when c_bf16)

// Our kernel for the product, writing `C` (p.C, or a scratch copy while timing).
void run_own(const DenseArgs& p, Half16 type, void* C, cudaStream_t stream) {
  if (p.c_bf16)
    gemm_own_out_bf16(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, static_cast<uint16_t*>(C),
                      p.ldc, stream, type);
  else
    gemm_own(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta, static_cast<float*>(C), p.ldc,
             stream, type);
}

// The alignment cuBLASLt may assume for an operand: the largest power of two (up to 256 bytes)
// dividing its address and its row stride in bytes, so every row starts that aligned.
uint32_t alignment(const void* p, int ld, int elem_bytes) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p) | (uintptr_t(ld) * uintptr_t(elem_bytes)) | uintptr_t{256};
  return uint32_t(v & (~v + 1));
}

// What a decision is cached under: everything cuBLASLt's choice of algorithm depends on.
struct Shape {
  int device;
  Trans ta, tb;
  int M, N, K, lda, ldb, ldc;
  Half16 type;
  bool c_bf16;
  uint32_t align_a, align_b, align_c;
  auto tie() const {
    return std::tie(device, ta, tb, M, N, K, lda, ldb, ldc, type, c_bf16, align_a, align_b, align_c);
  }
  bool operator<(const Shape& o) const { return tie() < o.tie(); }
};

Shape shape_of(const DenseArgs& p, Half16 type, int device) {
  return Shape{device, p.ta, p.tb, p.M, p.N, p.K, p.lda, p.ldb, p.ldc, type, p.c_bf16,
               alignment(p.A, p.lda, 2), alignment(p.B, p.ldb, 2), alignment(p.C, p.ldc, p.c_bf16 ? 2 : 4)};
}

// cuBLASLt's descriptors and heuristic candidates for one shape (built once, kept for the process).
struct LtPlan {
  lt::MatmulDesc desc = nullptr;
  lt::MatrixLayout a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A (our B), B (our A), C = D
  std::vector<lt::HeuristicResult> algos;                   // best first; empty: cuBLASLt has none
  std::string why_none;
};

constexpr int kUndecided = -1, kOwn = 0;  // Entry::choice; k >= 1 is cuBLASLt's candidate k - 1

struct Entry {
  bool planned = false;
  LtPlan plan;
  int choice = kUndecided;
};

struct State {
  std::mutex mu;
  std::map<Shape, Entry> entries;
  std::map<int, lt::Handle> handles;  // per device; nullptr: cublasLtCreate failed there
  std::map<std::pair<int, cudaStream_t>, void*> workspaces;  // nullptr: could not be allocated
  std::function<void(const std::string&)> listener;
};

State& state() {
  static State* s = new State;  // never destroyed: GPU work may outlive static destructors
  return *s;
}

void log_line(State& st, const std::string& line) {
  if (st.listener) {
    st.listener(line);
    return;
  }
  static const bool to_stderr = [] {
    const char* v = std::getenv("TUNER_GEMM_LOG");
    return v && std::strcmp(v, "1") == 0;
  }();
  if (to_stderr) std::fprintf(stderr, "%s\n", line.c_str());
}

std::string describe(const Shape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "gemm %c,%c %dx%dx%d %s->%s (ld %d,%d,%d)", s.ta == Trans::T ? 'T' : 'N',
                s.tb == Trans::T ? 'T' : 'N', s.M, s.N, s.K, s.type == Half16::BF16 ? "bf16" : "fp16",
                s.c_bf16 ? "bf16" : "fp32", s.lda, s.ldb, s.ldc);
  return buf;
}

lt::Handle handle_for(State& st, const lt::Library& L, int device) {
  auto it = st.handles.find(device);
  if (it != st.handles.end()) return it->second;
  lt::Handle h = nullptr;
  const lt::Status rc = L.Create(&h);
  if (rc != lt::kStatusSuccess) {
    h = nullptr;
    log_line(st, "cublasLtCreate failed on device " + std::to_string(device) + " (cuBLAS status " +
                     std::to_string(rc) + "): GEMMs there use Tuner's own kernels");
  }
  st.handles[device] = h;
  return h;
}

void* workspace_for(State& st, int device, cudaStream_t stream) {
  const auto key = std::make_pair(device, stream);
  auto it = st.workspaces.find(key);
  if (it != st.workspaces.end()) return it->second;
  void* ws = nullptr;
  if (cudaMalloc(&ws, kWorkspaceBytes) != cudaSuccess) {
    (void)cudaGetLastError();  // out of memory is not sticky; clear it so later checks do not see it
    ws = nullptr;
  }
  st.workspaces[key] = ws;
  return ws;
}

// cuBLASLt's descriptors for the shape, in the column-major form of cublaslt_layout.h.
void make_plan(const lt::Library& L, lt::Handle h, const Shape& s, LtPlan& plan) {
  auto fail = [&](const char* what, lt::Status rc) {
    plan.why_none = std::string(what) + " failed (cuBLAS status " + std::to_string(rc) + ")";
  };
  const lt::DataType in = s.type == Half16::BF16 ? lt::kR16BF : lt::kR16F, out = s.c_bf16 ? lt::kR16BF : lt::kR32F;
  const lt::ColumnMajorProduct cm = lt::column_major_product(s.ta, s.tb, s.M, s.N, s.K, s.lda, s.ldb, s.ldc);
  lt::Status rc;
  if ((rc = L.MatmulDescCreate(&plan.desc, lt::kCompute32F, lt::kR32F)) != lt::kStatusSuccess)
    return fail("cublasLtMatmulDescCreate", rc);
  if ((rc = L.MatmulDescSetAttribute(plan.desc, lt::kDescTransA, &cm.op_a, sizeof cm.op_a)) != lt::kStatusSuccess ||
      (rc = L.MatmulDescSetAttribute(plan.desc, lt::kDescTransB, &cm.op_b, sizeof cm.op_b)) != lt::kStatusSuccess)
    return fail("cublasLtMatmulDescSetAttribute", rc);
  if ((rc = L.MatrixLayoutCreate(&plan.a, in, cm.a.rows, cm.a.cols, cm.a.ld)) != lt::kStatusSuccess ||
      (rc = L.MatrixLayoutCreate(&plan.b, in, cm.b.rows, cm.b.cols, cm.b.ld)) != lt::kStatusSuccess ||
      (rc = L.MatrixLayoutCreate(&plan.c, out, cm.c.rows, cm.c.cols, cm.c.ld)) != lt::kStatusSuccess)
    return fail("cublasLtMatrixLayoutCreate", rc);
  lt::MatmulPreference pref = nullptr;
  if ((rc = L.MatmulPreferenceCreate(&pref)) != lt::kStatusSuccess) return fail("cublasLtMatmulPreferenceCreate", rc);
  const uint64_t max_ws = kWorkspaceBytes;
  const uint32_t align_a = s.align_b, align_b = s.align_a, align_c = s.align_c;  // cuBLASLt's A is our B
  // A bf16 C is rounded once, as ours is: split-K partial sums stay fp32 (never added in C's bf16).
  const uint32_t reductions = s.c_bf16 ? lt::kReductionComputeType : lt::kReductionComputeType | lt::kReductionInplace;
  lt::HeuristicResult results[kCandidates] = {};
  int n = 0;
  if ((rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefMaxWorkspaceBytes, &max_ws, sizeof max_ws)) !=
          lt::kStatusSuccess ||
      (rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefReductionSchemeMask, &reductions, sizeof reductions)) !=
          lt::kStatusSuccess ||
      (rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefMinAlignmentABytes, &align_a, sizeof align_a)) !=
          lt::kStatusSuccess ||
      (rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefMinAlignmentBBytes, &align_b, sizeof align_b)) !=
          lt::kStatusSuccess ||
      (rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefMinAlignmentCBytes, &align_c, sizeof align_c)) !=
          lt::kStatusSuccess ||
      (rc = L.MatmulPreferenceSetAttribute(pref, lt::kPrefMinAlignmentDBytes, &align_c, sizeof align_c)) !=
          lt::kStatusSuccess) {
    L.MatmulPreferenceDestroy(pref);
    return fail("cublasLtMatmulPreferenceSetAttribute", rc);
  }
  rc = L.MatmulAlgoGetHeuristic(h, plan.desc, plan.a, plan.b, plan.c, plan.c, pref, kCandidates, results, &n);
  L.MatmulPreferenceDestroy(pref);
  if (rc != lt::kStatusSuccess) return fail("cublasLtMatmulAlgoGetHeuristic", rc);
  for (int i = 0; i < n && i < kCandidates; ++i)
    if (results[i].state == lt::kStatusSuccess && results[i].workspaceSize <= kWorkspaceBytes)
      plan.algos.push_back(results[i]);
  if (plan.algos.empty()) plan.why_none = "cuBLASLt has no algorithm for it";
}

lt::Status run_lt(const lt::Library& L, lt::Handle h, const LtPlan& plan, int candidate, const DenseArgs& p, void* C,
                  void* workspace, cudaStream_t stream) {
  // cuBLASLt's A is our B and its B our A (cublaslt_layout.h); C is read (beta != 0) and written in place.
  return L.Matmul(h, plan.desc, &p.alpha, p.B, plan.a, p.A, plan.b, &p.beta, C, plan.c, C, plan.c,
                  &plan.algos[candidate].algo, workspace, kWorkspaceBytes, stream);
}

Entry& planned_entry(State& st, const lt::Library& L, lt::Handle h, const Shape& s) {
  Entry& e = st.entries[s];
  if (!e.planned) {
    e.planned = true;
    if (h) make_plan(L, h, s, e.plan);
    else e.plan.why_none = "no cuBLASLt handle on this device";
  }
  return e;
}

// Times our kernel and each cuBLASLt candidate on `stream` and sets e.choice to the fastest.
void decide(State& st, const lt::Library& L, lt::Handle h, const Shape& s, Entry& e, const DenseArgs& p, void* workspace,
            cudaStream_t stream) {
  if (e.plan.algos.empty() || !workspace) {
    e.choice = kOwn;
    log_line(st, describe(s) + ": ours (" + (workspace ? e.plan.why_none : "no memory for cuBLASLt's workspace") + ")");
    return;
  }
  // beta != 0 reads C: time on a copy, so that C is updated once, by the real call.
  void* target = p.C;
  void* scratch = nullptr;
  if (p.beta != 0.0f) {
    const size_t bytes = ((size_t)(p.M - 1) * p.ldc + p.N) * (p.c_bf16 ? 2 : 4);
    if (cudaMalloc(&scratch, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      e.choice = kOwn;
      log_line(st, describe(s) + ": ours (no memory for a copy of C to time cuBLASLt on)");
      return;
    }
    TUNER_CUDA_CHECK(cudaMemcpyAsync(scratch, p.C, bytes, cudaMemcpyDeviceToDevice, stream));
    target = scratch;
  }
  cudaEvent_t start, stop;
  TUNER_CUDA_CHECK(cudaEventCreate(&start));
  TUNER_CUDA_CHECK(cudaEventCreate(&stop));
  // Milliseconds per run of candidate k (0 = ours), or -1 when cuBLASLt refuses to run it.
  auto time_ms = [&](int k) -> float {
    auto once = [&]() -> bool {
      if (k == kOwn) {
        run_own(p, s.type, target, stream);
        return true;
      }
      return run_lt(L, h, e.plan, k - 1, p, target, workspace, stream) == lt::kStatusSuccess;
    };
    if (!once()) return -1.0f;
    TUNER_CUDA_CHECK(cudaEventRecord(start, stream));
    for (int r = 0; r < kTimedReps; ++r) once();
    TUNER_CUDA_CHECK(cudaEventRecord(stop, stream));
    TUNER_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    TUNER_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms / kTimedReps;
  };
  std::string line = describe(s) + ": ours ";
  int best = kOwn;
  float best_ms = 0;
  char num[32];
  for (int k = 0; k <= (int)e.plan.algos.size(); ++k) {
    const float ms = time_ms(k);
    if (k == kOwn) {
      best_ms = ms * kRequiredGain;
      std::snprintf(num, sizeof num, "%.3f ms", ms);
      line += num;
      line += ", cuBLASLt";
      continue;
    }
    if (ms < 0) {
      line += " refused";
      continue;
    }
    std::snprintf(num, sizeof num, " %.3f", ms);
    line += num;
    if (ms < best_ms) {
      best = k;
      best_ms = ms;
    }
  }
  TUNER_CUDA_CHECK(cudaEventDestroy(start));
  TUNER_CUDA_CHECK(cudaEventDestroy(stop));
  if (scratch) TUNER_CUDA_CHECK(cudaFree(scratch));  // synchronizes: the timed runs are done with it
  e.choice = best;
  line += " ms -> ";
  line += best == kOwn ? "ours" : "cuBLASLt candidate " + std::to_string(best);
  log_line(st, line);
}

// Our kernel, or cuBLASLt where it measured faster for this shape.
void dispatch(const DenseArgs& p, Half16 type, cudaStream_t stream) {
  const lt::Library& L = lt::cublaslt();
  // K = 0 (C = beta C) and empty products stay with our kernel, which handles them without a launch
  // of a GEMM; so does every product when cuBLASLt is not loaded.
  if (!L.loaded || p.M <= 0 || p.N <= 0 || p.K <= 0) return run_own(p, type, p.C, stream);
  gemm_detail::check_dense_shape(p.ta, p.tb, p.M, p.N, p.K, p.lda, p.ldb, p.ldc);
  auto own = [&] { run_own(p, type, p.C, stream); };
  int device = 0;
  TUNER_CUDA_CHECK(cudaGetDevice(&device));
  const Shape s = shape_of(p, type, device);
  State& st = state();
  std::unique_lock<std::mutex> lock(st.mu);
  auto it = st.entries.find(s);
  if (it == st.entries.end() || it->second.choice == kUndecided) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(stream, &capture) != cudaSuccess || capture != cudaStreamCaptureStatusNone) {
      (void)cudaGetLastError();
      lock.unlock();
      return own();  // timing would break the capture; decide on a later, uncaptured call
    }
    const lt::Handle h = handle_for(st, L, device);
    Entry& e = planned_entry(st, L, h, s);
    decide(st, L, h, s, e, p, h ? workspace_for(st, device, stream) : nullptr, stream);
    it = st.entries.find(s);
  }
  Entry& e = it->second;
  if (e.choice != kOwn && !e.planned) {  // restored by restore_gemm_choices: plan it now
    planned_entry(st, L, handle_for(st, L, device), s);
    if (e.choice - 1 >= (int)e.plan.algos.size()) {
      e.choice = kOwn;
      log_line(st, describe(s) + ": the restored cuBLASLt candidate is not offered here; ours from now on");
    }
  }
  if (e.choice == kOwn) {
    lock.unlock();
    return own();
  }
  const lt::Handle h = st.handles[device];
  void* ws = workspace_for(st, device, stream);
  const int candidate = e.choice - 1;
  lock.unlock();
  const lt::Status rc = ws ? run_lt(L, h, e.plan, candidate, p, p.C, ws, stream) : lt::kStatusNotSupported;
  if (rc == lt::kStatusSuccess) return;
  lock.lock();
  e.choice = kOwn;
  log_line(st, describe(s) + ": cuBLASLt " + (ws ? "failed (cuBLAS status " + std::to_string(rc) + ")"
                                                 : "has no workspace on this stream") +
                   "; ours from now on");
  lock.unlock();
  own();
}

}  // namespace

void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
          int ldb, float beta, float* C, int ldc, cudaStream_t stream, Half16 type) {
  dispatch(DenseArgs{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, false}, type, stream);
}

void gemm_out_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
                   const uint16_t* B, int ldb, float beta, uint16_t* C, int ldc, cudaStream_t stream, Half16 type) {
  dispatch(DenseArgs{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, true}, type, stream);
}

bool gemm_cublaslt(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
                   int ldb, float beta, void* C, int ldc, bool c_bf16, cudaStream_t stream, Half16 type) {
  const lt::Library& L = lt::cublaslt();
  if (!L.loaded || M <= 0 || N <= 0 || K <= 0) return false;
  gemm_detail::check_dense_shape(ta, tb, M, N, K, lda, ldb, ldc);
  const DenseArgs p{ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, c_bf16};
  int device = 0;
  TUNER_CUDA_CHECK(cudaGetDevice(&device));
  State& st = state();
  std::unique_lock<std::mutex> lock(st.mu);
  const lt::Handle h = handle_for(st, L, device);
  if (!h) return false;
  Entry& e = planned_entry(st, L, h, shape_of(p, type, device));
  void* ws = workspace_for(st, device, stream);
  lock.unlock();
  return ws && !e.plan.algos.empty() && run_lt(L, h, e.plan, 0, p, C, ws, stream) == lt::kStatusSuccess;
}

std::string gemm_choices() {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  std::string out;
  char line[200];
  for (const auto& [s, e] : st.entries) {
    if (e.choice == kUndecided) continue;
    std::snprintf(line, sizeof line, "%d %c%c %d %d %d %d %d %d %s %s %u %u %u %d\n", s.device, s.ta == Trans::T ? 'T' : 'N',
                  s.tb == Trans::T ? 'T' : 'N', s.M, s.N, s.K, s.lda, s.ldb, s.ldc,
                  s.type == Half16::BF16 ? "bf16" : "fp16", s.c_bf16 ? "bf16" : "fp32", s.align_a, s.align_b, s.align_c,
                  e.choice);
    out += line;
  }
  return out;
}

int restore_gemm_choices(const std::string& text) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  int restored = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    Shape s{};
    char ta = 0, tb = 0, in[8] = {0}, out[8] = {0};
    int choice = kUndecided;
    const int got = std::sscanf(line.c_str(), "%d %c%c %d %d %d %d %d %d %7s %7s %u %u %u %d", &s.device, &ta, &tb, &s.M,
                                &s.N, &s.K, &s.lda, &s.ldb, &s.ldc, in, out, &s.align_a, &s.align_b, &s.align_c, &choice);
    if (got != 15 || choice < kOwn || choice > kCandidates) continue;  // not a line gemm_choices() writes
    s.ta = ta == 'T' ? Trans::T : Trans::N;
    s.tb = tb == 'T' ? Trans::T : Trans::N;
    s.type = std::strcmp(in, "fp16") == 0 ? Half16::F16 : Half16::BF16;
    s.c_bf16 = std::strcmp(out, "bf16") == 0;
    st.entries[s].choice = choice;
    ++restored;
  }
  return restored;
}

void set_gemm_choice_listener(std::function<void(const std::string&)> listener) {
  State& st = state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.listener = std::move(listener);
}

}  // namespace tuner::cuda

namespace tuner {
std::string cuda_gemm_choices() { return cuda::gemm_choices(); }
int cuda_restore_gemm_choices(const std::string& text) { return cuda::restore_gemm_choices(text); }
}  // namespace tuner
