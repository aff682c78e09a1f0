// measureCpuThroughput (throughput.h): an AsyncWorker around tuner::measure_gemm_throughput, so
// the ~200 ms of matrix products never block the thread that called it.
#include "throughput.h"

#include <algorithm>
#include <exception>

#include "tuner/gemm_throughput.h"

namespace tuner_addon {

namespace {

class ThroughputWorker : public Napi::AsyncWorker {
 public:
  ThroughputWorker(Napi::Env env, int threads, double budget_ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), threads_(threads), budget_ms_(budget_ms) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = tuner::measure_gemm_throughput(threads_, budget_ms_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("gflops", result_.gflops);
    o.Set("bestGflops", result_.best_gflops);
    o.Set("threads", result_.threads);
    o.Set("rounds", result_.rounds);
    o.Set("ms", result_.ms);
    o.Set("kernel", result_.kernel);
    o.Set("shape", result_.shape);
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int threads_;
  double budget_ms_;
  tuner::GemmThroughput result_;
};

}  // namespace

Napi::Value MeasureCpuThroughput(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = 0;
  double budget_ms = 200;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "measureCpuThroughput(threads, budgetMs): threads must be a number (0: all cores)");
    threads = info[0].As<Napi::Number>().Int32Value();
  }
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "measureCpuThroughput(threads, budgetMs): budgetMs must be a number of milliseconds");
    // Bounded: a caller cannot make the probe run for long.
    budget_ms = std::clamp(info[1].As<Napi::Number>().DoubleValue(), 10.0, 2000.0);
  }
  auto* worker = new ThroughputWorker(env, threads, budget_ms);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

}  // namespace tuner_addon
