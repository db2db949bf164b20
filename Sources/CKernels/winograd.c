// Winograd F(2x2, 3x3) and F(4x4, 3x3) transforms for the engine's 3x3 convolutions (see include/ckernels.h and
// Sources/Tensor/ConvWinograd.swift). Plain loops, compiled twice (target_clones): once for AVX2 (without FMA)
// and once for baseline x86-64, one chosen at load time; the compiler vectorises them along the tiles of a row.
// Both builds compute the same operations in the same order (no FMA contraction), so the bits do not depend on
// the CPU.
#include "ckernels.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF

// Fills rows r[0..n) of width wp with image rows y0 + i of the plane, zero outside it (columns shifted by pad).
static inline __attribute__((always_inline))
void wino_load_rows(const float *plane, long h, long w, long pad, long y0, int n, long wp, float *const *r) {
    const long x0 = pad < wp ? pad : wp;
    const long copy = (w < wp - x0) ? w : wp - x0;
    for (int i = 0; i < n; i++) {
        long y = y0 + i;
        float *row = r[i];
        if (y < 0 || y >= h || copy <= 0) { memset(row, 0, (size_t)wp * sizeof(float)); continue; }
        if (x0 > 0) memset(row, 0, (size_t)x0 * sizeof(float));
        memcpy(row + x0, plane + y * w, (size_t)copy * sizeof(float));
        if (x0 + copy < wp) memset(row + x0 + copy, 0, (size_t)(wp - x0 - copy) * sizeof(float));
    }
}

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
    for (long ty = ty0; ty < ty1; ty++) {
        wino_load_rows(plane, h, w, pad, 2 * ty - pad, 4, wp, r);
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

// F(4x4, 3x3) input transform: V = B^T d B on every 6x6 patch whose top left is (4 ty - pad, 4 tx - pad), with
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
// element xi = 6 i + j to v[xi * xi_stride + (ty - ty0) * tiles_x + tx]. `rows`: 12 rows of 4 tiles_x + 2 floats.
static inline __attribute__((always_inline))
void wino43_input_body(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                       float *v, long xi_stride, float *rows) {
    const long wp = 4 * tiles_x + 2;
    float *r[6], *t[6];
    for (int i = 0; i < 6; i++) { r[i] = rows + i * wp; t[i] = rows + (6 + i) * wp; }
    for (long ty = ty0; ty < ty1; ty++) {
        wino_load_rows(plane, h, w, pad, 4 * ty - pad, 6, wp, r);
        for (long x = 0; x < wp; x++) {
            float d0 = r[0][x], d1 = r[1][x], d2 = r[2][x], d3 = r[3][x], d4 = r[4][x], d5 = r[5][x];
            float p12 = d1 + d2, p34 = d3 + d4, m12 = d1 - d2, m34 = d3 - d4, q = d4 - d2, u = d3 - d1;
            t[0][x] = 4.0f * d0 - 5.0f * d2 + d4;
            t[1][x] = p34 - 4.0f * p12;
            t[2][x] = 4.0f * m12 - m34;
            t[3][x] = q + 2.0f * u;
            t[4][x] = q - 2.0f * u;
            t[5][x] = 4.0f * d1 - 5.0f * d3 + d5;
        }
        float *out = v + (ty - ty0) * tiles_x;
        for (int i = 0; i < 6; i++) {
            const float *ti = t[i];
            float *o[6];
            for (int j = 0; j < 6; j++) o[j] = out + (6 * i + j) * xi_stride;
            for (long tx = 0; tx < tiles_x; tx++) {
                const float *c = ti + 4 * tx;
                float d0 = c[0], d1 = c[1], d2 = c[2], d3 = c[3], d4 = c[4], d5 = c[5];
                float p12 = d1 + d2, p34 = d3 + d4, m12 = d1 - d2, m34 = d3 - d4, q = d4 - d2, u = d3 - d1;
                o[0][tx] = 4.0f * d0 - 5.0f * d2 + d4;
                o[1][tx] = p34 - 4.0f * p12;
                o[2][tx] = 4.0f * m12 - m34;
                o[3][tx] = q + 2.0f * u;
                o[4][tx] = q - 2.0f * u;
                o[5][tx] = 4.0f * d1 - 5.0f * d3 + d5;
            }
        }
    }
}

// F(4x4, 3x3) output transform: Y = A^T M A (4x4 per tile) plus bias, with
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1],
// M read as wino43_input_body writes V, clipped at the plane's edges. `rows`: 4 rows of 4 tiles_x floats plus
// 24 rows of tiles_x.
static inline __attribute__((always_inline))
void wino43_output_body(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                        float *plane, long oh, long ow, float *rows) {
    const long wq = 4 * tiles_x;
    float *y[4], *s[4][6];
    for (int i = 0; i < 4; i++) y[i] = rows + i * wq;
    for (int i = 0; i < 4; i++) for (int j = 0; j < 6; j++) s[i][j] = rows + 4 * wq + (6 * i + j) * tiles_x;
    const long cols = ow < wq ? ow : wq;
    for (long ty = ty0; ty < ty1; ty++) {
        const float *in = m + (ty - ty0) * tiles_x;
        // Rows of A^T M, for each column j of the 6x6 tile.
        for (int j = 0; j < 6; j++) {
            const float *m0 = in + j * xi_stride, *m1 = in + (6 + j) * xi_stride, *m2 = in + (12 + j) * xi_stride;
            const float *m3 = in + (18 + j) * xi_stride, *m4 = in + (24 + j) * xi_stride, *m5 = in + (30 + j) * xi_stride;
            float *s0 = s[0][j], *s1 = s[1][j], *s2 = s[2][j], *s3 = s[3][j];
            for (long tx = 0; tx < tiles_x; tx++) {
                float a = m1[tx] + m2[tx], b = m1[tx] - m2[tx], c = m3[tx] + m4[tx], d = m3[tx] - m4[tx];
                s0[tx] = m0[tx] + a + c;
                s1[tx] = b + 2.0f * d;
                s2[tx] = a + 4.0f * c;
                s3[tx] = b + 8.0f * d + m5[tx];
            }
        }
        // Times A: four output columns per tile.
        for (int i = 0; i < 4; i++) {
            const float *e0 = s[i][0], *e1 = s[i][1], *e2 = s[i][2], *e3 = s[i][3], *e4 = s[i][4], *e5 = s[i][5];
            float *yi = y[i];
            for (long tx = 0; tx < tiles_x; tx++) {
                float a = e1[tx] + e2[tx], b = e1[tx] - e2[tx], c = e3[tx] + e4[tx], d = e3[tx] - e4[tx];
                yi[4 * tx] = e0[tx] + a + c + bias;
                yi[4 * tx + 1] = b + 2.0f * d + bias;
                yi[4 * tx + 2] = a + 4.0f * c + bias;
                yi[4 * tx + 3] = b + 8.0f * d + e5[tx] + bias;
            }
        }
        for (int i = 0; i < 4; i++) {
            long oy = 4 * ty + i;
            if (oy < oh) memcpy(plane + oy * ow, y[i], (size_t)cols * sizeof(float));
        }
    }
}

// Each entry point is compiled twice, for AVX2 and for baseline x86-64, and the loader picks one for this CPU.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WINO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WINO_CLONES
#endif

WINO_CLONES void ck_wino_f23_input(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                                   float *v, long xi_stride, float *rows) {
    wino_input_body(plane, h, w, pad, ty0, ty1, tiles_x, v, xi_stride, rows);
}

WINO_CLONES void ck_wino_f23_output(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                                    float *plane, long oh, long ow, float *rows) {
    wino_output_body(m, xi_stride, ty0, ty1, tiles_x, bias, plane, oh, ow, rows);
}

WINO_CLONES void ck_wino_f43_input(const float *plane, long h, long w, long pad, long ty0, long ty1, long tiles_x,
                                   float *v, long xi_stride, float *rows) {
    wino43_input_body(plane, h, w, pad, ty0, ty1, tiles_x, v, xi_stride, rows);
}

WINO_CLONES void ck_wino_f43_output(const float *m, long xi_stride, long ty0, long ty1, long tiles_x, float bias,
                                    float *plane, long oh, long ow, float *rows) {
    wino43_output_body(m, xi_stride, ty0, ty1, tiles_x, bias, plane, oh, ow, rows);
}
