// Flash attention forward for one block of query rows, with AVX2 + FMA register tiles (see include/ckernels.h and
// Sources/Tensor/Attention.swift). Scores are kept transposed, S^T (keys x queries), so that every step runs along
// the query lanes: the scores' tile is (6 keys) x (16 queries) with the queries' scaled rows packed as Q^T, the
// running maximum and sum are per lane (no horizontal reductions), and P^T is already the packed left operand of
// O += P V, whose tile is (6 queries) x (16 value columns) read straight from V's rows. Nothing is packed per key
// block but Q^T once per call, and no score is zeroed, copied or reread for its maximum.
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "exp8.h"

#define CK_AVX2 __attribute__((target("avx2,fma")))
#define CK_INLINE static inline __attribute__((always_inline))

// S^T rows j0 .. j0 + JR (keys) x lanes i0 .. i0 + 16 (queries): s[j][i] = sum_dd k[j][dd] qt[dd][i], with the
// keys' group packed as kp[dd][6]; also folds the tile into the lanes' block maximum bm[i0 .. i0 + 16].
CK_AVX2 CK_INLINE void fa_scores(int JR, const float *kp, const float *qt, long ldqt, long d,
                                 float *s, long lds, float *bm) {
    __m256 acc[6][2];
    for (int r = 0; r < JR; r++) { acc[r][0] = _mm256_setzero_ps(); acc[r][1] = _mm256_setzero_ps(); }
    for (long dd = 0; dd < d; dd++) {
        __m256 b0 = _mm256_loadu_ps(qt + dd * ldqt), b1 = _mm256_loadu_ps(qt + dd * ldqt + 8);
        for (int r = 0; r < JR; r++) {
            __m256 a = _mm256_broadcast_ss(kp + dd * 6 + r);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    __m256 m0 = _mm256_loadu_ps(bm), m1 = _mm256_loadu_ps(bm + 8);
    for (int r = 0; r < JR; r++) {
        _mm256_storeu_ps(s + r * lds, acc[r][0]);
        _mm256_storeu_ps(s + r * lds + 8, acc[r][1]);
        m0 = _mm256_max_ps(m0, acc[r][0]);
        m1 = _mm256_max_ps(m1, acc[r][1]);
    }
    _mm256_storeu_ps(bm, m0);
    _mm256_storeu_ps(bm + 8, m1);
}

// O rows i0 .. i0 + IR x columns c0 .. c0 + 8 NW += sum_j P^T[j][i] v[j][c] over kc keys (o with row stride ldo).
CK_AVX2 CK_INLINE void fa_values(int IR, int NW, const float *p, long ldp, const float *v, long ldv, long kc,
                                 float *o, long ldo) {
    __m256 acc[6][2];
    for (int r = 0; r < IR; r++)
        for (int w = 0; w < NW; w++) acc[r][w] = _mm256_loadu_ps(o + r * ldo + 8 * w);
    for (long j = 0; j < kc; j++) {
        __m256 b[2];
        for (int w = 0; w < NW; w++) b[w] = _mm256_loadu_ps(v + j * ldv + 8 * w);
        for (int r = 0; r < IR; r++) {
            __m256 a = _mm256_broadcast_ss(p + j * ldp + r);
            for (int w = 0; w < NW; w++) acc[r][w] = _mm256_fmadd_ps(a, b[w], acc[r][w]);
        }
    }
    for (int r = 0; r < IR; r++)
        for (int w = 0; w < NW; w++) _mm256_storeu_ps(o + r * ldo + 8 * w, acc[r][w]);
}

#define FA_SCORES(JR) fa_scores(JR, kp + (k0 + j) * d, qt + i0, r16, d, s + j * r16 + i0, r16, bm + i0)
#define FA_VALUES(IR, NW) fa_values(IR, NW, s + i, r16, vb + c0, ldv, kc, acc + i * dv + c0, dv)

CK_AVX2 static void fa_block(const float *q, long ldq, const float *kp, const float *v, long ldv,
                             float *out, long ldo, float *lse, long rows, long lk, long d, long dv, float scale,
                             long key_block, float *scratch) {
    const long r16 = (rows + 15) / 16 * 16;
    float *qt = scratch;                       // (d, r16): the scaled queries, transposed, zero past `rows`
    float *s = qt + d * r16;                   // (key_block, r16): S^T, then P^T
    float *acc = s + key_block * r16;          // (rows, dv): the unnormalised output
    float *m = acc + rows * dv;                // (r16) running maximum, then block maximum bm, block sum, correction
    float *bm = m + r16, *bs = bm + r16, *corr = bs + r16;
    for (long dd = 0; dd < d; dd++) {
        float *row = qt + dd * r16;
        for (long i = 0; i < rows; i++) row[i] = q[i * ldq + dd] * scale;
        for (long i = rows; i < r16; i++) row[i] = 0;
    }
    float *l = corr + r16;                     // (r16) running sum
    for (long i = 0; i < r16; i++) { m[i] = -INFINITY; l[i] = 0; }
    memset(acc, 0, (size_t)(rows * dv) * sizeof(float));
    for (long k0 = 0; k0 < lk; k0 += key_block) {
        const long kc = lk - k0 < key_block ? lk - k0 : key_block;
        for (long i = 0; i < r16; i++) bm[i] = -INFINITY;
        // S^T (kc, r16) = K_blk Q^T, and each lane's block maximum.
        for (long i0 = 0; i0 < r16; i0 += 16) {
            for (long j = 0; j < kc; j += 6) {
                switch (kc - j < 6 ? kc - j : 6) {
                case 6: FA_SCORES(6); break;
                case 5: FA_SCORES(5); break;
                case 4: FA_SCORES(4); break;
                case 3: FA_SCORES(3); break;
                case 2: FA_SCORES(2); break;
                default: FA_SCORES(1); break;
                }
            }
        }
        // New maxima, the corrections of earlier blocks, and P^T = exp(S^T - max) with its lane sums.
        for (long i = 0; i < r16; i += 8) {
            __m256 mo = _mm256_loadu_ps(m + i), mn = _mm256_max_ps(mo, _mm256_loadu_ps(bm + i));
            _mm256_storeu_ps(corr + i, ck_exp8(_mm256_sub_ps(mo, mn)));
            _mm256_storeu_ps(m + i, mn);
            _mm256_storeu_ps(bs + i, _mm256_setzero_ps());
        }
        for (long j = 0; j < kc; j++) {
            float *sj = s + j * r16;
            for (long i = 0; i < r16; i += 8) {
                __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(sj + i), _mm256_loadu_ps(m + i)));
                _mm256_storeu_ps(sj + i, e);
                _mm256_storeu_ps(bs + i, _mm256_add_ps(_mm256_loadu_ps(bs + i), e));
            }
        }
        for (long i = 0; i < rows; i++) {
            l[i] = l[i] * corr[i] + bs[i];
            if (corr[i] != 1.0f && k0 > 0) {
                float *row = acc + i * dv;
                for (long c = 0; c < dv; c++) row[c] *= corr[i];
            }
        }
        // O (rows, dv) += P V_blk.
        const float *vb = v + k0 * ldv;
        for (long c0 = 0; c0 < dv; c0 += 16) {
            const int nw = dv - c0 >= 16 ? 2 : 1;
            for (long i = 0; i < rows; i += 6) {
                const long ir = rows - i < 6 ? rows - i : 6;
                switch ((ir - 1) * 2 + nw) {
                case 12: FA_VALUES(6, 2); break;
                case 11: FA_VALUES(6, 1); break;
                case 10: FA_VALUES(5, 2); break;
                case 9: FA_VALUES(5, 1); break;
                case 8: FA_VALUES(4, 2); break;
                case 7: FA_VALUES(4, 1); break;
                case 6: FA_VALUES(3, 2); break;
                case 5: FA_VALUES(3, 1); break;
                case 4: FA_VALUES(2, 2); break;
                case 3: FA_VALUES(2, 1); break;
                case 2: FA_VALUES(1, 2); break;
                default: FA_VALUES(1, 1); break;
                }
            }
        }
    }
    for (long i = 0; i < rows; i++) {
        const float inv = 1.0f / l[i];
        const float *row = acc + i * dv;
        float *o = out + i * ldo;
        for (long c = 0; c < dv; c++) o[c] = row[c] * inv;
        if (lse) lse[i] = m[i] + logf(l[i]);
    }
}

long ck_flash_block_scratch(long rows, long d, long dv, long key_block) {
    const long r16 = (rows + 15) / 16 * 16;
    return d * r16 + key_block * r16 + rows * dv + 5 * r16;
}

long ck_flash_packed_keys(long lk, long d) { return (lk + 5) / 6 * 6 * d; }

void ck_flash_pack_keys(const float *k, long ldk, long lk, long d, float *kp) {
    for (long g = 0; g < lk; g += 6) {
        float *out = kp + g * d;                  // (d, 6): group g's keys, interleaved
        for (long r = 0; r < 6; r++) {
            if (g + r < lk) {
                const float *row = k + (g + r) * ldk;
                for (long dd = 0; dd < d; dd++) out[dd * 6 + r] = row[dd];
            } else {
                for (long dd = 0; dd < d; dd++) out[dd * 6 + r] = 0;
            }
        }
    }
}

int ck_flash_block(const float *q, long ldq, const float *kp, const float *v, long ldv,
                   float *out, long ldo, float *lse, long rows, long lk, long d, long dv, float scale,
                   long key_block, float *scratch) {
    if (!ck_has_avx2_fma() || dv % 8 != 0 || key_block % 6 != 0 && key_block < lk || rows < 1 || lk < 1 || d < 1 ||
        key_block < 1) return 0;
    fa_block(q, ldq, kp, v, ldv, out, ldo, lse, rows, lk, d, dv, scale, key_block, scratch);
    return 1;
}

#else
long ck_flash_block_scratch(long rows, long d, long dv, long key_block) { (void)rows; (void)d; (void)dv; (void)key_block; return 0; }
long ck_flash_packed_keys(long lk, long d) { (void)lk; (void)d; return 0; }
void ck_flash_pack_keys(const float *k, long ldk, long lk, long d, float *kp) { (void)k; (void)ldk; (void)lk; (void)d; (void)kp; }
int ck_flash_block(const float *q, long ldq, const float *kp, const float *v, long ldv,
                   float *out, long ldo, float *lse, long rows, long lk, long d, long dv, float scale,
                   long key_block, float *scratch) {
    (void)q; (void)ldq; (void)kp; (void)v; (void)ldv; (void)out; (void)ldo; (void)lse; (void)rows;
    (void)lk; (void)d; (void)dv; (void)scale; (void)key_block; (void)scratch;
    return 0;
}
#endif
