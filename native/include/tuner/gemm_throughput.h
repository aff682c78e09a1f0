// How fast this machine runs the engine's own sgemm, measured once for time estimates: the
// three products of a training linear (forward x W^T, backward dY W and dY^T x) on a decoder
// shape, repeated for a short time budget on a pool of the trainer's size. The editor divides
// a run's FLOPs by this when no finished run of the same model has measured its speed.
#pragma once
#include <cstdint>
#include <string>

namespace tuner {

struct GemmThroughput {
  double gflops = 0;     // median over the timed rounds, 1e9 FLOP per second
  double best_gflops = 0;  // the fastest round
  int threads = 0;       // pool size the products ran on
  int rounds = 0;        // timed rounds (after one untimed warm-up)
  double ms = 0;         // wall time of the timed rounds
  std::string kernel;    // sgemm_kernel_name()
  std::string shape;     // "MxNxK" of the products
};

// threads <= 0: all hardware threads, as tuner-train's default. budget_ms: time to spend on
// timed rounds (at least two rounds run whatever the budget).
GemmThroughput measure_gemm_throughput(int threads, double budget_ms);

}  // namespace tuner
