// The vector kernels compiled with AVX-512 (F, BW, VL, DQ) + FMA (this file gets -mavx512*):
// 16 floats a vector, twice the AVX2 table's work per instruction in the exp-bound softmax and
// cross-entropy rows, SwiGLU and GELU. Chosen by vector_kernels() only on CPUs that have them.
// It computes the AVX2 table's bits: the softmax rows step over 16 elements whatever the width,
// the element-wise kernels and optimizer updates treat each element alike, and the kernels whose
// sums run across a vector's lanes (RMSNorm and LayerNorm rows, decode attention's scores) are
// the AVX2 table's own. With 16-lane sums those changed a training run's last bits, enough to move
// an 8-step DPO fine-tune from 3.9e-4 to 1.6e-3 of the update away from PyTorch's, for no speed:
// the norm rows are bound by memory.
#define VK_TABLE_NAME "avx512"
#define VK_TABLE_FUNCTION vector_kernels_avx512
#define VK_SUMS_FROM vector_kernels_avx2
#include "kernels/cpu/vector_kernels_body.inc"
