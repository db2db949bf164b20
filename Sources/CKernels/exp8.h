// ck_exp8, the 8-lane exp shared by the AVX2 + FMA kernels (ckernels.c, attention.c); internal to the target, not
// part of include/. Include it after <immintrin.h>, inside an x86 + GCC/clang block.
#ifndef RORAM_CK_EXP8_H
#define RORAM_CK_EXP8_H

// exp on eight lanes: e^x = 2^n e^r, n = round(x / ln 2), |r| <= ln2 / 2, polynomial of degree 6.
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 ck_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);   // 1.5 * 2^23: rounds to an integer in the low bits
    __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.442695040888963f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_set1_epi32(0x3F800000))));
}

#endif
