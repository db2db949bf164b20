#ifndef RORAM_CKERNELS_H
#define RORAM_CKERNELS_H

/// Vector kernels compiled for AVX2 + FMA and chosen at run time: Swift code is built for baseline x86-64
/// (SSE2), and these loops are several times faster with 8-lane FMA. Callers check ck_has_avx2_fma() first;
/// on other CPUs they keep their portable Swift loops.

/// 1 when this CPU runs AVX2 and FMA (and the kernels below were compiled for it), else 0.
int ck_has_avx2_fma(void);

/// The largest of p[0..<n] (n >= 1).
float ck_max(const float *p, long n);

/// Replaces p[i] by exp(p[i] - shift) for i in 0..<n and returns their sum (fixed order: 8 lane sums, then the
/// tail). exp is a Cody-Waite reduction with a degree-6 polynomial (relative error about 2e-7); inputs below -87
/// give about 1.6e-38 instead of 0.
float ck_exp_shift_sum(float *p, long n, float shift);

/// 1 when this CPU also converts half precision in hardware (F16C), so ck_f16_to_f32 may be called, else 0.
int ck_has_f16c(void);

/// dst[i] = the IEEE half bits src[i] as float32, exactly, for i in 0..<n (F16C, 8 lanes). NaNs keep their payload
/// unquieted, as PyTorch's conversion (and HalfConversion.float(f16:)) does.
void ck_f16_to_f32(const unsigned short *src, float *dst, long n);

#endif
