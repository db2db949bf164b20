// C = A W^T for a Linear weight W kept in f16 or bf16 (see include/ckernels.h and Sources/Tensor/BLAS+HalfWeights.swift),
// with AVX2 + FMA register tiles of 6 rows x 16 columns, blocked as BLIS blocks a GEMM: per block of NC output
// columns and KC inner indices, W's rows are widened to float32 and transposed into 16-column panels in one pass
// (the packing a float32 GEMM does anyway, so the weight is read once, as 2 bytes an element), then per block of
// MC rows A is packed into 6-row panels and every (6 x 16) tile of C runs KC fused multiply-adds per lane.
//
// The bits: each element of C is the sum over K in blocks of KC, each block an FMA chain in index order from 0,
// the blocks added in order. That depends on neither M, N, MC, NC nor where a caller cuts C, so any thread count
// and any split give the same result (the tests check it against that order written out in Swift).
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define CK_GEMM __attribute__((target("avx2,fma,f16c")))
#define CK_INLINE static inline __attribute__((always_inline))

enum {
    MR = 6,     // rows of a register tile (6 x 2 accumulators + 2 B vectors + 1 broadcast = 15 of 16 ymm)
    NR = 16,    // columns of a register tile
    KC = 256,   // inner indices per block: a B panel (KC x NR) is 16 KB, in L1
    MC = 96,    // rows per packed A block: 96 KB, in L2
    NC = 512,   // columns per packed B block: 512 KB, in L2 (1 MB per core on the machines measured)
};

// Eight rows of eight floats in, their transpose out: r[j][i] = r_in[i][j].
CK_GEMM CK_INLINE void transpose8(__m256 *r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Eight f16 or bf16 values as float32 (both exact).
CK_GEMM CK_INLINE __m256 widen8(const unsigned short *p, int bf16) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (bf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

CK_GEMM CK_INLINE float widen1(unsigned short v, int bf16) {
    if (bf16) { union { unsigned u; float f; } x = { (unsigned)v << 16 }; return x.f; }
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(v)));
}

// W rows [0, nc) (row stride ldw), columns [0, kc), widened into panels of 16 rows: bp[j / 16][k][j % 16], zero
// past nc.
CK_GEMM static void pack_b(const unsigned short *w, long ldw, int bf16, long nc, long kc, float *bp) {
    for (long j = 0; j < nc; j += NR) {
        float *dst = bp + (j / NR) * kc * NR;
        const long rows = nc - j < NR ? nc - j : NR;
        long k = 0;
        if (rows == NR) {
            for (; k + 8 <= kc; k += 8) {
                for (int half = 0; half < 2; half++) {
                    __m256 r[8];
                    for (int i = 0; i < 8; i++) r[i] = widen8(w + (j + half * 8 + i) * ldw + k, bf16);
                    transpose8(r);
                    for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (k + i) * NR + half * 8, r[i]);
                }
            }
        }
        for (; k < kc; k++)
            for (long i = 0; i < NR; i++) dst[k * NR + i] = i < rows ? widen1(w[(j + i) * ldw + k], bf16) : 0.0f;
    }
}

// A rows [0, mc) (row stride lda), columns [0, kc), into panels of 6 rows: ap[i / 6][k][i % 6], zero past mc.
CK_GEMM static void pack_a(const float *a, long lda, long mc, long kc, float *ap) {
    for (long i = 0; i < mc; i += MR) {
        float *dst = ap + (i / MR) * kc * MR;
        const long rows = mc - i < MR ? mc - i : MR;
        if (rows == MR) {
            const float *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda, *r4 = r3 + lda,
                        *r5 = r4 + lda;
            for (long k = 0; k < kc; k++) {
                dst[0] = r0[k]; dst[1] = r1[k]; dst[2] = r2[k]; dst[3] = r3[k]; dst[4] = r4[k]; dst[5] = r5[k];
                dst += MR;
            }
        } else {
            for (long k = 0; k < kc; k++)
                for (long r = 0; r < MR; r++) dst[k * MR + r] = r < rows ? a[(i + r) * lda + k] : 0.0f;
        }
    }
}

// The tile c (rows x cols of 6 x 16, row stride ldc) = (accumulate ? c : 0) + ap (kc x 6)^T bp (kc x 16).
CK_GEMM static void tile(long kc, const float *ap, const float *bp, float *c, long ldc, int accumulate,
                         long rows, long cols) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (long k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        __m256 a;
        a = _mm256_broadcast_ss(ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += MR; bp += NR;
    }
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (rows == MR && cols == NR) {
        for (int r = 0; r < MR; r++) {
            float *row = c + r * ldc;
            if (accumulate) {
                acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(row), acc[r][0]);
                acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[r][1]);
            }
            _mm256_storeu_ps(row, acc[r][0]);
            _mm256_storeu_ps(row + 8, acc[r][1]);
        }
        return;
    }
    float t[MR * NR];
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_ps(t + r * NR, acc[r][0]);
        _mm256_storeu_ps(t + r * NR + 8, acc[r][1]);
    }
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < cols; j++) c[r * ldc + j] = accumulate ? c[r * ldc + j] + t[r * NR + j] : t[r * NR + j];
}

CK_GEMM static void gemm_half_weight(long m, long n, long k, const float *a, long lda, const unsigned short *w,
                                     long ldw, int bf16, float *c, long ldc, float *scratch) {
    float *bp = scratch, *ap = scratch + (long)KC * NC;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long p = 0; p < k; p += KC) {
            const long kc = k - p < KC ? k - p : KC;
            pack_b(w + jc * ldw + p, ldw, bf16, nc, kc, bp);
            for (long ic = 0; ic < m; ic += MC) {
                const long mc = m - ic < MC ? m - ic : MC;
                pack_a(a + ic * lda + p, lda, mc, kc, ap);
                for (long j = 0; j < nc; j += NR) {
                    const long cols = nc - j < NR ? nc - j : NR;
                    for (long i = 0; i < mc; i += MR) {
                        const long rows = mc - i < MR ? mc - i : MR;
                        tile(kc, ap + (i / MR) * kc * MR, bp + (j / NR) * kc * NR, c + (ic + i) * ldc + jc + j, ldc,
                             p > 0, rows, cols);
                    }
                }
            }
        }
    }
}

long ck_gemm_half_weight_scratch(void) { return (long)KC * NC + (long)MC * KC; }

long ck_gemm_half_weight_kc(void) { return KC; }

int ck_gemm_half_weight(long m, long n, long k, const float *a, long lda, const unsigned short *w, long ldw, int bf16,
                        float *c, long ldc, float *scratch) {
    if (!ck_has_avx2_fma() || !ck_has_f16c() || m < 1 || n < 1 || k < 1) return 0;
    gemm_half_weight(m, n, k, a, lda, w, ldw, bf16, c, ldc, scratch);
    return 1;
}

#else
long ck_gemm_half_weight_scratch(void) { return 0; }
long ck_gemm_half_weight_kc(void) { return 0; }
int ck_gemm_half_weight(long m, long n, long k, const float *a, long lda, const unsigned short *w, long ldw, int bf16,
                        float *c, long ldc, float *scratch) {
    (void)m; (void)n; (void)k; (void)a; (void)lda; (void)w; (void)ldw; (void)bf16; (void)c; (void)ldc; (void)scratch;
    return 0;
}
#endif
