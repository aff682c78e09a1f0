// qgemm decode kernels for AVX-512 (F, BW, VL, DQ) without VNNI: int8 dot products by
// vpmaddubsw + vpmaddwd. Compiled with -mavx512*; chosen by qgemm_kernels_best() only on CPUs
// that have them.
#define QK_VNNI 0
#define QK_TABLE_NAME "avx512"
#define QK_TABLE_FUNCTION qgemm_kernels_avx512
#include "quant/qgemm_avx512_body.inc"
