// TimedOps (src/device/timed_ops.h) around the CPU stand-in host_ops: the same ops through the
// decorator and through a plain host_ops give the same bits; every call lands in its op family;
// time accrues only while timing is on; an op's error passes through unchanged with timing on
// (no terminate from the synchronizing wrapper); the shares table lists the families called.
#include <cstdint>
#include <cstring>
#include <vector>

#include "check_macros.h"
#include "device/timed_ops.h"
#include "tuner/rng.h"

using namespace tuner;
using namespace tuner::dev;

namespace {

std::vector<float> random_floats(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(static_cast<double>(r.next_u64() >> 11) / 9007199254740992.0 * 2 - 1);
  return v;
}

// A slice of a training step (conversion, product, norm, SwiGLU, residual add, loss, AdamW) on
// `ops`; returns the results downloaded, in one vector of bytes.
std::vector<uint8_t> run_ops(DeviceOps& ops) {
  const int M = 8, K = 16, N = 12, V = 12;
  const std::vector<float> a = random_floats((size_t)M * K, 1), b = random_floats((size_t)N * K, 2);
  const std::vector<float> norm_w = random_floats(N, 3), g = random_floats((size_t)N * K, 4);
  const std::vector<uint32_t> targets = {0, 3, 5, 11, 2, 7, 1, 9};
  const std::vector<uint8_t> mask = {1, 1, 0, 1, 1, 1, 0, 1};

  DeviceArray<float> da(ops, M * K), db(ops, N * K), dw(ops, N), dg(ops, N * K), dm(ops, N * K), dv(ops, N * K);
  DeviceArray<bf16> a16(ops, M * K), b16(ops, N * K);
  DeviceArray<float> c(ops, M * N), normed(ops, M * N), rstd(ops, M), act(ops, M * N), losses(ops, M), lse(ops, M);
  DeviceArray<uint32_t> dt(ops, M);
  DeviceArray<uint8_t> dmask(ops, M);
  ops.upload(da.get(), a.data(), da.bytes());
  ops.upload(db.get(), b.data(), db.bytes());
  ops.upload(dw.get(), norm_w.data(), dw.bytes());
  ops.upload(dg.get(), g.data(), dg.bytes());
  ops.upload(dt.get(), targets.data(), dt.bytes());
  ops.upload(dmask.get(), mask.data(), dmask.bytes());
  ops.fill_zero(dm.get(), dm.bytes());
  ops.fill_zero(dv.get(), dv.bytes());

  ops.to_bf16(a16.get(), da.get(), M * K);
  ops.to_bf16(b16.get(), db.get(), N * K);
  ops.gemm(Trans::N, Trans::T, M, N, K, 1.0f, a16.get(), K, b16.get(), K, 0.0f, c.get(), N);
  ops.rmsnorm_forward(normed.get(), rstd.get(), c.get(), dw.get(), M, N, 1e-5f);
  ops.swiglu_forward(act.get(), normed.get(), c.get(), M * N);
  ops.add(act.get(), act.get(), c.get(), M * N);
  ops.cross_entropy_forward(losses.get(), lse.get(), act.get(), dt.get(), dmask.get(), M, V);
  ops.cross_entropy_backward(act.get(), lse.get(), dt.get(), dmask.get(), M, V, 0.5f);
  AdamWScalars s{1.0f, 0.99f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-3f, 0.0316f, 1e-8f};
  ops.adamw_update(db.get(), dm.get(), dv.get(), dg.get(), N * K, s);
  ops.copy(da.get(), db.get(), (size_t)M * K * sizeof(float));

  std::vector<uint8_t> out;
  auto take = [&](const void* p, size_t bytes) {
    const size_t at = out.size();
    out.resize(at + bytes);
    ops.download(out.data() + at, p, bytes);
  };
  take(c.get(), c.bytes());
  take(normed.get(), normed.bytes());
  take(rstd.get(), rstd.bytes());
  take(act.get(), act.bytes());
  take(losses.get(), losses.bytes());
  take(db.get(), db.bytes());
  take(dm.get(), dm.bytes());
  take(dv.get(), dv.bytes());
  take(da.get(), da.bytes());
  double sq = 0;
  const float* xs[] = {dg.get()};
  const int64_t ns[] = {N * K};
  ops.sum_squares(&sq, xs, ns, 1);
  out.resize(out.size() + sizeof sq);
  std::memcpy(out.data() + out.size() - sizeof sq, &sq, sizeof sq);
  return out;
}

}  // namespace

int main() {
  std::unique_ptr<DeviceOps> plain = make_host_ops();
  std::unique_ptr<DeviceOps> inner = make_host_ops();
  TimedOps timed(*inner);
  EXPECT(std::strcmp(timed.kind(), inner->kind()) == 0);
  EXPECT(timed.device_name() == inner->device_name());

  const std::vector<uint8_t> want = run_ops(*plain);

  // Timing off: counted and forwarded, no time.
  EXPECT(!timed.timing());
  EXPECT(run_ops(timed) == want);
  EXPECT(timed.family(OpFamily::Gemm).calls == 1);
  EXPECT(timed.family(OpFamily::Norm).calls == 1);
  EXPECT(timed.family(OpFamily::Elementwise).calls == 4);  // 2 x to_bf16, swiglu, add
  EXPECT(timed.family(OpFamily::Loss).calls == 2);
  EXPECT(timed.family(OpFamily::Optimizer).calls == 2);    // adamw, sum_squares
  EXPECT(timed.family(OpFamily::Copies).calls == 6 + 2 + 1 + 9);  // uploads, fill_zero, copy, downloads
  EXPECT(timed.family(OpFamily::Memory).calls == 2 * 16);  // 16 arrays allocated and released
  EXPECT(timed.family(OpFamily::Attention).calls == 0);
  EXPECT(timed.total_ms() == 0.0);
  EXPECT(inner->memory().in_use == 0);

  // Timing on: the same bits, and time in every family that ran.
  timed.reset();
  EXPECT(timed.family(OpFamily::Gemm).calls == 0);
  timed.set_timing(true);
  EXPECT(run_ops(timed) == want);
  for (OpFamily f : {OpFamily::Gemm, OpFamily::Norm, OpFamily::Elementwise, OpFamily::Loss, OpFamily::Optimizer,
                     OpFamily::Copies, OpFamily::Memory}) {
    if (!(timed.family(f).ms > 0.0)) std::fprintf(stderr, "no time in %s\n", op_family_name(f));
    EXPECT(timed.family(f).ms > 0.0);
  }
  EXPECT(timed.family(OpFamily::Attention).ms == 0.0);
  double sum = 0;
  for (int f = 0; f < static_cast<int>(OpFamily::Count); ++f) sum += timed.family(static_cast<OpFamily>(f)).ms;
  EXPECT(timed.total_ms() == sum);

  const std::string table = timed.shares_table();
  std::printf("%s", table.c_str());
  for (const char* name : {"gemm", "norm", "elementwise", "loss", "optimizer", "copies", "memory", "total"})
    EXPECT(table.find(std::string("  ") + name + " ") != std::string::npos);
  EXPECT(table.find("attention") == std::string::npos);  // never called
  EXPECT(table.find("100.0%") != std::string::npos);

  // An op's error passes through the timing wrapper as the op threw it.
  DeviceArray<float> small(*inner, 4);
  std::vector<float> host(64);
  EXPECT_ERROR([&] { timed.download(host.data(), small.get(), host.size() * sizeof(float)); }, "internal", "download");
  // ... and the wrapper still works afterwards.
  EXPECT(run_ops(timed) == want);

  return finish("test_timed_ops");
}
