# The PyTorch peer of tuner-bench-gemm-bf16: torch.matmul on bf16 tensors (oneDNN's AVX512_BF16 /
# AMX kernels where the CPU has them) for the same shapes and layouts, best of `reps` calls.
# Usage: python3 gemm_bf16_torch.py THREADS REPS "ta,tb,M,N,K" ...   (ta/tb: N or T)
# Prints "torch <version> <cpu capability>" then one line per shape: GFLOP/s of bf16 and of f32.
import sys
import time

import torch

threads, reps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
config = torch.__config__.show()
capability = next((l.split(':', 1)[1].strip() for l in config.splitlines() if 'CPU capability' in l), '?')
onednn = next((l.strip(' -') for l in config.splitlines() if 'MKL-DNN' in l or 'oneDNN' in l), 'no oneDNN')
print('torch', torch.__version__, 'CPU capability', capability + ',', onednn, flush=True)
torch.manual_seed(0)
for spec in sys.argv[3:]:
    ta, tb, M, N, K = spec.split(',')
    M, N, K = int(M), int(N), int(K)
    out = []
    for dtype in (torch.bfloat16, torch.float32):
        a = torch.randn((K, M) if ta == 'T' else (M, K)).to(dtype)
        b = torch.randn((N, K) if tb == 'T' else (K, N)).to(dtype)
        a = a.t() if ta == 'T' else a
        b = b.t() if tb == 'T' else b
        torch.matmul(a, b)
        best = float('inf')
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - t0)
        out.append(2.0 * M * N * K / best / 1e9)
    print(f'{out[0]:.1f} {out[1]:.1f}', flush=True)
