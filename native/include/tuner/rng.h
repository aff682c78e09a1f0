// Deterministic random numbers for the trainer (data shuffling, dropout seeds). Our own generator
// so that a run is reproducible across machines and standard libraries, and its whole state is
// one integer that a checkpoint can store and restore exactly.
#pragma once
#include <cstdint>
#include <vector>

namespace tuner {

// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, passes BigCrush, trivially serializable.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next_u64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without modulo bias (Lemire's rejection method).
  uint64_t below(uint64_t n);
  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }

 private:
  uint64_t state_;
};

// Mixes a seed with a stream id (e.g. the epoch) into an independent seed.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// A permutation of [0, n) by Fisher-Yates driven by Rng(seed).
std::vector<uint64_t> shuffled_indices(uint64_t n, uint64_t seed);

}  // namespace tuner
