// Run plan validation (each mistake names its field and the fix), tuner-train's arguments,
// and the protocol's number formatting and command parsing.
#include <cstdlib>

#include "trainer_test_util.h"
#include "tuner/json.h"
#include "tuner/protocol.h"
#include "tuner/train.h"

using namespace tuner;

namespace {

const char* kPlan = R"({"version":1,"model_dir":"m","data_dir":"/abs/d","output_dir":"o","method":"lora",
  "lora":{"rank":4,"alpha":8,"dropout":0.1,"target_modules":["q_proj","v_proj"]},
  "optimizer":{"lr":2e-4,"betas":[0.9,0.99],"eps":1e-8,"weight_decay":0.01},
  "schedule":"cosine","warmup_steps":3,"max_steps":20,"batch_size":2,"seq_len":16,"grad_accum":2,
  "max_grad_norm":1.0,"seed":7,"threads":1,"save_interval":5})";

RunPlan parse_with(const std::string& key, const std::string& value_json) {
  Json j = Json::parse(kPlan, "plan.json");
  if (value_json.empty()) {
    Json::Object o;
    for (const auto& kv : j.as_object())
      if (kv.first != key) o.push_back(kv);
    j = Json::object(o);
  } else {
    j.set(key, Json::parse(value_json, "value"));
  }
  return parse_plan(j, "plan.json", "/base");
}

}  // namespace

int main() {
  {
    const RunPlan p = parse_plan(Json::parse(kPlan, "plan.json"), "plan.json", "/base");
    CHECK(p.model_dir == "/base/m" && p.data_dir == "/abs/d" && p.output_dir == "/base/o");
    CHECK(p.is_lora() && p.lora.rank == 4 && p.lora.target_modules.size() == 2);
    CHECK(p.optimizer.beta2 == 0.99 && p.schedule == ScheduleKind::Cosine && p.grad_accum == 2);
    CHECK(p.max_steps == 20 && p.seed == 7 && p.save_interval == 5);
    // The fingerprint ignores paths and threads but not the hyper-parameters.
    RunPlan q = p;
    q.output_dir = "/elsewhere";
    q.threads = 8;
    CHECK(plan_fingerprint(p) == plan_fingerprint(q));
    q.optimizer.lr = 3e-4;
    CHECK(plan_fingerprint(p) != plan_fingerprint(q));
  }
  CHECK_ERROR(parse_with("model_dir", ""), "bad_plan", "\"model_dir\" is missing");
  CHECK_ERROR(parse_with("method", "\"dpo\""), "bad_plan", "\"method\" is \"dpo\"");
  CHECK_ERROR(parse_with("base_quant", "\"q8_0\""), "bad_plan", "\"base_quant\" is \"q8_0\"");
  CHECK_ERROR(parse_with("gradient_checkpointing", "1"), "bad_plan", "\"gradient_checkpointing\" must be true or false");
  CHECK_ERROR(parse_with("schedule", "\"poly\""), "bad_plan", "\"schedule\"");
  CHECK_ERROR(parse_with("batch_size", "0"), "bad_plan", "\"batch_size\" is 0");
  CHECK_ERROR(parse_with("batch_size", "\"4\""), "bad_plan", "\"batch_size\" must be a number");
  CHECK_ERROR(parse_with("seq_len", "2.5"), "bad_plan", "whole number");
  CHECK_ERROR(parse_with("optimizer", "{\"lr\":-1}"), "bad_plan", "\"optimizer.lr\"");
  CHECK_ERROR(parse_with("optimizer", "{\"betas\":[0.9]}"), "bad_plan", "\"optimizer.lr\" is missing");
  CHECK_ERROR(parse_with("optimizer", "{\"lr\":1e-3,\"betas\":[0.9]}"), "bad_plan", "\"optimizer.betas\"");
  CHECK_ERROR(parse_with("optimizer", "{\"lr\":1e-3,\"momentum\":0.9}"), "bad_plan", "\"optimizer.momentum\" applies to optimizer \"sgd\" only");
  CHECK_ERROR(parse_with("optimizer", "{\"lr\":1e-3,\"rho\":0.9}"), "bad_plan", "\"optimizer.rho\" is not a plan field");
  CHECK_ERROR(parse_with("optimizer", "{\"name\":\"adam\",\"lr\":1e-3}"), "bad_plan", "\"optimizer.name\" is \"adam\"");
  CHECK_ERROR(parse_with("optimizer", "{\"name\":\"sgd\",\"lr\":1e-3,\"nesterov\":true}"), "bad_plan", "\"optimizer.nesterov\" needs momentum");
  // LOMO applies gradients inside backward: no accumulation, no optimizer state.
  CHECK_ERROR(parse_with("method", "\"lomo\""), "bad_plan", "cannot accumulate micro-batches");
  {
    // Lion takes the paper's betas unless the plan gives them; SGD's momentum and Nesterov, a
    // qlora base and checkpointing are read; another optimizer is another fingerprint.
    RunPlan lion = parse_with("optimizer", "{\"name\":\"lion\",\"lr\":1e-4}");
    CHECK(lion.optimizer.kind == OptimizerKind::Lion && lion.optimizer.beta1 == 0.9 && lion.optimizer.beta2 == 0.99);
    RunPlan sgd = parse_with("optimizer", "{\"name\":\"sgd\",\"lr\":1e-2,\"momentum\":0.9,\"nesterov\":true}");
    CHECK(sgd.optimizer.kind == OptimizerKind::Sgd && sgd.optimizer.momentum == 0.9 && sgd.optimizer.nesterov);
    CHECK(plan_fingerprint(lion) != plan_fingerprint(sgd));
    RunPlan q = parse_with("method", "\"qlora\"");
    CHECK(q.is_lora() && q.base_quant == "nf4");
    RunPlan q8 = parse_with("base_quant", "\"int8\"");
    q8.method = "qlora";
    CHECK(plan_fingerprint(q) != plan_fingerprint(q8));
    RunPlan gc = parse_with("gradient_checkpointing", "true");
    CHECK(gc.gradient_checkpointing && plan_fingerprint(gc) == plan_fingerprint(parse_with("gradient_checkpointing", "false")));
  }
  CHECK_ERROR(parse_with("lora", "{\"target_modules\":[\"qproj\"]}"), "bad_plan", "\"lora.target_modules\"");
  CHECK_ERROR(parse_with("learning_rate", "0.1"), "bad_plan", "\"learning_rate\" is not a plan field");
  CHECK_ERROR(parse_with("epochs", "3"), "bad_plan", "\"epochs\" is set together with max_steps");
  CHECK_ERROR(parse_with("max_steps", ""), "bad_plan", "\"max_steps\" is missing");
  CHECK_ERROR(parse_with("eval_interval", "10"), "bad_plan", "\"eval_data_dir\" is missing");
  CHECK_ERROR(parse_with("version", "2"), "bad_plan", "plan version 1");
  {
    // Samples: prompts as token ids, optional stop ids; not part of the fingerprint (they change no number).
    const RunPlan p = parse_with("samples", R"({"interval":10,"max_new_tokens":8,"prompts":[[1,5,9],[1,7]],"stop_ids":[2],"texts":["a","b"]})");
    CHECK(p.samples.interval == 10 && p.samples.max_new_tokens == 8 && p.samples.prompts.size() == 2);
    CHECK(p.samples.prompts[1] == std::vector<uint32_t>({1, 7}) && p.samples.stop_ids == std::vector<uint32_t>({2}));
    CHECK(plan_fingerprint(p) == plan_fingerprint(parse_with("samples", "")));
    CHECK(parse_with("samples", "").samples.interval == 0);
  }
  CHECK_ERROR(parse_with("samples", R"({"interval":0,"prompts":[[1]]})"), "bad_plan", "\"samples.interval\"");
  CHECK_ERROR(parse_with("samples", R"({"interval":5,"prompts":[]})"), "bad_plan", "\"samples.prompts\" must be 1 to 16 prompts");
  CHECK_ERROR(parse_with("samples", R"({"interval":5,"prompts":[[1,-2]]})"), "bad_plan", "\"samples.prompts[0]\" contains -2");
  CHECK_ERROR(parse_with("samples", R"({"interval":5,"prompts":[[]]})"), "bad_plan", "\"samples.prompts[0]\" is empty");
  CHECK_ERROR(parse_with("samples", R"({"interval":5,"prompts":[[1]],"temperature":1})"), "bad_plan", "\"samples.temperature\" is not a plan field");
  CHECK_ERROR(load_plan("/nonexistent/plan.json"), "bad_plan", "/nonexistent/plan.json");
  {  // errors name the line of the field in the plan's text
    const std::string text = "{\"model_dir\":\"m\",\"data_dir\":\"d\",\"output_dir\":\"o\",\"method\":\"full\",\n"
                             "\"optimizer\": {\n  \"lr\": 0\n},\n\"max_steps\":1,\"batch_size\":1,\"seq_len\":8}";
    CHECK_ERROR(parse_plan(Json::parse(text, "p.json"), "p.json", "/b", text), "bad_plan", "p.json:3: field \"optimizer.lr\"");
  }

  {
    const char* ok[] = {"tuner-train", "--plan", "p.json", "--resume", "ck/", "--start-paused"};
    const CliArgs a = parse_cli_args(6, ok);
    CHECK(a.plan_path == "p.json" && a.options.resume_dir == "ck" && a.options.start_paused);
    const char* none[] = {"tuner-train"};
    CHECK_ERROR(parse_cli_args(1, none), "bad_arguments", "--plan is required");
    const char* bad[] = {"tuner-train", "--plan", "p.json", "--fast"};
    CHECK_ERROR(parse_cli_args(4, bad), "bad_arguments", "--fast");
    const char* dangling[] = {"tuner-train", "--plan"};
    CHECK_ERROR(parse_cli_args(2, dangling), "bad_arguments", "--plan needs a value");
  }

  {  // numbers print in the shortest form that reads back exactly
    for (float f : {0.1f, 3.6080909f, 1e-30f, 123456.789f, -2.5f}) CHECK(std::strtof(format_float(f).c_str(), nullptr) == f);
    for (double d : {0.1, 1.0 / 3.0, 2e-4, 3.143895053378698e-05}) CHECK(std::strtod(format_double(d).c_str(), nullptr) == d);
    CHECK(format_float(0.5f) == "0.5");
    CHECK(format_double(NAN) == "null");
    CHECK(json_quote("a\"b\\\n\x01") == "\"a\\\"b\\\\\\n\\u0001\"");
    const std::string line = EventLine("step").integer("step", 3).numf("loss", 1.5f).finish();
    CHECK(line == "{\"version\":1,\"type\":\"step\",\"step\":3,\"loss\":1.5}");
  }
  {
    CommandType c;
    std::string why;
    CHECK(parse_command("{\"version\":1,\"type\":\"pause\"}", &c, &why) && c == CommandType::Pause);
    CHECK(parse_command("  stop \r", &c, &why) && c == CommandType::Stop);
    CHECK(!parse_command("{\"version\":2,\"type\":\"pause\"}", &c, &why) && why.find("version") != std::string::npos);
    CHECK(!parse_command("{\"version\":1,\"type\":\"jump\"}", &c, &why));
    CHECK(!parse_command("{\"version\":1,", &c, &why));
    CHECK(!parse_command("faster", &c, &why) && why.find("faster") != std::string::npos);
    Command set;
    CHECK(parse_command("{\"version\":1,\"type\":\"set\",\"lr_scale\":0.5}", &set, &why) && set.type == CommandType::Set && set.lr_scale == 0.5 && set.lr == 0);
    CHECK(parse_command("set lr 1e-4", &set, &why) && set.type == CommandType::Set && set.lr == 1e-4 && set.lr_scale == 0);
    CHECK(!parse_command("{\"version\":1,\"type\":\"set\"}", &set, &why) && why.find("exactly one") != std::string::npos);
    CHECK(!parse_command("{\"version\":1,\"type\":\"set\",\"lr\":0}", &set, &why) && why.find("positive") != std::string::npos);
    CHECK(!parse_command("set lr", &set, &why));
    CHECK(!parse_command("set momentum 0.9", &set, &why));
    CHECK(!parse_command("pause now", &set, &why));
  }
  return trainer_test::finish("test_trainer_plan");
}
