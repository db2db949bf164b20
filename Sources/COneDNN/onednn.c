// oneDNN 2.x convolutions through dlopen (see include/onednn.h). Only the C API subset below is used; its types are declared
// here with the 2.x ABI (int enums, int64_t dims, descriptor structs filled in place by the library), so the
// package builds without dnnl.h. Where the header is installed, the values and sizes are checked against it.
#include "onednn.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- The dnnl C API subset (oneDNN 2.x ABI) ----

typedef int64_t odnn_dims[12];                  // dnnl_dims_t (DNNL_MAX_NDIMS = 12)
typedef void *odnn_handle;                       // engine, stream, memory, primitive, primitive_desc, attr
// Descriptors are structs the library fills in place; these blobs are larger than any 2.x version's structs.
typedef struct { _Alignas(8) unsigned char bytes[1024]; } odnn_md;       // dnnl_memory_desc_t (696 in 2.6)
typedef struct { _Alignas(8) unsigned char bytes[8192]; } odnn_op_desc;  // dnnl_convolution_desc_t (5976 in 2.6)
typedef struct { int arg; odnn_handle memory; } odnn_exec_arg;           // dnnl_exec_arg_t
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } odnn_version_t;

enum {
    D_SUCCESS = 0, D_UNIMPLEMENTED = 3,
    D_DT_F16 = 1, D_DT_BF16 = 2, D_DT_F32 = 3, D_DT_U8 = 6,
    D_TAG_ANY = 1, D_TAG_A = 2, D_TAG_AB = 3, D_TAG_ABCD = 5, D_TAG_ABCDE = 7, D_TAG_BA = 22,
    D_FORWARD_TRAINING = 64, D_FORWARD_INFERENCE = 96,
    D_CONV_DIRECT = 1,
    D_ARG_SRC = 1, D_ARG_DST = 17, D_ARG_WEIGHTS = 33, D_ARG_BIAS = 41, D_ARG_SCRATCHPAD = 80,
    D_ARG_DIFF_SRC = 129, D_ARG_DIFF_DST = 145, D_ARG_DIFF_WEIGHTS = 161, D_ARG_FROM = 1, D_ARG_TO = 17,
    D_ENGINE_CPU = 1, D_STREAM_DEFAULT = 1, D_SCRATCHPAD_USER = 1,
    D_QUERY_IMPL_INFO_STR = 8, D_QUERY_SRC_MD = 129, D_QUERY_DIFF_SRC_MD = 130, D_QUERY_WEIGHTS_MD = 131,
    D_QUERY_DIFF_WEIGHTS_MD = 132, D_QUERY_DST_MD = 133, D_QUERY_DIFF_DST_MD = 134, D_QUERY_SCRATCHPAD_MD = 136,
};

#if defined(__has_include) && !defined(ODNN_SKIP_HEADER_CHECK)
#if __has_include(<oneapi/dnnl/dnnl_types.h>)
// The header is here: check the declarations above against it (nothing from it is linked or called).
#include <oneapi/dnnl/dnnl_types.h>
#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(sizeof(dnnl_memory_desc_t) <= sizeof(odnn_md), "memory desc blob too small");
_Static_assert(sizeof(dnnl_convolution_desc_t) <= sizeof(odnn_op_desc), "conv desc blob too small");
_Static_assert(sizeof(dnnl_matmul_desc_t) <= sizeof(odnn_op_desc), "matmul desc blob too small");
_Static_assert(sizeof(dnnl_exec_arg_t) == sizeof(odnn_exec_arg), "exec arg");
_Static_assert(sizeof(dnnl_dims_t) == sizeof(odnn_dims), "dims");
_Static_assert(SAME(dnnl_f32, D_DT_F32) && SAME(dnnl_bf16, D_DT_BF16) && SAME(dnnl_f16, D_DT_F16) && SAME(dnnl_u8, D_DT_U8), "data types");
_Static_assert(SAME(dnnl_format_tag_any, D_TAG_ANY) && SAME(dnnl_a, D_TAG_A) && SAME(dnnl_ab, D_TAG_AB) && SAME(dnnl_abcd, D_TAG_ABCD)
               && SAME(dnnl_abcde, D_TAG_ABCDE) && SAME(dnnl_ba, D_TAG_BA), "format tags");
_Static_assert(SAME(dnnl_forward_training, D_FORWARD_TRAINING) && SAME(dnnl_forward_inference, D_FORWARD_INFERENCE)
               && SAME(dnnl_convolution_direct, D_CONV_DIRECT), "prop and alg kinds");
_Static_assert(SAME(DNNL_ARG_SRC, D_ARG_SRC) && SAME(DNNL_ARG_DST, D_ARG_DST) && SAME(DNNL_ARG_WEIGHTS, D_ARG_WEIGHTS)
               && SAME(DNNL_ARG_BIAS, D_ARG_BIAS) && SAME(DNNL_ARG_SCRATCHPAD, D_ARG_SCRATCHPAD)
               && SAME(DNNL_ARG_DIFF_SRC, D_ARG_DIFF_SRC) && SAME(DNNL_ARG_DIFF_DST, D_ARG_DIFF_DST)
               && SAME(DNNL_ARG_DIFF_WEIGHTS, D_ARG_DIFF_WEIGHTS) && SAME(DNNL_ARG_FROM, D_ARG_FROM) && SAME(DNNL_ARG_TO, D_ARG_TO), "args");
_Static_assert(SAME(dnnl_query_impl_info_str, D_QUERY_IMPL_INFO_STR) && SAME(dnnl_query_src_md, D_QUERY_SRC_MD)
               && SAME(dnnl_query_diff_src_md, D_QUERY_DIFF_SRC_MD) && SAME(dnnl_query_weights_md, D_QUERY_WEIGHTS_MD)
               && SAME(dnnl_query_diff_weights_md, D_QUERY_DIFF_WEIGHTS_MD) && SAME(dnnl_query_dst_md, D_QUERY_DST_MD)
               && SAME(dnnl_query_diff_dst_md, D_QUERY_DIFF_DST_MD) && SAME(dnnl_query_scratchpad_md, D_QUERY_SCRATCHPAD_MD), "queries");
_Static_assert(SAME(dnnl_cpu, D_ENGINE_CPU) && SAME(dnnl_stream_default_flags, D_STREAM_DEFAULT)
               && SAME(dnnl_scratchpad_mode_user, D_SCRATCHPAD_USER) && SAME(dnnl_unimplemented, D_UNIMPLEMENTED), "misc");
#endif
#endif

// The functions, resolved by name from libdnnl.so.2 (and omp_set_num_threads from the OpenMP runtime it loads).
static struct {
    int (*engine_create)(odnn_handle *, int, size_t);
    int (*stream_create)(odnn_handle *, odnn_handle, unsigned);
    int (*stream_wait)(odnn_handle);
    int (*stream_destroy)(odnn_handle);
    int (*md_init_by_tag)(odnn_md *, int, const int64_t *, int, int);
    int (*md_init_by_strides)(odnn_md *, int, const int64_t *, int, const int64_t *);
    size_t (*md_get_size)(const void *);
    int (*md_equal)(const void *, const void *);
    int (*memory_create)(odnn_handle *, const void *, odnn_handle, void *);
    int (*memory_destroy)(odnn_handle);
    int (*dilated_conv_fwd_init)(odnn_op_desc *, int, int, const void *, const void *, const void *, const void *,
                                 const int64_t *, const int64_t *, const int64_t *, const int64_t *);
    int (*dilated_conv_bwd_data_init)(odnn_op_desc *, int, const void *, const void *, const void *,
                                      const int64_t *, const int64_t *, const int64_t *, const int64_t *);
    int (*dilated_conv_bwd_weights_init)(odnn_op_desc *, int, const void *, const void *, const void *, const void *,
                                         const int64_t *, const int64_t *, const int64_t *, const int64_t *);
    int (*matmul_init)(odnn_op_desc *, const void *, const void *, const void *, const void *);
    int (*pd_create)(odnn_handle *, const void *, odnn_handle, odnn_handle, odnn_handle);
    int (*pd_destroy)(odnn_handle);
    int (*pd_query)(odnn_handle, int, int, void *);
    const void *(*pd_query_md)(odnn_handle, int, int);
    int (*reorder_pd_create)(odnn_handle *, const void *, odnn_handle, const void *, odnn_handle, odnn_handle);
    int (*primitive_create)(odnn_handle *, odnn_handle);
    int (*primitive_execute)(odnn_handle, odnn_handle, int, const odnn_exec_arg *);
    int (*primitive_destroy)(odnn_handle);
    int (*attr_create)(odnn_handle *);
    int (*attr_destroy)(odnn_handle);
    int (*attr_set_scratchpad_mode)(odnn_handle, int);
    const odnn_version_t *(*version)(void);
    int (*effective_cpu_isa)(void);
    void (*omp_set_num_threads)(int);
} api;

static odnn_handle engine;
static int loaded;
static char load_error[256] = "";
static char version_text[32] = "";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load_library(void) {
    void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) { snprintf(load_error, sizeof load_error, "dlopen libdnnl.so.2: %s", dlerror()); return; }
#define RESOLVE(field, name) do { \
        *(void **)&api.field = dlsym(lib, name); \
        if (!api.field) { snprintf(load_error, sizeof load_error, "libdnnl.so.2 has no %s", name); return; } \
    } while (0)
    RESOLVE(version, "dnnl_version");
    const odnn_version_t *v = api.version();
    if (!v || v->major != 2) {
        snprintf(load_error, sizeof load_error, "libdnnl.so.2 reports version %d, this binding needs 2.x", v ? v->major : -1);
        return;
    }
    snprintf(version_text, sizeof version_text, "%d.%d.%d", v->major, v->minor, v->patch);
    RESOLVE(engine_create, "dnnl_engine_create");
    RESOLVE(stream_create, "dnnl_stream_create");
    RESOLVE(stream_wait, "dnnl_stream_wait");
    RESOLVE(stream_destroy, "dnnl_stream_destroy");
    RESOLVE(md_init_by_tag, "dnnl_memory_desc_init_by_tag");
    RESOLVE(md_init_by_strides, "dnnl_memory_desc_init_by_strides");
    RESOLVE(md_get_size, "dnnl_memory_desc_get_size");
    RESOLVE(md_equal, "dnnl_memory_desc_equal");
    RESOLVE(memory_create, "dnnl_memory_create");
    RESOLVE(memory_destroy, "dnnl_memory_destroy");
    RESOLVE(dilated_conv_fwd_init, "dnnl_dilated_convolution_forward_desc_init");
    RESOLVE(dilated_conv_bwd_data_init, "dnnl_dilated_convolution_backward_data_desc_init");
    RESOLVE(dilated_conv_bwd_weights_init, "dnnl_dilated_convolution_backward_weights_desc_init");
    RESOLVE(matmul_init, "dnnl_matmul_desc_init");
    RESOLVE(pd_create, "dnnl_primitive_desc_create");
    RESOLVE(pd_destroy, "dnnl_primitive_desc_destroy");
    RESOLVE(pd_query, "dnnl_primitive_desc_query");
    RESOLVE(pd_query_md, "dnnl_primitive_desc_query_md");
    RESOLVE(reorder_pd_create, "dnnl_reorder_primitive_desc_create");
    RESOLVE(primitive_create, "dnnl_primitive_create");
    RESOLVE(primitive_execute, "dnnl_primitive_execute");
    RESOLVE(primitive_destroy, "dnnl_primitive_destroy");
    RESOLVE(attr_create, "dnnl_primitive_attr_create");
    RESOLVE(attr_destroy, "dnnl_primitive_attr_destroy");
    RESOLVE(attr_set_scratchpad_mode, "dnnl_primitive_attr_set_scratchpad_mode");
    RESOLVE(effective_cpu_isa, "dnnl_get_effective_cpu_isa");
    // Debian's build threads with OpenMP (libgomp, loaded with it). Without it (a TBB or sequential build) the
    // thread count cannot be set per call, so results could depend on it: refuse such a build.
    RESOLVE(omp_set_num_threads, "omp_set_num_threads");
#undef RESOLVE
    if (api.engine_create(&engine, D_ENGINE_CPU, 0) != D_SUCCESS) {
        snprintf(load_error, sizeof load_error, "dnnl_engine_create failed");
        return;
    }
    loaded = 1;
}

int odnn_load(void) {
    pthread_once(&load_once, load_library);
    return loaded;
}

const char *odnn_load_error(void) { odnn_load(); return load_error; }
const char *odnn_version(void) { odnn_load(); return version_text; }

const char *odnn_cpu_isa(void) {
    if (!odnn_load()) return "";
    switch (api.effective_cpu_isa()) {
    case 0x1: return "sse41";
    case 0x3: return "avx";
    case 0x7: return "avx2";
    case 0x407: return "avx2_vnni";
    case 0xf: return "avx512_mic";
    case 0x1f: return "avx512_mic_4ops";
    case 0x27: return "avx512_core";
    case 0x67: return "avx512_core_vnni";
    case 0xe7: return "avx512_core_bf16";
    case 0x3e7: return "avx512_core_amx";
    default: return "other";
    }
}

// One stream per thread that executes (a CPU stream is cheap, and streams are not meant to be shared).
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;
static void destroy_stream(void *s) { if (s) api.stream_destroy(s); }
static void make_stream_key(void) { pthread_key_create(&stream_key, destroy_stream); }
static odnn_handle thread_stream(void) {
    pthread_once(&stream_once, make_stream_key);
    odnn_handle s = pthread_getspecific(stream_key);
    if (!s) {
        if (api.stream_create(&s, engine, D_STREAM_DEFAULT) != D_SUCCESS) return NULL;
        pthread_setspecific(stream_key, s);
    }
    return s;
}

static int dnnl_type(int dtype) { return dtype == ODNN_BF16 ? D_DT_BF16 : dtype == ODNN_F16 ? D_DT_F16 : D_DT_F32; }
static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

// ---- One operand of a primitive: the caller's plain buffer, and the primitive's layout when it differs ----

typedef struct {
    int arg;                 // DNNL_ARG_* of the operand in the main primitive
    int is_output;
    odnn_md user;            // the caller's layout (plain NCHW / OIHW / GOIHW, its dtype)
    const void *chosen;      // the primitive's layout (owned by its primitive desc)
    odnn_handle reorder;     // user -> chosen for inputs, chosen -> user for the output; NULL when equal
    size_t offset;           // of the chosen-layout copy in the workspace (when reordered)
} odnn_operand;

typedef struct {
    odnn_handle pd, primitive, forward_hint;
    odnn_operand operand[3];
    int has_bias;
    odnn_md bias;
    size_t scratch_offset, workspace;
    int threads;
    char impl[64];
} odnn_program;

struct odnn_conv { odnn_program p; };

static void program_destroy(odnn_program *p) {
    for (int i = 0; i < 3; i++) if (p->operand[i].reorder) api.primitive_destroy(p->operand[i].reorder);
    if (p->primitive) api.primitive_destroy(p->primitive);
    if (p->pd) api.pd_destroy(p->pd);
    if (p->forward_hint) api.pd_destroy(p->forward_hint);
}

static size_t scratchpad_size(odnn_handle pd) {
    const void *md = api.pd_query_md(pd, D_QUERY_SCRATCHPAD_MD, 0);
    return md ? api.md_get_size(md) : 0;
}

// After p->pd is made: create the primitive, the reorders between the callers' layouts and the chosen ones, and
// lay out the workspace (chosen-layout copies, then one scratchpad shared by the primitives, which run in turn).
static int program_finish(odnn_program *p, odnn_handle attr, const int queries[3], char *error, size_t error_size) {
    const char *impl = NULL;
    if (api.pd_query(p->pd, D_QUERY_IMPL_INFO_STR, 0, &impl) == D_SUCCESS && impl)
        snprintf(p->impl, sizeof p->impl, "%s", impl);
    int status = api.primitive_create(&p->primitive, p->pd);
    if (status != D_SUCCESS) { snprintf(error, error_size, "dnnl_primitive_create: status %d", status); return status; }
    size_t offset = 0, scratch = scratchpad_size(p->pd);
    for (int i = 0; i < 3; i++) {
        odnn_operand *o = &p->operand[i];
        o->chosen = api.pd_query_md(p->pd, queries[i], 0);
        if (!o->chosen) { snprintf(error, error_size, "oneDNN returned no layout for operand %d", i); return -1; }
        if (api.md_equal(&o->user, o->chosen)) continue;
        odnn_handle rpd = NULL;
        status = o->is_output ? api.reorder_pd_create(&rpd, o->chosen, engine, &o->user, engine, attr)
                              : api.reorder_pd_create(&rpd, &o->user, engine, o->chosen, engine, attr);
        if (status != D_SUCCESS) {
            snprintf(error, error_size, "no oneDNN reorder for operand %d (status %d)", i, status);
            return status;
        }
        size_t s = scratchpad_size(rpd);
        if (s > scratch) scratch = s;
        status = api.primitive_create(&o->reorder, rpd);
        api.pd_destroy(rpd);
        if (status != D_SUCCESS) { snprintf(error, error_size, "reorder primitive: status %d", status); return status; }
        o->offset = offset;
        offset += align64(api.md_get_size(o->chosen));
    }
    p->scratch_offset = offset;
    p->workspace = offset + align64(scratch);
    return D_SUCCESS;
}

// Primitive attributes for every primitive the binding creates: user scratchpad mode, so that each call's
// scratchpad lives in the caller's workspace (attr_destroy frees it).
static odnn_handle user_scratchpad_attr(void) {
    odnn_handle attr = NULL;
    api.attr_create(&attr);
    api.attr_set_scratchpad_mode(attr, D_SCRATCHPAD_USER);
    return attr;
}

// The end of every create: `status` is that of making p->pd (of a `what`, e.g. "convolution"); on success the
// program is finished, and on failure the error says why and the program is freed. Frees attr; returns the status.
static int program_complete(odnn_program *p, int status, odnn_handle attr, const int queries[3], const char *what,
                            char *error, size_t error_size) {
    if (status != D_SUCCESS) {
        if (status == D_UNIMPLEMENTED) snprintf(error, error_size, "oneDNN has no implementation for this %s", what);
        else snprintf(error, error_size, "oneDNN %s descriptor: status %d", what, status);
    } else {
        status = program_finish(p, attr, queries, error, error_size);
    }
    api.attr_destroy(attr);
    if (status != D_SUCCESS) program_destroy(p);
    return status;
}

static odnn_handle memory_on(const void *md, void *data) {
    odnn_handle m = NULL;
    return api.memory_create(&m, md, engine, data) == D_SUCCESS ? m : NULL;
}

// Runs reorders in, the primitive, the reorder out. data[i] is the caller's buffer of operand i; with
// `preblocked`, operand `preblocked - 1` is already in the primitive's layout.
static int program_execute(const odnn_program *p, void *const data[3], const float *bias, void *workspace,
                           int preblocked) {
    odnn_handle stream = thread_stream();
    if (!stream) return -1;
    api.omp_set_num_threads(p->threads);   // this thread's OpenMP setting: the handle's fixed count
    unsigned char *ws = workspace;
    odnn_handle user[3] = {0}, chosen[3] = {0}, bias_mem = NULL, scratch = NULL;
    int status = D_SUCCESS;
    size_t scratch_bytes = p->workspace - p->scratch_offset;
    if (scratch_bytes > 0) {
        // One byte region for every primitive's scratchpad (they run in turn), described as u8 bytes.
        odnn_md md;
        int64_t dims[12] = {(int64_t)scratch_bytes};
        if (api.md_init_by_tag(&md, 1, dims, D_DT_U8, D_TAG_A) != D_SUCCESS) return -1;
        scratch = memory_on(&md, ws + p->scratch_offset);
        if (!scratch) return -1;
    }
    for (int i = 0; i < 3 && status == D_SUCCESS; i++) {
        const odnn_operand *o = &p->operand[i];
        if (preblocked == i + 1) {
            user[i] = memory_on(o->chosen, data[i]);
            chosen[i] = user[i];
        } else {
            user[i] = memory_on(&o->user, data[i]);
            chosen[i] = o->reorder ? memory_on(o->chosen, ws + o->offset) : user[i];
        }
        if (!user[i] || !chosen[i]) status = -1;
    }
    if (status == D_SUCCESS && p->has_bias && !(bias_mem = memory_on(&p->bias, (void *)bias))) status = -1;
    // Reorders into the primitive's layouts (made in user scratchpad mode too, so they share the region).
    for (int i = 0; i < 3 && status == D_SUCCESS; i++) {
        const odnn_operand *o = &p->operand[i];
        if (o->is_output || !o->reorder || preblocked == i + 1) continue;
        odnn_exec_arg args[3] = {{D_ARG_FROM, user[i]}, {D_ARG_TO, chosen[i]}, {D_ARG_SCRATCHPAD, scratch}};
        status = api.primitive_execute(o->reorder, stream, scratch ? 3 : 2, args);
    }
    if (status == D_SUCCESS) {
        odnn_exec_arg args[5];
        int n = 0;
        for (int i = 0; i < 3; i++) args[n++] = (odnn_exec_arg){p->operand[i].arg, chosen[i]};
        if (bias_mem) args[n++] = (odnn_exec_arg){D_ARG_BIAS, bias_mem};
        if (scratch) args[n++] = (odnn_exec_arg){D_ARG_SCRATCHPAD, scratch};
        status = api.primitive_execute(p->primitive, stream, n, args);
    }
    for (int i = 0; i < 3 && status == D_SUCCESS; i++) {
        const odnn_operand *o = &p->operand[i];
        if (!o->is_output || !o->reorder) continue;
        odnn_exec_arg args[3] = {{D_ARG_FROM, chosen[i]}, {D_ARG_TO, user[i]}, {D_ARG_SCRATCHPAD, scratch}};
        status = api.primitive_execute(o->reorder, stream, scratch ? 3 : 2, args);
    }
    if (status == D_SUCCESS) status = api.stream_wait(stream);
    for (int i = 0; i < 3; i++) {
        if (chosen[i] && chosen[i] != user[i]) api.memory_destroy(chosen[i]);
        if (user[i]) api.memory_destroy(user[i]);
    }
    if (bias_mem) api.memory_destroy(bias_mem);
    if (scratch) api.memory_destroy(scratch);
    return status;
}

// ---- Convolution ----

// Plain layouts of the caller's tensors: activations NCHW; weights OIHW, or GOIHW (same bytes) with groups.
static int init_plain(odnn_md *md, int ndims, const int64_t *dims, int dtype) {
    static const int tags[] = {0, D_TAG_A, D_TAG_AB, 0, D_TAG_ABCD, D_TAG_ABCDE};
    return api.md_init_by_tag(md, ndims, dims, dnnl_type(dtype), tags[ndims]);
}

// An NCHW float32 activation whose channels are `plane` elements apart (a band of rows of a larger image);
// dense when plane is 0 or H * W.
static int init_activation(odnn_md *md, const int64_t *dims, long plane) {
    if (plane <= 0 || plane == dims[2] * dims[3]) return init_plain(md, 4, dims, ODNN_F32);
    int64_t strides[12] = {dims[1] * plane, plane, dims[3], 1};
    return api.md_init_by_strides(md, 4, dims, D_DT_F32, strides);
}

odnn_conv *odnn_conv_create(const odnn_conv_shape *s, char *error, size_t error_size) {
    if (error_size) error[0] = 0;
    if (!odnn_load()) { snprintf(error, error_size, "%s", load_error); return NULL; }
    if (s->groups < 1 || s->c % s->groups || s->o % s->groups || s->threads < 1) {
        snprintf(error, error_size, "bad convolution shape");
        return NULL;
    }
    odnn_conv *conv = calloc(1, sizeof *conv);
    if (!conv) { snprintf(error, error_size, "out of memory"); return NULL; }
    odnn_program *p = &conv->p;
    p->threads = (int)s->threads;
    api.omp_set_num_threads(p->threads);   // implementations fix their work split from it when they are created
    // The descriptors oneDNN chooses layouts for: dtype of the computation, format "any".
    int ct = dnnl_type(s->compute_dtype), act_t = ct, g = (int)s->groups;
    int64_t src_dims[12] = {s->n, s->c, s->h, s->w}, dst_dims[12] = {s->n, s->o, s->oh, s->ow};
    int64_t wei_dims[12] = {g, s->o / g, s->c / g, s->kh, s->kw}, bias_dims[12] = {s->o};
    int wnd = g > 1 ? 5 : 4;
    if (g == 1) { wei_dims[0] = s->o; wei_dims[1] = s->c; wei_dims[2] = s->kh; wei_dims[3] = s->kw; wei_dims[4] = 0; }
    int64_t strides[12] = {s->stride_h, s->stride_w}, dil[12] = {s->dilation_h - 1, s->dilation_w - 1};
    int64_t pad[12] = {s->pad_top, s->pad_w}, pad_r[12] = {s->pad_bottom, s->pad_w};
    // Operands read in the compute type; results (dst, diff_src, diff_weights) are float32 whatever it is.
    odnn_md src_any, wei_any, dst_any, dst_out_any;
    api.md_init_by_tag(&src_any, 4, src_dims, act_t, D_TAG_ANY);
    api.md_init_by_tag(&wei_any, wnd, wei_dims, ct, D_TAG_ANY);
    api.md_init_by_tag(&dst_any, 4, dst_dims, act_t, D_TAG_ANY);
    api.md_init_by_tag(&dst_out_any, 4, dst_dims, D_DT_F32, D_TAG_ANY);
    odnn_md src_out_any, wei_out_any;
    api.md_init_by_tag(&src_out_any, 4, src_dims, D_DT_F32, D_TAG_ANY);
    api.md_init_by_tag(&wei_out_any, wnd, wei_dims, D_DT_F32, D_TAG_ANY);
    init_plain(&p->bias, 1, bias_dims, ODNN_F32);

    odnn_handle attr = user_scratchpad_attr();
    odnn_op_desc desc;
    int status = D_SUCCESS;
    int queries[3];
    if (s->kind == ODNN_CONV_FORWARD) {
        status = api.dilated_conv_fwd_init(&desc, D_FORWARD_TRAINING, D_CONV_DIRECT, &src_any, &wei_any,
                                           s->has_bias ? (const void *)&p->bias : NULL, &dst_out_any, strides, dil, pad, pad_r);
        if (status == D_SUCCESS) status = api.pd_create(&p->pd, &desc, attr, engine, NULL);
        p->has_bias = s->has_bias;
        p->operand[0] = (odnn_operand){.arg = D_ARG_SRC};
        p->operand[1] = (odnn_operand){.arg = D_ARG_WEIGHTS};
        p->operand[2] = (odnn_operand){.arg = D_ARG_DST, .is_output = 1};
        init_activation(&p->operand[0].user, src_dims, s->src_plane);
        init_plain(&p->operand[1].user, wnd, wei_dims, s->weights_dtype);
        init_activation(&p->operand[2].user, dst_dims, s->dst_plane);
        queries[0] = D_QUERY_SRC_MD; queries[1] = D_QUERY_WEIGHTS_MD; queries[2] = D_QUERY_DST_MD;
    } else {
        // Backward passes need a forward primitive desc as a hint (the layouts it would use).
        odnn_op_desc fwd;
        status = api.dilated_conv_fwd_init(&fwd, D_FORWARD_TRAINING, D_CONV_DIRECT, &src_any, &wei_any, NULL,
                                           &dst_any, strides, dil, pad, pad_r);
        if (status == D_SUCCESS) status = api.pd_create(&p->forward_hint, &fwd, attr, engine, NULL);
        if (s->kind == ODNN_CONV_BACKWARD_DATA) {
            if (status == D_SUCCESS)
                status = api.dilated_conv_bwd_data_init(&desc, D_CONV_DIRECT, &src_out_any, &wei_any, &dst_any,
                                                        strides, dil, pad, pad_r);
            p->operand[0] = (odnn_operand){.arg = D_ARG_DIFF_DST};
            p->operand[1] = (odnn_operand){.arg = D_ARG_WEIGHTS};
            p->operand[2] = (odnn_operand){.arg = D_ARG_DIFF_SRC, .is_output = 1};
            init_activation(&p->operand[0].user, dst_dims, s->dst_plane);
            init_plain(&p->operand[1].user, wnd, wei_dims, s->weights_dtype);
            init_activation(&p->operand[2].user, src_dims, s->src_plane);
            queries[0] = D_QUERY_DIFF_DST_MD; queries[1] = D_QUERY_WEIGHTS_MD; queries[2] = D_QUERY_DIFF_SRC_MD;
        } else {
            if (status == D_SUCCESS)
                status = api.dilated_conv_bwd_weights_init(&desc, D_CONV_DIRECT, &src_any, &wei_out_any, NULL, &dst_any,
                                                           strides, dil, pad, pad_r);
            p->operand[0] = (odnn_operand){.arg = D_ARG_SRC};
            p->operand[1] = (odnn_operand){.arg = D_ARG_DIFF_DST};
            p->operand[2] = (odnn_operand){.arg = D_ARG_DIFF_WEIGHTS, .is_output = 1};
            init_activation(&p->operand[0].user, src_dims, s->src_plane);
            init_activation(&p->operand[1].user, dst_dims, s->dst_plane);
            init_plain(&p->operand[2].user, wnd, wei_dims, ODNN_F32);
            queries[0] = D_QUERY_SRC_MD; queries[1] = D_QUERY_DIFF_DST_MD; queries[2] = D_QUERY_DIFF_WEIGHTS_MD;
        }
        if (status == D_SUCCESS) status = api.pd_create(&p->pd, &desc, attr, engine, p->forward_hint);
    }
    if (program_complete(p, status, attr, queries, "convolution", error, error_size) != D_SUCCESS) { free(conv); return NULL; }
    return conv;
}

void odnn_conv_destroy(odnn_conv *conv) { if (conv) { program_destroy(&conv->p); free(conv); } }
const char *odnn_conv_impl(const odnn_conv *conv) { return conv->p.impl; }
size_t odnn_conv_workspace_size(const odnn_conv *conv) { return conv->p.workspace; }

int odnn_conv_execute(const odnn_conv *conv, const void *a, const void *b, const float *bias, void *out,
                      void *workspace) {
    void *data[3] = {(void *)a, (void *)b, out};
    return program_execute(&conv->p, data, bias, workspace, 0);
}

// Forward and backward data read the weights as operand 1.
static int reads_weights(const odnn_conv *conv) { return conv->p.operand[1].arg == D_ARG_WEIGHTS; }

size_t odnn_conv_blocked_weights_size(const odnn_conv *conv) {
    const odnn_operand *w = &conv->p.operand[1];
    return reads_weights(conv) && w->reorder ? api.md_get_size(w->chosen) : 0;
}

int odnn_conv_block_weights(const odnn_conv *conv, const void *weights, void *blocked, void *workspace) {
    const odnn_program *p = &conv->p;
    const odnn_operand *w = &p->operand[1];
    if (!reads_weights(conv) || !w->reorder) return -1;
    odnn_handle stream = thread_stream();
    if (!stream) return -1;
    api.omp_set_num_threads(p->threads);
    odnn_handle from = memory_on(&w->user, (void *)weights), to = memory_on(w->chosen, blocked), scratch = NULL;
    size_t scratch_bytes = p->workspace - p->scratch_offset;
    odnn_md md;
    int64_t dims[12] = {(int64_t)scratch_bytes};
    if (scratch_bytes > 0 && api.md_init_by_tag(&md, 1, dims, D_DT_U8, D_TAG_A) == D_SUCCESS)
        scratch = memory_on(&md, (unsigned char *)workspace + p->scratch_offset);
    int status = from && to && (scratch || !scratch_bytes) ? D_SUCCESS : -1;
    if (status == D_SUCCESS) {
        odnn_exec_arg args[3] = {{D_ARG_FROM, from}, {D_ARG_TO, to}, {D_ARG_SCRATCHPAD, scratch}};
        status = api.primitive_execute(w->reorder, stream, scratch ? 3 : 2, args);
    }
    if (status == D_SUCCESS) status = api.stream_wait(stream);
    if (from) api.memory_destroy(from);
    if (to) api.memory_destroy(to);
    if (scratch) api.memory_destroy(scratch);
    return status;
}

int odnn_conv_same_weights_layout(const odnn_conv *a, const odnn_conv *b) {
    return api.md_equal(a->p.operand[1].chosen, b->p.operand[1].chosen);
}

int odnn_conv_execute_blocked(const odnn_conv *conv, const void *a, const void *blocked_weights, const float *bias,
                              void *out, void *workspace) {
    void *data[3] = {(void *)a, (void *)blocked_weights, out};
    return program_execute(&conv->p, data, bias, workspace, reads_weights(conv) ? 2 : 0);
}

// ---- Matrix product ----

struct odnn_matmul { odnn_program p; };

odnn_matmul *odnn_matmul_create(const odnn_matmul_shape *s, char *error, size_t error_size) {
    if (error_size) error[0] = 0;
    if (!odnn_load()) { snprintf(error, error_size, "%s", load_error); return NULL; }
    if (s->m < 1 || s->n < 1 || s->k < 1 || s->lda < s->k || s->ldc < s->n || s->threads < 1
        || s->ldb < (s->b_transposed ? s->k : s->n)) {
        snprintf(error, error_size, "bad matmul shape");
        return NULL;
    }
    odnn_matmul *mm = calloc(1, sizeof *mm);
    if (!mm) { snprintf(error, error_size, "out of memory"); return NULL; }
    odnn_program *p = &mm->p;
    p->threads = (int)s->threads;
    api.omp_set_num_threads(p->threads);
    int ct = dnnl_type(s->compute_dtype);
    // A (M x K) and C (M x N) row-major with the caller's row strides; B (K x N) either row-major or, for a
    // Linear weight (N x K), its transpose read in place (strides 1 and ldb).
    int64_t a_dims[12] = {s->m, s->k}, b_dims[12] = {s->k, s->n}, c_dims[12] = {s->m, s->n}, bias_dims[12] = {1, s->n};
    int64_t a_strides[12] = {s->lda, 1}, c_strides[12] = {s->ldc, 1};
    int64_t b_strides[12] = {s->b_transposed ? 1 : s->ldb, s->b_transposed ? s->ldb : 1};
    p->operand[0] = (odnn_operand){.arg = D_ARG_SRC};
    p->operand[1] = (odnn_operand){.arg = D_ARG_WEIGHTS};
    p->operand[2] = (odnn_operand){.arg = D_ARG_DST, .is_output = 1};
    api.md_init_by_strides(&p->operand[0].user, 2, a_dims, ct, a_strides);
    api.md_init_by_strides(&p->operand[1].user, 2, b_dims, ct, b_strides);
    api.md_init_by_strides(&p->operand[2].user, 2, c_dims, D_DT_F32, c_strides);
    api.md_init_by_tag(&p->bias, 2, bias_dims, D_DT_F32, D_TAG_AB);
    // The weights in the layout the implementation prefers (reordered per call, as for convolutions); A and C
    // as the caller holds them, so activations are never copied.
    odnn_md b_any;
    api.md_init_by_tag(&b_any, 2, b_dims, ct, D_TAG_ANY);
    odnn_handle attr = user_scratchpad_attr();
    odnn_op_desc desc;
    p->has_bias = s->has_bias;
    int status = api.matmul_init(&desc, &p->operand[0].user, &b_any, s->has_bias ? (const void *)&p->bias : NULL,
                                 &p->operand[2].user);
    if (status == D_SUCCESS) status = api.pd_create(&p->pd, &desc, attr, engine, NULL);
    const int queries[3] = {D_QUERY_SRC_MD, D_QUERY_WEIGHTS_MD, D_QUERY_DST_MD};
    if (program_complete(p, status, attr, queries, "matmul", error, error_size) != D_SUCCESS) { free(mm); return NULL; }
    return mm;
}

void odnn_matmul_destroy(odnn_matmul *mm) { if (mm) { program_destroy(&mm->p); free(mm); } }
const char *odnn_matmul_impl(const odnn_matmul *mm) { return mm->p.impl; }
size_t odnn_matmul_workspace_size(const odnn_matmul *mm) { return mm->p.workspace; }

int odnn_matmul_execute(const odnn_matmul *mm, const void *a, const void *b, const float *bias, float *c,
                        void *workspace) {
    void *data[3] = {(void *)a, (void *)b, c};
    return program_execute(&mm->p, data, bias, workspace, 0);
}
