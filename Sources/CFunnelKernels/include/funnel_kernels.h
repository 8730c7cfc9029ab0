// The hot loops of Funnel's inference path, in C so they can use AVX2/FMA intrinsics.
//
// Matrices are row-major fp32. A weight matrix B [k × n] is *packed* once, at model load, into
// ceil(n / 16) column panels; panel p holds rows 0..<k of columns 16p..<16p+16 as k × 16 contiguous
// floats (zero-padded past n), 32-byte aligned when `packed` is. The GEMM then streams one panel
// from L1 while it sweeps the rows of A, six rows at a time (12 accumulators of 8 lanes).
//
// Every entry point picks the AVX2/FMA path at run time (`funnel_has_avx2_fma`) and otherwise runs
// a portable scalar path with the same contract, so the library never traps on an older CPU.
#ifndef FUNNEL_KERNELS_H
#define FUNNEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Columns per packed panel.
#define FUNNEL_PANEL_WIDTH 16

/// 1 when this CPU runs the AVX2/FMA kernels, 0 when the scalar fallback is used (on the calling thread).
int funnel_has_avx2_fma(void);

/// Forces the scalar fallback (1) or restores CPU detection (0) on the calling thread only; for tests and
/// benchmarks.
void funnel_force_scalar(int force);

/// Number of floats `funnel_pack` writes for a k × n matrix.
size_t funnel_packed_count(int k, int n);

/// Packs B [k × n] (row stride ldb) into panels; `packed` holds `funnel_packed_count(k, n)` floats.
void funnel_pack(int k, int n, const float *b, int ldb, float *packed);

/// C [m × n] = A [m × k] · B + bias, then ReLU on columns j < relu_columns.
/// `a` has row stride lda, `c` row stride ldc; `bias` has n floats or is NULL (zero);
/// `packed` is B packed by `funnel_pack`. Pass relu_columns = n for ReLU everywhere, 0 for none.
void funnel_gemm(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                 float *c, int ldc, int relu_columns);

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78) of `length` bytes, continuing from `crc`
/// (start with 0). Uses SSE4.2's crc32 instruction when present.
uint32_t funnel_crc32c(uint32_t crc, const void *data, size_t length);

#ifdef __cplusplus
}
#endif

#endif
