// The vector kernels compiled with AVX2 + FMA (this file gets -mavx2 -mfma -mf16c); chosen by
// vector_kernels() only on CPUs that have them.
#define VK_TABLE_NAME "avx2"
#define VK_TABLE_FUNCTION vector_kernels_avx2
#include "kernels/cpu/vector_kernels_body.inc"
