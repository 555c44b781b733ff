/* AVX-512 convolutions as implicit GEMMs on NHWC, no im2col buffer.
 *
 * Forward and backward-data are both a correlation: src [n,h,w,c] * packed B -> y [n,p,q,k]
 * (backward-data: src dy, the weights flipped and (c,k)-transposed, y dx). It is computed by tap
 * classes: the output pixels whose taps inside src form the same rectangle [i0,i1) x [j0,j1)
 * (a run of rows times a run of columns) are tiled MR at a time over a group of images, one
 * micro-kernel walk per tile over exactly those taps, so padding is never copied nor multiplied
 * and tiles stay full at the borders (conv2 forward is one class; conv1's 16; conv2 backward-
 * data's 49). The tile is MR=6 pixels x 64 output channels (24 zmm accumulators + 4 B rows):
 * per step 4 B loads and 6 broadcasts feed 24 FMAs. An output element is one FMA chain over its
 * taps in (i, j, channel) order, whatever the tiling. One output channel (conv1's backward-data)
 * takes a dot-product path: 16 pixels' accumulators over the channel lanes, reduced at the end.
 * Backward-filter: dw[(i,j,c), k] = sum over pixels of A^T dy, micro-kernel walks of MR rows of
 * dw x 64 columns over the pixels of fixed chunks of images, reading dy where it lies (masked
 * loads for the k tail), into partial sums per chunk (db fused), added in chunk order. */
#include "kernels/avx512/avx512_conv.h"
#include "kernels/conv_geometry.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define INLINE static inline __attribute__((always_inline))

#define MR 6     /* pixels (forward) or dw rows (backward-filter) per register tile */
#define NVMAX 4  /* zmm per tile row */
#define PW 64    /* output channels per panel: NVMAX * 16 */
#define DOT_M 16 /* pixels per dot-product tile */

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static int panels(int k)
{
    return (k + PW - 1) / PW;
}

/* zmm in panel jp of k channels */
static int panel_nv(int k, int jp)
{
    const int left = k - jp * PW;
    return left >= PW ? NVMAX : (left + 15) / 16;
}

/* mask of the last zmm of panel jp */
static __mmask16 panel_mask(int k, int jp)
{
    const int left = k - jp * PW - (panel_nv(k, jp) - 1) * 16;
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

static __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u);
}

/* ---- the micro-kernel ------------------------------------------------------------------------ */

/* acc[m][v] += sum over the walk's steps of A(m, s) * B(s, 16v..16v+15), A(m, s) = a[off[m] +
 * position(s)], B(s) = b + bposition(s): positions advance by as (bs) per step and by ajump
 * (bjump) more after each of nseg segments of seglen steps. The last zmm of B is loaded with bm
 * (zeros elsewhere). */
typedef struct ukr {
    const float *a;
    ptrdiff_t off[MR];
    ptrdiff_t as, ajump;
    int nseg, seglen;
    const float *b;
    ptrdiff_t bs, bjump;
    const char *pf; /* with PF: the first pfn steps prefetch 128 bytes each from pf on */
    long pfn;
} ukr;

/* M (rows) and NV (zmm per row) are compile-time constants after inlining. */
INLINE void ukr_run(const int M, const int NV, const bool PF, const ukr *u, __mmask16 bm,
                    __m512 acc[MR][NVMAX])
{
    const float *a = u->a, *b = u->b;
    const char *pf = u->pf;
    long pfn = u->pfn;
    const ptrdiff_t o0 = u->off[0], o1 = u->off[1], o2 = u->off[2], o3 = u->off[3],
                    o4 = u->off[4], o5 = u->off[5], as = u->as, bs = u->bs;
    __m512 c00 = acc[0][0], c01 = acc[0][1], c02 = acc[0][2], c03 = acc[0][3];
    __m512 c10 = acc[1][0], c11 = acc[1][1], c12 = acc[1][2], c13 = acc[1][3];
    __m512 c20 = acc[2][0], c21 = acc[2][1], c22 = acc[2][2], c23 = acc[2][3];
    __m512 c30 = acc[3][0], c31 = acc[3][1], c32 = acc[3][2], c33 = acc[3][3];
    __m512 c40 = acc[4][0], c41 = acc[4][1], c42 = acc[4][2], c43 = acc[4][3];
    __m512 c50 = acc[5][0], c51 = acc[5][1], c52 = acc[5][2], c53 = acc[5][3];
#define ROW(m, o)                                                                                 \
    if (M > m) {                                                                                  \
        const __m512 t = _mm512_set1_ps(a[o]);                                                    \
        c##m##0 = _mm512_fmadd_ps(t, b0, c##m##0);                                                \
        if (NV > 1)                                                                               \
            c##m##1 = _mm512_fmadd_ps(t, b1, c##m##1);                                            \
        if (NV > 2)                                                                               \
            c##m##2 = _mm512_fmadd_ps(t, b2, c##m##2);                                            \
        if (NV > 3)                                                                               \
            c##m##3 = _mm512_fmadd_ps(t, b3, c##m##3);                                            \
    }
    for (int g = 0; g < u->nseg; g++) {
        for (int s = u->seglen; s > 0; s--) {
            if (PF && pfn > 0) {
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
                pf += 128;
                pfn--;
            }
            __m512 b0, b1 = b0 = _mm512_setzero_ps(), b2 = b1, b3 = b1;
            b0 = NV == 1 ? _mm512_maskz_loadu_ps(bm, b) : _mm512_loadu_ps(b);
            if (NV > 1)
                b1 = NV == 2 ? _mm512_maskz_loadu_ps(bm, b + 16) : _mm512_loadu_ps(b + 16);
            if (NV > 2)
                b2 = NV == 3 ? _mm512_maskz_loadu_ps(bm, b + 32) : _mm512_loadu_ps(b + 32);
            if (NV > 3)
                b3 = _mm512_maskz_loadu_ps(bm, b + 48);
            ROW(0, o0)
            ROW(1, o1)
            ROW(2, o2)
            ROW(3, o3)
            ROW(4, o4)
            ROW(5, o5)
            a += as;
            b += bs;
        }
        if (g + 1 < u->nseg) { /* (not past the last segment: it may end the array) */
            a += u->ajump;
            b += u->bjump;
        }
    }
#undef ROW
    acc[0][0] = c00, acc[0][1] = c01, acc[0][2] = c02, acc[0][3] = c03;
    acc[1][0] = c10, acc[1][1] = c11, acc[1][2] = c12, acc[1][3] = c13;
    acc[2][0] = c20, acc[2][1] = c21, acc[2][2] = c22, acc[2][3] = c23;
    acc[3][0] = c30, acc[3][1] = c31, acc[3][2] = c32, acc[3][3] = c33;
    acc[4][0] = c40, acc[4][1] = c41, acc[4][2] = c42, acc[4][3] = c43;
    acc[5][0] = c50, acc[5][1] = c51, acc[5][2] = c52, acc[5][3] = c53;
}

/* v = 0..NV-1 of a row at p: full stores, the last one masked with sm */
INLINE void store_row(const int NV, float *p, const __m512 *v, __mmask16 sm)
{
    for (int i = 0; i + 1 < NV; i++)
        _mm512_storeu_ps(p + 16 * i, v[i]);
    _mm512_mask_storeu_ps(p + 16 * (NV - 1), sm, v[NV - 1]);
}

INLINE void load_row(const int NV, const float *p, __m512 *v, __mmask16 m)
{
    for (int i = 0; i + 1 < NV; i++)
        v[i] = _mm512_loadu_ps(p + 16 * i);
    v[NV - 1] = _mm512_maskz_loadu_ps(m, p + 16 * (NV - 1));
}

/* Correlation tile over one block of taps: rows m < M at dst[m] + doff = (first ? bias (NULL:
 * zero) : what the previous blocks left there) + A*B over the walk, then, after the last block,
 * ReLU (and stream: non-temporal stores); sm masks the last zmm (B is packed with zeros there).
 * Storing a partial sum and loading it again is exact: the chain is the same as one walk's. */
#define TILE_FIRST 1
#define TILE_LAST 2
#define DEF_FWD_TILE(M, NV)                                                                       \
    static void fwd_tile_##M##_##NV(const ukr *u, const float *bias, bool relu, bool stream,     \
                                    int phase, float *const *dst, ptrdiff_t doff, __mmask16 sm)   \
    {                                                                                             \
        __m512 bv[NVMAX] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),      \
                            _mm512_setzero_ps()};                                                 \
        if (bias && (phase & TILE_FIRST))                                                         \
            load_row(NV, bias, bv, sm);                                                           \
        __m512 acc[MR][NVMAX];                                                                    \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++)                                      \
        {                                                                                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < NVMAX; v++) acc[m][v] = bv[v];            \
            if (m < M && !(phase & TILE_FIRST))                                                   \
                load_row(NV, dst[m] + doff, acc[m], sm);                                          \
        }                                                                                         \
        ukr_run(M, NV, false, u, 0xffff, acc);                                                    \
        const __m512 z = _mm512_setzero_ps();                                                     \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++)                                       \
        {                                                                                         \
            if (relu && (phase & TILE_LAST)) /* max(0, v) keeps a NaN v (the second operand) */   \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[m][v] =                  \
                    _mm512_max_ps(z, acc[m][v]);                                                  \
            if (stream && (phase & TILE_LAST)) /* k % 16 == 0, dst 64-byte aligned */             \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                              \
                    _mm512_stream_ps(dst[m] + doff + 16 * v, acc[m][v]);                          \
            else                                                                                  \
                store_row(NV, dst[m] + doff, acc[m], sm);                                         \
        }                                                                                         \
    }

/* Backward-filter tile: acc = (init ? 0 : the dw rows) + A^T dy over the walk, stored back; dy
 * (B) is read in place, its last zmm with sm. */
#define DEF_BWF_TILE(M, NV)                                                                       \
    static void bwf_tile_##M##_##NV(const ukr *u, bool init, float *dw, ptrdiff_t ldw,           \
                                    __mmask16 sm)                                                 \
    {                                                                                             \
        __m512 acc[MR][NVMAX];                                                                    \
        _Pragma("GCC unroll 6") for (int m = 0; m < MR; m++)                                      \
        {                                                                                         \
            _Pragma("GCC unroll 4") for (int v = 0; v < NVMAX; v++) acc[m][v] =                   \
                _mm512_setzero_ps();                                                              \
            if (m < M && !init)                                                                   \
                load_row(NV, dw + m * ldw, acc[m], sm);                                           \
        }                                                                                         \
        ukr_run(M, NV, true, u, sm, acc);                                                           \
        _Pragma("GCC unroll 6") for (int m = 0; m < M; m++) store_row(NV, dw + m * ldw, acc[m], sm); \
    }

#define DEF_TILES(DEF)                                                                            \
    DEF(1, 1) DEF(2, 1) DEF(3, 1) DEF(4, 1) DEF(5, 1) DEF(6, 1)                                   \
    DEF(1, 2) DEF(2, 2) DEF(3, 2) DEF(4, 2) DEF(5, 2) DEF(6, 2)                                   \
    DEF(1, 3) DEF(2, 3) DEF(3, 3) DEF(4, 3) DEF(5, 3) DEF(6, 3)                                   \
    DEF(1, 4) DEF(2, 4) DEF(3, 4) DEF(4, 4) DEF(5, 4) DEF(6, 4)
DEF_TILES(DEF_FWD_TILE)
DEF_TILES(DEF_BWF_TILE)

typedef void (*fwd_tile_fn)(const ukr *, const float *, bool, bool, int, float *const *,
                            ptrdiff_t, __mmask16);
typedef void (*bwf_tile_fn)(const ukr *, bool, float *, ptrdiff_t, __mmask16);
#define TILE_ROW(P, NV) {NULL, P##1_##NV, P##2_##NV, P##3_##NV, P##4_##NV, P##5_##NV, P##6_##NV}
static const fwd_tile_fn fwd_tiles[NVMAX + 1][MR + 1] = {
    {NULL}, TILE_ROW(fwd_tile_, 1), TILE_ROW(fwd_tile_, 2), TILE_ROW(fwd_tile_, 3),
    TILE_ROW(fwd_tile_, 4)};
static const bwf_tile_fn bwf_tiles[NVMAX + 1][MR + 1] = {
    {NULL}, TILE_ROW(bwf_tile_, 1), TILE_ROW(bwf_tile_, 2), TILE_ROW(bwf_tile_, 3),
    TILE_ROW(bwf_tile_, 4)};

/* ---- the correlation (forward and backward-data) ----------------------------------------------- */

typedef struct corr {
    const float *x; /* src [n,h,w,c] */
    int n, h, w, c;
    int pt, pl, p, q; /* output [n,p,q,k]; pt/pl rows/columns of zeros before src */
    int k, kh, kw;
    bool dot;          /* k == 1: bp is [kh*kw][round16(c)] */
    const float *bp;   /* packed: panel jp at jp*kdim*PW, rows of panel_nv(k,jp)*16 */
    const float *bias; /* [k] or NULL */
    bool relu;
    bool stream; /* non-temporal stores of y (see corr_stream) */
    size_t block; /* bytes of B per block of taps, 0: all taps (see corr_block) */
    float *y;
} corr;

/* Images per item: 6 makes every class of a conv2 image fill its tiles; but a group's source
 * is swept once per class, so it must stay in L2: fewer images when they are big. */
#define GROUP 6
#define GROUP_BYTES (512 * 1024)

static int corr_group_size(const corr *f)
{
    const size_t img = (size_t)f->h * f->w * f->c * sizeof(float);
    const size_t g = img ? GROUP_BYTES / img : GROUP;
    return g >= GROUP ? GROUP : g < 1 ? 1 : (int)g;
}

/* Walks the pixels of a class over a group of images: image-major, then row, then column. */
typedef struct class_it {
    int img, ry, rx;
} class_it;

/* The next pixel's output and source offsets (floats; the source at the class's first tap). */
INLINE void class_next(const corr *f, scnn_tap_run yr, scnn_tap_run xr, class_it *it, ptrdiff_t *dst,
                       ptrdiff_t *src)
{
    const int y = yr.start + it->ry, x = xr.start + it->rx;
    *dst = (((ptrdiff_t)it->img * f->p + y) * f->q + x) * f->k;
    *src = (((ptrdiff_t)it->img * f->h + y - f->pt + yr.t0) * f->w + x - f->pl + xr.t0) * f->c;
    if (++it->rx == xr.count) {
        it->rx = 0;
        if (++it->ry == yr.count) {
            it->ry = 0;
            it->img++;
        }
    }
}

/* The next group's source, prefetched into L2 a few lines at a time along this group's tiles
 * (conv1's backward-data reads 200 KB of dy per image; the first classes touch it by columns). */
typedef struct pf_cursor {
    const char *p;
    long lines;
} pf_cursor;

INLINE void pf_some(pf_cursor *pc, int n)
{
    for (; n > 0 && pc->lines > 0; n--, pc->lines--, pc->p += 64)
        _mm_prefetch(pc->p, _MM_HINT_T1);
}

/* Taps per block of a class's walks: B rows of about f->block bytes, which stay in L1 while the
 * class's tiles walk them, the partial sums going through y (which the group keeps in L2); 0:
 * all taps in one walk. It pays where L1 has room beside the block: on the Intel kind (48 KB
 * L1d) 32 KB blocks (conv2: 2 taps, instead of streaming all 256 KB of B from L2 for every tile)
 * were chosen in A/B rounds. Where L1d is smaller they cost more than they save: on the Zen 4
 * kind (32 KB L1d, 1 MB L2), conv2 forward against oneDNN at 1 thread (scnn_bench_ops, 2 x 5
 * paired rounds) went 0.90-0.92x with 32 KB blocks, 0.94-0.98x with 64, 0.99x with 128 and
 * 1.02x with none (backward-data 0.96x -> 1.00-1.04x; 2 threads: forward 0.90-0.96x -> 0.98x).
 * So blocks are used only with an L1d of BLOCK_MIN_L1 or more (sysconf, cached by glibc; an
 * unknown size, 0 or -1, counts as small; the Zen 5 kind's is 48 KB too, not measured). The bits are the same either way: a partial sum stored and loaded
 * again continues the same chain. */
#define BLOCK_BYTES (32 * 1024)
#define BLOCK_MIN_L1 (48 * 1024)

static size_t block_forced; /* scnn_avx512_conv_force_block (tests); 0: the rule above */

void scnn_avx512_conv_force_block(size_t bytes)
{
    block_forced = bytes;
}

static size_t corr_block(void)
{
    if (block_forced)
        return block_forced == SIZE_MAX ? 0 : block_forced;
    const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    return l1 >= BLOCK_MIN_L1 ? BLOCK_BYTES : 0;
}

static void gather_class(const corr *f, int img0, int nimg, scnn_tap_run yr, scnn_tap_run xr,
                         pf_cursor *pc)
{
    const int c = f->c, k = f->k, np = panels(k);
    const int ni = yr.t1 - yr.t0, nj = xr.t1 - xr.t0;
    const long cnt = (long)yr.count * xr.count * nimg;
    const size_t kdim = (size_t)f->kh * f->kw * c;
    const bool none = ni == 0 || nj == 0; /* no taps: bias alone */
    long tb = f->block ? (long)(f->block / ((size_t)c * PW * sizeof(float))) : (long)kdim;
    tb = tb < 1 ? 1 : tb;
    /* a block: kernel rows [ib, ib+rb) x columns [jb, jb+jw) of the class's rectangle */
    const int jw = none ? 1 : tb >= nj ? nj : (int)tb;
    const int rb = none ? 1 : tb >= nj ? (int)(tb / nj) : 1;
    for (int ib = 0; ib < (none ? 1 : ni); ib += rb)
        for (int jb = 0; jb < (none ? 1 : nj); jb += jw) {
            const int nr = ni - ib < rb ? ni - ib : rb, nc = nj - jb < jw ? nj - jb : jw;
            const int phase = (ib == 0 && jb == 0 ? TILE_FIRST : 0) |
                              (none || (ib + nr == ni && jb + nc == nj) ? TILE_LAST : 0);
            ukr u = {.as = 1,
                     .ajump = (ptrdiff_t)(f->w - nc) * c,
                     .nseg = none ? 0 : nr,
                     .seglen = nc * c};
            const ptrdiff_t aoff = ((ptrdiff_t)ib * f->w + jb) * c;
            const size_t brow = ((size_t)(yr.t0 + ib) * f->kw + xr.t0 + jb) * c;
            class_it it = {.img = img0};
            for (long t0 = 0; t0 < cnt; t0 += MR) {
                const int mr = cnt - t0 < MR ? (int)(cnt - t0) : MR;
                ptrdiff_t start[MR];
                float *dst[MR];
                for (int m = 0; m < mr; m++) {
                    ptrdiff_t o;
                    class_next(f, yr, xr, &it, &o, &start[m]);
                    dst[m] = f->y + o;
                }
                for (int m = mr; m < MR; m++) { /* rows >= mr repeat row 0, not stored */
                    start[m] = start[0];
                    dst[m] = dst[0];
                }
                pf_some(pc, 8);
                u.a = none ? f->x : f->x + start[0] + aoff;
                for (int m = 0; m < MR; m++)
                    u.off[m] = none ? 0 : start[m] - start[0];
                for (int jp = 0; jp < np; jp++) {
                    const int nv = panel_nv(k, jp);
                    u.bs = nv * 16;
                    u.bjump = (ptrdiff_t)(f->kw - nc) * c * u.bs;
                    u.b = f->bp + (size_t)jp * kdim * PW + brow * u.bs;
                    fwd_tiles[nv][mr](&u, f->bias ? f->bias + jp * PW : NULL, f->relu,
                                      f->stream, phase, dst, jp * PW, panel_mask(k, jp));
                }
            }
        }
}

/* r[m] = the sum of v[m]'s lanes, in a fixed order. */
INLINE __m512 hsum16(const __m512 *v)
{
    __m512 t[8], u[4], w0, w1;
    for (int i = 0; i < 8; i++)
        t[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
        u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    w0 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xdd));
    w1 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xdd));
    return _mm512_add_ps(_mm512_shuffle_f32x4(w0, w1, 0x88), _mm512_shuffle_f32x4(w0, w1, 0xdd));
}

/* k == 1: one class by dot products, DOT_M pixels at a time, vectorised over the channels. */
static void dot_class(const corr *f, int img0, int nimg, scnn_tap_run yr, scnn_tap_run xr,
                      pf_cursor *pc)
{
    const int c = f->c, cp = (int)round16((size_t)c), chunks = cp / 16;
    const int ni = yr.t1 - yr.t0, nj = xr.t1 - xr.t0;
    const long cnt = (long)yr.count * xr.count * nimg;
    const __mmask16 tail = lanes(c - (chunks - 1) * 16);
    const float bias = f->bias ? f->bias[0] : 0.0f;
    class_it it = {.img = img0};
    for (long t0 = 0; t0 < cnt; t0 += DOT_M) {
        const int mr = cnt - t0 < DOT_M ? (int)(cnt - t0) : DOT_M;
        ptrdiff_t start[DOT_M], dst[DOT_M];
        for (int m = 0; m < mr; m++)
            class_next(f, yr, xr, &it, &dst[m], &start[m]);
        for (int m = mr; m < DOT_M; m++)
            start[m] = start[0];
        const float *pa[DOT_M];
        for (int m = 0; m < DOT_M; m++)
            pa[m] = f->x + start[m];
        /* named accumulators: an array would live on the stack */
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0,
               s7 = s0, s8 = s0, s9 = s0, s10 = s0, s11 = s0, s12 = s0, s13 = s0, s14 = s0,
               s15 = s0;
        for (int i = 0; i < ni; i++)
            for (int j = 0; j < nj; j++) {
                const ptrdiff_t tap = ((ptrdiff_t)i * f->w + j) * c;
                const float *wv = f->bp + ((size_t)(yr.t0 + i) * f->kw + xr.t0 + j) * cp;
                pf_some(pc, 4);
                for (int cc = 0; cc < chunks; cc++) {
                    const __mmask16 mk = cc + 1 < chunks ? (__mmask16)0xffff : tail;
                    const __m512 b = _mm512_loadu_ps(wv + cc * 16);
                    const ptrdiff_t o = tap + cc * 16;
#define DOT(m) s##m = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk, pa[m] + o), b, s##m);
                    DOT(0) DOT(1) DOT(2) DOT(3) DOT(4) DOT(5) DOT(6) DOT(7)
                    DOT(8) DOT(9) DOT(10) DOT(11) DOT(12) DOT(13) DOT(14) DOT(15)
#undef DOT
                }
            }
        const __m512 acc[DOT_M] = {s0, s1, s2, s3, s4, s5, s6, s7,
                                   s8, s9, s10, s11, s12, s13, s14, s15};
        __m512 r = _mm512_add_ps(hsum16(acc), _mm512_set1_ps(bias));
        if (f->relu)
            r = _mm512_max_ps(_mm512_setzero_ps(), r);
        float out[DOT_M];
        _mm512_storeu_ps(out, r);
        for (int m = 0; m < mr; m++)
            f->y[dst[m]] = out[m];
    }
}

static void corr_group(const corr *f, int img0, int nimg)
{
    const size_t img = (size_t)f->h * f->w * f->c;
    const int next = f->n - (img0 + nimg) < nimg ? f->n - (img0 + nimg) : nimg;
    pf_cursor pc = {.p = (const char *)(f->x + (size_t)(img0 + nimg) * img),
                    .lines = (long)(next * img * sizeof(float) / 64)};
    for (scnn_tap_run yr = scnn_tap_run_at(0, f->p, f->pt, f->kh, f->h); yr.start < f->p;
         yr = scnn_tap_run_at(yr.start + yr.count, f->p, f->pt, f->kh, f->h))
        for (scnn_tap_run xr = scnn_tap_run_at(0, f->q, f->pl, f->kw, f->w); xr.start < f->q;
             xr = scnn_tap_run_at(xr.start + xr.count, f->q, f->pl, f->kw, f->w)) {
            if (f->dot)
                dot_class(f, img0, nimg, yr, xr, &pc);
            else
                gather_class(f, img0, nimg, yr, xr, &pc);
        }
}

static long corr_items(const corr *f)
{
    const int g = corr_group_size(f);
    return (f->n + g - 1) / g;
}

/* An output far bigger than the caches (conv1's forward: 50 MB a batch, written at a few
 * FLOPs per byte) is stored non-temporally: no read for ownership of every line, which halves
 * the memory traffic of a store-bound op. Whole 64-byte lines only. */
#define STREAM_BYTES (16u << 20)

static bool corr_stream(const corr *f)
{
    const size_t bytes = (size_t)f->n * f->p * f->q * f->k * sizeof(float);
    return !f->dot && f->k % 16 == 0 && ((uintptr_t)f->y & 63) == 0 && bytes >= STREAM_BYTES;
}

static void corr_run(const corr *f, long first, long last)
{
    const int g = corr_group_size(f);
    for (long it = first; it < last; it++) {
        const int img0 = (int)it * g;
        corr_group(f, img0, f->n - img0 < g ? f->n - img0 : g);
    }
    if (f->stream)
        _mm_sfence(); /* the streamed lines are visible before the op returns */
}

/* ---- workspace -------------------------------------------------------------------------------- */

/* Floats of packed weights for a correlation with kdim rows of k outputs. */
static size_t pack_floats(int k, size_t kdim, size_t taps)
{
    return k == 1 ? taps * round16(kdim / taps) : (size_t)panels(k) * kdim * PW;
}

static bool fwd_needs_pad(const scnn_conv2d *d)
{
    return d->pad_top || d->pad_left || d->pad_bottom || d->pad_right ||
           d->p + d->kh - 1 != d->h || d->q + d->kw - 1 != d->w;
}

#define BWF_CHUNKS 16
#define SUM_BLOCK 1024             /* elements per item of the partials' sum */

static long bwf_kdim(const scnn_conv2d *d)
{
    return (long)d->kh * d->kw * d->c;
}

/* dw [kdim][k], then db [panels*PW] */
static size_t bwf_part_floats(const scnn_conv2d *d)
{
    return round16((size_t)bwf_kdim(d) * d->k + (size_t)panels(d->k) * PW);
}

/* The padded image backward-filter reads: [p+kh-1][q+kw-1][c] */
static size_t bwf_pad_floats(const scnn_conv2d *d)
{
    return fwd_needs_pad(d) ? round16((size_t)(d->p + d->kh - 1) * (d->q + d->kw - 1) * d->c) : 0;
}

typedef struct layout {
    size_t packed, parts, slot; /* floats: packed weights, partial sums, one thread's slot */
} layout;

static layout ws_layout(const scnn_conv2d *d)
{
    const size_t taps = (size_t)d->kh * d->kw;
    const size_t pf = pack_floats(d->k, taps * d->c, taps),
                 pb = pack_floats(d->c, taps * d->k, taps);
    return (layout){.packed = round16(pf > pb ? pf : pb),
                    .parts = (size_t)BWF_CHUNKS * bwf_part_floats(d),
                    .slot = round16(bwf_pad_floats(d) + 16)};
}

size_t scnn_avx512_conv2d_workspace_for(const scnn_conv2d *d, int slots)
{
    const layout l = ws_layout(d);
    return (l.packed + l.parts + (size_t)slots * l.slot) * sizeof(float);
}

/* ---- forward and backward-data ---------------------------------------------------------------- */

/* Row r (< kdim) of the correlation's B, columns [0, k): src(r, col) -> the packed layout. */
static void pack_b(float *bp, size_t kdim, size_t taps, int k, const float *w, bool bwd,
                   const scnn_conv2d *d)
{
    const int kh = d->kh, kw = d->kw, c = d->c, kk = d->k;
    const size_t per_tap = kdim / taps; /* source channels */
    /* forward: B[(tap, ch)][col] = w[tap][ch][col]; backward-data: B[(tap', kk)][ch] =
     * w[flip(tap')][ch][kk] */
#define SRC(tap, ch, col)                                                                         \
    (bwd ? w[(((size_t)(kh - 1 - (tap) / kw) * kw + (kw - 1 - (tap) % kw)) * c + (col)) * kk +   \
             (ch)]                                                                                \
         : w[((size_t)(tap) * c + (ch)) * kk + (col)])
    if (k == 1) {
        const size_t cp = round16(per_tap);
        for (size_t t = 0; t < taps; t++)
            for (size_t ch = 0; ch < cp; ch++)
                bp[t * cp + ch] = ch < per_tap ? SRC(t, ch, 0) : 0.0f;
        return;
    }
    for (int jp = 0; jp < panels(k); jp++) {
        const int rs = panel_nv(k, jp) * 16;
        float *pan = bp + (size_t)jp * kdim * PW;
        for (size_t r = 0; r < kdim; r++)
            for (int col = 0; col < rs; col++) {
                const int o = jp * PW + col;
                pan[r * rs + col] = o < k ? SRC(r / per_tap, r % per_tap, o) : 0.0f;
            }
    }
#undef SRC
}

typedef struct conv_ctx {
    corr f;
    const scnn_conv2d *d;
    const float *x, *dy;
    float *part, *dw, *db, *scratch;
    size_t slot;
} conv_ctx;

static void corr_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    corr_run(&((const conv_ctx *)ctx)->f, first, last);
}

void scnn_avx512_conv2d_forward_with(scnn_avx2_pfor pf, const scnn_conv2d *d, const float *x,
                                     const float *w, const float *b, float *y, void *ws)
{
    const size_t taps = (size_t)d->kh * d->kw;
    conv_ctx c = {.f = {.x = x, .n = d->n, .h = d->h, .w = d->w, .c = d->c, .pt = d->pad_top,
                        .pl = d->pad_left, .p = d->p, .q = d->q, .k = d->k, .kh = d->kh,
                        .kw = d->kw, .dot = d->k == 1, .bp = ws, .bias = b, .relu = d->relu,
                        .block = corr_block(), .y = y}};
    c.f.stream = corr_stream(&c.f);
    pack_b(ws, taps * d->c, taps, d->k, w, false, d);
    pf(corr_items(&c.f), 1, corr_body, &c);
}

void scnn_avx512_conv2d_backward_data_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                           const float *dy, const float *w, float *dx, void *ws)
{
    const size_t taps = (size_t)d->kh * d->kw;
    conv_ctx c = {.f = {.x = dy, .n = d->n, .h = d->p, .w = d->q, .c = d->k,
                        .pt = d->kh - 1 - d->pad_top, .pl = d->kw - 1 - d->pad_left, .p = d->h,
                        .q = d->w, .k = d->c, .kh = d->kh, .kw = d->kw, .dot = d->c == 1,
                        .bp = ws, .block = corr_block(), .y = dx}};
    pack_b(ws, taps * d->k, taps, d->c, w, true, d);
    pf(corr_items(&c.f), 1, corr_body, &c);
}

/* ---- backward-filter ---------------------------------------------------------------------------- */

/* dy per band, read by every walk of the band (one per MR rows of dw and panel) from L1. A walk
 * has a fixed cost (its 24 accumulators loaded from and stored to the partial dw), so the more
 * walks a band has, the longer they had better be: 32 KB bands where dw has BWF_LONG_KDIM rows
 * or more (conv2: 1024 rows, 171 walks a band), 16 KB below (conv1: 16 rows, 3 walks, which
 * loses when the band, and the next one prefetched beside it, no longer fit L1). On the Zen 4
 * kind (32 KB L1d), avx512 against oneDNN at 1 thread, paired rounds with training paused:
 * conv2 0.88-0.92x with 16 KB bands, 0.94-0.96x with 24, 0.98x with 32, 0.98-1.00x with whole
 * images (31 KB); conv1 0.82-0.88x with 16 KB, 0.74-0.85x with 32 KB, 0.72x with 64 KB. The
 * bits do not depend on the band (each dw element is one chain over the pixels in order). */
#define BWF_BAND_BYTES (16 * 1024)
#define BWF_LONG_BAND_BYTES (32 * 1024)
#define BWF_LONG_KDIM 256

/* Output rows per band: equal bands of about that many bytes of dy. */
static int bwf_band_rows(const scnn_conv2d *d)
{
    const long bytes = bwf_kdim(d) >= BWF_LONG_KDIM ? BWF_LONG_BAND_BYTES : BWF_BAND_BYTES;
    return scnn_band_rows(d->p, (long)d->q * d->k * (long)sizeof(float), bytes);
}

/* dbacc [panels*PW] += the sum of npix dy pixels [npix][k] */
static void bwf_db(const float *dyb, int npix, int k, float *dbacc)
{
    for (int c0 = 0; c0 < k; c0 += 64) {
        const int left = k - c0;
        const __mmask16 m0 = lanes(left), m1 = lanes(left - 16), m2 = lanes(left - 32),
                        m3 = lanes(left - 48);
        __m512 s0 = _mm512_loadu_ps(dbacc + c0), s1 = _mm512_loadu_ps(dbacc + c0 + 16),
               s2 = _mm512_loadu_ps(dbacc + c0 + 32), s3 = _mm512_loadu_ps(dbacc + c0 + 48);
        const float *p = dyb + c0;
        for (int s = 0; s < npix; s++, p += k) {
            s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(m0, p));
            s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(m1, p + 16));
            s2 = _mm512_add_ps(s2, _mm512_maskz_loadu_ps(m2, p + 32));
            s3 = _mm512_add_ps(s3, _mm512_maskz_loadu_ps(m3, p + 48));
        }
        _mm512_storeu_ps(dbacc + c0, s0);
        _mm512_storeu_ps(dbacc + c0 + 16, s1);
        _mm512_storeu_ps(dbacc + c0 + 32, s2);
        _mm512_storeu_ps(dbacc + c0 + 48, s3);
    }
}

/* The walks of every (panel, MR-row tile) of dw (ld k) over output rows [r0, r0+rows) of one
 * image: src is the (padded) image, wp pixels a row; dyb the band's dy. */
/* The walks also prefetch, in turn, the pfbytes from pf on (what the next band reads). */
static void bwf_walks(const scnn_conv2d *d, const float *src, int wp, int r0, int rows,
                      const float *dyb, bool init, float *dw, const char *pf, size_t pfbytes)
{
    long pfleft = (long)((pfbytes + 127) / 128);
    const int c = d->c, k = d->k, seglen = d->kw * c;
    const long kdim = bwf_kdim(d);
    for (int jp = 0; jp < panels(k); jp++) {
        const int nv = panel_nv(k, jp);
        const __mmask16 sm = panel_mask(k, jp);
        /* dw row r = (i, rest) reads src at i*wp*c + rest from the pixel's corner; (i, rest)
         * advance with r, no division per walk (a walk of conv2's bands is only ~500 cycles) */
        long ri = 0, rrest = 0; /* row0 = ri*seglen + rrest */
        for (long row0 = 0; row0 < kdim; row0 += MR) {
            const int mr = kdim - row0 < MR ? (int)(kdim - row0) : MR;
            const ptrdiff_t rowstride = (ptrdiff_t)wp * c;
            const ptrdiff_t base = (ri + r0) * rowstride + rrest;
            ukr u = {.a = src + base,
                     .as = c,
                     .ajump = (ptrdiff_t)(wp - d->q) * c,
                     .nseg = rows,
                     .seglen = d->q,
                     .b = dyb + jp * PW,
                     .bs = k,
                     .pf = pf,
                     .pfn = pfleft};
            const long steps = (long)rows * d->q, done = steps < pfleft ? steps : pfleft;
            pf += 128 * done;
            pfleft -= done;
            long mi = ri, mrest = rrest;
            for (int m = 0; m < MR; m++) {
                u.off[m] = m < mr ? (mi - ri) * rowstride + mrest - rrest : 0;
                if (++mrest == seglen)
                    mrest = 0, mi++;
            }
            for (int m = 0; m < MR; m++)
                if (++rrest == seglen)
                    rrest = 0, ri++;
            bwf_tiles[nv][mr](&u, init, dw + row0 * k + jp * PW, k, sm);
        }
    }
}

static void bwf_run(const conv_ctx *cx, float *scratch, long first, long last)
{
    const scnn_conv2d *d = cx->d;
    const int c = d->c, k = d->k, band = bwf_band_rows(d);
    const long kdim = bwf_kdim(d);
    const bool pad = fwd_needs_pad(d);
    const int wp = pad ? d->q + d->kw - 1 : d->w;
    const size_t rowfloats = (size_t)d->q * k;
    for (long ch = first; ch < last; ch++) {
        const int i0 = (int)(d->n * ch / BWF_CHUNKS), i1 = (int)(d->n * (ch + 1) / BWF_CHUNKS);
        float *part = cx->part + ch * bwf_part_floats(d), *dbacc = part + kdim * k;
        memset(dbacc, 0, sizeof *dbacc * (size_t)panels(k) * PW);
        if (i0 == i1) /* no images: zeros */
            memset(part, 0, sizeof *part * (size_t)kdim * k);
        for (int img = i0; img < i1; img++) {
            const float *src = cx->x + (size_t)img * d->h * d->w * c;
            if (pad) {
                scnn_pad_image(src, d->h, d->w, c, d->pad_top, d->pad_left, d->p + d->kh - 1,
                               wp, scratch);
                src = scratch;
            }
            for (int r0 = 0; r0 < d->p; r0 += band) {
                const int rows = d->p - r0 < band ? d->p - r0 : band;
                const float *dyb = cx->dy + ((size_t)img * d->p + r0) * rowfloats;
                const float *next = dyb + (size_t)rows * rowfloats; /* next band's dy */
                const size_t left = ((size_t)i1 * d->p - ((size_t)img * d->p + r0 + rows)) * rowfloats;
                const size_t bandf = (size_t)band * rowfloats;
                bwf_db(dyb, rows * d->q, k, dbacc);
                bwf_walks(d, src, wp, r0, rows, dyb, img == i0 && r0 == 0, part,
                          (const char *)next, sizeof(float) * (left < bandf ? left : bandf));
            }
        }
    }
}

static void bwf_body(void *ctx, long first, long last, int slot)
{
    const conv_ctx *c = ctx;
    bwf_run(c, c->scratch + (size_t)slot * c->slot, first, last);
}

/* Items: blocks of SUM_BLOCK elements of dw, then one for db. */
static long sum_items(const scnn_conv2d *d)
{
    return (long)(((size_t)bwf_kdim(d) * d->k + SUM_BLOCK - 1) / SUM_BLOCK) + 1;
}

/* dst[e] = the sum over the chunks, in chunk order, of part[chunk][e], e < n */
static void sum_parts(const float *part, size_t stride, size_t n, float *dst)
{
    for (size_t e = 0; e < n; e += 16) {
        const __mmask16 m = lanes((int)(n - e < 16 ? n - e : 16));
        __m512 acc = _mm512_maskz_loadu_ps(m, part + e);
        for (size_t ch = 1; ch < BWF_CHUNKS; ch++)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, part + ch * stride + e));
        _mm512_mask_storeu_ps(dst + e, m, acc);
    }
}

static void sum_body(void *ctx, long first, long last, int slot)
{
    (void)slot;
    const conv_ctx *c = ctx;
    const size_t nd = (size_t)bwf_kdim(c->d) * c->d->k, stride = bwf_part_floats(c->d);
    const long nblocks = sum_items(c->d) - 1;
    for (long it = first; it < last; it++) {
        if (it == nblocks) {
            if (c->db)
                sum_parts(c->part + nd, stride, (size_t)c->d->k, c->db);
            continue;
        }
        const size_t e0 = (size_t)it * SUM_BLOCK;
        sum_parts(c->part + e0, stride, nd - e0 < SUM_BLOCK ? nd - e0 : SUM_BLOCK, c->dw + e0);
    }
}

void scnn_avx512_conv2d_backward_filter_with(scnn_avx2_pfor pf, const scnn_conv2d *d,
                                             const float *x, const float *dy, float *dw,
                                             float *db, void *ws)
{
    const layout l = ws_layout(d);
    float *base = ws;
    conv_ctx c = {.d = d, .x = x, .dy = dy, .part = base + l.packed, .dw = dw, .db = db,
                  .scratch = base + l.packed + l.parts, .slot = l.slot};
    pf(BWF_CHUNKS, 1, bwf_body, &c);
    pf(sum_items(d), 4, sum_body, &c);
}
