// Every way a model folder, batch or adapter can be wrong gives a TunerError with a stable code
// and a message naming the file / tensor / field; nothing crashes or aborts.
#include <cstdio>
#include <fstream>

#include "check_macros.h"
#include "tiny_model_fixture.h"
#include "tuner/model.h"

using namespace tuner;

static void edit_config(const std::string& dir, const std::string& key, Json value) {
  Json c = Json::parse_file(dir + "/config.json");
  c.set(key, std::move(value));
  write_file_atomic(dir + "/config.json", c.dump());
}

int main() {
  TinySpec spec;
  std::string ok = write_tiny_model(fresh_dir("ok"), spec);
  auto m = Model::load(ok);
  EXPECT(m->config().num_layers == 2 && m->config().head_dim == 4);
  EXPECT(m->num_params() == 40 * 16 * 2 + 2 * (16 + 16 * 16 + 8 * 16 * 2 + 16 * 16 + 16 + 24 * 16 * 3) + 16);

  EXPECT_ERROR([] { Model::load("/nonexistent/model"); }, "missing_model", "/nonexistent/model");
  {
    std::string d = write_tiny_model(fresh_dir("noconfig"), spec);
    std::remove((d + "/config.json").c_str());
    EXPECT_ERROR([&] { Model::load(d); }, "missing_config", d + "/config.json");
  }
  {
    std::string d = write_tiny_model(fresh_dir("arch"), spec);
    edit_config(d, "architectures", Json::array({Json("GPTNeoXForCausalLM")}));
    EXPECT_ERROR([&] { Model::load(d); }, "unsupported_architecture", "\"GPTNeoXForCausalLM\" is not supported; supported: LlamaForCausalLM");
    edit_config(d, "architectures", Json::array());
    EXPECT_ERROR([&] { Model::load(d); }, "unsupported_architecture", "\"architectures\" is missing");
  }
  {
    std::string d = write_tiny_model(fresh_dir("fields"), spec);
    edit_config(d, "num_key_value_heads", Json(3));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"num_key_value_heads\" must divide");
    edit_config(d, "num_key_value_heads", Json(2));
    edit_config(d, "hidden_size", Json("16"));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"hidden_size\" must be an integer");
    edit_config(d, "hidden_size", Json(16));
    edit_config(d, "hidden_act", Json("gelu"));
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"hidden_act\"");
    edit_config(d, "hidden_act", Json("silu"));
    Json rs = Json::object();
    rs.set("rope_type", Json("longrope"));
    rs.set("factor", Json(2.0));
    edit_config(d, "rope_scaling", rs);
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "\"longrope\" is not supported");
    rs.set("rope_type", Json("llama3"));
    edit_config(d, "rope_scaling", rs);
    EXPECT_ERROR([&] { Model::load(d); }, "bad_config", "original_max_position_embeddings");
    std::ofstream(d + "/config.json") << "{\"architectures\": [\"LlamaForCausalLM\"],}";
    EXPECT_ERROR([&] { Model::load(d); }, "bad_json", d + "/config.json:1:");
  }
  {
    std::string d = write_tiny_model(fresh_dir("noweights"), spec);
    std::remove((d + "/model.safetensors").c_str());
    EXPECT_ERROR([&] { Model::load(d); }, "missing_weights", "no model.safetensors");
  }
  {
    std::string d = write_tiny_model(fresh_dir("missing"), spec, "model.layers.1.mlp.up_proj.weight");
    EXPECT_ERROR([&] { Model::load(d); }, "missing_tensor", "\"model.layers.1.mlp.up_proj.weight\" is missing (expected shape [24, 16]");
    std::string t = write_tiny_model(fresh_dir("untied"), spec, "lm_head.weight");
    EXPECT_ERROR([&] { Model::load(t); }, "missing_tensor", "lm_head.weight");
  }
  {
    std::string d = write_tiny_model(fresh_dir("shape"), spec, "", "model.layers.0.self_attn.k_proj.weight", {16, 16});
    EXPECT_ERROR([&] { Model::load(d); }, "shape_mismatch",
                 "tensor \"model.layers.0.self_attn.k_proj.weight\" has shape [16, 16] but config.json");
  }
  {
    std::string d = write_tiny_model(fresh_dir("trunc"), spec);
    std::string p = d + "/model.safetensors";
    std::string bytes = read_text_file(p);
    std::ofstream(p, std::ios::binary) << bytes.substr(0, bytes.size() - 7);
    EXPECT_ERROR([&] { Model::load(d); }, "truncated_file", p + ": truncated");
  }
  {
    // Sharded: the index names a shard that is absent, or a tensor the shard lacks.
    std::string d = write_tiny_model(fresh_dir("shards"), spec);
    std::rename((d + "/model.safetensors").c_str(), (d + "/model-00001-of-00002.safetensors").c_str());
    Json wm = Json::object();
    for (auto& [name, shape] : tiny_shapes(spec)) wm.set(name, Json("model-00001-of-00002.safetensors"));
    wm.set("model.norm.weight", Json("model-00002-of-00002.safetensors"));
    Json index = Json::object();
    index.set("weight_map", wm);
    write_file_atomic(d + "/model.safetensors.index.json", index.dump());
    EXPECT_ERROR([&] { Model::load(d); }, "file_not_found", "model-00002-of-00002.safetensors");
    wm.set("model.norm.weight", Json("model-00001-of-00002.safetensors"));
    wm.set("model.extra.weight", Json("model-00001-of-00002.safetensors"));
    index.set("weight_map", wm);
    write_file_atomic(d + "/model.safetensors.index.json", index.dump());
    EXPECT_ERROR([&] { Model::load(d); }, "missing_tensor", "\"model.extra.weight\" is listed in model.safetensors.index.json");
    wm.set("model.extra.weight", Json("../evil.safetensors"));
    index.set("weight_map", wm);
    write_file_atomic(d + "/model.safetensors.index.json", index.dump());
    EXPECT_ERROR([&] { Model::load(d); }, "bad_index", "plain file name");
  }
  // Batches: token ids outside the vocabulary. (Sequences longer than a sliding window are
  // valid: test_sliding_window.cpp.)
  {
    std::vector<uint32_t> tok = {1, 2, 99, 3}, tgt = {2, 3, 4, 5};
    std::vector<uint8_t> mask = {1, 1, 1, 1};
    Batch b{tok.data(), tgt.data(), mask.data(), 1, 4};
    EXPECT_ERROR([&] { m->forward(b, false, 0, nullptr); }, "bad_batch", "token id 99 at position 2");
  }
  // LoRA settings and adapters.
  {
    auto ml = Model::load(ok);
    LoraConfig lc;
    lc.target_modules = {"q_proj", "qkv_proj"};
    EXPECT_ERROR([&] { ml->enable_lora(lc, 0); }, "bad_lora", "\"qkv_proj\" does not exist");
    lc.target_modules = {};
    EXPECT_ERROR([&] { ml->enable_lora(lc, 0); }, "bad_lora", "target_modules is empty");
    lc.target_modules = {"q_proj"};
    lc.rank = 0;
    EXPECT_ERROR([&] { ml->enable_lora(lc, 0); }, "bad_lora", "rank must be >= 1");
    lc.rank = 4;
    ml->enable_lora(lc, 0);
    std::string ad = fresh_dir("adapter");
    ml->save_adapter(ad);
    auto other = Model::load(ok);
    LoraConfig lc8 = lc;
    lc8.rank = 8;
    other->enable_lora(lc8, 0);
    EXPECT_ERROR([&] { other->load_adapter(ad); }, "bad_adapter", "adapter_config.json: rank / alpha / target_modules differ");
    EXPECT_ERROR([&] { other->load_adapter("/nonexistent/adapter"); }, "file_not_found", "adapter_config.json");
  }
  return finish("test_model_errors");
}
