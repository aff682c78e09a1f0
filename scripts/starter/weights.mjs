// The starter model's config.json and weights: a seeded GPT-2-style initialisation (every
// matrix ~ N(0, 0.02), the projections back into the residual stream scaled by 1/sqrt(2L),
// norms 1) written as f32 safetensors for tuner-train, and the trained f32 weights rewritten
// as f16 for the repository (half the bytes; the engine widens f16 at load).
import * as fs from 'node:fs';

export function starterConfig({ vocab, hidden, layers, heads, kvHeads, intermediate, maxPositions }) {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: hidden / heads,
    max_position_embeddings: maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    bos_token_id: 0,
    eos_token_id: [2, 0],
    pad_token_id: 0,
  };
}

/** Seeded standard normal draws (mulberry32 uniforms through Box-Muller). */
function normalSource(seed) {
  let state = (seed ^ 0x9e3779b9) >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** [name, shape, Float32Array] in Hugging Face names and checkpoint order. */
export function initWeights(cfg, seed) {
  const normal = normalSource(seed);
  const C = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size, L = cfg.num_hidden_layers;
  const HD = cfg.head_dim, NH = cfg.num_attention_heads, NKV = cfg.num_key_value_heads;
  const fill = (shape, std) => [shape, Float32Array.from({ length: shape[0] * (shape[1] ?? 1) }, () => std * normal())];
  const ones = (n) => [[n], new Float32Array(n).fill(1)];
  const residualStd = 0.02 / Math.sqrt(2 * L);
  const w = [['model.embed_tokens.weight', ...fill([V, C], 0.02)]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    w.push([`${p}input_layernorm.weight`, ...ones(C)]);
    w.push([`${p}self_attn.q_proj.weight`, ...fill([NH * HD, C], 0.02)]);
    w.push([`${p}self_attn.k_proj.weight`, ...fill([NKV * HD, C], 0.02)]);
    w.push([`${p}self_attn.v_proj.weight`, ...fill([NKV * HD, C], 0.02)]);
    w.push([`${p}self_attn.o_proj.weight`, ...fill([C, NH * HD], residualStd)]);
    w.push([`${p}post_attention_layernorm.weight`, ...ones(C)]);
    w.push([`${p}mlp.gate_proj.weight`, ...fill([F, C], 0.02)]);
    w.push([`${p}mlp.up_proj.weight`, ...fill([F, C], 0.02)]);
    w.push([`${p}mlp.down_proj.weight`, ...fill([C, F], residualStd)]);
  }
  w.push(['model.norm.weight', ...ones(C)]);
  return w;
}

export function parameterCount(tensors) {
  return tensors.reduce((n, [, , data]) => n + data.length, 0);
}

/** IEEE binary16 bits of a float, rounded to nearest even (as torch's .half()). */
export function toHalfBits(f) {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  const x = buf.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Writes [name, shape, Float32Array] tensors as F32 or F16 safetensors, in the given order. */
export function writeSafetensors(file, tensors, dtype = 'F32') {
  const width = dtype === 'F16' ? 2 : 4;
  const header = {};
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + width * data.length] };
    offset += width * data.length;
  }
  header.__metadata__ = { format: 'pt' };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const [, , data] of tensors) {
    for (let i = 0; i < data.length; i++, pos += width) {
      if (width === 2) out.writeUInt16LE(toHalfBits(data[i]), pos);
      else out.writeFloatLE(data[i], pos);
    }
  }
  fs.writeFileSync(file, out);
}

/** Reads an F32 safetensors file back as [name, shape, Float32Array], in file order. */
export function readSafetensorsF32(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  return Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])
    .map(([name, e]) => {
      if (e.dtype !== 'F32') throw new Error(`${file}: ${name} is ${e.dtype}, expected F32`);
      const [s, t] = e.data_offsets;
      const data = new Float32Array((t - s) / 4);
      for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(base + s + 4 * i);
      return [name, e.shape, data];
    });
}
