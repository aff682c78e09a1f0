// The addon's inference surface, exactly src/core/engine/infer-addon.ts: inferLoad(options)
// returns a session object whose methods are synchronous and bounded (one prompt chunk, one
// token), so the inference worker process that calls them can see a cancel between calls. It
// is never loaded in the extension host. Engine errors become JS Errors with .code and .hint.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "infer.h"
#include "tuner/error.h"
#include "tuner/infer.h"

namespace tuner_addon {

namespace {

using tuner::TunerError;

[[noreturn]] void throw_js(Napi::Env env, const std::string& code, const std::string& message, const std::string& hint) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.Set("hint", Napi::String::New(env, hint));
  throw e;
}

// Runs fn, turning engine exceptions into JS errors (a bad_alloc is an out_of_memory with a hint).
template <class F>
auto guarded(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const TunerError& e) {
    throw_js(env, e.code(), e.what(), e.hint());
  } catch (const std::bad_alloc&) {
    throw_js(env, "out_of_memory", "not enough memory for the model, its KV cache or this request",
             "Use a smaller context length, a quantized format, or a smaller model.");
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw_js(env, "internal", e.what(), "This is a bug in Tuner; please report it.");
  }
}

[[noreturn]] void bad_arg(Napi::Env env, const std::string& what) {
  throw_js(env, "bad_arguments", what, "Call the inference addon as src/core/engine/infer-addon.ts declares.");
}

double get_number(Napi::Env env, const Napi::Object& o, const char* key, bool required, double def) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) bad_arg(env, std::string("option \"") + key + "\" is required");
    return def;
  }
  if (!v.IsNumber()) bad_arg(env, std::string("option \"") + key + "\" must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<uint32_t> get_ids(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array)
    bad_arg(env, std::string(what) + " must be a Uint32Array");
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  return std::vector<uint32_t>(a.Data(), a.Data() + a.ElementLength());
}

struct Holder {
  std::unique_ptr<tuner::InferSession> session;
  tuner::InferSession& get(Napi::Env env) {
    if (!session) throw_js(env, "session_freed", "this inference session was freed", "Load the model again with inferLoad().");
    return *session;
  }
};

Napi::Object info_object(Napi::Env env, const tuner::InferInfo& i) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("architecture", i.architecture);
  o.Set("vocabSize", i.vocab_size);
  o.Set("contextLength", i.context_length);
  o.Set("quant", tuner::quant_type_name(i.quant));
  o.Set("weightBytes", Napi::Number::New(env, (double)i.weight_bytes));
  o.Set("kvCacheBytes", Napi::Number::New(env, (double)i.kv_cache_bytes));
  o.Set("loadMs", i.load_ms);
  o.Set("kernel", i.kernel);
  o.Set("lora", i.lora);
  o.Set("device", i.device);
  o.Set("deviceName", i.device_name);
  o.Set("deviceReason", i.device_reason);
  return o;
}

Napi::Value InferLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) bad_arg(env, "inferLoad(options) wants an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  tuner::InferOptions opt;
  Napi::Value model = o.Get("model"), adapter = o.Get("adapter"), quant = o.Get("quant");
  if (!model.IsString()) bad_arg(env, "option \"model\" must be a folder path");
  opt.model = model.As<Napi::String>().Utf8Value();
  if (!adapter.IsUndefined() && !adapter.IsNull()) {
    if (!adapter.IsString()) bad_arg(env, "option \"adapter\" must be a folder path");
    opt.adapter = adapter.As<Napi::String>().Utf8Value();
  }
  if (!quant.IsUndefined()) {
    const std::string q = quant.IsString() ? quant.As<Napi::String>().Utf8Value() : "";
    if (!tuner::quant_type_from_name(q, &opt.quant))
      throw_js(env, "unknown_quant", "quant \"" + q + "\" is not a weight format the engine runs",
               "Use one of f32, f16, bf16, q8_0, q4_0, int8, nf4.");
  }
  opt.context_length = (int)get_number(env, o, "contextLength", true, 0);
  opt.threads = (int)get_number(env, o, "threads", false, 0);
  Napi::Value device = o.Get("device");
  if (!device.IsUndefined()) {
    if (!device.IsString()) bad_arg(env, "option \"device\" must be \"cpu\", \"cuda\" or \"auto\"");
    opt.device = device.As<Napi::String>().Utf8Value();  // checked by InferSession::load (bad_device)
  }
  auto h = std::make_shared<Holder>();
  h->session = guarded(env, [&] { return tuner::InferSession::load(opt); });

  Napi::Object s = Napi::Object::New(env);
  auto method = [&](const char* name, std::function<Napi::Value(const Napi::CallbackInfo&)> fn) {
    s.Set(name, Napi::Function::New(env, [fn](const Napi::CallbackInfo& ci) { return fn(ci); }, name));
  };
  method("info", [h](const Napi::CallbackInfo& ci) { return info_object(ci.Env(), h->get(ci.Env()).info()); });
  method("position", [h](const Napi::CallbackInfo& ci) {
    return Napi::Number::New(ci.Env(), h->get(ci.Env()).position());
  });
  method("truncate", [h](const Napi::CallbackInfo& ci) {
    Napi::Env e = ci.Env();
    if (ci.Length() < 1 || !ci[0].IsNumber()) bad_arg(e, "truncate(position) wants a number");
    const double p = ci[0].As<Napi::Number>().DoubleValue();
    guarded(e, [&] { h->get(e).truncate(p >= 0 && p <= 2e9 ? (int)p : -1); });
    return e.Undefined();
  });
  method("append", [h](const Napi::CallbackInfo& ci) {
    Napi::Env e = ci.Env();
    std::vector<uint32_t> ids = get_ids(e, ci.Length() ? ci[0] : e.Undefined(), "append(ids): ids");
    guarded(e, [&] { h->get(e).append(ids.data(), (int)ids.size()); });
    return e.Undefined();
  });
  method("setSampler", [h](const Napi::CallbackInfo& ci) {
    Napi::Env e = ci.Env();
    if (ci.Length() < 1 || !ci[0].IsObject()) bad_arg(e, "setSampler(settings) wants a settings object");
    Napi::Object so = ci[0].As<Napi::Object>();
    tuner::SamplerSettings st;
    st.temperature = (float)get_number(e, so, "temperature", true, 0);
    st.top_k = (int)get_number(e, so, "topK", true, 0);
    st.top_p = (float)get_number(e, so, "topP", true, 1);
    st.min_p = (float)get_number(e, so, "minP", true, 0);
    st.repetition_penalty = (float)get_number(e, so, "repetitionPenalty", true, 1);
    st.no_repeat_ngram_size = (int)get_number(e, so, "noRepeatNgramSize", true, 0);
    const double seed = get_number(e, so, "seed", true, 0);
    if (!(seed >= 0 && seed <= 9007199254740991.0) || seed != (double)(uint64_t)seed)
      bad_arg(e, "setSampler: seed must be a whole number >= 0");
    st.seed = (uint64_t)seed;
    guarded(e, [&] { h->get(e).sampler().reset(st); });
    return e.Undefined();
  });
  method("sample", [h](const Napi::CallbackInfo& ci) {
    Napi::Env e = ci.Env();
    std::vector<uint32_t> banned;
    if (ci.Length() >= 1 && !ci[0].IsUndefined()) banned = get_ids(e, ci[0], "sample(banned): banned");
    const uint32_t id = guarded(e, [&] { return h->get(e).sample(banned.data(), (int)banned.size()); });
    return Napi::Number::New(e, id);
  });
  method("logits", [h](const Napi::CallbackInfo& ci) {
    Napi::Env e = ci.Env();
    tuner::InferSession& s = h->get(e);
    const int V = s.config().vocab_size;
    Napi::Float32Array out = Napi::Float32Array::New(e, (size_t)V);
    std::copy(s.logits(), s.logits() + V, out.Data());
    return out;
  });
  method("residentBytes", [](const Napi::CallbackInfo& ci) {
    return Napi::Number::New(ci.Env(), (double)tuner::process_resident_bytes());
  });
  method("free", [h](const Napi::CallbackInfo& ci) {
    h->session.reset();
    return ci.Env().Undefined();
  });
  return s;
}

}  // namespace

void InitInfer(Napi::Env env, Napi::Object exports) {
  exports.Set("inferLoad", Napi::Function::New(env, InferLoad, "inferLoad"));
}

}  // namespace tuner_addon
