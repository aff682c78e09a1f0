// A quantized model folder (tuner/export.h write_quantized_folder): the same choice of matrices
// and formats as the inference session's load-time quantization (infer/session_load.cpp), so
// loading the folder and quantizing the original at load give the same weights bit for bit.
#include <list>

#include "tuner/error.h"
#include "tuner/export.h"
#include "tuner/json.h"
#include "tuner/model.h"
#include "tuner/quant_io.h"
#include "tuner/safetensors.h"

namespace tuner {

void make_dirs(const std::string& dir);  // models/llama_load.cpp

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

std::vector<std::string> write_quantized_folder(const std::string& out_dir, Model& model, const std::string& base_dir, QuantType type,
                                                ThreadPool* pool) {
  if (type == QuantType::F32)
    throw TunerError("bad_arguments", "a quantized folder needs a quantized type", "Use --quant f16, q8_0, q4_0, int8 or nf4 (merge writes f32 folders).");
  const ModelConfig& c = model.config();
  const int block = quant_block_size(type);
  make_dirs(out_dir);
  std::list<QuantMatrix> held;  // alive until the writer has written them
  SafetensorsWriter w;
  int quantized = 0;
  for (Param* p : model.base_params()) {
    const bool matrix = p->shape.size() == 2;
    const bool linear = p->name.rfind("model.layers.", 0) == 0 && ends_with(p->name, "_proj.weight");
    const bool head = p->name == "lm_head.weight" || (p->name == "model.embed_tokens.weight" && c.tie_word_embeddings);
    if (matrix && (linear || head) && p->shape[1] % block == 0) {
      held.push_back(quantize_matrix(p->data, (int)p->shape[0], (int)p->shape[1], type, pool));
      quant_matrix_add(w, p->name, held.back());
      quantized++;
    } else {
      w.add(p->name, p->shape, p->data);
    }
  }
  TUNER_CHECK(quantized > 0, "no matrix was quantized");
  w.write(out_dir + "/model.safetensors");
  Json cj = Json::parse_file(base_dir + "/config.json");
  cj.set("torch_dtype", Json("float32"));
  write_file_atomic(out_dir + "/config.json", cj.dump(2) + "\n");
  std::vector<std::string> written{"model.safetensors", "config.json"};
  for (const auto& f : copy_tokenizer_files(out_dir, base_dir)) written.push_back(f);
  return written;
}

}  // namespace tuner
