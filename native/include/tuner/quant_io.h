// Quantized weight matrices stored as safetensors tensors, so a quantized model folder is an
// ordinary model.safetensors that any safetensors reader lists (docs/quantization.md has the
// byte layouts). For a matrix stored under `name` (e.g. "model.layers.0.mlp.up_proj.weight"):
//   metadata "tuner.quant.<name>" = the type name ("q4_0", ...); absent for plain tensors
//   f32, f16  <name>  F32 / F16 [rows, cols]: a plain weight any loader reads
//   q8_0      <name>  U8 [rows, cols / 32 * 34]  ggml block_q8_0 rows
//   q4_0      <name>  U8 [rows, cols / 32 * 18]  ggml block_q4_0 rows
//   int8      <name>  I8 [rows, cols]; <name>.row_scale F32 [rows]
//   nf4       <name>  U8 [rows, cols / 2] (bitsandbytes' packing, first weight in the high
//             nibble); companions named as bitsandbytes names them: <name>.absmax U8 [blocks],
//             <name>.nested_absmax F32 [ceil(blocks / 256)], <name>.nested_offset F32 [1],
//             <name>.quant_map F32 [16] (the NF4 code book), <name>.nested_quant_map F32 [256]
#pragma once
#include <string>
#include <vector>

#include "tuner/quant.h"
#include "tuner/safetensors.h"

namespace tuner {

// Adds `w` under `name` (and its companions) to `out`, and its type to the metadata. `w` must
// stay alive and unchanged until out.write().
void quant_matrix_add(SafetensorsWriter& out, const std::string& name, const QuantMatrix& w);

// The type `name` is stored in: the metadata's tuner.quant.<name>, else F16 for a plain F16
// tensor and F32 for a plain F32 or BF16 one. Throws TunerError naming the file and tensor: missing_tensor when absent,
// unknown_quant_type for a type name this build does not know, unsupported_dtype otherwise.
QuantType quant_matrix_type(const SafetensorsFile& f, const std::string& name);

// Reads `name` back as quant_matrix_add wrote it, checking every dtype, shape and companion
// (bad_quant_tensor otherwise). A plain 2-D tensor reads as F16 (F16) or F32 (F32, BF16), so a
// folder may mix quantized and plain matrices.
QuantMatrix quant_matrix_read(const SafetensorsFile& f, const std::string& name);

// Names of the matrices in `f` that quant_matrix_add stored quantized (from the metadata).
std::vector<std::string> quant_matrix_names(const SafetensorsFile& f);

}  // namespace tuner
