/* vww_kernels: see vww_kernels.h. Integer results equal TensorFlow Lite Micro's reference kernels. */
#include <string.h>
#include "vww_kernels.h"

#if defined(__GNUC__)
#define VWW_NOINLINE __attribute__((noinline))  /* keeps the hot loops' registers to themselves */
#else
#define VWW_NOINLINE
#endif

/* Matrix products use one layout for patches and weights, built so that the SMLAD path needs no shuffling:
 * the reduction axis goes in groups of 4 (k, k+1, k+2, k+3) split into two pairs (k, k+2) and (k+1, k+3), the
 * order in which SXTB16 unpacks 4 packed bytes.
 *   patch (two pixels t = 0, 1; int16): P[8g + 4j + 2t + h] = x_t[4g + j + 2h]
 *   weights (two channels c = 0, 1; int8): W[8g + 4j + 2h + c] = w_c[4g + j + 2h]
 * The sums are the same in any order; the portable path walks the same layout with plain loads. */
#define VWW_PIDX(k, t) ((((k) >> 2) << 3) + (((k) & 1) << 2) + ((t) << 1) + (((k) >> 1) & 1))

#ifdef VWW_USE_SMLAD
/* Cortex-M DSP extension. Sums are exact int32 either way; only the instruction count changes. */
typedef uint32_t __attribute__((may_alias, aligned(4))) vww_w32;
static inline uint32_t vww_sxtb16(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t vww_sxtb16_ror8(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline int32_t vww_smlad(uint32_t a, uint32_t b, int32_t acc)
{ int32_t r; __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }
#endif

#ifdef VWW_USE_SMLAD
#define VWW_GROUP(p, v)                                                            \
    x0 = p[0]; x1 = p[1]; u = v[0]; ua = vww_sxtb16(u); ub = vww_sxtb16_ror8(u);   \
    a00 = vww_smlad(x0, ua, a00); a01 = vww_smlad(x0, ub, a01);                    \
    a10 = vww_smlad(x1, ua, a10); a11 = vww_smlad(x1, ub, a11);                    \
    x0 = p[2]; x1 = p[3]; u = v[1]; ua = vww_sxtb16(u); ub = vww_sxtb16_ror8(u);   \
    a00 = vww_smlad(x0, ua, a00); a01 = vww_smlad(x0, ub, a01);                    \
    a10 = vww_smlad(x1, ua, a10); a11 = vww_smlad(x1, ub, a11);
#endif

/* Two patches times pairs of weight rows (kp a multiple of 4): all output channels of two pixels. For a single
 * pixel pass o1 == o0 and a patch whose two pixels are the same: both write the same values. */
static void vww_matmul(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                       int8_t *o0, int8_t *o1, int out_c)
{
    const vww_requant_t Q = *q;
    for (int co = 0; co < out_c; co += 2) {
        const int8_t *wp = w + co * kp;    /* the pair's 2 * kp interleaved weights */
        int32_t a00 = Q.ch[co].bias, a01 = Q.ch[co + 1].bias, a10 = a00, a11 = a01;
#ifdef VWW_USE_SMLAD
        const vww_w32 *p = (const vww_w32 *)P, *v = (const vww_w32 *)wp, *end = v + kp / 2;
        uint32_t x0, x1, u, ua, ub;
        while (v < end) { VWW_GROUP(p, v) p += 4; v += 2; }
#else
        const int16_t *p = P;
        const int8_t *v = wp, *end = wp + 2 * kp;
        while (v < end) {   /* one group: 8 patch and 8 weight loads, 16 multiply-accumulates */
            int32_t x0 = p[0], x0b = p[1], x1 = p[2], x1b = p[3];
            int32_t u0 = v[0], u1 = v[1], u0b = v[2], u1b = v[3];
            a00 += x0 * u0; a01 += x0 * u1; a10 += x1 * u0; a11 += x1 * u1;
            a00 += x0b * u0b; a01 += x0b * u1b; a10 += x1b * u0b; a11 += x1b * u1b;
            x0 = p[4]; x0b = p[5]; x1 = p[6]; x1b = p[7];
            u0 = v[4]; u1 = v[5]; u0b = v[6]; u1b = v[7];
            a00 += x0 * u0; a01 += x0 * u1; a10 += x1 * u0; a11 += x1 * u1;
            a00 += x0b * u0b; a01 += x0b * u1b; a10 += x1b * u0b; a11 += x1b * u1b;
            p += 8; v += 8;
        }
#endif
        o1[co] = vww_out(a10, &Q, co);
        o0[co] = vww_out(a00, &Q, co);
        if (co + 1 < out_c) { o1[co + 1] = vww_out(a11, &Q, co + 1); o0[co + 1] = vww_out(a01, &Q, co + 1); }
    }
}

/* Pixel t of an im2col patch: the input under the filter plus the input offset, zero where the filter hangs over.
 * The values go first, in order, into the int16 row `tmp` (kp long), then into the patch layout. */
static void vww_gather(const int8_t *in, int in_h, int in_w, int in_c, int kh, int kw, int kp,
                       int iy0, int ix0, int dil_h, int dil_w, int32_t in_off, int16_t *P, int t, int16_t *tmp)
{
    int16_t *d = tmp;
    for (int ky = 0; ky < kh; ky++) {
        int iy = iy0 + ky * dil_h;
        for (int kx = 0; kx < kw; kx++) {
            int ix = ix0 + kx * dil_w;
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                const int8_t *src = in + (iy * in_w + ix) * in_c;
                for (int c = 0; c < in_c; c++) *d++ = (int16_t)(src[c] + in_off);
            } else {
                for (int c = 0; c < in_c; c++) *d++ = 0;
            }
        }
    }
    while (d < tmp + kp) *d++ = 0;
    for (int16_t *p = P + 2 * t, *e = tmp + kp; tmp < e; tmp += 4, p += 8) {
        p[0] = tmp[0]; p[4] = tmp[1]; p[1] = tmp[2]; p[5] = tmp[3];
    }
}

void vww_conv_s8(const int8_t *in, int in_h, int in_w, int in_c,
                 const int8_t *w, int kh, int kw, int kp,
                 int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                 const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int16_t *scratch)
{
    /* output pixels two at a time in row-major order; both patches are read before either output is written.
     * scratch: the patch (2 kp) then one row (kp) */
    int n = out_h * out_w;
    for (int j = 0; j < n; j += 2) {
        int pair = j + 1 < n;
        for (int t = 0; t < 2; t++) {
            int jj = pair ? j + t : j, oy = jj / out_w, ox = jj % out_w;
            vww_gather(in, in_h, in_w, in_c, kh, kw, kp, oy * stride_h - pad_t, ox * stride_w - pad_l,
                       dil_h, dil_w, in_off, scratch, t, scratch + 2 * kp);
        }
        vww_matmul(scratch, w, kp, q, out + j * out_c, out + (pair ? j + 1 : j) * out_c, out_c);
    }
}

void vww_pointwise_s8(const int8_t *in, int pixels, int in_c, const int8_t *w, int kp,
                      const vww_requant_t *q, int8_t *out, int out_c, int16_t *scratch)
{
    for (int j = 0; j < pixels; j += 2) {
        int pair = j + 1 < pixels;
        for (int t = 0; t < 2; t++) {
            const int8_t *x = in + (pair ? j + t : j) * in_c;
            int k = 0;
#ifdef VWW_USE_SMLAD
            if (((uintptr_t)x & 3) == 0)
                for (; k + 4 <= in_c; k += 4) {   /* SXTB16 unpacks (x0, x2) and (x1, x3): the patch layout */
                    uint32_t v = *(const vww_w32 *)(x + k);
                    *(vww_w32 *)(scratch + 2 * k + 2 * t) = vww_sxtb16(v);
                    *(vww_w32 *)(scratch + 2 * k + 4 + 2 * t) = vww_sxtb16_ror8(v);
                }
#endif
            for (int16_t *d = scratch + 2 * k + 2 * t; k + 4 <= in_c; k += 4, d += 8) {
                d[0] = x[k]; d[4] = x[k + 1]; d[1] = x[k + 2]; d[5] = x[k + 3];
            }
            for (; k < in_c; k++) scratch[VWW_PIDX(k, t)] = x[k];
            for (; k < kp; k++) scratch[VWW_PIDX(k, t)] = 0;
        }
        vww_matmul(scratch, w, kp, q, out + j * out_c, out + (pair ? j + 1 : j) * out_c, out_c);
    }
}

/* 3x3 depthwise, multiplier 1, stride S: four adjacent output pixels of every channel. The padded rows are
 * channel-major (each channel's wp values together), so a channel's taps are neighbouring bytes; the weights hold
 * each channel's kernel row as 4 bytes (w0, w1, w2, 0), 12 bytes a channel. (An SMLAD version of this loop,
 * tried, ran no faster: depthwise sums pair badly into the dual 16-bit products.) */
#define VWW_DW_ROW4(r, k)                                                                   \
    w0 = w[k]; w1 = w[k + 1]; w2 = w[k + 2];                                                \
    x0 = r[0]; x1 = r[1]; x2 = r[2]; x3 = r[3]; x4 = r[4];                                  \
    a0 += x0 * w0; a0 += x1 * w1; a0 += x2 * w2;                                            \
    if (S == 1) {                                                                           \
        x5 = r[5];                                                                          \
        a1 += x1 * w0; a1 += x2 * w1; a1 += x3 * w2; a2 += x2 * w0; a2 += x3 * w1;          \
        a2 += x4 * w2; a3 += x3 * w0; a3 += x4 * w1; a3 += x5 * w2;                        \
    } else {                                                                                \
        a1 += x2 * w0; a1 += x3 * w1; a1 += x4 * w2;                                        \
        x0 = r[5]; x1 = r[6]; x2 = r[7]; x3 = r[8];                                         \
        a2 += x4 * w0; a2 += x0 * w1; a2 += x1 * w2; a3 += x1 * w0; a3 += x2 * w1;          \
        a3 += x3 * w2;                                                                      \
    }
#define VWW_DW_VARS int32_t w0, w1, w2, x0, x1, x2, x3, x4, x5; (void)x5
#define VWW_DW_QUAD(name, STRIDE)                                                                   \
static VWW_NOINLINE void name(const int8_t *r0, const int8_t *r1, const int8_t *r2, int C, int wp,    \
                              const int8_t *w, const vww_requant_t *q, int8_t *o, int out_c)        \
{                                                                                                   \
    const vww_requant_t Q = *q;                                                                     \
    const int S = STRIDE;                                                                           \
    for (int c = 0; c < C; c++, r0 += wp, r1 += wp, r2 += wp, w += 12, o++) {                       \
        int32_t a0 = Q.ch[c].bias, a1 = a0, a2 = a0, a3 = a0;                                       \
        VWW_DW_VARS;                                                                                \
        VWW_DW_ROW4(r0, 0) VWW_DW_ROW4(r1, 4) VWW_DW_ROW4(r2, 8)                                    \
        o[0] = vww_out(a0, &Q, c); o[out_c] = vww_out(a1, &Q, c);                                   \
        o[2 * out_c] = vww_out(a2, &Q, c); o[3 * out_c] = vww_out(a3, &Q, c);                       \
    }                                                                                               \
}
VWW_DW_QUAD(vww_dw3x3_quad_s1, 1)
VWW_DW_QUAD(vww_dw3x3_quad_s2, 2)

/* 3x3 depthwise, multiplier 1: one output pixel of every channel (maps narrower than four pixels) */
static void vww_dw3x3_one(const int8_t *r0, const int8_t *r1, const int8_t *r2, int C, int wp, const int8_t *w,
                          const vww_requant_t *q, int8_t *o)
{
    const vww_requant_t Q = *q;
    for (int c = 0; c < C; c++, r0 += wp, r1 += wp, r2 += wp, w += 12) {
        int32_t a = Q.ch[c].bias;
        a += r0[0] * w[0]; a += r0[1] * w[1]; a += r0[2] * w[2];
        a += r1[0] * w[4]; a += r1[1] * w[5]; a += r1[2] * w[6];
        a += r2[0] * w[8]; a += r2[1] * w[9]; a += r2[2] * w[10];
        o[c] = vww_out(a, &Q, c);
    }
}

void vww_depthwise_s8(const int8_t *in, int in_h, int in_w, int in_c,
                      const int8_t *w, int kh, int kw, int depth_mult,
                      int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                      const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int8_t *rows)
{
    const vww_requant_t Q = *q;
    const int C = in_c, wp = (out_w - 1) * stride_w + (kw - 1) * dil_w + 1, row_bytes = wp * C;
    const int8_t zp = (int8_t)(-in_off);
    const int fast = kh == 3 && kw == 3 && depth_mult == 1 && dil_w == 1 && (stride_w == 1 || stride_w == 2);
    const int n = in_w < wp - pad_l ? in_w : wp - pad_l;   /* input columns inside the padded row */
    /* weights: each channel's kh rows of kw taps, rows padded to a multiple of 4 bytes */
    const int wr = (kw + 3) & ~3, wk = kh * wr;
    int loaded[16];
    const int8_t *rp[16];
    for (int s = 0; s < kh; s++) loaded[s] = -0x7fffffff;
    for (int oy = 0; oy < out_h; oy++) {
        int iy0 = oy * stride_h - pad_t;
        /* the kh input rows under this output row, each copied once, channel-major, with its padding */
        for (int ky = 0; ky < kh; ky++) {
            int iy = iy0 + ky * dil_h, s = 0;
            while (s < kh && loaded[s] != iy) s++;
            if (s == kh) {
                for (s = 0; s < kh; s++) {
                    int used = 0;
                    for (int k2 = 0; k2 < kh; k2++) used |= loaded[s] == iy0 + k2 * dil_h;
                    if (!used) break;
                }
                int8_t *r = rows + s * row_bytes;
                loaded[s] = iy;
                if (iy < 0 || iy >= in_h) memset(r, zp, (size_t)row_bytes);
                else
                    for (int ch = 0; ch < C; ch++, r += wp) {
                        const int8_t *src = in + iy * in_w * C + ch;
                        int x = 0;
                        for (; x < pad_l; x++) r[x] = zp;
                        int8_t *d = r + pad_l, *e = d + n;
                        for (const int C2 = 2 * C; d + 2 <= e; d += 2, src += C2) { d[0] = src[0]; d[1] = src[C]; }
                        if (d < e) *d = *src;
                        for (x = pad_l + n; x < wp; x++) r[x] = zp;
                    }
            }
            rp[ky] = rows + s * row_bytes;
        }
        int8_t *orow = out + oy * out_w * out_c;
        int ox = 0;
        if (fast && out_w < 4)
            for (; ox < out_w; ox++)
                vww_dw3x3_one(rp[0] + ox * stride_w, rp[1] + ox * stride_w, rp[2] + ox * stride_w, C, wp, w, q,
                              orow + ox * out_c);
        if (fast && out_w >= 4)
            for (; ox < out_w; ox += 4) {
                if (ox + 4 > out_w) ox = out_w - 4;   /* the last four overlap the previous ones: same values again */
                int o = ox * stride_w;
                if (stride_w == 1) vww_dw3x3_quad_s1(rp[0] + o, rp[1] + o, rp[2] + o, C, wp, w, q, orow + ox * out_c, out_c);
                else vww_dw3x3_quad_s2(rp[0] + o, rp[1] + o, rp[2] + o, C, wp, w, q, orow + ox * out_c, out_c);
            }
        for (; ox < out_w; ox++)
            for (int ic = 0; ic < in_c; ic++)
                for (int m = 0; m < depth_mult; m++) {
                    int oc = ic * depth_mult + m;
                    int32_t acc = Q.ch[oc].bias;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            acc += w[oc * wk + ky * wr + kx] * rp[ky][ic * wp + ox * stride_w + kx * dil_w];
                    orow[ox * out_c + oc] = vww_out(acc, &Q, oc);
                }
    }
}

void vww_avgpool_s8(const int8_t *in, int in_h, int in_w, int c, int fh, int fw, int stride_h, int stride_w,
                    int pad_t, int pad_l, int32_t act_min, int32_t act_max, int8_t *out, int out_h, int out_w)
{
    for (int oy = 0; oy < out_h; oy++)
        for (int ox = 0; ox < out_w; ox++) {
            int iy0 = oy * stride_h - pad_t, ix0 = ox * stride_w - pad_l;
            int y0 = iy0 < 0 ? -iy0 : 0, y1 = fh < in_h - iy0 ? fh : in_h - iy0;
            int x0 = ix0 < 0 ? -ix0 : 0, x1 = fw < in_w - ix0 ? fw : in_w - ix0;
            int count = (y1 - y0) * (x1 - x0);
            for (int ch = 0; ch < c; ch++) {
                int32_t acc = 0;
                for (int fy = y0; fy < y1; fy++)
                    for (int fx = x0; fx < x1; fx++) acc += in[((iy0 + fy) * in_w + ix0 + fx) * c + ch];
                /* round half away from zero, as the reference kernel */
                acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                acc = acc < act_min ? act_min : acc;
                acc = acc > act_max ? act_max : acc;
                out[(oy * out_w + ox) * c + ch] = (int8_t)acc;
            }
        }
}

void vww_add_s8(const int8_t *a, const int8_t *b, int n, const vww_add_t *p, int8_t *out)
{
    for (int i = 0; i < n; i++) {
        int32_t x = (int32_t)((uint32_t)(p->in1_off + a[i]) << p->left_shift);
        int32_t y = (int32_t)((uint32_t)(p->in2_off + b[i]) << p->left_shift);
        int32_t s = vww_mbqm(x, p->in1_mult, p->in1_shift) + vww_mbqm(y, p->in2_mult, p->in2_shift);
        int32_t r = vww_mbqm(s, p->out_mult, p->out_shift) + p->out_off;
        r = r < p->act_min ? p->act_min : r;
        r = r > p->act_max ? p->act_max : r;
        out[i] = (int8_t)r;
    }
}

void vww_pad_s8(const int8_t *in, const int32_t *shape, const int32_t *before, const int32_t *after,
                int8_t value, int8_t *out)
{
    int32_t o[4];
    for (int i = 0; i < 4; i++) o[i] = before[i] + shape[i] + after[i];
    for (int a = 0; a < o[0]; a++)
        for (int b = 0; b < o[1]; b++)
            for (int c = 0; c < o[2]; c++) {
                int ia = a - before[0], ib = b - before[1], ic = c - before[2];
                int inside = ia >= 0 && ia < shape[0] && ib >= 0 && ib < shape[1] && ic >= 0 && ic < shape[2];
                int8_t *dst = out + ((a * o[1] + b) * o[2] + c) * o[3];
                if (!inside) { memset(dst, value, (size_t)o[3]); continue; }
                memset(dst, value, (size_t)before[3]);
                memcpy(dst + before[3], in + ((ia * shape[1] + ib) * shape[2] + ic) * shape[3], (size_t)shape[3]);
                memset(dst + before[3] + shape[3], value, (size_t)after[3]);
            }
}

/* gemmlowp fixed point, as TFLite's reference softmax uses it */
static int32_t vww_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}
static int32_t vww_rdbpot(int32_t x, int e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1), rem = x & mask, thr = (mask >> 1) + (x < 0);
    return (x >> e) + (rem > thr);
}
static int32_t vww_srmpot(int32_t x, int e)  /* SaturatingRoundingMultiplyByPOT */
{
    if (e < 0) return vww_rdbpot(x, -e);
    if (e == 0) return x;
    int32_t thr = (int32_t)((1u << (31 - e)) - 1);
    if (x > thr) return INT32_MAX;
    if (x < -thr) return INT32_MIN;
    return (int32_t)((uint32_t)x << e);
}
static int32_t vww_exp_quarter(int32_t a)  /* exp(a) for a in [-1/4, 0), Q0.31 */
{
    const int32_t constant_term = 1895147668, one_third = 715827883;
    int32_t x = a + (1 << 28), x2 = vww_srdhm(x, x), x3 = vww_srdhm(x2, x), x4 = vww_srdhm(x2, x2);
    int32_t x4_4 = vww_srmpot(x4, -2);
    int32_t t = vww_srmpot(vww_srdhm(x4_4 + x3, one_third) + x2, -1);
    return constant_term + vww_srdhm(constant_term, x + t);
}
static int32_t vww_exp_neg(int32_t a)  /* exp(a) for a <= 0: input Q5.26, result Q0.31 */
{
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t quarter = 1 << 24;
    int32_t a_mod = (a & (quarter - 1)) - quarter;
    int32_t result = vww_exp_quarter(vww_srmpot(a_mod, 5));
    int32_t rem = a_mod - a;
    for (int i = 0; i < 7; i++)
        if (rem & (1 << (24 + i))) result = vww_srdhm(result, mult[i]);
    return a == 0 ? INT32_MAX : result;
}
static int32_t vww_one_over_one_plus_x(int32_t a)  /* 1 / (1 + a) for a in [0, 1), Q0.31 */
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + vww_srdhm(half_den, -1010580540);
    for (int i = 0; i < 3; i++) {
        int32_t one_minus = (1 << 29) - vww_srdhm(half_den, x);  /* F2 one */
        x = x + vww_srmpot(vww_srdhm(x, one_minus), 2);
    }
    return vww_srmpot(x, 1);
}

void vww_softmax_s8(const int8_t *in, int rows, int depth, int32_t mult, int32_t left_shift, int32_t diff_min,
                    int8_t *out)
{
    for (int r = 0; r < rows; r++, in += depth, out += depth) {
        int32_t mx = -128, sum = 0;
        for (int c = 0; c < depth; c++) mx = in[c] > mx ? in[c] : mx;
        for (int c = 0; c < depth; c++) {
            int32_t d = in[c] - mx;
            if (d >= diff_min) sum += vww_rdbpot(vww_exp_neg(vww_srdhm((int32_t)((uint32_t)d << left_shift), mult)), 12);
        }
        int headroom = 0;
        while (headroom < 32 && !((uint32_t)sum & (0x80000000u >> headroom))) headroom++;
        int bits_over_unit = 12 - headroom;
        int32_t scale = vww_one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        int e = bits_over_unit + 31 - 8;
        for (int c = 0; c < depth; c++) {
            int32_t d = in[c] - mx;
            if (d >= diff_min) {
                int32_t v = vww_rdbpot(vww_srdhm(scale, vww_exp_neg(vww_srdhm((int32_t)((uint32_t)d << left_shift), mult))), e) - 128;
                out[c] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
            } else out[c] = -128;
        }
    }
}
