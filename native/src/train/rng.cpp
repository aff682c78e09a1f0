// SplitMix64-based helpers: bias-free bounded draws, seed derivation and shuffling.
#include "tuner/rng.h"

namespace tuner {

uint64_t Rng::below(uint64_t n) {
  if (n <= 1) return 0;
  // Lemire: multiply-shift with rejection of the short low range keeps every value equally likely.
  uint64_t x = next_u64();
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = next_u64();
      m = static_cast<__uint128_t>(x) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  Rng r(seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  r.next_u64();
  return r.next_u64();
}

std::vector<uint64_t> shuffled_indices(uint64_t n, uint64_t seed) {
  std::vector<uint64_t> idx(n);
  for (uint64_t i = 0; i < n; ++i) idx[i] = i;
  Rng r(seed);
  for (uint64_t i = n; i > 1; --i) {
    uint64_t j = r.below(i);
    std::swap(idx[i - 1], idx[j]);
  }
  return idx;
}

}  // namespace tuner
