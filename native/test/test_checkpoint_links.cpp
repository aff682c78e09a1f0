// Checkpoint clean-up never follows symbolic links: an output_dir can come with a cloned
// repository, and a link named like one of the trainer's temporary folders (or like its final
// adapter/model folder) must be removed itself, leaving what it points to untouched.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "check_macros.h"
#include "tuner/checkpoint.h"

using namespace tuner;

namespace {

bool exists_nofollow(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_real_dir(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void write_file(const std::string& p, const std::string& text) {
  std::ofstream(p) << text;
}

// A folder outside output_dir with a file and a sub-folder: what an attacker's link targets.
std::string make_victim(const std::string& root) {
  const std::string v = root + "/victim";
  ensure_dir(v + "/sub");
  write_file(v + "/keep.txt", "precious");
  write_file(v + "/sub/keep.txt", "precious");
  return v;
}

bool victim_intact(const std::string& v) {
  return exists_nofollow(v + "/keep.txt") && exists_nofollow(v + "/sub/keep.txt");
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/tuner-ckpt-links-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  const std::string victim = make_victim(root);
  const std::string out = root + "/output";
  ensure_dir(out + "/checkpoints");

  // Links named like stale temporary folders, to the victim folder and to one of its files.
  EXPECT(::symlink(victim.c_str(), (out + "/.tmp-final-1").c_str()) == 0);
  EXPECT(::symlink((victim + "/keep.txt").c_str(), (out + "/adapter.old-2").c_str()) == 0);
  EXPECT(::symlink(victim.c_str(), (out + "/checkpoints/.tmp-step-00000004-3").c_str()) == 0);
  // A real stale folder holding a link to the victim: the folder goes, the link's target stays.
  ensure_dir(out + "/.tmp-step-00000008-4/inner");
  EXPECT(::symlink(victim.c_str(), (out + "/.tmp-step-00000008-4/inner/link").c_str()) == 0);
  EXPECT(::symlink(victim.c_str(), (out + "/.tmp-step-00000008-4/link").c_str()) == 0);
  // Something of the user's that merely looks similar is never touched.
  write_file(out + "/notes.tmp-final-1.txt", "mine");

  remove_stale_temp_dirs(out + "/checkpoints");
  remove_stale_temp_dirs(out);
  EXPECT(victim_intact(victim));
  EXPECT(!exists_nofollow(out + "/.tmp-final-1"));
  EXPECT(!exists_nofollow(out + "/adapter.old-2"));
  EXPECT(!exists_nofollow(out + "/checkpoints/.tmp-step-00000004-3"));
  EXPECT(!exists_nofollow(out + "/.tmp-step-00000008-4"));
  EXPECT(exists_nofollow(out + "/notes.tmp-final-1.txt"));

  // The final folder is a link: replacing it moves the link aside and removes the link only.
  EXPECT(::symlink(victim.c_str(), (out + "/adapter").c_str()) == 0);
  ensure_dir(out + "/.tmp-new");
  write_file(out + "/.tmp-new/adapter_config.json", "{}");
  replace_dir_atomically(out + "/.tmp-new", out + "/adapter");
  EXPECT(victim_intact(victim));
  EXPECT(is_real_dir(out + "/adapter") && exists_nofollow(out + "/adapter/adapter_config.json"));

  // A real final folder is still replaced, and its old contents removed.
  ensure_dir(out + "/.tmp-newer");
  write_file(out + "/.tmp-newer/adapter_config.json", "{\"new\":1}");
  replace_dir_atomically(out + "/.tmp-newer", out + "/adapter");
  EXPECT(is_real_dir(out + "/adapter"));
  std::ifstream in(out + "/adapter/adapter_config.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT(text == "{\"new\":1}");

  std::system(("rm -rf '" + root + "'").c_str());
  if (g_failures) std::fprintf(stderr, "%d checks failed\n", g_failures);
  return g_failures ? 1 : 0;
}
