// tuner-bench-cuda-decode: generation on the GPU through the device inference session
// (src/device/device_infer.h) on a ~1B Llama made of random weights (hidden 2048, intermediate
// 5632, 22 layers, 32 heads over 4 KV heads of 64, vocab 32000: TinyLlama-1.1B's shape), with its
// weights in bf16, int8 and q4_0. Per format: prefill tokens/s for a --tokens prompt, then decode
// tokens/s over --reps steps (each step appends one token, downloads its logits and samples
// greedily on the host, as tuner-generate does), and the memory bandwidth decode achieves: bytes
// each token reads (every linear and the lm_head, plus the KV cache rows at the mean position)
// times tokens/s, against this GPU's device-to-device copy bandwidth measured in the same run and
// its theoretical bandwidth (memory clock x bus width, from the driver).
//   tuner-bench-cuda-decode [--tokens 512] [--reps 128] [--host-ops]
// --host-ops runs a tiny shape on the CPU stand-in of the device ops (host_ops) to check the
// bench itself on machines without a GPU: its numbers are not GPU figures. Without --host-ops and
// without a CUDA device it exits 77 (skipped).
#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/cuda_check.cuh"
#include "cuda_event_timer.cuh"
#include "device/device_infer.h"
#include "tuner/cuda_device.h"
#include "tuner/json.h"
#include "tuner/safetensors.h"
#include "tuner/threadpool.h"
#include "../test/tiny_model_fixture.h"  // tiny_config / tiny_shapes: the tests' Llama folder layout

using namespace tuner;

namespace {


double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A Llama folder of random weights (bf16 on disk): uniform values with std 1/sqrt(fan-in) for the
// matrices, 0.5 for the embedding, 1 for the norms, so activations stay finite through the layers.
std::string write_random_llama(const std::string& dir, const TinySpec& s, ThreadPool* pool) {
  mkdir(dir.c_str(), 0755);
  Json c = tiny_config(s);  // the tests' Llama config, with room for the benchmark's context
  c.set("max_position_embeddings", Json(4096));
  write_file_atomic(dir + "/config.json", c.dump());
  const auto shapes = tiny_shapes(s);
  std::vector<std::vector<float>> store(shapes.size());
  SafetensorsWriter w;
  for (size_t t = 0; t < shapes.size(); t++) {
    const auto& [name, shape] = shapes[t];
    const int64_t n = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
    const bool norm = shape.size() == 1;
    const float scale = norm ? 0.0f : name == "model.embed_tokens.weight" ? 0.5f : 1.0f / std::sqrt((float)shape[1]);
    store[t].resize((size_t)n);
    float* d = store[t].data();
    parallel_rows(pool, n, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; i++) {
        uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + t * 0xD1B54A32D192ED03ull;  // splitmix64
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        x ^= x >> 31;
        const float u = (float)(x >> 40) / (float)(1ull << 24) - 0.5f;  // uniform [-0.5, 0.5): std 1/sqrt(12)
        d[i] = norm ? 1.0f : u * 3.4641016f * scale;
      }
    });
    w.add(name, shape, d, DType::BF16);
  }
  w.write(dir + "/model.safetensors");
  return dir;
}

// Bytes one decode step reads from the weights: every linear and the lm_head in their device
// format (info.weight_bytes less the fp32 embedding table, of which a step reads one row, and the
// fp32 norms).
double weight_bytes_per_token(const InferInfo& info, const TinySpec& s) {
  return (double)info.weight_bytes - 4.0 * s.vocab * s.hidden - 4.0 * (2.0 * s.layers + 1) * s.hidden;
}

}  // namespace

int main(int argc, char** argv) {
  int prompt = 512, steps = 128;
  bool host = false;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--host-ops")) host = true;
    else if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc) prompt = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) steps = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: tuner-bench-cuda-decode [--tokens 512] [--reps 128] [--host-ops]\n");
      return 2;
    }
  }
  try {
    TinySpec s;
    s.vocab = 32000, s.hidden = 2048, s.inter = 5632, s.layers = 22, s.heads = 32, s.kv_heads = 4;
    double copy_gbs = 0, peak_gbs = 0;
    std::string device;
    if (host) {
      s.vocab = 512, s.hidden = 256, s.inter = 512, s.layers = 2, s.heads = 4, s.kv_heads = 2;
      prompt = std::min(prompt, 64), steps = std::min(steps, 32);
      device = "CPU (host_ops)";
      std::printf("host_ops: a tiny shape on the CPU stand-in of the device ops; these numbers are not GPU figures\n");
    } else {
      const CudaRuntimeInfo& info = cuda_runtime_info();
      if (info.devices.empty()) {
        std::printf("no CUDA device (%s): skipped\n", info.reason.c_str());
        return 77;
      }
      const CudaDevice& d = info.devices.front();
      device = d.name;
      TUNER_CUDA_CHECK(cudaSetDevice(d.index));
      int mem_khz = 0, bus_bits = 0;
      if (cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, d.index) == cudaSuccess &&
          cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, d.index) == cudaSuccess)
        peak_gbs = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0) / 1e9;  // double data rate
      cudaGetLastError();
      const size_t copy_bytes = (size_t)512 << 20;
      void *src = nullptr, *dst = nullptr;
      TUNER_CUDA_CHECK(cudaMalloc(&src, copy_bytes));
      TUNER_CUDA_CHECK(cudaMalloc(&dst, copy_bytes));
      const double copy_ms =
          median_event_ms([&] { TUNER_CUDA_CHECK(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice)); }, 10, 2);
      copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e-3) / 1e9;
      TUNER_CUDA_CHECK(cudaFree(src));
      TUNER_CUDA_CHECK(cudaFree(dst));
    }
    std::printf("device: %s\n", device.c_str());
    if (copy_gbs > 0) std::printf("device-to-device copy: %.0f GB/s (read + write, measured)\n", copy_gbs);
    if (peak_gbs > 0) std::printf("theoretical memory bandwidth: %.0f GB/s (memory clock x bus width)\n", peak_gbs);
    std::printf("model: Llama hidden %d, intermediate %d, %d layers, %d heads / %d KV heads, vocab %d (random weights)\n",
                s.hidden, s.inter, s.layers, s.heads, s.kv_heads, s.vocab);
    ThreadPool pool(0);
    const auto t_write = std::chrono::steady_clock::now();
    const std::string dir = write_random_llama(std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                                                   "/tuner-bench-decode-" + std::to_string(s.hidden) + "x" +
                                                   std::to_string(s.layers),
                                               s, &pool);
    std::printf("wrote %s in %.1f s\n\n", dir.c_str(), seconds_since(t_write));
    std::printf("%-6s %10s %9s %12s %11s %11s %9s %8s\n", "format", "weights", "load s", "prefill t/s", "decode t/s",
                "ms/token", "GB/s", "of copy");
    const QuantType formats[] = {QuantType::F32, QuantType::INT8, QuantType::Q4_0};
    const int HD = s.hidden / s.heads;
    for (QuantType q : formats) {
      InferOptions opt;
      opt.model = dir;
      opt.quant = q;
      opt.context_length = prompt + steps + 8;
      auto ops = host ? dev::make_host_ops() : dev::make_cuda_ops(0);
      auto session = dev::make_device_infer_session(opt, std::move(ops), host ? "host_ops" : "cuda", "bench");
      const InferInfo& info = session->info();
      std::vector<uint32_t> ids(prompt);
      for (int i = 0; i < prompt; i++) ids[i] = (uint32_t)((i * 7919 + 13) % s.vocab);
      auto t0 = std::chrono::steady_clock::now();
      session->append(ids.data(), prompt);  // returns after the logits' download: the work is done
      const double prefill_s = seconds_since(t0);
      uint32_t next = session->sample(nullptr, 0);
      for (int i = 0; i < 4; i++) session->append(&next, 1), next = session->sample(nullptr, 0);  // warm-up
      const int pos0 = session->position();
      t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; i++) {
        session->append(&next, 1);
        next = session->sample(nullptr, 0);
      }
      const double decode_s = seconds_since(t0);
      const double tps = steps / decode_s;
      // KV rows read per step at the mean position: k and v of every layer, bf16.
      const double kv_bytes = 2.0 * s.layers * (pos0 + steps / 2.0) * s.kv_heads * HD * 2;
      const double gbs = (weight_bytes_per_token(info, s) + kv_bytes) * tps / 1e9;
      const std::string name = q == QuantType::F32 ? "bf16" : quant_type_name(q);
      char of_copy[32] = "-";
      if (copy_gbs > 0) std::snprintf(of_copy, sizeof of_copy, "%.0f%%", 100.0 * gbs / copy_gbs);
      const double wb = weight_bytes_per_token(info, s);
      char weights[32];
      if (wb >= 1e9) std::snprintf(weights, sizeof weights, "%.2f GB", wb / 1e9);
      else std::snprintf(weights, sizeof weights, "%.1f MB", wb / 1e6);
      std::printf("%-6s %10s %9.1f %12.0f %11.1f %11.3f %9.1f %8s", name.c_str(), weights, info.load_ms / 1e3,
                  prompt / prefill_s, tps, 1e3 / tps, gbs, of_copy);
      if (peak_gbs > 0) std::printf("  (%.0f%% of theoretical)", 100.0 * gbs / peak_gbs);
      std::printf("\n");
    }
    std::printf("\nweights: bytes of the linears and lm_head each decode step reads; GB/s: those plus the KV cache rows,"
                " times tokens/s; prompt %d tokens, %d decode steps timed (greedy, logits downloaded each step)\n",
                prompt, steps);
  } catch (const TunerError& e) {
    std::fprintf(stderr, "tuner-bench-cuda-decode: %s: %s\n", e.code().c_str(), e.what());
    return 1;
  }
  return 0;
}
