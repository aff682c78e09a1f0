// A model folder's weights: one model.safetensors, or shards named by
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}).
#include <sys/stat.h>

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/safetensors.h"

namespace tuner {

namespace {
bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
}  // namespace

WeightFiles WeightFiles::open(const std::string& dir) {
  WeightFiles w;
  std::string index_path = dir + "/model.safetensors.index.json";
  std::string single = dir + "/model.safetensors";
  if (exists(index_path)) {
    Json index = Json::parse_file(index_path);
    const Json* wm = index.is_object() ? index.find("weight_map") : nullptr;
    if (!wm || !wm->is_object())
      throw TunerError("bad_index", index_path + ": missing object \"weight_map\"", "The index must map every tensor name to its shard file.");
    std::map<std::string, size_t> shard_of_file;
    for (const auto& kv : wm->as_object()) {
      if (!kv.second.is_string())
        throw TunerError("bad_index", index_path + ": weight_map[\"" + kv.first + "\"] must be a file name", "");
      const std::string& file = kv.second.as_string();
      if (file.find('/') != std::string::npos || file.find("..") != std::string::npos)
        throw TunerError("bad_index", index_path + ": shard name \"" + file + "\" must be a plain file name in the model folder", "");
      if (!shard_of_file.count(file)) {
        shard_of_file[file] = w.files_.size();
        w.files_.push_back(SafetensorsFile::open(dir + "/" + file));
      }
      size_t s = shard_of_file[file];
      const TensorInfo* t = w.files_[s]->find(kv.first);
      if (!t)
        throw TunerError("missing_tensor", dir + "/" + file + ": tensor \"" + kv.first + "\" is listed in model.safetensors.index.json but not in this shard",
                         "The shards do not match the index; download the model again.");
      w.where_[kv.first] = {s, t};
    }
    w.description_ = index_path + " (" + std::to_string(w.files_.size()) + " shards)";
    return w;
  }
  if (!exists(single))
    throw TunerError("missing_weights", dir + ": no model.safetensors or model.safetensors.index.json",
                     "Tuner reads safetensors weights; download the model's *.safetensors files (pytorch_model.bin is not supported).");
  w.files_.push_back(SafetensorsFile::open(single));
  for (const auto& t : w.files_[0]->tensors()) w.where_[t.name] = {0, &t};
  w.description_ = single;
  return w;
}

const TensorInfo* WeightFiles::find(const std::string& name, const SafetensorsFile** file) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  if (file) *file = files_[it->second.first].get();
  return it->second.second;
}

std::vector<std::string> WeightFiles::names() const {
  std::vector<std::string> out;
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

std::string WeightFiles::describe() const { return description_; }

}  // namespace tuner
