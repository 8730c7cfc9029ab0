// Packed GEMM with fused bias and ReLU: an AVX2/FMA 6 × 16 register-blocked micro-kernel and a
// scalar fallback with the same contract. See include/funnel_kernels.h for the packed layout.
#include "funnel_kernels.h"

#include <immintrin.h>
#include <string.h>

enum { NR = FUNNEL_PANEL_WIDTH, MR = 6, ROW_CHUNK = 96 };

// Per thread: a test that forces the scalar path never changes what tests running beside it on other threads run.
static _Thread_local int forced_scalar = 0;
static int has_avx2_fma = 0;

// Detect once at load time so the hot path reads a plain int and threads never race on it.
__attribute__((constructor)) static void detect_cpu(void) {
    __builtin_cpu_init();
    has_avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int funnel_has_avx2_fma(void) { return has_avx2_fma && !forced_scalar; }

void funnel_force_scalar(int force) { forced_scalar = force; }

size_t funnel_packed_count(int k, int n) {
    size_t panels = ((size_t)n + NR - 1) / NR;
    return panels * (size_t)k * NR;
}

void funnel_pack(int k, int n, const float *b, int ldb, float *packed) {
    int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++) {
        int j0 = p * NR;
        int width = n - j0 < NR ? n - j0 : NR;
        float *panel = packed + (size_t)p * (size_t)k * NR;
        for (int i = 0; i < k; i++) {
            float *dst = panel + (size_t)i * NR;
            memcpy(dst, b + (size_t)i * ldb + j0, (size_t)width * sizeof(float));
            for (int j = width; j < NR; j++) dst[j] = 0.0f;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scalar path: the same loop nest, one output element at a time.

static void gemm_scalar(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                        float *c, int ldc, int relu_columns) {
    for (int j0 = 0; j0 < n; j0 += NR) {
        const float *panel = packed + (size_t)(j0 / NR) * (size_t)k * NR;
        int width = n - j0 < NR ? n - j0 : NR;
        for (int i = 0; i < m; i++) {
            float acc[NR];
            for (int j = 0; j < NR; j++) acc[j] = (bias && j < width) ? bias[j0 + j] : 0.0f;
            const float *row = a + (size_t)i * lda;
            for (int p = 0; p < k; p++) {
                float x = row[p];
                const float *w = panel + (size_t)p * NR;
                for (int j = 0; j < NR; j++) acc[j] += x * w[j];
            }
            for (int j = 0; j < width; j++) {
                float v = acc[j];
                if (j0 + j < relu_columns && v < 0.0f) v = 0.0f;
                c[(size_t)i * ldc + j0 + j] = v;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2/FMA path.

#define AVX2 __attribute__((target("avx2,fma")))

// Lanes 0..7 as ints, for building column masks.
static const int32_t lane_index[8] = {0, 1, 2, 3, 4, 5, 6, 7};

AVX2 static inline __m256i column_mask(int first_column, int limit) {
    // Lane l is set when first_column + l < limit.
    __m256i lanes = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)lane_index), _mm256_set1_epi32(first_column));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(limit), lanes);
}

// One MR_ × 16 block of C. `width` (1..16) is how many of the panel's columns exist in C;
// `relu_lo`/`relu_hi` are lane masks for the panel's two 8-lane halves.
AVX2 static inline __attribute__((always_inline)) void
micro_kernel(const int mr, int k, const float *a, int lda, const float *panel, __m256 bias_lo, __m256 bias_hi,
             float *c, int ldc, int width, __m256 relu_lo, __m256 relu_hi) {
    __m256 acc[MR][2];
    const float *row[MR];
    for (int r = 0; r < mr; r++) {
        acc[r][0] = bias_lo;
        acc[r][1] = bias_hi;
        row[r] = a + (size_t)r * lda;
    }
    for (int p = 0; p < k; p++) {
        __m256 w_lo = _mm256_load_ps(panel + (size_t)p * NR);
        __m256 w_hi = _mm256_load_ps(panel + (size_t)p * NR + 8);
        for (int r = 0; r < mr; r++) {
            __m256 x = _mm256_broadcast_ss(row[r] + p);
            acc[r][0] = _mm256_fmadd_ps(x, w_lo, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, w_hi, acc[r][1]);
        }
    }
    __m256 zero = _mm256_setzero_ps();
    for (int r = 0; r < mr; r++) {
        __m256 lo = _mm256_blendv_ps(acc[r][0], _mm256_max_ps(acc[r][0], zero), relu_lo);
        __m256 hi = _mm256_blendv_ps(acc[r][1], _mm256_max_ps(acc[r][1], zero), relu_hi);
        float *out = c + (size_t)r * ldc;
        if (width == NR) {
            _mm256_storeu_ps(out, lo);
            _mm256_storeu_ps(out + 8, hi);
        } else {
            _mm256_maskstore_ps(out, column_mask(0, width), lo);
            _mm256_maskstore_ps(out + 8, column_mask(8, width), hi);
        }
    }
}

AVX2 static void gemm_avx2(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                           float *c, int ldc, int relu_columns) {
    // Rows in chunks that stay in L2; within a chunk, each panel stays in L1 across its row blocks.
    for (int i0 = 0; i0 < m; i0 += ROW_CHUNK) {
        int chunk = m - i0 < ROW_CHUNK ? m - i0 : ROW_CHUNK;
        for (int j0 = 0; j0 < n; j0 += NR) {
            const float *panel = packed + (size_t)(j0 / NR) * (size_t)k * NR;
            int width = n - j0 < NR ? n - j0 : NR;
            __m256i keep_lo = column_mask(0, width), keep_hi = column_mask(8, width);
            __m256 bias_lo = bias ? _mm256_maskload_ps(bias + j0, keep_lo) : _mm256_setzero_ps();
            __m256 bias_hi = bias ? _mm256_maskload_ps(bias + j0 + 8, keep_hi) : _mm256_setzero_ps();
            __m256 relu_lo = _mm256_castsi256_ps(column_mask(j0, relu_columns));
            __m256 relu_hi = _mm256_castsi256_ps(column_mask(j0 + 8, relu_columns));
            const float *a_block = a + (size_t)i0 * lda;
            float *c_block = c + (size_t)i0 * ldc + j0;
            int i = 0;
            for (; i + MR <= chunk; i += MR)
                micro_kernel(MR, k, a_block + (size_t)i * lda, lda, panel, bias_lo, bias_hi, c_block + (size_t)i * ldc,
                             ldc, width, relu_lo, relu_hi);
            const float *a_tail = a_block + (size_t)i * lda;
            float *c_tail = c_block + (size_t)i * ldc;
            switch (chunk - i) {
            case 5: micro_kernel(5, k, a_tail, lda, panel, bias_lo, bias_hi, c_tail, ldc, width, relu_lo, relu_hi); break;
            case 4: micro_kernel(4, k, a_tail, lda, panel, bias_lo, bias_hi, c_tail, ldc, width, relu_lo, relu_hi); break;
            case 3: micro_kernel(3, k, a_tail, lda, panel, bias_lo, bias_hi, c_tail, ldc, width, relu_lo, relu_hi); break;
            case 2: micro_kernel(2, k, a_tail, lda, panel, bias_lo, bias_hi, c_tail, ldc, width, relu_lo, relu_hi); break;
            case 1: micro_kernel(1, k, a_tail, lda, panel, bias_lo, bias_hi, c_tail, ldc, width, relu_lo, relu_hi); break;
            default: break;
            }
        }
    }
}

void funnel_gemm(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
                 float *c, int ldc, int relu_columns) {
    if (m <= 0 || n <= 0) return;
    if (funnel_has_avx2_fma())
        gemm_avx2(m, n, k, a, lda, packed, bias, c, ldc, relu_columns);
    else
        gemm_scalar(m, n, k, a, lda, packed, bias, c, ldc, relu_columns);
}
