/* vww_kernels: int8 kernels of the vww_kit native backend (C99, no dependency beyond the C library).
 * Each kernel computes exactly what TensorFlow Lite Micro's reference kernel computes, bit for bit:
 * the int32 sums are exact, and requantization is TFLite's MultiplyByQuantizedMultiplier (double rounding).
 * Define VWW_USE_SMLAD on a Cortex-M4/M7 (or any core with the DSP extension) for the SIMD multiply-accumulate path;
 * it computes the same integers. */
#ifndef VWW_KERNELS_H
#define VWW_KERNELS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VWW_USE_SMLAD) && !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
#error "VWW_USE_SMLAD needs a core with the DSP extension (Cortex-M4/M7/M33/M55): compile with -mcpu=cortex-m4 or leave it undefined"
#endif

/* Per output channel constants of one op */
typedef struct {
    int32_t bias;    /* for 1x1 convolutions, fully connected and depthwise the input offset is folded in */
    int32_t mult;    /* Q31 multiplier (QuantizeMultiplier), in [2^30, 2^31) */
    int32_t kh;      /* single-rounding form: high word of 2^30 + 2^(30 + rs), rs = -shift (see vww_mbqm_fast) */
    int8_t shift;    /* exponent: > 0 shifts left, < 0 rounds right */
    int8_t rsm1;     /* rs - 1 */
    int16_t pad;
} vww_chan_t;

/* Requantization of one op's int32 sums to int8 */
typedef struct {
    const vww_chan_t *ch;
    int32_t out_zp, act_min, act_max;
    int32_t fast;    /* every channel rounds right by 2 or more bits: the single-rounding form applies */
} vww_requant_t;

/* TFLite MultiplyByQuantizedMultiplier, double rounding: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT */
static inline int32_t vww_mbqm(int32_t x, int32_t m, int shift)
{
    int ls = shift > 0 ? shift : 0, rs = shift > 0 ? 0 : -shift;
    /* (ab + 2^30) >> 31 with an arithmetic shift equals gemmlowp's nudge-and-truncate form for every a, b
     * except a == b == INT32_MIN, impossible here: multipliers are positive */
    int32_t r = (int32_t)(((int64_t)(int32_t)((uint32_t)x << ls) * m + ((int64_t)1 << 30)) >> 31);
    if (rs) {
        int32_t mask = (int32_t)((1u << rs) - 1u), rem = r & mask, thr = (mask >> 1) + (r < 0);
        r = (r >> rs) + (rem > thr);
    }
    return r;
}

/* The same integer as vww_mbqm(acc, m, -rs) for rs >= 2, in one 64-bit sum. With p = acc * m:
 *   SaturatingRoundingDoublingHighMul = floor((p + 2^30) / 2^31) = r1, then
 *   RoundingDivideByPOT(r1, rs) = floor((r1 + 2^(rs-1) - [r1 < 0]) / 2^rs)
 *                               = floor((p + 2^30 + 2^(30+rs) - 2^31 [r1 < 0]) / 2^(31+rs))   (nested floors)
 * and r1 < 0 exactly when acc < 0, because m >= 2^30 (QuantizeMultiplier's range); for m == 2^30, acc == -1 both
 * forms give 0. Dividing by 2^(31+rs) >= 2^32 is taking the high word and shifting it right by rs - 1. */
static inline int32_t vww_mbqm_fast(int32_t acc, const vww_chan_t *c)
{
    int64_t t = (int64_t)(((uint64_t)(uint32_t)c->kh << 32) | 0x40000000u) + (int64_t)acc * c->mult
              - (int64_t)((uint64_t)((uint32_t)acc >> 31) << 31);
    return (int32_t)(t >> 32) >> c->rsm1;
}

static inline int8_t vww_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

static inline int8_t vww_out(int32_t acc, const vww_requant_t *q, int c)
{
    const vww_chan_t *k = q->ch + c;
    int32_t v = q->fast ? vww_mbqm_fast(acc, k) : vww_mbqm(acc, k->mult, k->shift);
    return vww_clamp(v + q->out_zp, q->act_min, q->act_max);
}

/* CONV_2D, any kernel, stride, dilation and padding. w: pairs of output channels, each pair's two rows of
 * kp = kh*kw*in_c (rounded up to 4 with zeros) interleaved as vww_kernels.c describes; out_c rounded up to even.
 * scratch: 3*kp int16, 4-byte aligned. */
void vww_conv_s8(const int8_t *in, int in_h, int in_w, int in_c,
                 const int8_t *w, int kh, int kw, int kp,
                 int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                 const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int16_t *scratch);

/* 1x1 CONV_2D with stride 1 and FULLY_CONNECTED: `pixels` rows of in_c values times weights laid out as for
 * vww_conv_s8. The input offset is folded into the bias. scratch: 2*kp int16, 4-byte aligned. */
void vww_pointwise_s8(const int8_t *in, int pixels, int in_c, const int8_t *w, int kp,
                      const vww_requant_t *q, int8_t *out, int out_c, int16_t *scratch);

/* DEPTHWISE_CONV_2D. w: (out_c, kh, kw4), each channel's taps together, each kernel row padded with zeros to
 * kw4 = kw rounded up to 4 bytes; out_c = in_c * depth_mult.
 * The bias has in_off * (sum of the channel's kh*kw weights) folded in: the kernel copies kh input rows at a time,
 * channel-major, into `rows` (kh * padded width * in_c bytes, kh <= 16), filling the padding with the input zero
 * point, so every tap is a plain product. */
void vww_depthwise_s8(const int8_t *in, int in_h, int in_w, int in_c,
                      const int8_t *w, int kh, int kw, int depth_mult,
                      int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                      const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int8_t *rows);

/* AVERAGE_POOL_2D (input and output share scale and zero point, as TFLite requires) */
void vww_avgpool_s8(const int8_t *in, int in_h, int in_w, int c, int fh, int fw, int stride_h, int stride_w,
                    int pad_t, int pad_l, int32_t act_min, int32_t act_max, int8_t *out, int out_h, int out_w);

/* ADD of two same-shape tensors, TFLite's int8 arithmetic (left shift 20) */
typedef struct {
    int32_t in1_off, in2_off, out_off, left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift, act_min, act_max;
} vww_add_t;
void vww_add_s8(const int8_t *a, const int8_t *b, int n, const vww_add_t *p, int8_t *out);

/* PAD / PADV2 of a 4-D tensor: before[i], after[i] elements on axis i */
void vww_pad_s8(const int8_t *in, const int32_t *shape, const int32_t *before, const int32_t *after,
                int8_t value, int8_t *out);

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), as TFLite Micro's reference kernel */
void vww_softmax_s8(const int8_t *in, int rows, int depth, int32_t mult, int32_t left_shift, int32_t diff_min,
                    int8_t *out);

#ifdef __cplusplus
}
#endif
#endif
