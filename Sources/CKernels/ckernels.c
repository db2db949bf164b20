// AVX2 + FMA kernels with run-time dispatch (see include/ckernels.h).
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include "exp8.h"
#define CK_X86 1
#define CK_AVX2 __attribute__((target("avx2,fma")))

int ck_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

CK_AVX2 static inline float ck_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

CK_AVX2 float ck_max(const float *p, long n) {
    __m256 m = _mm256_set1_ps(-__builtin_inff());
    long i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(p + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    float best = _mm_cvtss_f32(h);
    for (; i < n; i++) best = p[i] > best ? p[i] : best;
    return best;
}

CK_AVX2 float ck_exp_shift_sum(float *p, long n, float shift) {
    const __m256 s8 = _mm256_set1_ps(shift);
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(p + i), s8));
        _mm256_storeu_ps(p + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float total = ck_hsum(acc);
    if (i < n) {
        // The tail through the same vector code on a padded copy, so every element uses one exp.
        float tail[8] = {0};
        long rest = n - i;
        for (long j = 0; j < rest; j++) tail[j] = p[i + j];
        __m256 e = ck_exp8(_mm256_sub_ps(_mm256_loadu_ps(tail), s8));
        _mm256_storeu_ps(tail, e);
        for (long j = 0; j < rest; j++) { p[i + j] = tail[j]; total += tail[j]; }
    }
    return total;
}

int ck_has_f16c(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
}

// A half's float32 bits by integer arithmetic (exact for every input; used for the NaN lanes, which F16C quiets).
static inline unsigned int ck_half_bits_to_float_bits(unsigned short h) {
    unsigned int sign = (unsigned int)(h & 0x8000u) << 16, mag = h & 0x7FFFu;
    if ((mag & 0x7C00u) == 0x7C00u) return sign | 0x7F800000u | ((mag & 0x3FFu) << 13);   // inf, NaN
    union { unsigned int u; float f; } v;
    if ((mag & 0x7C00u) == 0) {                       // zero or subnormal: mantissa * 2^-24
        v.f = (float)mag * 5.9604644775390625e-8f;
        return sign | v.u;
    }
    return sign | ((mag << 13) + 0x38000000u);
}

__attribute__((target("avx2,f16c"))) void ck_f16_to_f32(const unsigned short *src, float *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, f);
        if (_mm256_movemask_ps(_mm256_cmp_ps(f, f, _CMP_UNORD_Q))) {
            for (long j = i; j < i + 8; j++) {
                union { unsigned int u; float f; } v;
                v.u = ck_half_bits_to_float_bits(src[j]);
                dst[j] = v.f;
            }
        }
    }
    for (; i < n; i++) {
        union { unsigned int u; float f; } v;
        v.u = ck_half_bits_to_float_bits(src[i]);
        dst[i] = v.f;
    }
}

#else
// Other CPUs: plain loops (callers use their Swift loops there, since ck_has_avx2_fma() is 0).
#include <math.h>
int ck_has_avx2_fma(void) { return 0; }
float ck_max(const float *p, long n) { float m = p[0]; for (long i = 1; i < n; i++) if (p[i] > m) m = p[i]; return m; }
int ck_has_f16c(void) { return 0; }
void ck_f16_to_f32(const unsigned short *src, float *dst, long n) { (void)src; (void)dst; (void)n; }
float ck_exp_shift_sum(float *p, long n, float shift) {
    float total = 0;
    for (long i = 0; i < n; i++) { p[i] = expf(p[i] - shift); total += p[i]; }
    return total;
}
#endif
