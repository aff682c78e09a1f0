// Dense bf16 tensor-core peaks per GPU (include/tuner/cuda_device.h), for MFU in the GPU
// benchmark and the hardware probe. Plain C++ so a CPU-only build and the tests share it.
#include <cstdio>
#include <sstream>

#include "tuner/cuda_device.h"

namespace tuner {

namespace {

std::vector<std::string> name_tokens(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool has(const std::vector<std::string>& tokens, const char* t) {
  for (const auto& s : tokens)
    if (s == t) return true;
  return false;
}

// NVIDIA's published dense (not 2:4 sparse) BF16 tensor figures with FP32 accumulate, in
// TFLOP/s, from each GPU's datasheet (the sparse figure there is twice these):
//   A100 (SXM4 and PCIe)   312  NVIDIA A100 Tensor Core GPU datasheet, "BF16 Tensor Core 312 | 624*"
//   H100 SXM               989  NVIDIA H100 datasheet, "BF16 Tensor Core 1,979 teraFLOPS*" (* with sparsity)
//   H100 PCIe              756  NVIDIA H100 datasheet (PCIe column), "1,513 teraFLOPS*"
//   H200 (SXM)             989  NVIDIA H200 datasheet, "BF16 Tensor Core 1,979 TFLOPS*"
//   L4                     121  NVIDIA L4 datasheet, "BF16 Tensor Core 242 teraFLOPS*"
//   L40S                   362  NVIDIA L40S datasheet, "BF16 Tensor Core 362.05 | 733 TFLOPS*"
//   A10                    125  NVIDIA A10 datasheet, "BF16 Tensor Core 125 | 250 TF*"
//   GeForce RTX 3090        71  NVIDIA Ampere GA102 whitepaper, table 9: "Peak BF16 Tensor TFLOPS with FP32 Accumulate 71/142"
//   GeForce RTX 4090       165  NVIDIA Ada Lovelace architecture whitepaper, table 2: "Peak BF16 Tensor TFLOPS with FP32 Accumulate 165.2/330.4"
// Checked through the search tool against copies of NVIDIA's tables (5 Dec 2026): A100 312/624
// and H100 SXM 989.4/1978.9 (glennklockwood.com/garden/processors/{A100,h100}, citing NVIDIA's
// A100 datasheet nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf and the H100 datasheet);
// H200 SXM ~989 dense (itkb.uw.cz, "NVIDIA H200 vs B300", dense figures from the datasheet);
// L40S 362.05/733* (the L40/L40S datasheet table reproduced at mullet.se); L4 242 with sparsity,
// so 121 dense (grokipedia "NVIDIA L4 vs L40S", from NVIDIA's L4 datasheet); RTX 4090 165.2
// (calwoo.github.io GPU table, the Ada whitepaper's figure). H100 PCIe 756, A10 125 and RTX 3090
// 71 are the datasheet / GA102 whitepaper figures as written above; no copy of those tables was
// found to re-check them, but each agrees with SMs x boost clock x the per-SM rate below.
// Variants with other clocks or power limits (H100 NVL, H200 NVL, RTX 3090 Ti, RTX 4090 D) are
// not matched and fall back to the computed figure.
struct PublishedPeak {
  const char* label;
  double tflops;
  bool (*match)(const std::vector<std::string>&);
};

const PublishedPeak kPublished[] = {
    {"A100", 312, [](const std::vector<std::string>& t) { return has(t, "A100"); }},
    {"H100 SXM", 989, [](const std::vector<std::string>& t) { return has(t, "H100") && (has(t, "HBM3") || has(t, "SXM5") || has(t, "SXM")) && !has(t, "NVL") && !has(t, "PCIe"); }},
    {"H100 PCIe", 756, [](const std::vector<std::string>& t) { return has(t, "H100") && has(t, "PCIe"); }},
    {"H200", 989, [](const std::vector<std::string>& t) { return has(t, "H200") && !has(t, "NVL"); }},
    {"L4", 121, [](const std::vector<std::string>& t) { return has(t, "L4"); }},
    {"L40S", 362, [](const std::vector<std::string>& t) { return has(t, "L40S"); }},
    {"A10", 125, [](const std::vector<std::string>& t) { return has(t, "A10"); }},
    {"GeForce RTX 3090", 71, [](const std::vector<std::string>& t) { return has(t, "RTX") && has(t, "3090") && !has(t, "Ti"); }},
    {"GeForce RTX 4090", 165, [](const std::vector<std::string>& t) { return has(t, "RTX") && has(t, "4090") && !has(t, "D"); }},
};

// Dense bf16 FLOP per clock per SM by architecture, derived from the datasheet figures above
// (peak / (SMs x boost clock)): Ampere GA100 2048 (A100: 108 SMs x 1.41 GHz), GA10x/AD10x
// data-centre parts 1024 (A10: 72 x 1.695 GHz; L4: 58 x 2.04 GHz), GeForce parts half that with
// FP32 accumulate (RTX 3090: 82 x 1.695 GHz; RTX 4090: 128 x 2.52 GHz), Hopper 4096 (H100 SXM:
// 132 x 1.83 GHz), Blackwell data-centre 8192 (B200). 0: no bf16 tensor cores (before Ampere).
int flop_per_clock_per_sm(int cc_major, int cc_minor, bool geforce) {
  if (cc_major < 8) return 0;
  if (cc_major == 8 && cc_minor == 0) return 2048;
  if (cc_major == 9) return 4096;
  if (cc_major == 10) return 8192;
  return geforce ? 512 : 1024;  // 8.6, 8.7, 8.9, 11.x, 12.x
}

}  // namespace

GpuPeak gpu_bf16_peak(const std::string& name, int cc_major, int cc_minor, int sm_count, int clock_khz) {
  GpuPeak peak;
  const std::vector<std::string> tokens = name_tokens(name);
  for (const PublishedPeak& p : kPublished) {
    if (p.match(tokens)) {
      peak.bf16_tflops = p.tflops;
      peak.published = true;
      peak.source = std::string("NVIDIA datasheet (") + p.label + ")";
      return peak;
    }
  }
  const int rate = flop_per_clock_per_sm(cc_major, cc_minor, has(tokens, "GeForce"));
  char buf[160];
  if (rate == 0) {
    std::snprintf(buf, sizeof buf, "unknown: compute capability %d.%d has no bf16 tensor cores", cc_major, cc_minor);
  } else {
    peak.bf16_tflops = double(sm_count) * (clock_khz * 1e3) * rate / 1e12;
    std::snprintf(buf, sizeof buf, "computed: %d SMs x %.2f GHz x %d FLOP/clock/SM (compute capability %d.%d)", sm_count,
                  clock_khz / 1e6, rate, cc_major, cc_minor);
  }
  peak.source = buf;
  return peak;
}

std::string cuda_version_text(int version) {
  if (version <= 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

}  // namespace tuner
