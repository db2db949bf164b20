// Winograd F(2x2, 3x3) transforms for the engine's 3x3 convolutions (see include/ckernels.h and
// Sources/Tensor/ConvWinograd.swift). Plain loops, compiled twice: once for AVX2 + FMA and once for baseline x86-64,
// and chosen at run time; the compiler vectorises them along the tiles of a row. Both builds compute the same
// sums in the same order (adds and subtracts only, no FMA contraction), so the bits do not depend on the CPU.
#include "ckernels.h"

#include <string.h>

// Input transform of one channel plane for tile rows [ty0, ty1): V = B^T d B on every 4x4 input patch d whose top
// left is (2 ty - pad, 2 tx - pad), with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// v[xi * xi_stride + (ty - ty0) * tiles_x + tx] receives element xi = 4 i + j of tile (ty, tx)'s V. `rows` is scratch
// for 8 rows of 2 tiles_x + 2 floats.
static inline __attribute__((always_inline))
void wino_input_body(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                     float *v, long xi_stride, float *rows) {
    const long wp = 2 * tiles_x + 2;
    float *r[4] = {rows, rows + wp, rows + 2 * wp, rows + 3 * wp};
    float *t[4] = {rows + 4 * wp, rows + 5 * wp, rows + 6 * wp, rows + 7 * wp};
    // The columns of the image that the padded rows [0, wp) cover.
    const long x0 = pad < wp ? pad : wp;                      // padded column of image column 0
    const long copy = (w < wp - x0) ? w : wp - x0;            // image columns that land in the row
    for (long ty = ty0; ty < ty1; ty++) {
        for (int i = 0; i < 4; i++) {
            long y = 2 * ty - pad + i;
            float *row = r[i];
            if (y < 0 || y >= h || copy <= 0) { memset(row, 0, (size_t)wp * sizeof(float)); continue; }
            if (x0 > 0) memset(row, 0, (size_t)x0 * sizeof(float));
            memcpy(row + x0, plane + y * w, (size_t)copy * sizeof(float));
            if (x0 + copy < wp) memset(row + x0 + copy, 0, (size_t)(wp - x0 - copy) * sizeof(float));
        }
        // Rows: t = B^T applied down each column.
        for (long x = 0; x < wp; x++) {
            float a = r[0][x], b = r[1][x], c = r[2][x], d = r[3][x];
            t[0][x] = a - c;
            t[1][x] = b + c;
            t[2][x] = c - b;
            t[3][x] = b - d;
        }
        // Columns: B applied along each row, per tile (columns 2 tx .. 2 tx + 3).
        float *out = v + (ty - ty0) * tiles_x;
        for (int i = 0; i < 4; i++) {
            const float *ti = t[i];
            float *o0 = out + (4 * i + 0) * xi_stride, *o1 = out + (4 * i + 1) * xi_stride;
            float *o2 = out + (4 * i + 2) * xi_stride, *o3 = out + (4 * i + 3) * xi_stride;
            for (long tx = 0; tx < tiles_x; tx++) {
                float a = ti[2 * tx], b = ti[2 * tx + 1], c = ti[2 * tx + 2], d = ti[2 * tx + 3];
                o0[tx] = a - c;
                o1[tx] = b + c;
                o2[tx] = c - b;
                o3[tx] = b - d;
            }
        }
    }
}

// Output transform of one output channel for tile rows [ty0, ty1): Y = A^T M A (2x2 per tile) plus bias, with
//   A^T = [1 1 1 0; 0 1 -1 -1],
// read from m[xi * xi_stride + (ty - ty0) * tiles_x + tx] and written into the plane (oh x ow), clipped at its edges.
// `rows` is scratch for 2 rows of 2 tiles_x floats plus 8 rows of tiles_x.
static inline __attribute__((always_inline))
void wino_output_body(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                      float *plane, long oh, long ow, float *rows) {
    const long wq = 2 * tiles_x;
    float *y0 = rows, *y1 = rows + wq;
    float *s[4], *d[4];
    for (int j = 0; j < 4; j++) { s[j] = rows + 2 * wq + j * tiles_x; d[j] = rows + 2 * wq + (4 + j) * tiles_x; }
    const long cols = ow < wq ? ow : wq;
    for (long ty = ty0; ty < ty1; ty++) {
        const float *in = m + (ty - ty0) * tiles_x;
        // Rows of A^T M: s_j = m_0j + m_1j + m_2j, d_j = m_1j - m_2j - m_3j.
        for (int j = 0; j < 4; j++) {
            const float *m0 = in + j * xi_stride, *m1 = in + (4 + j) * xi_stride;
            const float *m2 = in + (8 + j) * xi_stride, *m3 = in + (12 + j) * xi_stride;
            float *sj = s[j], *dj = d[j];
            for (long tx = 0; tx < tiles_x; tx++) {
                sj[tx] = m0[tx] + m1[tx] + m2[tx];
                dj[tx] = m1[tx] - m2[tx] - m3[tx];
            }
        }
        // Times A: two output columns per tile.
        for (long tx = 0; tx < tiles_x; tx++) {
            y0[2 * tx] = s[0][tx] + s[1][tx] + s[2][tx] + bias;
            y0[2 * tx + 1] = s[1][tx] - s[2][tx] - s[3][tx] + bias;
            y1[2 * tx] = d[0][tx] + d[1][tx] + d[2][tx] + bias;
            y1[2 * tx + 1] = d[1][tx] - d[2][tx] - d[3][tx] + bias;
        }
        long oy = 2 * ty;
        if (oy < oh) memcpy(plane + oy * ow, y0, (size_t)cols * sizeof(float));
        if (oy + 1 < oh) memcpy(plane + (oy + 1) * ow, y1, (size_t)cols * sizeof(float));
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2"))) static void wino_input_avx2(const float *plane, long h, long w, long pad, long ty0,
        long ty1, long tiles_x, float *v, long xi_stride, float *rows) {
    wino_input_body(plane, h, w, pad, ty0, ty1, tiles_x, v, xi_stride, rows);
}
__attribute__((target("avx2"))) static void wino_output_avx2(const float *m, long xi_stride, long ty0, long ty1,
        long tiles_x, float bias, float *plane, long oh, long ow, float *rows) {
    wino_output_body(m, xi_stride, ty0, ty1, tiles_x, bias, plane, oh, ow, rows);
}
static int wino_avx2(void) {
    static int known = -1;
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx2") ? 1 : 0; }
    return known;
}
#endif

void ck_wino_f23_input(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                       float *v, long xi_stride, float *rows) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wino_avx2()) { wino_input_avx2(plane, h, w, pad, ty0, ty1, tiles_x, v, xi_stride, rows); return; }
#endif
    wino_input_body(plane, h, w, pad, ty0, ty1, tiles_x, v, xi_stride, rows);
}

void ck_wino_f23_output(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                        float *plane, long oh, long ow, float *rows) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (wino_avx2()) { wino_output_avx2(m, xi_stride, ty0, ty1, tiles_x, bias, plane, oh, ow, rows); return; }
#endif
    wino_output_body(m, xi_stride, ty0, ty1, tiles_x, bias, plane, oh, ow, rows);
}
