// qgemm decode kernels for AVX-512 with VNNI: int8 dot products by vpdpbusd. Compiled with
// -mavx512vnni (the *_avx512vnni.cpp rule in CMakeLists.txt); chosen by qgemm_kernels_best()
// only on CPUs that report AVX512_VNNI.
#define QK_VNNI 1
#define QK_TABLE_NAME "avx512-vnni"
#define QK_TABLE_FUNCTION qgemm_kernels_avx512_vnni
#include "quant/qgemm_avx512_body.inc"
