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

/// Flash attention forward for one block of `rows` query rows against all `lk` keys, in key blocks of `key_block`
/// (a multiple of 6, or at least lk): out (rows, dv) = softmax(scale q k^T) v, with q (rows, d), v (lk, dv) and out
/// given with row strides ldq, ldv, ldo, and the keys packed by ck_flash_pack_keys; when `lse` is not NULL it
/// receives each row's log(sum_j exp(scale q_i k_j)). Scores are computed transposed with AVX2 + FMA register tiles
/// and an online softmax per query lane. `scratch` holds ck_flash_block_scratch(rows, d, dv, key_block) floats.
/// Returns 0 (and does nothing) where the CPU lacks AVX2 + FMA, dv is not a multiple of 8 or key_block does not
/// fit, so that the caller runs its portable path; else 1.
int ck_flash_block(const float *q, long ldq, const float *kp, const float *v, long ldv,
                   float *out, long ldo, float *lse, long rows, long lk, long d, long dv, float scale,
                   long key_block, float *scratch);

/// Floats of scratch ck_flash_block needs.
long ck_flash_block_scratch(long rows, long d, long dv, long key_block);

/// Floats of one head's packed keys: lk rounded up to a multiple of 6, times d.
long ck_flash_packed_keys(long lk, long d);

/// Packs k (lk, d; row stride ldk) in groups of 6 keys, kp[g * d + dd * 6 + r] = k[g + r][dd] (zero past lk), the
/// order ck_flash_block's score tiles read them in.
void ck_flash_pack_keys(const float *k, long ldk, long lk, long d, float *kp);

/// Winograd F(2x2, 3x3) input transform of one channel plane (h x w, zero padding `pad`) for tile rows
/// [ty0, ty1) of `tiles_x` tiles: element xi = 4 i + j of tile (ty, tx)'s B^T d B goes to
/// v[xi * xi_stride + (ty - ty0) * tiles_x + tx]. `rows` is scratch for 8 * (2 * tiles_x + 2) floats.
/// Same bits on every CPU (adds and subtracts only); AVX2 loops where the CPU has them.
void ck_wino_f23_input(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                       float *v, long xi_stride, float *rows);

/// Winograd F(2x2, 3x3) output transform of one output channel: the 2x2 A^T M A of every tile in rows [ty0, ty1),
/// M read as ck_wino_f23_input writes V, plus `bias`, into the plane (oh x ow; tiles past its edges are clipped).
/// `rows` is scratch for 12 * tiles_x floats.
void ck_wino_f23_output(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                        float *plane, long oh, long ow, float *rows);

/// Winograd F(4x4, 3x3) input transform: as ck_wino_f23_input with 6x6 patches 4 pixels apart, element
/// xi = 6 i + j of B^T d B (36 per tile). `rows` is scratch for 12 * (4 * tiles_x + 2) floats.
void ck_wino_f43_input(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                       float *v, long xi_stride, float *rows);

/// Winograd F(4x4, 3x3) output transform: the 4x4 A^T M A of every tile plus `bias`, clipped at the plane's edges.
/// `rows` is scratch for 40 * tiles_x floats.
void ck_wino_f43_output(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                        float *plane, long oh, long ow, float *rows);

/// C (m x n, row stride ldc) = A (m x k, row stride lda) x W^T for a weight W (n x k, row stride ldw) of f16 bits
/// (bf16 = 0) or bf16 bits (bf16 = 1), widened to float32 as it is packed: AVX2 + FMA + F16C tiles of 6 x 16, C
/// overwritten. Each element is the sum over k in blocks of ck_gemm_half_weight_kc() indices, each block an FMA
/// chain in index order starting from 0, the blocks added in order: the same bits wherever a caller cuts C.
/// `scratch` holds ck_gemm_half_weight_scratch() floats. Returns 0 (and does nothing) where the CPU lacks AVX2,
/// FMA or F16C or a size is below 1, so that the caller runs its portable path; else 1.
int ck_gemm_half_weight(long m, long n, long k, const float *a, long lda, const unsigned short *w, long ldw, int bf16,
                        float *c, long ldc, float *scratch);

/// Floats of scratch one ck_gemm_half_weight call needs (whatever its sizes).
long ck_gemm_half_weight_scratch(void);

/// The inner indices per block of ck_gemm_half_weight's sums (its summation order; tests rebuild it).
long ck_gemm_half_weight_kc(void);

#endif
