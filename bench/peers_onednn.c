/* Peer: oneDNN (2.x C API) convolution in all three directions, on the same problems and inputs
 * as our backends. oneDNN picks its blocked layouts (format_tag_any); our NHWC/HWIO tensors are
 * reordered in at setup and results reordered back after the run, both outside the timed
 * region. Built only with -DSCNN_HAVE_ONEDNN (bench.mk defines it when <dnnl.h> and -ldnnl
 * are there); otherwise stubs say why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_ops.h"

#ifdef SCNN_HAVE_ONEDNN
#include <dnnl.h>
#include <dnnl_debug.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MAX_MEMS 12

struct peer_conv {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[8];
    int nargs;
    dnnl_memory_t mems[MAX_MEMS];  /* owned by this handle */
    int nmems;
    /* outputs: oneDNN's layout -> ours */
    dnnl_primitive_t back[2];
    dnnl_memory_t back_from[2], back_user[2];
    int nback;
    char impl[128];
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;

bool peer_onednn_built(const char **why_not)
{
    *why_not = "";
    return true;
}

const char *peer_onednn_version(void)
{
    static char buf[200];
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "oneDNN v%d.%d.%d (%s runtime, isa %s)", v->major, v->minor,
             v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "non-OpenMP",
             dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    return buf;
}

#define TRY(call)                                                                                 \
    do {                                                                                          \
        dnnl_status_t st_ = (call);                                                               \
        if (st_ != dnnl_success) {                                                                \
            snprintf(err, errlen, "oneDNN: %s failed: %s", #call, dnnl_status2str(st_));         \
            goto fail;                                                                            \
        }                                                                                         \
    } while (0)

static dnnl_memory_t own(peer_conv *p, dnnl_memory_t m)
{
    p->mems[p->nmems++] = m;
    return m;
}

/* A copy of data (user layout umd) in oneDNN's layout pmd; NULL with err set on failure. */
static dnnl_memory_t input_mem(peer_conv *p, const dnnl_memory_desc_t *umd, const float *data,
                               const dnnl_memory_desc_t *pmd, char *err, size_t errlen)
{
    dnnl_memory_t user = NULL, mem = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    TRY(dnnl_memory_create(&user, umd, engine, (void *)data));
    TRY(dnnl_memory_create(&mem, pmd, engine, DNNL_MEMORY_ALLOCATE));
    own(p, mem);
    TRY(dnnl_reorder_primitive_desc_create(&rpd, umd, engine, pmd, engine, NULL));
    TRY(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem}};
    TRY(dnnl_primitive_execute(r, stream, 2, a));
    TRY(dnnl_stream_wait(stream));
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(user);
    return mem;
fail:
    if (r)
        dnnl_primitive_destroy(r);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (user)
        dnnl_memory_destroy(user);
    return NULL;
}

/* An output in oneDNN's layout pmd, with a reorder to the user layout umd for fetch. */
static dnnl_memory_t output_mem(peer_conv *p, const dnnl_memory_desc_t *umd,
                                const dnnl_memory_desc_t *pmd, char *err, size_t errlen)
{
    dnnl_memory_t mem = NULL, user = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    TRY(dnnl_memory_create(&mem, pmd, engine, DNNL_MEMORY_ALLOCATE));
    own(p, mem);
    TRY(dnnl_memory_create(&user, umd, engine, DNNL_MEMORY_NONE));
    own(p, user);
    TRY(dnnl_reorder_primitive_desc_create(&rpd, pmd, engine, umd, engine, NULL));
    TRY(dnnl_primitive_create(&p->back[p->nback], rpd));
    dnnl_primitive_desc_destroy(rpd);
    p->back_from[p->nback] = mem;
    p->back_user[p->nback++] = user;
    return mem;
fail:
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    return NULL;
}

static void add_arg(peer_conv *p, int arg, dnnl_memory_t m)
{
    p->args[p->nargs++] = (dnnl_exec_arg_t){arg, m};
}

peer_conv *peer_onednn_conv_create(const scnn_conv2d *d, enum bench_dir dir, int threads,
                                   const float *x, const float *w, const float *b,
                                   const float *dy, char *err, size_t errlen)
{
    peer_conv *p = calloc(1, sizeof *p);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL;
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
#ifdef _OPENMP
    omp_set_num_threads(threads); /* oneDNN sizes its jobs by the threads at creation */
#else
    (void)threads;
#endif
    if (!engine) {
        TRY(dnnl_engine_create(&engine, dnnl_cpu, 0));
        TRY(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    }

    /* oneDNN's logical order is always (n, c, h, w) and (o, i, h, w); the tag says our layout. */
    dnnl_memory_desc_t src_u, wei_u, bia_u, dst_u, src_a, wei_a, bia_a, dst_a;
    dnnl_dims_t src_dims = {d->n, d->c, d->h, d->w}, wei_dims = {d->k, d->c, d->kh, d->kw},
                bia_dims = {d->k}, dst_dims = {d->n, d->k, d->p, d->q};
    dnnl_dims_t strides = {1, 1}, pad_l = {d->pad_top, d->pad_left},
                pad_r = {d->pad_bottom, d->pad_right};
    TRY(dnnl_memory_desc_init_by_tag(&src_u, 4, src_dims, dnnl_f32, dnnl_nhwc));
    TRY(dnnl_memory_desc_init_by_tag(&wei_u, 4, wei_dims, dnnl_f32, dnnl_hwio));
    TRY(dnnl_memory_desc_init_by_tag(&bia_u, 1, bia_dims, dnnl_f32, dnnl_a));
    TRY(dnnl_memory_desc_init_by_tag(&dst_u, 4, dst_dims, dnnl_f32, dnnl_nhwc));
    TRY(dnnl_memory_desc_init_by_tag(&src_a, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&wei_a, 4, wei_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&bia_a, 1, bia_dims, dnnl_f32, dnnl_format_tag_any));
    TRY(dnnl_memory_desc_init_by_tag(&dst_a, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));

    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    dnnl_convolution_desc_t fd, cd;
    TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                           &src_a, &wei_a, &bia_a, &dst_a, strides, pad_l,
                                           pad_r));
    if (dir == BENCH_FWD) {
        /* Our forward applies the ReLU; so does this one, as a post-op. */
        TRY(dnnl_post_ops_create(&po));
        TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
        TRY(dnnl_primitive_attr_set_post_ops(attr, po));
        TRY(dnnl_primitive_desc_create(&pd, &fd, attr, engine, NULL));
    } else {
        TRY(dnnl_primitive_desc_create(&fwd_pd, &fd, NULL, engine, NULL));
        if (dir == BENCH_BWD_D)
            TRY(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_a,
                                                         &wei_a, &dst_a, strides, pad_l, pad_r));
        else
            TRY(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src_a,
                                                            &wei_a, &bia_a, &dst_a, strides,
                                                            pad_l, pad_r));
        TRY(dnnl_primitive_desc_create(&pd, &cd, attr, engine, fwd_pd));
    }
    const char *impl = "";
    TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    snprintf(p->impl, sizeof p->impl, "%s", impl);

    /* The primitive's arguments in each direction: oneDNN's name, the query (and index) of its
     * memory descriptor, whether it is an output (fetched back in this order: out, then out2),
     * our buffer for an input, and our layout. */
    typedef struct conv_arg {
        int arg;
        dnnl_query_t q;
        int qi;
        bool out;
        const float *in;
        const dnnl_memory_desc_t *user;
    } conv_arg;
    const conv_arg fwd_args[] = {{DNNL_ARG_SRC, dnnl_query_src_md, 0, false, x, &src_u},
                                 {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, false, w, &wei_u},
                                 {DNNL_ARG_BIAS, dnnl_query_weights_md, 1, false, b, &bia_u},
                                 {DNNL_ARG_DST, dnnl_query_dst_md, 0, true, NULL, &dst_u}};
    const conv_arg bwd_d_args[] = {
        {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, false, dy, &dst_u},
        {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, false, w, &wei_u},
        {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0, true, NULL, &src_u}};
    const conv_arg bwd_w_args[] = {
        {DNNL_ARG_SRC, dnnl_query_src_md, 0, false, x, &src_u},
        {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, false, dy, &dst_u},
        {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md, 0, true, NULL, &wei_u},
        {DNNL_ARG_DIFF_BIAS, dnnl_query_diff_weights_md, 1, true, NULL, &bia_u}};
#define N_ARGS(t) ((int)(sizeof t / sizeof t[0]))
    const conv_arg *args = dir == BENCH_FWD ? fwd_args : dir == BENCH_BWD_D ? bwd_d_args
                                                                             : bwd_w_args;
    const int nargs = dir == BENCH_FWD     ? N_ARGS(fwd_args)
                      : dir == BENCH_BWD_D ? N_ARGS(bwd_d_args)
                                           : N_ARGS(bwd_w_args);
#undef N_ARGS
    dnnl_memory_t m;
    for (int i = 0; i < nargs; i++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, args[i].q, args[i].qi);
        m = args[i].out ? output_mem(p, args[i].user, md, err, errlen)
                        : input_mem(p, args[i].user, args[i].in, md, err, errlen);
        if (!m)
            goto fail;
        add_arg(p, args[i].arg, m);
    }
#define MD(q) dnnl_primitive_desc_query_md(pd, q, 0)
    const dnnl_memory_desc_t *sp = MD(dnnl_query_scratchpad_md);
#undef MD
    if (sp && dnnl_memory_desc_get_size(sp) > 0) {
        TRY(dnnl_memory_create(&m, sp, engine, DNNL_MEMORY_ALLOCATE));
        own(p, m);
        add_arg(p, DNNL_ARG_SCRATCHPAD, m);
    }
    TRY(dnnl_primitive_create(&p->prim, pd));
    dnnl_primitive_desc_destroy(pd);
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (po)
        dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return p;
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    peer_onednn_conv_free(p);
    return NULL;
}

const char *peer_onednn_conv_impl(const peer_conv *p)
{
    return p->impl;
}

void peer_onednn_conv_run(peer_conv *p)
{
    dnnl_primitive_execute(p->prim, stream, p->nargs, p->args);
    dnnl_stream_wait(stream);
}

void peer_onednn_conv_fetch(peer_conv *p, float *out, float *out2)
{
    float *dst[2] = {out, out2};
    for (int i = 0; i < p->nback; i++) {
        if (!dst[i])
            continue;
        dnnl_memory_set_data_handle(p->back_user[i], dst[i]);
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->back_from[i]}, {DNNL_ARG_TO, p->back_user[i]}};
        dnnl_primitive_execute(p->back[i], stream, 2, a);
        dnnl_stream_wait(stream);
    }
}

void peer_onednn_conv_free(peer_conv *p)
{
    if (!p)
        return;
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    for (int i = 0; i < p->nback; i++)
        dnnl_primitive_destroy(p->back[i]);
    for (int i = 0; i < p->nmems; i++)
        dnnl_memory_destroy(p->mems[i]);
    free(p);
}

#else

bool peer_onednn_built(const char **why_not)
{
    *why_not = "not built: <dnnl.h> or -ldnnl was missing at build time "
               "(apt-get install libdnnl-dev, then rebuild)";
    return false;
}

const char *peer_onednn_version(void)
{
    return "not built";
}

peer_conv *peer_onednn_conv_create(const scnn_conv2d *d, enum bench_dir dir, int threads,
                                   const float *x, const float *w, const float *b,
                                   const float *dy, char *err, size_t errlen)
{
    (void)d, (void)dir, (void)threads, (void)x, (void)w, (void)b, (void)dy;
    snprintf(err, errlen, "oneDNN peer not built");
    return NULL;
}

const char *peer_onednn_conv_impl(const peer_conv *p)
{
    (void)p;
    return "";
}

void peer_onednn_conv_run(peer_conv *p)
{
    (void)p;
}

void peer_onednn_conv_fetch(peer_conv *p, float *out, float *out2)
{
    (void)p, (void)out, (void)out2;
}

void peer_onednn_conv_free(peer_conv *p)
{
    (void)p;
}

#endif
