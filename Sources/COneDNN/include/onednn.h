#ifndef ROREM_ONEDNN_H
#define ROREM_ONEDNN_H

#include <stddef.h>

/// oneDNN 2.x (libdnnl.so.2) convolutions and matrix products, loaded at run time with dlopen: nothing links it, and on a
/// machine without it odnn_load() returns 0 and the engine keeps its own kernels. The few C API functions used
/// are declared in onednn.c with their 2.x ABI and resolved with dlsym (no dnnl.h needed to build).
///
/// A handle (odnn_conv) holds the primitives for one shape, created once (creation JIT-compiles
/// kernels and is expensive; the caller caches handles). Executing a handle is thread-safe: every call gets its
/// own workspace from the caller (blocked copies of the operands and the primitives' scratchpad) and runs on
/// the calling thread with the handle's OpenMP thread count.

/// 1 once libdnnl.so.2 is loaded and every symbol resolved (loads on the first call; thread-safe), else 0.
int odnn_load(void);
/// Why odnn_load() failed ("" when it did not).
const char *odnn_load_error(void);
/// The library's version, e.g. "2.6.3" ("" when not loaded).
const char *odnn_version(void);
/// The instruction set oneDNN dispatches to (dnnl_get_effective_cpu_isa()), e.g. "avx2", "avx512_core_bf16".
const char *odnn_cpu_isa(void);

/// Element types (the engine's DType storage): 0 float32, 1 bfloat16, 2 float16.
enum { ODNN_F32 = 0, ODNN_BF16 = 1, ODNN_F16 = 2 };

/// What a convolution handle computes.
enum {
    ODNN_CONV_FORWARD = 0,          ///< dst = conv(src, weights) + bias
    ODNN_CONV_BACKWARD_DATA = 1,    ///< diff_src = conv^T(diff_dst, weights)
    ODNN_CONV_BACKWARD_WEIGHTS = 2, ///< diff_weights = sum over (n, y, x) of src patch * diff_dst
};

/// A 2-D convolution as PyTorch's conv2d: src (N, C, H, W), weights (O, C/groups, KH, KW), dst (N, O, OH, OW),
/// row-major. Dilation as PyTorch (1 = none). Rows may be padded unevenly (pad_top, pad_bottom), so that a band
/// of output rows of a larger image is a convolution of its own; src_plane / dst_plane are then the caller's
/// channel strides (H * W and OH * OW of the whole image; 0 for a dense tensor).
typedef struct {
    long n, c, h, w, o, kh, kw, oh, ow;
    long stride_h, stride_w, pad_top, pad_bottom, pad_w, dilation_h, dilation_w, groups;
    long src_plane, dst_plane;
    int kind;            ///< ODNN_CONV_*
    int has_bias;        ///< forward only: add a float32 bias (O)
    int compute_dtype;   ///< ODNN_F32, or ODNN_BF16 (bf16 operands, f32 accumulation; needs AVX512-BF16 or AMX)
    int weights_dtype;   ///< how the caller's weights are stored (forward and backward data): ODNN_F32/BF16/F16
    int threads;         ///< OpenMP threads inside one call (>= 1)
} odnn_conv_shape;

typedef struct odnn_conv odnn_conv;

/// The primitives for `shape`, or NULL with a message in `error` (e.g. oneDNN has no implementation: bf16 on a
/// CPU without AVX512-BF16, or an f16 weights reorder it does not offer).
odnn_conv *odnn_conv_create(const odnn_conv_shape *shape, char *error, size_t error_size);
/// Frees a handle.
void odnn_conv_destroy(odnn_conv *conv);
/// The convolution's implementation as oneDNN's verbose mode names it, e.g. "jit:avx2".
const char *odnn_conv_impl(const odnn_conv *conv);
/// Bytes of workspace one call needs (64-byte aligned pointer).
size_t odnn_conv_workspace_size(const odnn_conv *conv);
/// Runs the handle. Forward: a = src (f32), b = weights (weights_dtype), bias (f32 or NULL), out = dst (f32).
/// Backward data: a = diff_dst (f32), b = weights, out = diff_src (f32). Backward weights: a = src (f32),
/// b = diff_dst (f32), out = diff_weights (f32, overwritten). Returns 0, or a dnnl_status_t.
int odnn_conv_execute(const odnn_conv *conv, const void *a, const void *b, const float *bias, void *out,
                      void *workspace);

/// Forward and backward data: bytes of the weights in the layout the convolution reads (0 when that is the
/// caller's plain layout, which it then reads in place).
size_t odnn_conv_blocked_weights_size(const odnn_conv *conv);
/// Writes the caller's plain weights in that layout into `blocked` (converting their dtype on the way).
int odnn_conv_block_weights(const odnn_conv *conv, const void *weights, void *blocked, void *workspace);
/// 1 when two handles read their weights in the same layout (so one blocked copy serves both).
int odnn_conv_same_weights_layout(const odnn_conv *a, const odnn_conv *b);
/// odnn_conv_execute with b already in the handle's layout (from odnn_conv_block_weights).
int odnn_conv_execute_blocked(const odnn_conv *conv, const void *a, const void *blocked_weights, const float *bias,
                              void *out, void *workspace);


/// A matrix product C (M x N, float32) = A (M x K) x B (K x N) [+ bias (N)], row-major with the caller's row strides.
/// B is row-major K x N, or with b_transposed its transpose stored N x K (a Linear weight). A and B are both in
/// compute_dtype (ODNN_F32, or ODNN_BF16: bf16 operands, f32 accumulation, AVX512-BF16 or AMX only); the caller
/// converts A. The weights are reordered per call into the layout the implementation reads.
typedef struct {
    long m, n, k, lda, ldb, ldc;
    int b_transposed;
    int has_bias;
    int compute_dtype;
    int threads;         ///< OpenMP threads inside one call (>= 1)
} odnn_matmul_shape;

typedef struct odnn_matmul odnn_matmul;

/// The primitives for `shape`, or NULL with a message in `error` (bf16 where the CPU has no bf16 matmul).
odnn_matmul *odnn_matmul_create(const odnn_matmul_shape *shape, char *error, size_t error_size);
void odnn_matmul_destroy(odnn_matmul *matmul);
/// The implementation as oneDNN's verbose mode names it, e.g. "gemm:jit" or "brg:avx512_core_amx".
const char *odnn_matmul_impl(const odnn_matmul *matmul);
/// Bytes of workspace one call needs (64-byte aligned pointer).
size_t odnn_matmul_workspace_size(const odnn_matmul *matmul);
/// Runs the product: a, b in the compute dtype, bias float32 or NULL, c float32 (overwritten). 0 on success.
int odnn_matmul_execute(const odnn_matmul *matmul, const void *a, const void *b, const float *bias, float *c,
                        void *workspace);

#endif
