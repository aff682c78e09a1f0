// gemm_bf16's driver: blocks and threads the product with sgemm's loop nest (blocked_gemm in
// gemm_tasks.h: B panel kc x nc shared by the threads, A block mc x kc per thread, register
// tiles MR x NR), with one of two packed formats:
//   pairs  bf16 k pairs in 32-bit elements, for the vdpbf16ps kernel (gemm_bf16_internal.h);
//   f32    the values widened to f32 in sgemm's sliver layout, for sgemm's own micro-kernel on
//          CPUs without bf16 instructions. Widening is exact, and every product of two bf16
//          values is exact in f32, so the fallback computes what the bf16 kernel does up to
//          the order of the f32 sums.
// Threads split C by whole slivers, never K: results are the same for any thread count.
#include "tuner/gemm_bf16.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cpu/gemm_bf16_internal.h"
#include "kernels/cpu/gemm_internal.h"
#include "kernels/cpu/gemm_tasks.h"
#include "tuner/cpu_features.h"
#include "tuner/dtype.h"
#include "tuner/error.h"
#include "tuner/threadpool.h"

namespace tuner {

void round_to_bf16_generic(uint16_t* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

namespace {

// The kernel a product runs: the vdpbf16ps one (native: the pairs format and its packers), or
// sgemm's for this CPU (native null: the f32 format).
struct Bf16Plan {
  const GemmBf16Kernel* native;
  int mr, nr, mc, kc, nc;
  GemmMicroKernel micro_f32;
};

Bf16Plan plan_for(const GemmBf16Kernel* native, const GemmKernel& f32) {
  if (native)
    return {native, native->mr, native->nr, native->mc, native->kc, native->nc, nullptr};
  return {nullptr, f32.mr, f32.nr, f32.mc, f32.kc, f32.nc, f32.micro};
}

const GemmBf16Kernel* native_kernel() {
  static const GemmBf16Kernel* k = [] () -> const GemmBf16Kernel* {
    const CpuFeatures& f = cpu_features();
    if (f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl) return &gemm_bf16_kernel_avx512bf16();
    return nullptr;
  }();
  return k;
}

// f32 -> bf16 rounding on this CPU: the bf16 kernel's vector code, else the portable loop.
RoundToBf16Kernel round_kernel() { return native_kernel() ? native_kernel()->round : round_to_bf16_generic; }

// Packing buffers: sgemm's per-thread scratch (gemm_scratch), 4-byte elements either way. A
// product never runs sgemm inside gemm_bf16, so the two never hold the same buffer at once.
uint32_t* pack_buffer(GemmScratch slot, size_t elems) { return reinterpret_cast<uint32_t*>(gemm_scratch(slot, elems)); }

// One operand as the packers read it: element (x, k) of op(X) for x along M (A) or N (B).
// k_contiguous: X stored with k along its rows (A not transposed, B transposed).
// Either bf16 (p) or f32 (f, rounded to bf16 as it is packed: the products of rounding first).
struct Operand {
  const uint16_t* p;
  const float* f;
  int64_t ld;
  bool k_contiguous;
  int64_t offset(int x, int k) const { return k_contiguous ? int64_t(x) * ld + k : int64_t(k) * ld + x; }
};

inline uint32_t bf16_bits(uint16_t v) { return v; }
inline uint32_t bf16_bits(float v) { return f32_to_bf16(v); }

// k pairs per block of rows in which pack_pairs reads an operand stored with k across its rows.
constexpr int kRowBlockPairs = 64;

// The pairs format through the kernel's vector packers (f32 values rounded as they are packed,
// as f32_to_bf16 rounds but subnormals read as zero, as the kernel reads them), sliver s at
// dst + s * stride. An operand with k along its lines is packed one sliver at a time (each line
// one run). One with k across its rows (dY^T and X of the weight gradients, whose rows are 2 KiB
// or more apart) goes a block of 2 * kRowBlockPairs rows at a time across all the slivers, so
// that each row's part is read in one run that hardware prefetch follows from memory, where a
// step meets these operands; sliver by sliver, each row was read in pieces of W values, and the
// weight gradients of the 512 x 512 projections ran at 0.77-0.80x their speed from cache against
// 0.87-0.93x now (`tuner-bench-gemm-bf16`, "from memory"). The same words either way.
void pack_pairs(uint32_t* dst, int64_t stride, const GemmBf16Kernel& kern, const Operand& X, int W, int x0, int n,
                int s0, int s1, int p0, int kc) {
  if (!X.k_contiguous) {
    for (int q0 = 0; 2 * q0 < kc; q0 += kRowBlockPairs) {
      const int rows = std::min(2 * kRowBlockPairs, kc - 2 * q0);
      for (int s = s0; s < s1; ++s) {
        uint32_t* out = dst + s * stride + int64_t(q0) * W;
        const int first = s * W, lines = std::min(W, n - first);
        const int64_t at = X.offset(x0 + first, p0 + 2 * q0);
        if (X.f) kern.round_pairs(out, W, X.f + at, X.ld, lines, rows);
        else kern.pair_rows_bf16(out, W, X.p + at, X.ld, lines, rows);
      }
    }
    return;
  }
  for (int s = s0; s < s1; ++s) {
    uint32_t* out = dst + s * stride;
    const int first = s * W, lines = std::min(W, n - first);
    const int64_t at = X.offset(x0 + first, p0);
    if (X.f) kern.pack_kmajor_f32(out, W, X.f + at, X.ld, lines, kc);
    else kern.pack_kmajor_bf16(out, W, X.p + at, X.ld, lines, kc);
  }
}

// The f32 format: slivers of W (= MR or NR) lines x0 + s * W .. of op(X), k in [p0, p0 + kc),
// each value rounded to bf16 (S = float) and widened, sliver s at dst + s * stride. Lines at or
// past n are zero.
template <class S>
void pack_widened(float* dst, int64_t stride, const S* base, const Operand& X, int W, int x0, int n, int s0, int s1,
                  int p0, int kc) {
  for (int s = s0; s < s1; ++s) {
    float* o = dst + s * stride;
    const int first = s * W, lines = std::min(W, n - first);
    if (X.k_contiguous) {
      for (int x = 0; x < lines; ++x) {
        const S* src = base + X.offset(x0 + first + x, p0);
        for (int k = 0; k < kc; ++k) o[int64_t(k) * W + x] = bits_to_f32(bf16_bits(src[k]) << 16);
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const S* src = base + X.offset(x0 + first, p0 + k);
        for (int x = 0; x < lines; ++x) o[int64_t(k) * W + x] = bits_to_f32(bf16_bits(src[x]) << 16);
      }
    }
    for (int k = 0; k < kc; ++k)
      for (int x = lines; x < W; ++x) o[int64_t(k) * W + x] = 0.0f;
  }
}

int kdim(const Bf16Plan& plan, int kc) { return plan.native ? (kc + 1) / 2 : kc; }

void pack_part(uint32_t* dst, int64_t stride, const Bf16Plan& plan, const Operand& X, int W, int x0, int n, int s0,
               int s1, int p0, int kc) {
  float* widened = reinterpret_cast<float*>(dst);
  if (plan.native) pack_pairs(dst, stride, *plan.native, X, W, x0, n, s0, s1, p0, kc);
  else if (X.f) pack_widened(widened, stride, X.f, X, W, x0, n, s0, s1, p0, kc);
  else pack_widened(widened, stride, X.p, X, W, x0, n, s0, s1, p0, kc);
}

// Slivers [s0, s1) of k [p0, p0 + kc) of the product, sliver s at dst + s * W * kdim(kc): k below
// K0 from X, from K0 on from the tail operand X2 (its k from 0). K0 is even, and so is a k block's
// start, so no k pair spans the two operands.
void pack(uint32_t* dst, const Bf16Plan& plan, const Operand& X, const Operand& X2, int K0, int W, int x0, int n,
          int s0, int s1, int p0, int kc) {
  const int64_t stride = int64_t(W) * kdim(plan, kc);
  const int head = std::clamp(K0 - p0, 0, kc);
  if (head > 0) pack_part(dst, stride, plan, X, W, x0, n, s0, s1, p0, head);
  if (head < kc)
    pack_part(dst + int64_t(W) * kdim(plan, head), stride, plan, X2, W, x0, n, s0, s1, std::max(0, p0 - K0), kc - head);
}

// K runs over K0 k of A and B, then K - K0 of the tail operands A2 and B2.
struct Problem {
  Bf16Plan plan;
  int M, N, K, K0;
  float alpha;
  Operand A, B, A2, B2;
  float* C;
  int64_t ldc;
};

void micro(const Problem& p, int kc, const uint32_t* a, const uint32_t* b, float* c, int mr, int nr, float beta) {
  if (p.plan.native) p.plan.native->micro((kc + 1) / 2, a, b, c, p.ldc, mr, nr, p.alpha, beta);
  else p.plan.micro_f32(kc, reinterpret_cast<const float*>(a), reinterpret_cast<const float*>(b), c, p.ldc, mr, nr, p.alpha, beta);
}

// Rows [m0, m1) of C against B slivers [s0, s1) of the packed panel, sliver s at bpack + s * bstride.
void compute(const Problem& p, const uint32_t* bpack, int64_t bstride, int jc, int nc, int pc, int kc, float beta,
             int m0, int m1, int s0, int s1) {
  const Bf16Plan& k = p.plan;
  const int kd = kdim(k, kc);
  uint32_t* apack = pack_buffer(GemmScratch::PackA, size_t(ceil_div(std::min(k.mc, m1 - m0), k.mr)) * k.mr * kd);
  for (int ic = m0; ic < m1; ic += k.mc) {
    const int mc = std::min(k.mc, m1 - ic);
    pack(apack, k, p.A, p.A2, p.K0, k.mr, ic, mc, 0, ceil_div(mc, k.mr), pc, kc);
    for (int s = s0; s < s1; ++s) {
      const int nr = std::min(k.nr, nc - s * k.nr);
      const uint32_t* b = bpack + s * bstride;
      float* cblock = p.C + int64_t(ic) * p.ldc + jc + s * k.nr;
      for (int ir = 0; ir < mc; ir += k.mr)
        micro(p, kc, apack + int64_t(ir) * kd, b, cblock + int64_t(ir) * p.ldc, std::min(k.mr, mc - ir), nr, beta);
    }
  }
}


}  // namespace

// gemm_bf16 on an explicit kernel: the vdpbf16ps one (native) or sgemm's f32 kernel `f32`
// widening the operands; tests run every path this CPU can.
namespace {

// B given as op(B) (B16 or B32, tb, ldb) or packed (packed non-null: K and N are its own).
void run(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K, float alpha,
         const uint16_t* A16, const float* A32, int lda, const uint16_t* B16, const float* B32, int ldb, float beta, float* C,
         int ldc, ThreadPool* pool, const Bf16KTail* tail = nullptr, Bf16PackedB* packed = nullptr) {
  TUNER_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm_bf16: negative size");
  if (M == 0 || N == 0) return;
  TUNER_CHECK(ldc >= N, "gemm_bf16: ldc < N");
  const int K2 = tail ? tail->K : 0;
  TUNER_CHECK(K2 >= 0, "gemm_bf16: negative tail size");
  TUNER_CHECK(K2 == 0 || K % 2 == 0, "gemm_bf16: a product with a tail needs an even K");
  if (K + K2 == 0 || alpha == 0.0f) {
    scale_c(C, ldc, M, N, beta);
    return;
  }
  TUNER_CHECK(lda >= (ta == Trans::N ? K : M), "gemm_bf16: lda smaller than a row of A");
  TUNER_CHECK(packed || ldb >= (tb == Trans::N ? N : K), "gemm_bf16: ldb smaller than a row of B");
  TUNER_CHECK(!packed || (native && K2 <= packed->tail), "gemm_bf16: a packed B without room for the tail");
  Operand A2{}, B2{};
  if (K2 > 0) {
    TUNER_CHECK(tail->lda >= (tail->ta == Trans::N ? K2 : M), "gemm_bf16: tail lda smaller than a row of A2");
    TUNER_CHECK(tail->ldb >= (tail->tb == Trans::N ? N : K2), "gemm_bf16: tail ldb smaller than a row of B2");
    A2 = {nullptr, tail->A, tail->lda, tail->ta == Trans::N};
    B2 = {nullptr, tail->B, tail->ldb, tail->tb == Trans::T};
  }
  const Bf16Plan plan = plan_for(native, f32);
  const Problem p{plan, M, N, K + K2, K, alpha, {A16, A32, lda, ta == Trans::N}, {B16, B32, ldb, tb == Trans::T}, A2, B2,
                  C, ldc};
  // With a tail, as many k blocks as K alone takes, of equal (even) size: the tail joins the last
  // block instead of making a block of its own, which would be a second pass over C.
  const int kc = K2 == 0 ? plan.kc : 2 * ceil_div(ceil_div(K + K2, std::max(1, ceil_div(K, plan.kc))), 2);
  if (packed) {
    // The tail's k after B's in each sliver's room, then every panel and k block read in place.
    const int ns = ceil_div(N, plan.nr);
    if (K2 > 0) pack_pairs(packed->data.get() + int64_t(plan.nr) * kdim(plan, K), packed->sliver, *native, B2, plan.nr, 0, N, 0, ns, 0, K2);
    const uint32_t* base = packed->data.get();
    prepacked_gemm(GemmBlocking{plan.mr, plan.nr, plan.mc, kc, plan.nc}, M, N, K + K2, beta, pool,
                   [&](int jc, int nc, int pc, int kc, float beta_k, int m0, int m1, int s0, int s1) {
                     const uint32_t* panel = base + (jc / plan.nr) * packed->sliver + int64_t(plan.nr) * kdim(plan, pc);
                     compute(p, panel, packed->sliver, jc, nc, pc, kc, beta_k, m0, m1, s0, s1);
                   });
    return;
  }
  blocked_gemm(
      GemmBlocking{plan.mr, plan.nr, plan.mc, kc, plan.nc}, M, N, K + K2, beta, pool,
      [&](int n_slivers, int kc) { return pack_buffer(GemmScratch::PackB, size_t(n_slivers) * plan.nr * kdim(plan, kc)); },
      [&](uint32_t* bpack, int pc, int kc, int jc, int nc, int s0, int s1) {
        pack(bpack, plan, p.B, p.B2, p.K0, plan.nr, jc, nc, s0, s1, pc, kc);
      },
      [&](const uint32_t* bpack, int jc, int nc, int pc, int kc, float beta_k, int m0, int m1, int s0, int s1) {
        compute(p, bpack, int64_t(plan.nr) * kdim(plan, kc), jc, nc, pc, kc, beta_k, m0, m1, s0, s1);
      });
}

}  // namespace

void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const uint16_t* A, int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool) {
  run(native, f32, ta, tb, M, N, K, alpha, A, nullptr, lda, B, nullptr, ldb, beta, C, ldc, pool);
}

void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const uint16_t* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool) {
  run(native, f32, ta, tb, M, N, K, alpha, nullptr, A, lda, B, nullptr, ldb, beta, C, ldc, pool);
}

void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool) {
  run(native, f32, ta, tb, M, N, K, alpha, nullptr, A, lda, nullptr, B, ldb, beta, C, ldc, pool);
}

void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const uint16_t* A, int lda, const float* B, int ldb, float beta, float* C, int ldc,
                    ThreadPool* pool) {
  run(native, f32, ta, tb, M, N, K, alpha, A, nullptr, lda, nullptr, B, ldb, beta, C, ldc, pool);
}

void gemm_bf16_with(const GemmBf16Kernel* native, const GemmKernel& f32, Trans ta, Trans tb, int M, int N, int K,
                    float alpha, const float* A, int lda, const uint16_t* B, int ldb, const Bf16KTail& tail, float beta,
                    float* C, int ldc, ThreadPool* pool) {
  run(native, f32, ta, tb, M, N, K, alpha, nullptr, A, lda, B, nullptr, ldb, beta, C, ldc, pool, &tail);
}

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda, const uint16_t* B,
               int ldb, const Bf16KTail& tail, float beta, float* C, int ldc, ThreadPool* pool) {
  run(native_kernel(), gemm_kernel_best(), ta, tb, M, N, K, alpha, nullptr, A, lda, B, nullptr, ldb, beta, C, ldc, pool,
      &tail);
}

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const uint16_t* B,
               int ldb, float beta, float* C, int ldc, ThreadPool* pool) {
  run(native_kernel(), gemm_kernel_best(), ta, tb, M, N, K, alpha, A, nullptr, lda, B, nullptr, ldb, beta, C, ldc, pool);
}

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda, const uint16_t* B,
               int ldb, float beta, float* C, int ldc, ThreadPool* pool) {
  run(native_kernel(), gemm_kernel_best(), ta, tb, M, N, K, alpha, nullptr, A, lda, B, nullptr, ldb, beta, C, ldc, pool);
}

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc, ThreadPool* pool) {
  run(native_kernel(), gemm_kernel_best(), ta, tb, M, N, K, alpha, nullptr, A, lda, nullptr, B, ldb, beta, C, ldc, pool);
}

void gemm_bf16(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc, ThreadPool* pool) {
  gemm_bf16_with(native_kernel(), gemm_kernel_best(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

void Bf16PackedB::Free::operator()(uint32_t* p) const { std::free(p); }

bool pack_bf16_b(Bf16PackedB& out, Trans tb, int K, int N, const float* W, int ldw, int tail, ThreadPool* pool) {
  out = Bf16PackedB{};
  const GemmBf16Kernel* kern = native_kernel();
  if (!kern) return false;
  TUNER_CHECK(K >= 0 && N >= 0 && tail >= 0, "pack_bf16_b: negative size");
  TUNER_CHECK(tail == 0 || K % 2 == 0, "pack_bf16_b: room for a tail needs an even K");
  TUNER_CHECK(ldw >= (tb == Trans::N ? N : K), "pack_bf16_b: ldw smaller than a row of W");
  const int ns = ceil_div(N, kern->nr);
  out.K = K, out.N = N, out.tail = tail;
  out.sliver = int64_t(kern->nr) * ((K + 1) / 2 + (tail + 1) / 2);
  out.words = size_t(ns) * out.sliver;
  out.data.reset(static_cast<uint32_t*>(std::aligned_alloc(64, (out.bytes() + 63) / 64 * 64)));
  TUNER_CHECK(out.data != nullptr || out.words == 0, "out of memory for a packed bf16 matrix");
  const Operand X{nullptr, W, ldw, tb == Trans::T};
  parallel_rows(pool, ns, [&](int64_t s0, int64_t s1, int) {
    pack_pairs(out.data.get(), out.sliver, *kern, X, kern->nr, 0, N, int(s0), int(s1), 0, K);
  });
  return true;
}

void gemm_bf16(Trans ta, int M, float alpha, const float* A, int lda, Bf16PackedB& B, const Bf16KTail& tail, float beta,
               float* C, int ldc, ThreadPool* pool) {
  run(native_kernel(), gemm_kernel_best(), ta, Trans::N, M, B.N, B.K, alpha, nullptr, A, lda, nullptr, nullptr, 0, beta, C, ldc,
      pool, &tail, &B);
}

bool gemm_bf16_native() { return native_kernel() != nullptr; }
const GemmBf16Kernel* gemm_bf16_native_kernel() { return native_kernel(); }

const char* gemm_bf16_kernel_name() {
  static const std::string name = native_kernel() ? std::string(native_kernel()->name) : "f32-" + std::string(gemm_kernel_best().name);
  return name.c_str();
}

void gemm_bf16_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const uint16_t* A, int lda,
                         const uint16_t* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) {
        const uint16_t a = ta == Trans::N ? A[int64_t(i) * lda + k] : A[int64_t(k) * lda + i];
        const uint16_t b = tb == Trans::N ? B[int64_t(k) * ldb + j] : B[int64_t(j) * ldb + k];
        sum += double(bf16_to_f32(a)) * double(bf16_to_f32(b));
      }
      float& c = C[int64_t(i) * ldc + j];
      c = float(alpha * sum) + (beta == 0.0f ? 0.0f : beta * c);
    }
}

void round_to_bf16(uint16_t* dst, const float* src, int64_t n, ThreadPool* pool) {
  const RoundToBf16Kernel round = round_kernel();
  constexpr int64_t kChunk = 16384;
  parallel_rows(pool, (n + kChunk - 1) / kChunk, [&](int64_t b, int64_t e, int) {
    const int64_t lo = b * kChunk, hi = std::min(n, e * kChunk);
    round(dst + lo, src + lo, hi - lo);
  });
}

uint16_t* round_rows_to_bf16_in_place(float* data, int64_t lds, int rows, int cols, ThreadPool* pool) {
  const RoundToBf16Kernel round = round_kernel();
  uint16_t* out = reinterpret_cast<uint16_t*>(data);
  parallel_rows(pool, rows, [&](int64_t b, int64_t e, int) {
    // Through a small buffer: a chunk is read whole before its bf16 values are copied down to
    // bytes that hold only values already read (2 bytes per value from the row's start, behind
    // the 4 bytes per value being read), and the copy keeps the f32 and bf16 views apart.
    constexpr int kChunk = 1024;
    alignas(64) uint16_t chunk[kChunk];
    for (int64_t r = b; r < e; ++r)
      for (int c0 = 0; c0 < cols; c0 += kChunk) {
        const int n = std::min(kChunk, cols - c0);
        round(chunk, data + r * lds + c0, n);
        std::memcpy(out + r * 2 * lds + c0, chunk, sizeof(uint16_t) * n);
      }
  });
  return out;
}

void round_rows_to_bf16(uint16_t* dst, const float* src, int64_t lds, int rows, int cols, ThreadPool* pool) {
  const RoundToBf16Kernel round = round_kernel();
  parallel_rows(pool, rows, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) round(dst + r * cols, src + r * lds, cols);
  });
}

}  // namespace tuner
