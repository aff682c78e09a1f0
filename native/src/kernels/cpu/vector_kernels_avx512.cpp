// The vector kernels compiled with AVX-512 (F, BW, VL, DQ) + FMA (this file gets -mavx512*),
// 16 floats a vector; vector_kernels_avx512() (vector_kernels.cpp) makes the table the engine
// runs from these and the AVX2 table's kernels whose sums follow the vector width.
#define VK_TABLE_NAME "avx512"
#define VK_TABLE_FUNCTION vector_kernels_avx512_all_wide
#include "kernels/cpu/vector_kernels_body.inc"
