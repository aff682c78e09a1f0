// Checkpoint folders: written under a temporary name, every file fsynced, then renamed into
// place and the parent fsynced, so `kill -9` at any moment leaves only complete checkpoints.
#include "tuner/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <vector>

#include "tuner/error.h"
#include "tuner/export.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/optimizer.h"
#include "tuner/safetensors.h"

namespace tuner {

namespace {

bool exists(const std::string& p) { return path_exists(p); }
bool is_dir(const std::string& p) { return is_directory(p); }

// Removes `name` in folder `dir_fd` and, when it is a real folder, everything under it. A
// symbolic link is removed itself and never followed (fstatat with AT_SYMLINK_NOFOLLOW, folders
// opened with O_NOFOLLOW), so a link planted where a temporary folder is expected can never
// make the trainer delete what it points to.
void remove_tree_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    ::unlinkat(dir_fd, name.c_str(), 0);
    return;
  }
  const int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  std::vector<std::string> names;  // listed first: removing while reading a folder is unspecified
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  for (const auto& n : names) remove_tree_at(::dirfd(d), n);
  ::closedir(d);
  ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
}

std::string parent_of(const std::string& p) {
  const size_t s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

void remove_tree(const std::string& path) {
  const std::string parent = parent_of(path);
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  remove_tree_at(fd, path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1));
  ::close(fd);
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

[[noreturn]] void bad_checkpoint(const std::string& dir, const std::string& what) {
  throw TunerError("bad_checkpoint", dir + ": " + what,
                   "Resume from a complete checkpoint folder (output_dir/checkpoints/step-*) of the same plan.");
}

}  // namespace

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void ensure_dir(const std::string& path) {
  if (path.empty() || is_dir(path)) return;
  ensure_dir(parent_of(path));
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    throw TunerError("io_error", path + ": cannot create folder (" + std::strerror(errno) + ")",
                     "Check that output_dir is writable and the disk is not full.");
}

void replace_dir_atomically(const std::string& tmp, const std::string& final_dir) {
  // rename() cannot replace a non-empty folder: move the old one aside first, then drop it.
  std::string old;
  if (exists(final_dir)) {
    old = final_dir + ".old-" + std::to_string(::getpid());
    if (::rename(final_dir.c_str(), old.c_str()) != 0)
      throw TunerError("io_error", final_dir + ": cannot replace (" + std::strerror(errno) + ")", "Check permissions on output_dir.");
  }
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    throw TunerError("io_error", final_dir + ": rename failed (" + std::strerror(errno) + ")", "Check permissions on output_dir.");
  fsync_path(parent_of(final_dir));
  if (!old.empty()) remove_tree(old);
}

void remove_stale_temp_dirs(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    // Only names this file creates: a user's own files in output_dir are never touched.
    static const std::regex ours(R"((\.tmp-(final|step-\d{8})-\d+)|((adapter|model|step-\d{8})\.old-\d+))");
    if (std::regex_match(name, ours)) stale.push_back(parent + "/" + name);
  }
  ::closedir(d);
  for (const auto& s : stale) remove_tree(s);
}

void save_model_folder(const std::string& dir, const Model& model, bool lora, const std::string& tokenizer_dir) {
  if (lora) {
    model.save_adapter(dir);
    return;
  }
  // A full model folder is complete on its own (loadable by the playground, transformers,
  // tuner-export) only with the tokenizer and generation settings of the model it was tuned from.
  model.save_pretrained(dir);
  if (!tokenizer_dir.empty()) copy_tokenizer_files(dir, tokenizer_dir);
}

void save_checkpoint(const std::string& dir, const Model& model, bool lora, const std::string& tokenizer_dir,
                     const Optimizer& opt, const TrainerState& state) {
  const std::string parent = parent_of(dir);
  ensure_dir(parent);
  const std::string base = dir.substr(parent.size() + 1);
  const std::string tmp = parent + "/.tmp-" + base + "-" + std::to_string(::getpid());
  remove_tree(tmp);
  ensure_dir(tmp);
  save_model_folder(tmp, model, lora, tokenizer_dir);

  SafetensorsWriter w;
  for (size_t i = 0; i < opt.params().size(); ++i) {
    const Param* p = opt.params()[i];
    for (int slot = 0; slot < opt.state_slots(); ++slot) {
      TUNER_CHECK(opt.state(slot, i).size() == static_cast<size_t>(p->numel()), "optimizer state of " + p->name + " not on the host");
      w.add(std::string(opt.state_name(slot)) + "." + p->name, p->shape, opt.state(slot, i).data());
    }
  }
  w.set_metadata("optimizer", optimizer_kind_name(opt.config().kind));
  w.set_metadata("step", std::to_string(opt.step_count()));
  w.write(tmp + "/optimizer.safetensors");

  Json st = Json::object();
  st.set("version", 1);
  st.set("step", state.step);
  st.set("epoch", static_cast<int64_t>(state.cursor.epoch));
  st.set("index", static_cast<int64_t>(state.cursor.index));
  st.set("rng_state", hex64(state.rng_state));  // a string: JSON numbers cannot hold 64 bits
  st.set("optimizer_step", opt.step_count());
  st.set("plan_fingerprint", state.plan_fingerprint);
  st.set("data_fingerprint", state.data_fingerprint);
  st.set("method", state.method);
  st.set("lr_scale", state.lr_scale);  // printed with 17 digits, so it reads back bit for bit
  st.set("world_size", static_cast<int64_t>(state.world_size));
  if (!state.gemm_choices.empty()) st.set("gemm_choices", state.gemm_choices);
  write_file_atomic(tmp + "/trainer_state.json", st.dump(2) + "\n");
  if (!state.dpo_reference.empty()) {
    SafetensorsWriter ref;
    ref.add("train", {static_cast<int64_t>(state.dpo_reference.size())}, state.dpo_reference.data());
    if (!state.dpo_eval_reference.empty())
      ref.add("eval", {static_cast<int64_t>(state.dpo_eval_reference.size())}, state.dpo_eval_reference.data());
    ref.write(tmp + "/dpo_reference.safetensors");
  }

  // Make every file durable before the folder appears under its final name.
  if (DIR* d = ::opendir(tmp.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") fsync_path(tmp + "/" + name);
    }
    ::closedir(d);
  }
  fsync_path(tmp);
  replace_dir_atomically(tmp, dir);
}

void load_optimizer_state(const std::string& dir, Optimizer* opt) {
  const std::string path = dir + "/optimizer.safetensors";
  if (!exists(path)) bad_checkpoint(dir, "optimizer.safetensors is missing");
  std::unique_ptr<SafetensorsFile> f = SafetensorsFile::open(path);
  opt->allocate_states();
  for (size_t i = 0; i < opt->params().size(); ++i) {
    const Param* p = opt->params()[i];
    for (int slot = 0; slot < opt->state_slots(); ++slot) {
      const std::string name = std::string(opt->state_name(slot)) + "." + p->name;
      const TensorInfo* t = f->find(name);
      if (!t) bad_checkpoint(path, "has no tensor " + name + " (checkpoint of another model or method?)");
      if (t->shape != p->shape) bad_checkpoint(path, name + " has shape " + shape_str(t->shape) + ", the model needs " + shape_str(p->shape));
      f->read_f32(*t, opt->state(slot, i).data());
    }
  }
  auto it = f->metadata().find("step");
  if (it == f->metadata().end()) bad_checkpoint(path, "metadata has no optimizer step");
  char* end = nullptr;
  const long long step = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || step < 0) bad_checkpoint(path, "metadata step \"" + it->second + "\" is not a step count");
  opt->set_step_count(step);
}

void load_dpo_reference(const std::string& dir, uint64_t train_sequences, uint64_t eval_sequences, TrainerState* state) {
  const std::string path = dir + "/dpo_reference.safetensors";
  if (!exists(path)) bad_checkpoint(dir, "dpo_reference.safetensors is missing (a DPO run of a full fine-tune saves its reference log-probs there)");
  std::unique_ptr<SafetensorsFile> f = SafetensorsFile::open(path);
  const auto read = [&](const char* name, uint64_t n, std::vector<float>* out) {
    const TensorInfo* t = f->find(name);
    if (!t) bad_checkpoint(path, std::string("has no tensor \"") + name + "\"");
    if (t->shape != std::vector<int64_t>{static_cast<int64_t>(n)})
      bad_checkpoint(path, std::string("tensor \"") + name + "\" has shape " + shape_str(t->shape) + ", the data has " +
                               std::to_string(n) + " sequences (other data?)");
    out->resize(n);
    f->read_f32(*t, out->data());
  };
  read("train", train_sequences, &state->dpo_reference);
  if (eval_sequences > 0) read("eval", eval_sequences, &state->dpo_eval_reference);
}

}  // namespace tuner
