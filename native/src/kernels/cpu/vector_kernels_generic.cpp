// The vector kernels for the baseline instruction set (SSE2 on x86-64): runs on every CPU.
#define VK_TABLE_NAME "generic"
#define VK_TABLE_FUNCTION vector_kernels_generic
#include "kernels/cpu/vector_kernels_body.inc"
