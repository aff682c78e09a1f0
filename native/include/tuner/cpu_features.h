// CPU instruction-set detection at run time (cpuid + xgetbv), so one binary picks the fastest
// kernels on each machine and never executes an instruction the CPU lacks.
#pragma once

namespace tuner {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512_bf16 = false;
  bool avx512_vnni = false;  // vpdpbusd on zmm/ymm (int8 dot products)
  bool avx_vnni = false;     // the VEX form of vpdpbusd on ymm (CPUs without AVX-512 too)
};

// Detected once per process. TUNER_CPU_LIMIT=generic|avx2 caps what is reported, so tests and
// benchmarks can exercise the lower kernels on a newer CPU.
const CpuFeatures& cpu_features();

}  // namespace tuner
