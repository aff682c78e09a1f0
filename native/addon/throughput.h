// The addon's speed probe: measureCpuThroughput(threads?, budgetMs?) times the engine's sgemm on
// a libuv worker thread (the extension host's event loop keeps running) and resolves a promise
// with { gflops, bestGflops, threads, rounds, ms, kernel, shape }.
#pragma once
#include <napi.h>

namespace tuner_addon {

Napi::Value MeasureCpuThroughput(const Napi::CallbackInfo& info);

}  // namespace tuner_addon
