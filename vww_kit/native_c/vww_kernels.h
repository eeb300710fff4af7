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
    int32_t bias;    /* the input offset is folded in (sum of the channel's weights times the input offset) */
    int32_t mult;    /* Q31 multiplier (QuantizeMultiplier), in [2^30, 2^31) */
    int32_t kr;      /* fast form: out_zp * 2^rs + (rs ? 2^(rs-1) : 0), see vww_rq_fast */
    int8_t shift;    /* exponent: > 0 shifts left, < 0 rounds right */
    int8_t rs;       /* -shift, the right shift of the fast form */
    int8_t nm;       /* -1 when rs >= 1 (round ties away from zero below zero), else 0 */
    int8_t pad;
} vww_chan_t;

/* Requantization of one op's int32 sums to int8 */
enum { VWW_RQ_GENERAL = 0, VWW_RQ_FAST = 1, VWW_RQ_FAST_SAT = 2, VWW_RQ_FAST_RELU = 3 };
/* The modes the kernels are built for, a bit each: native_sources writes its model's here, so that the hot loops
 * of the other modes are left out of the build (flash). All four by default. */
#ifndef VWW_MODES
#define VWW_MODES 0xf
#endif
#define VWW_HAS_MODE(m) ((VWW_MODES >> (m)) & 1)
/* The fewest output channels among the model's 3x3 convolutions over 3 channels with stride 2 (the usual first
 * layer; 0: none). native_sources writes its model's here: the direct first-layer kernel is left out of a build
 * that would not run it. 1 by default (kept). */
#ifndef VWW_FIRST_LAYER_C
#define VWW_FIRST_LAYER_C 1
#endif
/* 1 where a fused 1x1 convolution has at most four input channels (its direct kernel is then built); the same */
#ifndef VWW_SMALL_1X1
#define VWW_SMALL_1X1 1
#endif
typedef struct {
    const vww_chan_t *ch;
    int32_t out_zp, act_min, act_max;
    int32_t mode;    /* VWW_RQ_GENERAL; VWW_RQ_FAST: every channel rounds right by at least one bit (shift <= -1, so
                      * nm == -1) and every sum fits in 30 bits, so the one-multiply form applies (vww_rq_fast2);
                      * VWW_RQ_FAST_SAT: that, and the activation range is all of int8 (act_min -128, act_max 127),
                      * so the clamp is a plain saturation; VWW_RQ_FAST_RELU: that, and the output zero point
                      * is -128 (a ReLU's range): a negative sum gives -128 with or without the rounding's sign
                      * correction, which the hot loops then leave out (vww_rq_relu2) */
    int32_t lanes;   /* 1 where every channel's 128 * sum |w| < 2^22: two sums fit one 64-bit accumulator (VWW_LANES) */
} vww_requant_t;

/* Portable C: two sums in one 64-bit accumulator where a 32 x 32 + 64 multiply-accumulate is one instruction (Arm
 * v7-M and up, 64-bit hosts). Define VWW_NO_LANES to leave it out. */
#if !defined(VWW_USE_SMLAD) && !defined(VWW_NO_LANES) && \
    (defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
     defined(__ARM_ARCH_8_1M_MAIN__) || \
     defined(__x86_64__) || defined(__aarch64__))
#define VWW_LANES 1
#endif

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

/* The same integer as vww_mbqm(acc, m, -rs) + out_zp, with one 32x32 multiply whose high word is rounded.
 * With p = acc * m and n = [acc < 0] (for rs >= 1; 0 for rs == 0):
 *   SaturatingRoundingDoublingHighMul     r1 = floor((p + 2^30) / 2^31)
 *   RoundingDivideByPOT(r1, rs)            = floor((r1 + 2^(rs-1) - n) / 2^rs)        (ties away from zero)
 * and, nesting the floors and doubling numerator and denominator,
 *   result + out_zp = floor( floor((2acc * m + 2^32 (kr - n) + 2^31) / 2^32) / 2^rs ),  kr = out_zp 2^rs + 2^(rs-1)
 * The inner floor is exactly what SMMLAR computes (high word of Ra:0 + Rn*Rm, rounded). r1 < 0 exactly when
 * acc < 0 because m >= 2^30 (for acc == -1, m == 2^30 both forms give 0). Needs |2acc| < 2^31 and a high word in
 * int32, which the generator checks per layer (VWW_RQ_FAST*). */
static inline int32_t vww_rq_fast(int32_t acc, int32_t m, int32_t kr, int32_t nm, int rs)
{
    int32_t ra = kr + ((acc >> 31) & nm), a2 = (int32_t)((uint32_t)acc << 1), y;
#ifdef VWW_USE_SMLAD
    __asm__("smmlar %0, %1, %2, %3" : "=r"(y) : "r"(a2), "r"(m), "r"(ra));
#else
    y = (int32_t)(((int64_t)(((uint64_t)(uint32_t)ra << 32) | 0x80000000u) + (int64_t)a2 * m) >> 32);
#endif
    return y >> rs;
}

/* vww_rq_fast for the hot loops, where the generator guarantees rs >= 1 for every channel (VWW_RQ_FAST*), so
 * nm == -1: the sign correction is one add of acc2 >> 31. acc2 is the sum already doubled (2 acc): the matrix
 * kernels get it for free from patches holding doubled inputs and a doubled bias. */
static inline int32_t vww_rq_fast2(int32_t acc2, int32_t m, int32_t kr, int rs)
{
    int32_t ra = kr + (acc2 >> 31), y;
#ifdef VWW_USE_SMLAD
    __asm__("smmlar %0, %1, %2, %3" : "=r"(y) : "r"(acc2), "r"(m), "r"(ra));
#else
    y = (int32_t)(((int64_t)(((uint64_t)(uint32_t)ra << 32) | 0x80000000u) + (int64_t)acc2 * m) >> 32);
#endif
    return y >> rs;
}

/* vww_rq_fast2 without the sign correction: equal to it for every acc2 >= 0. For acc2 < 0 both are at most out_zp
 * (2 acc m <= -2^31, as m >= 2^30, so the rounding terms, 2^(31+rs) + 2^31, leave the numerator below 2^(32+rs)),
 * so where out_zp is -128 and the result is saturated to int8 both give -128 (VWW_RQ_FAST_RELU). SMMLAR then takes
 * kr as it is: one add less. Portable C keeps the correction: there it costs nothing, the add taking the place of
 * the copy of kr that the 64-bit multiply-accumulate (which overwrites its accumulator) needs anyway. */
static inline int32_t vww_rq_relu2(int32_t acc2, int32_t m, int32_t kr, int rs)
{
#ifdef VWW_USE_SMLAD
    int32_t y;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(y) : "r"(acc2), "r"(m), "r"(kr));
    return y >> rs;
#else
    return vww_rq_fast2(acc2, m, kr, rs);
#endif
}

/* The fast modes' requantization of a doubled sum, before the clamp */
#define VWW_RQ_FAST2(mode, acc2, m, kr, rs) \
    ((mode) == VWW_RQ_FAST_RELU ? vww_rq_relu2(acc2, m, kr, rs) : vww_rq_fast2(acc2, m, kr, rs))
/* The modes whose clamp is a plain saturation to int8 */
#define VWW_SAT_MODE(mode) ((mode) == VWW_RQ_FAST_SAT || (mode) == VWW_RQ_FAST_RELU)

static inline int8_t vww_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* Saturation to int8 (one SSAT where the core has it) */
static inline int8_t vww_sat8(int32_t v)
{
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    __asm__("ssat %0, #8, %0" : "+r"(v));
    return (int8_t)v;
#else
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
#endif
}

/* The same, kept in an int32_t (no sign extension after the SSAT when the value is packed with others) */
static inline int32_t vww_sat8_32(int32_t v)
{
#if defined(__ARM_FEATURE_SAT) && __ARM_FEATURE_SAT
    __asm__("ssat %0, #8, %0" : "+r"(v));
    return v;
#else
    return v > 127 ? 127 : (v < -128 ? -128 : v);
#endif
}

/* One output of channel c, any mode (the hot loops specialize on the mode instead) */
static inline int8_t vww_out(int32_t acc, const vww_requant_t *q, int c)
{
    const vww_chan_t *k = q->ch + c;
    if (q->mode == VWW_RQ_GENERAL) return vww_clamp(vww_mbqm(acc, k->mult, k->shift) + q->out_zp, q->act_min, q->act_max);
    return vww_clamp(vww_rq_fast(acc, k->mult, k->kr, k->nm, k->rs), q->act_min, q->act_max);
}

/* CONV_2D, any kernel, stride, dilation and padding. w: pairs of output channels, each pair's two rows of
 * kp = kh*kw*in_c (rounded up to 4 with zeros) interleaved as vww_kernels.c describes; out_c rounded up to even.
 * The input offset is folded into the bias: the filter's overhang reads the input zero point -in_off.
 * scratch: 12*kp bytes (four int16 patches, then four int8 rows), 4-byte aligned; for a 3x3 filter over 3 channels
 * with stride 2 (the usual first layer, up to 84 output channels), at least ((4*out_c + 81 + 3) & ~3) + 108 bytes
 * a pair of output channels (packed weights of the portable path). */
void vww_conv_s8(const int8_t *in, int in_h, int in_w, int in_c,
                 const int8_t *w, int kh, int kw, int kp,
                 int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                 const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int16_t *scratch);

/* 1x1 CONV_2D with stride 1 and FULLY_CONNECTED: `pixels` rows of in_c values times weights laid out as for
 * vww_conv_s8. The input offset is folded into the bias. scratch: 8*kp bytes (four int16 patches), 4-byte aligned.
 * Each pixel's inputs are read a word at a time up to kp (the weights there are zeros): up to 3 bytes past the last
 * pixel, which must be readable (the generated arena has 4 bytes of slack). */
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

/* A 1x1 CONV_2D (stride 1) fused into the DEPTHWISE_CONV_2D that reads its output: the depthwise kernel computes
 * each input row it needs right before it needs it, straight into its row cache (channel-major, four pixels of a
 * channel a word; the last one to three pixels of a row through `row`, in_w * in_c bytes), so the 1x1
 * convolution's output (in MobileNetV2, the expanded tensor, the largest) never exists whole. */
typedef struct {
    const int8_t *in;          /* the 1x1 convolution's input, in_w pixels of in_c values a row (read as by
                                * vww_pointwise_s8: up to 3 bytes past the last pixel) */
    int in_c;
    const int8_t *w;           /* its weights and constants, as for vww_pointwise_s8 */
    int kp;
    const vww_requant_t *q;
    int8_t *row;               /* one row of its output */
    int16_t *scratch;          /* its patches: 8*kp bytes */
} vww_expand_t;
void vww_expand_depthwise_s8(const int8_t *in, const vww_expand_t *ex, int in_h, int in_w, int in_c,
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

/* QUANTIZE int8 -> int8, TFLite's Requantize: (x - in_zp) times the multiplier (double rounding), plus out_zp,
 * saturated to int8. out may be in (the same elements). */
void vww_requant_s8(const int8_t *in, int n, int32_t in_zp, int32_t mult, int32_t shift, int32_t out_zp, int8_t *out);

/* PAD / PADV2 of a 4-D tensor: before[i], after[i] elements on axis i */
void vww_pad_s8(const int8_t *in, const int32_t *shape, const int32_t *before, const int32_t *after,
                int8_t value, int8_t *out);

/* n bytes from src to dst, a word at a time (the model input into the arena: a C library's memcpy may go bytewise) */
void vww_copy_s8(int8_t *dst, const int8_t *src, int n);

/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128), as TFLite Micro's reference kernel */
void vww_softmax_s8(const int8_t *in, int rows, int depth, int32_t mult, int32_t left_shift, int32_t diff_min,
                    int8_t *out);

#ifdef __cplusplus
}
#endif
#endif
