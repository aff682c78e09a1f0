// config.json is checked against the weight files before anything is allocated (a layer count
// or a size the files do not hold is a bad_config / shape_mismatch naming the field, never a
// bad_alloc), non-finite weights are refused when they are read, naming the tensor (model,
// adapter, inference session, quantized folder), and numbers in messages read as written.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "check_macros.h"
#include "infer_test_util.h"
#include "tuner/export.h"
#include "tuner/infer.h"
#include "tuner/model.h"

using namespace tuner;

namespace {

// Overwrites element `index` of F32 tensor `name` in a safetensors file with v.
void poke_f32(const std::string& file, const std::string& name, int64_t index, float v) {
  uint64_t begin = SafetensorsFile::open(file)->find(name)->begin, header = 0;
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.read(reinterpret_cast<char*>(&header), 8);
  io.seekp((std::streamoff)(8 + header + begin + (uint64_t)index * 4));
  io.write(reinterpret_cast<const char*>(&v), 4);
}

// The message of the TunerError fn throws ("" when it throws none); its code in *code.
std::string message_of(const std::function<void()>& fn, std::string* code = nullptr) {
  try {
    fn();
  } catch (const TunerError& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

}  // namespace

int main() {
  TinySpec spec;
  // Layer count and sizes beyond the files: refused before the model is allocated (each of these
// was a bad_alloc, or an out-of-memory kill, before).
  {
    std::string d = write_tiny_model(fresh_dir("layers"), spec);
    edit_config(d, "num_hidden_layers", Json(1e9));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"num_hidden_layers\" is 1000000000 but " + d + "/model.safetensors holds 2 layers");
    edit_config(d, "num_hidden_layers", Json(3));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"num_hidden_layers\" is 3 but " + d + "/model.safetensors holds 2 layers");
    edit_config(d, "num_hidden_layers", Json(1));  // fewer layers than stored: the rest would be ignored silently
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"num_hidden_layers\" is 1 but " + d + "/model.safetensors holds 2 layers");
    edit_config(d, "num_hidden_layers", Json(2));
    edit_config(d, "vocab_size", Json(1e9));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "(vocab_size=1000000000, hidden_size=16, ");
    edit_config(d, "vocab_size", Json(40));
    edit_config(d, "intermediate_size", Json(1e9));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "intermediate_size=1000000000, num_attention_heads=4, num_key_value_heads=2, head_dim=4) imply 96000002960 weights");
    edit_config(d, "intermediate_size", Json(40));  // a little off: the tensor that differs is named
    EXPECT_ERROR([&] { Model::load(d); }, "shape_mismatch", "model.layers.0.mlp.gate_proj.weight\" has shape [24, 16]");
    edit_config(d, "intermediate_size", Json(24));
    edit_config(d, "num_hidden_layers", Json(1e12));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"num_hidden_layers\" must be an integer from 1 to 1000000000 (found 1e+12)");
    edit_config(d, "num_hidden_layers", Json(2));
    EXPECT(Model::load(d)->config().num_layers == 2);
    // Inference reads the same config first.
    edit_config(d, "num_hidden_layers", Json(1e9));
    InferOptions o;
    o.model = d;
    o.context_length = 16;
    o.threads = 1;
    EXPECT_ERROR([&] { InferSession::load(o); }, "bad_config", "\"num_hidden_layers\"");
  }
  // Numbers in messages are printed as written (no "0.000000").
  {
    std::string d = write_tiny_model(fresh_dir("numbers"), spec);
    edit_config(d, "rms_norm_eps", Json(-1e-6));
    const std::string m = message_of([&] { Model::load(d); });
    EXPECT(m.find("\"rms_norm_eps\" must be a number > 0 (found -1e-06)") != std::string::npos);
    EXPECT(m.find("0.000000") == std::string::npos);
    edit_config(d, "rms_norm_eps", Json(1e-5));
    Json rs = Json::object();
    rs.set("rope_type", Json("yarn"));
    rs.set("factor", Json(2.0));
    rs.set("attention_factor", Json(-0.5));
    edit_config(d, "rope_scaling", rs);
    const std::string y = message_of([&] { Model::load(d); });
    EXPECT(y.find("\"attention_factor\" must be a number >= 0 (found -0.5)") != std::string::npos);
    EXPECT(y.find("0000") == std::string::npos);
  }
  // Non-finite weights, named with their file and first bad element.
  {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::string d = write_tiny_model(fresh_dir("nan"), spec);
    poke_f32(d + "/model.safetensors", "model.layers.1.mlp.up_proj.weight", 17, nan);
    EXPECT_ERROR([&] { Model::load(d); }, "non_finite_weights",
                 d + "/model.safetensors: tensor \"model.layers.1.mlp.up_proj.weight\" holds NaN (element 17");
    InferOptions o;
    o.model = d;
    o.context_length = 16;
    o.threads = 1;
    EXPECT_ERROR([&] { InferSession::load(o); }, "non_finite_weights", "model.layers.1.mlp.up_proj.weight");
    o.quant = QuantType::Q8_0;
    EXPECT_ERROR([&] { InferSession::load(o); }, "non_finite_weights", "model.layers.1.mlp.up_proj.weight");
    std::string e = write_tiny_model(fresh_dir("inf"), spec);
    poke_f32(e + "/model.safetensors", "model.norm.weight", 0, -inf);
    EXPECT_ERROR([&] { Model::load(e); }, "non_finite_weights", "tensor \"model.norm.weight\" holds -infinity (element 0");

    // An adapter with a NaN: refused when loaded.
    std::string ok = write_tiny_model(fresh_dir("ok"), spec);
    auto m = Model::load(ok);
    LoraConfig lc;
    lc.target_modules = {"q_proj", "v_proj"};
    m->enable_lora(lc, 0);
    std::string ad = fresh_dir("adapter");
    m->save_adapter(ad);
    auto f = SafetensorsFile::open(ad + "/adapter_model.safetensors");
    const std::string first = f->tensors()[0].name;
    f.reset();
    poke_f32(ad + "/adapter_model.safetensors", first, 1, nan);
    auto other = Model::load(ok);
    other->enable_lora(lc, 0);
    EXPECT_ERROR([&] { other->load_adapter(ad); }, "non_finite_weights", "adapter_model.safetensors: tensor \"" + first + "\" holds NaN");
    // A rank beyond int's range (casting it was undefined behaviour).
    Json ac = Json::parse_file(ad + "/adapter_config.json");
    ac.set("r", Json(1e12));
    write_file_atomic(ad + "/adapter_config.json", ac.dump());
    auto fresh = Model::load(ok);
    EXPECT_ERROR([&] { fresh->load_adapter(ad); }, "bad_adapter", "\"r\" must be a whole number from 1 to 65536 (found 1e+12)");
  }
  return finish("test_model_limits");
}
