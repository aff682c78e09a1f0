// The vector kernels compiled with AVX-512 (F, BW, VL, DQ) + FMA (this file gets -mavx512*):
// 16 floats a vector, twice the AVX2 table's work per instruction in the exp-bound softmax and
// cross-entropy rows. Chosen by vector_kernels() only on CPUs that have them.
#define VK_TABLE_NAME "avx512"
#define VK_TABLE_FUNCTION vector_kernels_avx512
#include "kernels/cpu/vector_kernels_body.inc"
