// tuner-train end to end on the GPU (device "cuda" in the plan), for LoRA (with dropout) and a full
// fine-tune of a tiny Llama: the run reports the GPU in its start event; kill -9 in the middle of
// a run and --resume from its last checkpoint give the losses of an uninterrupted run bit for bit
// (as trainer-resume.test.ts checks on the CPU); and the first step's loss, taken before any update,
// matches the CPU engine's within bf16's tolerance. Needs no Node: the model and data folders are
// written from C++, so the GPU machine runs it from a bare checkout (scripts/gpu-check.sh).
// Exits 77 (skipped) without a CUDA device. TUNER_TEST_TRAIN_DEVICE=host runs the same checks on
// tuner-train's device path over the CPU stand-in (TUNER_DEVICE_OPS=host), which tests this harness
// and everything but the kernels on machines without a GPU.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "check_macros.h"
#include "shard_fixture.h"
#include "tiny_model_fixture.h"
#include "tuner/cuda_device.h"
#include "tuner/json.h"

using namespace tuner;

namespace {

const int kVocab = 256, kMaxSteps = 120, kSaveInterval = 20, kKillAfter = 40;
// Rows of three 64-key attention blocks, so the backward's dQ sums over several key blocks (the
// deterministic query-major kernel) and bit-exact resume covers it.
const int kRowTokens = 192;
// The start event's device kind the runs must report: "cuda", or "host_ops" under TUNER_DEVICE_OPS=host.
std::string g_kind = "cuda", g_trainer, g_root;

struct Exit {
  std::vector<Json> events;
  int status = 0;  // waitpid's
  bool killed = false;
  std::string stderr_path;
};

// Runs tuner-train on the plan (and --resume dir), reading its events line by line; with kill_at,
// sends SIGKILL as soon as the checkpoint event of that step arrives.
Exit run_trainer(const std::string& plan, const std::string& resume, int kill_at, const std::string& name) {
  Exit out;
  out.stderr_path = g_root + "/" + name + ".stderr";
  int fds[2];
  if (pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    const int err = open(out.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_in = open("/dev/null", O_RDONLY);
    if (err >= 0) dup2(err, 2);
    if (null_in >= 0) dup2(null_in, 0);
    close(fds[0]);
    std::vector<const char*> argv = {g_trainer.c_str(), "--plan", plan.c_str(), "--heartbeat-ms", "0"};
    if (!resume.empty()) argv.insert(argv.end(), {"--resume", resume.c_str()});
    argv.push_back(nullptr);
    execv(g_trainer.c_str(), const_cast<char* const*>(argv.data()));
    std::perror("execv tuner-train");
    _exit(127);
  }
  close(fds[1]);
  FILE* f = fdopen(fds[0], "r");
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    Json e;
    try {
      e = Json::parse(line, "tuner-train stdout");
    } catch (const TunerError& err) {
      std::fprintf(stderr, "%s: not an event: %s", name.c_str(), line);
      continue;
    }
    out.events.push_back(e);
    const Json* type = e.find("type");
    const Json* step = e.find("step");
    if (kill_at > 0 && !out.killed && type && type->as_string() == "checkpoint" && step && step->as_number() == kill_at) {
      kill(pid, SIGKILL);
      out.killed = true;
    }
  }
  free(line);
  fclose(f);
  waitpid(pid, &out.status, 0);
  return out;
}

std::string type_of(const Json& e) { return str_field(e, "type"); }

void fail() { EXPECT(false); }

std::map<int, double> losses(const Exit& x) {
  std::map<int, double> m;
  for (const Json& e : x.events)
    if (type_of(e) == "step") m[(int)e.find("step")->as_number()] = e.find("loss")->as_number();
  return m;
}

std::string status_text(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit " + std::to_string(WEXITSTATUS(status));
}

void print_failure(const Exit& x, const std::string& what) {
  std::fprintf(stderr, "%s: %s; its events (steps left out):\n", what.c_str(), status_text(x.status).c_str());
  for (const Json& e : x.events)
    if (type_of(e) != "step") std::fprintf(stderr, "  %s\n", e.dump().c_str());
  std::fprintf(stderr, "its stderr (%s):\n%s\n", x.stderr_path.c_str(), read_text_file(x.stderr_path).c_str());
}

bool exited_ok(const Exit& x, const std::string& what) {
  const bool ok = WIFEXITED(x.status) && WEXITSTATUS(x.status) == 0;
  if (!ok) print_failure(x, what);
  return ok;
}

std::string write_plan(const std::string& name, Json overrides, const std::string& device, int max_steps) {
  Json plan = Json::object();
  plan.set("version", Json(1));
  plan.set("model_dir", Json(g_root + "/model"));
  plan.set("data_dir", Json(g_root + "/data"));
  plan.set("output_dir", Json(g_root + "/" + name));
  plan.set("method", Json("lora"));
  plan.set("optimizer", Json::object({{"lr", Json(1e-2)}, {"weight_decay", Json(0.01)}}));
  plan.set("schedule", Json("cosine"));
  plan.set("warmup_steps", Json(5));
  plan.set("max_steps", Json(max_steps));
  plan.set("batch_size", Json(4));
  plan.set("seq_len", Json(kRowTokens));
  plan.set("max_grad_norm", Json(1.0));
  plan.set("seed", Json(1));
  plan.set("threads", Json(2));
  plan.set("save_interval", Json(kSaveInterval));
  plan.set("device", Json(device));
  for (const auto& [k, v] : overrides.as_object()) plan.set(k, v);
  const std::string path = g_root + "/" + name + ".json";
  write_file_atomic(path, plan.dump(2));
  return path;
}

// The uninterrupted run, the killed one, the resumed one, and the CPU's first step.
void kill_and_resume(const std::string& name, const Json& overrides) {
  std::printf("%s:\n", name.c_str());
  const Exit ref = run_trainer(write_plan(name + "-ref", overrides, "cuda", kMaxSteps), "", 0, name + "-ref");
  if (!exited_ok(ref, name + " uninterrupted run")) return fail();
  const Json* device = nullptr;
  for (const Json& e : ref.events)
    if (type_of(e) == "start") device = e.find("device");
  EXPECT(device && str_field(*device, "kind") == g_kind);
  if (device) std::printf("  device: %s (%s)\n", str_field(*device, "name").c_str(), str_field(*device, "kind").c_str());
  const std::map<int, double> want = losses(ref);
  EXPECT((int)want.size() == kMaxSteps);
  for (const auto& [step, loss] : want) EXPECT(std::isfinite(loss));

  const std::string plan = write_plan(name + "-run", overrides, "cuda", kMaxSteps);
  const Exit killed = run_trainer(plan, "", kKillAfter, name + "-killed");
  const std::map<int, double> before = losses(killed);
  bool done = false;
  for (const Json& e : killed.events) done = done || type_of(e) == "done";
  if (!killed.killed || !WIFSIGNALED(killed.status) || done) {
    print_failure(killed, name + " run to kill");
    std::fprintf(stderr, "  the run was not killed mid-run (it ended first, or never reached checkpoint %d)\n", kKillAfter);
    return fail();
  }
  for (const auto& [step, loss] : before) EXPECT(want.at(step) == loss);

  char ckpt[64];
  std::snprintf(ckpt, sizeof ckpt, "/checkpoints/step-%08d", kKillAfter);
  const Exit resumed = run_trainer(plan, g_root + "/" + name + "-run" + ckpt, 0, name + "-resumed");
  if (!exited_ok(resumed, name + " resumed run")) return fail();
  const std::map<int, double> after = losses(resumed);
  EXPECT(!after.empty() && after.begin()->first == kKillAfter + 1 && after.rbegin()->first == kMaxSteps);
  int equal = 0;
  for (const auto& [step, loss] : after) {
    if (want.at(step) == loss) ++equal;
    else std::fprintf(stderr, "  step %d: resumed loss %.9g, uninterrupted %.9g\n", step, loss, want.at(step));
  }
  EXPECT(equal == kMaxSteps - kKillAfter);
  std::printf("  uninterrupted %d steps; killed after step %d's checkpoint (%zu steps done); resumed: %d of %d losses equal\n",
              kMaxSteps, kKillAfter, before.size(), equal, kMaxSteps - kKillAfter);

  {
    const Exit cpu = run_trainer(write_plan(name + "-cpu", overrides, "cpu", 1), "", 0, name + "-cpu");
    if (!exited_ok(cpu, name + " CPU run")) return fail();
    const double l_cpu = losses(cpu).at(1), l_dev = want.at(1);
    std::printf("  first step loss: %s %.6f, cpu %.6f (relative difference %.2g)\n", g_kind.c_str(), l_dev, l_cpu,
                std::fabs(l_dev - l_cpu) / l_cpu);
    EXPECT_NEAR(l_dev, l_cpu, 1e-2 * l_cpu);  // bf16 products against fp32
  }
}

}  // namespace

int main() {
  const char* mode = std::getenv("TUNER_TEST_TRAIN_DEVICE");
  if (mode && std::string(mode) == "host") {
    setenv("TUNER_DEVICE_OPS", "host", 1);  // inherited by every tuner-train this test starts
    g_kind = "host_ops";
  } else {
    unsetenv("TUNER_DEVICE_OPS");
    const CudaRuntimeInfo& info = cuda_runtime_info();
    if (info.devices.empty()) {
      std::printf("no CUDA device (%s): skipped (TUNER_TEST_TRAIN_DEVICE=host runs these checks on the CPU stand-in)\n",
                  info.reason.c_str());
      return 77;
    }
  }
  // tuner-train is built beside this test (TUNER_TRAIN overrides).
  char self[PATH_MAX] = {0};
  if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return 1;
  std::string dir = self;
  dir = dir.substr(0, dir.rfind('/'));
  g_trainer = std::getenv("TUNER_TRAIN") ? std::getenv("TUNER_TRAIN") : dir + "/tuner-train";
  if (access(g_trainer.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "%s not found: build tuner-train (or set TUNER_TRAIN)\n", g_trainer.c_str());
    return 1;
  }
  g_root = fresh_dir("cuda_train_resume");

  TinySpec spec;
  spec.vocab = kVocab;
  spec.hidden = 128;
  spec.inter = 344;
  spec.heads = 2;  // heads of 64, as real models
  spec.kv_heads = 1;
  write_tiny_model(g_root + "/model", spec);
  std::vector<shard_fixture::Doc> docs;
  for (int d = 0; d < 48; ++d) {
    shard_fixture::Doc doc;
    for (int j = 0; j <= kRowTokens; ++j) {
      doc.tokens.push_back((uint32_t)((d * 7 + (j % 13) * 3) % kVocab));
      doc.mask.push_back(j >= 4);
    }
    docs.push_back(doc);
  }
  shard_fixture::write_set(g_root + "/data", shard_fixture::encode(docs), "", kVocab);

  const Json all_linears = Json::array({Json("q_proj"), Json("k_proj"), Json("v_proj"), Json("o_proj"), Json("gate_proj"),
                                        Json("up_proj"), Json("down_proj")});
  kill_and_resume("lora", Json::object({{"lora", Json::object({{"rank", Json(4)}, {"alpha", Json(8)}, {"dropout", Json(0.1)},
                                                                {"target_modules", all_linears}})}}));
  kill_and_resume("full", Json::object({{"method", Json("full")}, {"optimizer", Json::object({{"lr", Json(1e-3)}})},
                                        {"grad_accum", Json(2)}, {"batch_size", Json(2)}}));
  return finish("test_cuda_train_resume");
}
