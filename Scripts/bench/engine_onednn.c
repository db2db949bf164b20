// oneDNN's f32 (and bf16) 3x3 convolution on the engine benchmark's shapes, for the choice recorded in
// Docs/BENCHMARKS.md (engine notes): whether to route convolutions through oneDNN when it is installed.
// Needs Debian's libdnnl-dev (oneDNN 2.6). Build and run (2 threads, as the engine benchmark):
//   gcc -O2 Scripts/bench/engine_onednn.c -o /tmp/engine_onednn -ldnnl
//   OMP_NUM_THREADS=2 ONEDNN_VERBOSE=1 /tmp/engine_onednn     (verbose prints the ISA and kernel chosen)
// Prints, per case, the implementation oneDNN picked and the median of 9 calls: the convolution alone in its
// preferred (blocked) layout, and with the reorders from and to NCHW that rorem's tensors would need.
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { printf("fail %s: %d\n", #x, s_); exit(1); } } while (0)
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static void run(int n, int c, int o, int hw, int any, dnnl_data_type_t wdt) {
    dnnl_engine_t eng; CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st; CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_dims_t sd = {n, c, hw, hw}, wd = {o, c, 3, 3}, bd = {o}, dd = {n, o, hw, hw};
    dnnl_memory_desc_t smd, wmd, bmd, dmd, smd_plain, dmd_plain, wmd_plain;
    dnnl_format_tag_t tag = any ? dnnl_format_tag_any : dnnl_nchw;
    CHECK(dnnl_memory_desc_init_by_tag(&smd, 4, sd, wdt, tag));
    CHECK(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, wdt, any ? dnnl_format_tag_any : dnnl_oihw));
    CHECK(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, wdt == dnnl_bf16 ? dnnl_bf16 : dnnl_f32, tag));
    CHECK(dnnl_memory_desc_init_by_tag(&smd_plain, 4, sd, wdt, dnnl_nchw));
    CHECK(dnnl_memory_desc_init_by_tag(&dmd_plain, 4, dd, wdt == dnnl_bf16 ? dnnl_bf16 : dnnl_f32, dnnl_nchw));
    CHECK(dnnl_memory_desc_init_by_tag(&wmd_plain, 4, wd, wdt, dnnl_oihw));
    dnnl_convolution_desc_t cd; dnnl_dims_t s = {1, 1}, p = {1, 1};
    CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &smd, &wmd, &bmd, &dmd, s, p, p));
    dnnl_primitive_desc_t pd; dnnl_status_t ok = dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL);
    if (ok != dnnl_success) { printf("n=%d c=%d o=%d hw=%d any=%d dt=%d: no implementation (%d)\n", n, c, o, hw, any, wdt, ok); return; }
    const char *impl; CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    const dnnl_memory_desc_t *qs = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *qw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *qd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_primitive_t prim; CHECK(dnnl_primitive_create(&prim, pd));
    dnnl_memory_t ms, mw, mb, md, msp, mdp, mwp;
    CHECK(dnnl_memory_create(&ms, qs, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mw, qw, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mb, &bmd, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&md, qd, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&msp, &smd_plain, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mdp, &dmd_plain, eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mwp, &wmd_plain, eng, DNNL_MEMORY_ALLOCATE));
    void *h; dnnl_memory_get_data_handle(msp, &h); memset(h, 0, (size_t)n * c * hw * hw * (wdt == dnnl_f32 ? 4 : 2));
    dnnl_memory_get_data_handle(mwp, &h); memset(h, 0, (size_t)o * c * 9 * (wdt == dnnl_f32 ? 4 : 2));
    // reorders nchw -> chosen src, chosen dst -> nchw (counted: our tensors are NCHW)
    dnnl_primitive_desc_t rpd1, rpd2, rpd3; dnnl_primitive_t r1, r2, r3;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd1, &smd_plain, eng, qs, eng, NULL)); CHECK(dnnl_primitive_create(&r1, rpd1));
    CHECK(dnnl_reorder_primitive_desc_create(&rpd2, qd, eng, &dmd_plain, eng, NULL)); CHECK(dnnl_primitive_create(&r2, rpd2));
    CHECK(dnnl_reorder_primitive_desc_create(&rpd3, &wmd_plain, eng, qw, eng, NULL)); CHECK(dnnl_primitive_create(&r3, rpd3));
    dnnl_exec_arg_t a3[2] = {{DNNL_ARG_FROM, mwp}, {DNNL_ARG_TO, mw}};
    CHECK(dnnl_primitive_execute(r3, st, 2, a3)); dnnl_stream_wait(st);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
    dnnl_exec_arg_t a1[2] = {{DNNL_ARG_FROM, msp}, {DNNL_ARG_TO, ms}}, a2[2] = {{DNNL_ARG_FROM, md}, {DNNL_ARG_TO, mdp}};
    double t[9], tr[9];
    for (int i = -1; i < 9; i++) {
        double t0 = now_ms();
        CHECK(dnnl_primitive_execute(prim, st, 4, args)); dnnl_stream_wait(st);
        double t1 = now_ms();
        if (any) { CHECK(dnnl_primitive_execute(r1, st, 2, a1)); CHECK(dnnl_primitive_execute(r2, st, 2, a2)); dnnl_stream_wait(st); }
        double t2 = now_ms();
        if (i >= 0) { t[i] = t1 - t0; tr[i] = t2 - t0; }
    }
    qsort(t, 9, sizeof(double), cmp); qsort(tr, 9, sizeof(double), cmp);
    double gflop = 2.0 * n * o * c * 9 * hw * hw / 1e9;
    printf("n=%d %d->%d %dx%d %s dt=%s impl=%s: conv %.2f ms (%.1f GFLOP/s), with NCHW reorders %.2f ms\n", n, c, o, hw, hw,
           any ? "any" : "nchw", wdt == dnnl_f32 ? "f32" : "bf16", impl, t[4], gflop / t[4] * 1e3, tr[4]);
}
int main(void) {
    run(1, 64, 64, 128, 1, dnnl_f32); run(1, 64, 64, 128, 0, dnnl_f32);
    run(1, 320, 320, 64, 1, dnnl_f32); run(1, 320, 320, 64, 0, dnnl_f32);
    run(1, 320, 320, 64, 1, dnnl_bf16);
    return 0;
}
