// trainer_state.json's optional fields as read_trainer_state reads them: a GPU run's GEMM kernel
// choices come back as written (a resumed run restores them), are empty when absent (CPU runs,
// older checkpoints), and a value of the wrong type is a bad_checkpoint naming the field.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "check_macros.h"
#include "tuner/checkpoint.h"
#include "tuner/error.h"

using namespace tuner;

namespace {

std::string write_state(const std::string& root, const std::string& name, const std::string& extra) {
  const std::string dir = root + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/trainer_state.json")
      << "{\"version\":1,\"step\":20,\"epoch\":0,\"index\":40,\"rng_state\":\"00000000000000ff\","
         "\"optimizer_step\":20,\"plan_fingerprint\":\"p\",\"data_fingerprint\":\"d\",\"method\":\"full\""
      << extra << "}\n";
  return dir;
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/tuner-trainer-state-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  const std::string choices = "0 NT 8192 2048 2048 2048 2048 2048 bf16 fp32 16 16 16 2\n";

  const TrainerState with = read_trainer_state(write_state(root, "gpu", ",\"gemm_choices\":\"0 NT 8192 2048 2048 2048 2048 2048 bf16 fp32 16 16 16 2\\n\""));
  EXPECT(with.gemm_choices == choices);
  EXPECT(with.step == 20 && with.cursor.index == 40);

  EXPECT(read_trainer_state(write_state(root, "cpu", "")).gemm_choices.empty());

  std::string code, message;
  try {
    read_trainer_state(write_state(root, "bad", ",\"gemm_choices\":3"));
  } catch (const TunerError& e) {
    code = e.code();
    message = e.what();
  }
  EXPECT(code == "bad_checkpoint");
  EXPECT(message.find("gemm_choices") != std::string::npos);

  std::system(("rm -rf " + root).c_str());
  std::printf("test_trainer_state: %s\n", g_failures ? "FAILED" : "all checks passed");
  return g_failures ? 1 : 0;
}
