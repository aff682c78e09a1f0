// The addon's inference surface (src/core/engine/infer-addon.ts): inferLoad and its session
// objects, loaded only in the inference worker process.
#pragma once
#include <napi.h>

namespace tuner_addon {

// Adds inferLoad(options) to the addon's exports.
void InitInfer(Napi::Env env, Napi::Object exports);

}  // namespace tuner_addon
