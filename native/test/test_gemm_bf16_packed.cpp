// gemm_bf16 with a B packed once (pack_bf16_b, the frozen weights of a LoRA run): the bits of
// gemm_bf16 on B's plain bf16 copy (round_to_bf16) with the same tail, for 1, 2 and 3 threads,
// on the shapes that take each of prepacked_gemm's ways (row tasks, column tasks for a small M,
// column tasks over a wide B, several k blocks, a tail joining the last one); a second product
// with another tail rewrites B's room (LoRA's B changes every step); the padding of C stays.
// Where this CPU has no bf16 kernel, pack_bf16_b declines and leaves the packed B empty.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "check_macros.h"
#include "tuner/gemm_bf16.h"
#include "tuner/threadpool.h"

using namespace tuner;

namespace {

struct Case {
  const char* what;
  Trans ta, tb, tb2;  // tb2: the tail's B2 (LoRA: B^T in forward, A in backward)
  int M, N, K, room, K2;
  float alpha, beta;
};

std::vector<float> random_matrix(std::mt19937& rng, size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void check(const Case& c, std::mt19937& rng, ThreadPool* pools[3]) {
  const int lda = (c.ta == Trans::N ? c.K : c.M) + 3, ldw = (c.tb == Trans::N ? c.N : c.K) + 1, ldc = c.N + 2;
  const int lda2 = (c.ta == Trans::N ? c.K2 : c.M) + 1, ldb2 = (c.tb2 == Trans::N ? c.N : c.K2) + 2;
  const std::vector<float> A = random_matrix(rng, size_t(c.ta == Trans::N ? c.M : c.K) * lda);
  const std::vector<float> W = random_matrix(rng, size_t(c.tb == Trans::N ? c.K : c.N) * ldw);
  std::vector<uint16_t> W16(W.size());
  round_to_bf16(W16.data(), W.data(), (int64_t)W.size(), nullptr);
  std::vector<float> C0 = random_matrix(rng, size_t(c.M) * ldc);
  if (c.beta == 0.0f) for (auto& x : C0) x = NAN;
  for (int i = 0; i < c.M; ++i) C0[size_t(i) * ldc + c.N] = C0[size_t(i) * ldc + c.N + 1] = 777.0f;

  Bf16PackedB packed;
  EXPECT(pack_bf16_b(packed, c.tb, c.K, c.N, W.data(), ldw, c.room, pools[1]));
  EXPECT(packed.K == c.K && packed.N == c.N && packed.tail == c.room);
  for (int round = 0; round < 2; ++round) {  // two tails through one packed B
    const std::vector<float> A2 = random_matrix(rng, size_t(c.ta == Trans::N ? c.M : c.K2) * lda2);
    const std::vector<float> B2 = random_matrix(rng, size_t(c.tb2 == Trans::N ? c.K2 : c.N) * ldb2);
    const Bf16KTail tail{c.K2, c.ta, A2.data(), lda2, c.tb2, B2.data(), ldb2};
    std::vector<float> plain = C0;
    gemm_bf16(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, W16.data(), ldw, tail, c.beta, plain.data(), ldc, nullptr);
    for (int t = 0; t < 3; ++t) {
      std::vector<float> C = C0;
      gemm_bf16(c.ta, c.M, c.alpha, A.data(), lda, packed, tail, c.beta, C.data(), ldc, pools[t]);
      if (std::memcmp(C.data(), plain.data(), C.size() * sizeof(float)) != 0) {
        size_t x = 0;
        while (std::memcmp(&C[x], &plain[x], sizeof(float)) == 0) ++x;
        std::fprintf(stderr, "%s, tail %d, %d threads: C(%zu,%zu) = %.9g, plain B %.9g\n", c.what, round + 1, t + 1,
                     x / ldc, x % ldc, C[x], plain[x]);
        ++g_failures;
      }
    }
  }
}

}  // namespace

int main() {
  ThreadPool p2(2), p3(3);
  ThreadPool* pools[3] = {nullptr, &p2, &p3};
  std::mt19937 rng(7);
  const Trans N = Trans::N, T = Trans::T;
  if (!gemm_bf16_native()) {
    Bf16PackedB packed;
    packed.K = 3;
    const std::vector<float> W(12, 1.0f);
    EXPECT(!pack_bf16_b(packed, T, 4, 3, W.data(), 4, 0, nullptr));
    EXPECT(packed.K == 0 && !packed.data);
    std::printf("no bf16 kernel on this CPU (%s): pack_bf16_b declines\n", gemm_bf16_kernel_name());
    return finish("test_gemm_bf16_packed");
  }
  const Case cases[] = {
      // LoRA's forward y = x W^T + s t B^T, the decoder's shapes: row tasks, one k block.
      {"forward, row tasks", N, T, T, 300, 96, 128, 8, 8, 1.0f, 0.0f},
      // down_proj's K = 1376: two k blocks, the tail joining the second; room for more than used.
      {"forward, two k blocks", N, T, T, 120, 70, 1376, 16, 8, 1.0f, 1.0f},
      // Backward dx = dy W + dt A (W stored [out, in], so B = W untransposed).
      {"dx = dy W + dt A", N, N, N, 200, 130, 64, 8, 8, 1.0f, 0.0f},
      {"dx += dy W + dt A, odd tail", N, N, N, 90, 33, 98, 8, 7, 1.0f, 1.0f},
      // Few rows (generation, evaluation of short batches): column tasks.
      {"one row", N, T, T, 1, 200, 64, 8, 8, 1.0f, 0.0f},
      {"few rows", N, N, N, 9, 300, 40, 4, 4, 0.5f, 0.25f},
      // The LM head: no tail; forward over a wide B (column tasks of whole panels), backward
      // with K past several k blocks, odd.
      {"head forward, wide B", N, T, T, 40, 3 * 4096 + 45, 72, 0, 0, 1.0f, 0.0f},
      {"head backward, deep K", N, N, N, 70, 60, 3 * 1024 + 5, 0, 0, 1.0f, 0.0f},
      {"A transposed", T, T, T, 31, 17, 130, 8, 8, -0.5f, 0.25f},
  };
  for (const Case& c : cases) check(c, rng, pools);
  std::printf("%zu cases on %s, each with two tails through one packed B\n", sizeof(cases) / sizeof(cases[0]),
              gemm_bf16_kernel_name());
  return finish("test_gemm_bf16_packed");
}
