"""Minimal safetensors reader/writer on numpy, written by hand so the reference tests need
nothing beyond numpy and torch (no `safetensors` package).

Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw little-endian tensor bytes.
bf16 has no numpy dtype: it is carried as uint16 bit patterns and widened by a shift.
"""
import json
import struct

import numpy as np

_NP = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64,
       "U8": np.uint8, "I8": np.int8, "U32": np.uint32, "F64": np.float64}


def f32_to_bf16_bits(a):
    """Round-to-nearest-even f32 -> bf16 bit patterns (uint16), as torch does."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode(arr, dtype):
    """Returns (bytes, dtype tag) for a float array stored as dtype in {f32, f16, bf16} or an
    integer array stored as-is."""
    if dtype == "bf16":
        return f32_to_bf16_bits(arr).tobytes(), "BF16"
    if dtype == "f16":
        return np.ascontiguousarray(arr, dtype=np.float16).tobytes(), "F16"
    if dtype == "f32":
        return np.ascontiguousarray(arr, dtype=np.float32).tobytes(), "F32"
    for tag, npd in _NP.items():
        if arr.dtype == npd:
            return np.ascontiguousarray(arr).tobytes(), tag
    raise ValueError(f"unsupported dtype {dtype}/{arr.dtype}")


def save(path, tensors, dtype="f32", metadata=None):
    """tensors: dict name -> numpy array (floats are stored as `dtype`, ints as they are)."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        kind = dtype if np.issubdtype(arr.dtype, np.floating) else "raw"
        data, tag = encode(arr, kind)
        header[name] = {"dtype": tag, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # the format pads the header with spaces to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns dict name -> numpy array; F16/BF16 are widened to float32."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        shape = info["shape"]
        tag = info["dtype"]
        if tag == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(buf, dtype=np.uint16))
        elif tag == "F16":
            arr = np.frombuffer(buf, dtype=np.float16).astype(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=_NP[tag]).copy()
        out[name] = arr.reshape(shape)
    return out
