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
  std::vector<float> transposed;
  for (Param* p : model.base_params()) {
    // As the session chooses at load: every projection (whatever the architecture calls it:
    // q_proj, c_attn, query_key_value...) and the head, or the embedding that is the head.
    const bool head = p->name == "lm_head.weight" || (p->embedding && c.tie_word_embeddings);
    // A Conv1D weight (GPT-2) is stored [in, out]; the quantized matrix is [out, in], as the
    // session reads every linear.
    const bool matrix = p->shape.size() == 2;
    const int rows = matrix ? (int)p->shape[p->in_out ? 1 : 0] : 0, cols = matrix ? (int)p->shape[p->in_out ? 0 : 1] : 0;
    if (matrix && (p->linear || head) && cols % block == 0) {
      const float* data = p->data;
      if (p->in_out) {
        transposed.resize((size_t)p->numel());
        in_out_to_out_in(transposed.data(), p->data, rows, cols);
        data = transposed.data();
      }
      held.push_back(quantize_matrix(data, rows, cols, type, pool));
      quant_matrix_add(w, p->name, held.back());
      quantized++;
    } else {
      w.add(p->name, p->shape, p->data);
    }
  }
  if (quantized == 0)  // every width is off the format's block (e.g. hidden 48 with q4_0's 32)
    throw TunerError("bad_arguments",
                     base_dir + "/config.json: no weight matrix has a width that is a multiple of " + std::to_string(block) +
                         ", the block of --quant " + quant_type_name(type) + ", so nothing would be quantized",
                     "Use --quant int8 or f16 (one scale per row), which quantize any width.");
  w.write(out_dir + "/model.safetensors");
  Json cj = Json::parse_file(base_dir + "/config.json");
  cj.set("torch_dtype", Json("float32"));
  write_file_atomic(out_dir + "/config.json", cj.dump(2) + "\n");
  std::vector<std::string> written{"model.safetensors", "config.json"};
  for (const auto& f : copy_tokenizer_files(out_dir, base_dir)) written.push_back(f);
  return written;
}

}  // namespace tuner
