// oneDNN 2.6's f32 matmul against OpenBLAS's sgemm on the UNet's Linear shapes (M tokens x K in -> N out), for
// the choice recorded in Docs/BENCHMARKS.md (engine notes): whether Linear should go through oneDNN too.
// Needs Debian's libdnnl-dev and libopenblas-dev. Build and run (2 threads, as the engine benchmark):
//   gcc -O2 Scripts/bench/engine_onednn_matmul.c -o /tmp/engine_onednn_matmul -ldnnl -lopenblas
//   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /tmp/engine_onednn_matmul
// Prints per shape the median of 9 calls (after one warm-up) and GFLOP/s, B stored N x K as a Linear weight.
#include <dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %s: %d\n", #x, s_); exit(1); } } while (0)
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static void run(long m, long k, long n) {
    float *a = malloc(m * k * 4), *b = malloc(n * k * 4), *c = malloc(m * n * 4);
    for (long i = 0; i < m * k; i++) a[i] = (float)(i % 17) / 17;
    for (long i = 0; i < n * k; i++) b[i] = (float)(i % 13) / 13;
    double t[10];
    for (int i = 0; i < 10; i++) {
        double t0 = now_ms();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
        t[i] = now_ms() - t0;
    }
    qsort(t + 1, 9, sizeof(double), cmp);
    double blas = t[5];
    dnnl_engine_t eng; CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st; CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n};
    dnnl_memory_desc_t amd, bmd, cmd;
    CHECK(dnnl_memory_desc_init_by_tag(&amd, 2, ad, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_f32, dnnl_ba));
    CHECK(dnnl_memory_desc_init_by_tag(&cmd, 2, cd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t md; CHECK(dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd));
    dnnl_primitive_desc_t pd; CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    const char *impl; CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    dnnl_primitive_t prim; CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_memory_t ma, mb, mc;
    CHECK(dnnl_memory_create(&ma, &amd, eng, a)); CHECK(dnnl_memory_create(&mb, &bmd, eng, b));
    CHECK(dnnl_memory_create(&mc, &cmd, eng, c));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    for (int i = 0; i < 10; i++) {
        double t0 = now_ms();
        CHECK(dnnl_primitive_execute(prim, st, 3, args)); CHECK(dnnl_stream_wait(st));
        t[i] = now_ms() - t0;
    }
    qsort(t + 1, 9, sizeof(double), cmp);
    double gflop = 2.0 * m * n * k / 1e9;
    printf("%ldx%ldx%ld: openblas %.2f ms (%.1f GFLOP/s), onednn %s %.2f ms (%.1f GFLOP/s), ratio onednn/openblas %.2f\n",
           m, k, n, blas, gflop / blas * 1e3, impl, t[5], gflop / t[5] * 1e3, t[5] / blas);
    free(a); free(b); free(c);
}
int main(void) {
    run(1024, 1024, 1024);
    run(4096, 320, 320);
    run(4096, 640, 2560);
    run(4096, 2560, 640);
    run(1024, 1280, 1280);
    return 0;
}
