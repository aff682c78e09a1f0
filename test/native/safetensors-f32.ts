// safetensors files of float32 tensors, written and read in TypeScript so the tests' tiny models
// need no Python. The format (Hugging Face safetensors): u64 little-endian header length N, N
// bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// padded with spaces to a multiple of 8, then the tensors' little-endian bytes back to back.
import * as fs from 'node:fs';

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Writes tensors in the given order (the order of a Hugging Face checkpoint). */
export function writeSafetensorsF32(file: string, tensors: ReadonlyArray<[string, F32Tensor]>, metadata: Record<string, string> = { format: 'pt' }): void {
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`${name}: shape [${t.shape.join(', ')}] holds ${count} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of tensors) {
    // Buffer's float writes are little-endian whatever the host, as the format requires.
    for (let i = 0; i < t.data.length; i++, pos += 4) out.writeFloatLE(t.data[i], pos);
  }
  fs.writeFileSync(file, out);
}

/** Reads every tensor of a safetensors file that holds only F32 tensors, in file order. */
export function readSafetensorsF32(file: string): Map<string, F32Tensor> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, HeaderEntry>;
  const out = new Map<string, F32Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new Error(`${file}: ${name} is ${info.dtype}, only F32 is read here`);
    const [b, e] = info.data_offsets;
    const data = new Float32Array((e - b) / 4);
    for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(8 + n + b + 4 * i);
    out.set(name, { shape: info.shape, data });
  }
  return out;
}
