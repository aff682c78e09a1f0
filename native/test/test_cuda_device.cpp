// The CUDA device listing on the machine the tests run on: it never throws; with no device (a
// CPU-only build, no driver, no GPU) it says why and device memory is refused with a TunerError;
// with devices, each has a name, a compute capability, SMs, memory and a bf16 peak. The peak
// table: published figures by name, a computed one (saying so) for other GPUs.
#include <cstdio>

#include "check_macros.h"
#include "tuner/cuda_device.h"

using namespace tuner;

int main() {
  const CudaRuntimeInfo& info = cuda_runtime_info();
  EXPECT(&info == &cuda_runtime_info());  // probed once
#ifdef TUNER_HAVE_CUDA
  EXPECT(info.built_with_cuda);
  EXPECT(info.runtime_version >= 12000);
#else
  EXPECT(!info.built_with_cuda);
  EXPECT(info.reason == "built without CUDA");
#endif
  std::printf("CUDA: built %s, driver %s, runtime %s, %zu device(s)%s%s\n", info.built_with_cuda ? "with" : "without",
              cuda_version_text(info.driver_version).c_str(), cuda_version_text(info.runtime_version).c_str(),
              info.devices.size(), info.reason.empty() ? "" : ": ", info.reason.c_str());
  if (info.devices.empty()) {
    EXPECT(!info.reason.empty());
    expect_error(__FILE__, __LINE__, [] { DeviceBuffer b(1024); }, info.built_with_cuda ? "cuda_error" : "no_cuda_device", "");
    expect_error(__FILE__, __LINE__, [] { PinnedHostBuffer b(1024); }, info.built_with_cuda ? "cuda_error" : "no_cuda_device", "");
  }
  for (const CudaDevice& d : info.devices) {
    std::printf("  %d: %s, sm_%d%d, %d SMs, %.1f GiB (%.1f free), bf16 peak %.0f TFLOP/s (%s)\n", d.index, d.name.c_str(),
                d.cc_major, d.cc_minor, d.sm_count, d.total_memory_bytes / 1073741824.0, d.free_memory_bytes / 1073741824.0,
                d.peak.bf16_tflops, d.peak.source.c_str());
    EXPECT(!d.name.empty());
    EXPECT(d.cc_major >= 7);
    EXPECT(d.sm_count > 0);
    EXPECT(d.total_memory_bytes > 0 && d.free_memory_bytes <= d.total_memory_bytes);
    DeviceBuffer buf(4096, d.index);
    std::vector<unsigned char> in(4096), out(4096);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<unsigned char>(i * 7);
    buf.copy_from_host(in.data(), in.size());
    buf.copy_to_host(out.data(), out.size());
    EXPECT(in == out);
    DeviceBuffer moved = std::move(buf);
    EXPECT(moved.data() != nullptr && buf.data() == nullptr);
    PinnedHostBuffer pinned(1 << 20);
    EXPECT(pinned.data() != nullptr);
    // More than the device holds: the out-of-memory code, with its advice.
    expect_error(__FILE__, __LINE__, [&] { DeviceBuffer huge(d.total_memory_bytes * 4, d.index); }, "cuda_out_of_memory", "cudaMalloc");
  }

  // Published peaks by the names CUDA reports.
  struct Named { const char* name; int major, minor, sms, khz; double tflops; };
  const Named published[] = {
      {"NVIDIA A100-SXM4-80GB", 8, 0, 108, 1410000, 312}, {"NVIDIA A100 80GB PCIe", 8, 0, 108, 1410000, 312},
      {"NVIDIA H100 80GB HBM3", 9, 0, 132, 1980000, 989}, {"NVIDIA H100 PCIe", 9, 0, 114, 1755000, 756},
      {"NVIDIA H200", 9, 0, 132, 1980000, 989},          {"NVIDIA L4", 8, 9, 58, 2040000, 121},
      {"NVIDIA L40S", 8, 9, 142, 2520000, 362},          {"NVIDIA A10", 8, 6, 72, 1695000, 125},
      {"NVIDIA GeForce RTX 3090", 8, 6, 82, 1695000, 71}, {"NVIDIA GeForce RTX 4090", 8, 9, 128, 2520000, 165},
  };
  for (const Named& n : published) {
    const GpuPeak p = gpu_bf16_peak(n.name, n.major, n.minor, n.sms, n.khz);
    if (p.bf16_tflops != n.tflops || !p.published) std::fprintf(stderr, "%s: %g (%s)\n", n.name, p.bf16_tflops, p.source.c_str());
    EXPECT(p.published && p.bf16_tflops == n.tflops);
    // The per-architecture rate reproduces the datasheet within the boost-clock rounding.
    const GpuPeak computed = gpu_bf16_peak("unlisted", n.major, n.minor, n.sms, n.khz);
    const double geforce_factor = std::string(n.name).find("GeForce") != std::string::npos ? 0.5 : 1.0;
    EXPECT(!computed.published);
    EXPECT(std::fabs(computed.bf16_tflops * geforce_factor / n.tflops - 1) < 0.1);
  }
  // Names close to listed ones are not taken for them.
  for (const char* other : {"NVIDIA H100 NVL", "NVIDIA H200 NVL", "NVIDIA L40", "NVIDIA GeForce RTX 3090 Ti", "NVIDIA A10G"}) {
    const GpuPeak p = gpu_bf16_peak(other, 9, 0, 132, 1800000);
    EXPECT(!p.published);
    EXPECT(p.source.find("computed: 132 SMs x 1.80 GHz x 4096 FLOP/clock/SM") == 0);
  }
  const GpuPeak turing = gpu_bf16_peak("Tesla T4", 7, 5, 40, 1590000);
  EXPECT(turing.bf16_tflops == 0 && turing.source.find("no bf16") != std::string::npos);
  EXPECT(cuda_version_text(13000) == "13.0" && cuda_version_text(12040) == "12.4" && cuda_version_text(0) == "none");
  return finish("test_cuda_device");
}
