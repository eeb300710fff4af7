/* vww_kernels: see vww_kernels.h. Integer results equal TensorFlow Lite Micro's reference kernels. */
#include <string.h>
#include "vww_kernels.h"

#if defined(__GNUC__)
/* noinline keeps the hot loops' registers to themselves; unused: the loops of modes a model lacks are left out */
#define VWW_NOINLINE __attribute__((noinline, unused))
#else
#define VWW_NOINLINE
#endif
/* GCC's scheduling before register allocation hoists the loads of the hot loops and runs the 13 registers of a
 * Cortex-M out: spills inside the loop. The loops are written in the order that needs the fewest registers. */
#if defined(__GNUC__) && !defined(__clang__)
#define VWW_HOT VWW_NOINLINE __attribute__((optimize("no-schedule-insns")))
#else
#define VWW_HOT VWW_NOINLINE
#endif

/* The hot loops come in one function per requantization mode; the one for mode m, naming only the functions of
 * the modes built (VWW_MODES: the others are left out of the build). The generated model holds no other mode. */
#define VWW_PICK(m, relu, sat, fast, general)                                                       \
    ((m) == VWW_RQ_FAST_RELU && VWW_HAS_MODE(VWW_RQ_FAST_RELU) ? (relu) :                           \
     (m) == VWW_RQ_FAST_SAT && VWW_HAS_MODE(VWW_RQ_FAST_SAT) ? (sat) :                              \
     (m) == VWW_RQ_FAST && VWW_HAS_MODE(VWW_RQ_FAST) ? (fast) :                                     \
     VWW_HAS_MODE(VWW_RQ_GENERAL) ? (general) : VWW_HAS_MODE(VWW_RQ_FAST_RELU) ? (relu) :          \
     VWW_HAS_MODE(VWW_RQ_FAST_SAT) ? (sat) : (fast))

/* Matrix products use one layout for patches and weights, built so that the SMLAD path needs no shuffling:
 * the reduction axis goes in groups of 4 (k, k+1, k+2, k+3) split into two pairs (k, k+2) and (k+1, k+3), the
 * order in which SXTB16 unpacks 4 packed bytes. Four pixels (t = 0..3) are computed at once against two output
 * channels (c = 0, 1): eight sums, every loaded weight used four times and every patch value twice.
 *   patch (four pixels; int16): P[16g + 8j + 2t + h] = x_t[4g + j + 2h]
 *   weights (two channels; int8): W[8g + 4j + 2h + c] = w_c[4g + j + 2h]
 * so one 32-bit word of weights holds (k, k+2) of both channels and four consecutive patch words hold (k, k+2)
 * of the four pixels. The sums are the same in any order; the portable path walks the same layout. */

#ifdef VWW_USE_SMLAD
/* Cortex-M DSP extension. Sums are exact int32 either way; only the instruction count changes. */
typedef uint32_t __attribute__((may_alias, aligned(4))) vww_w32;
static inline uint32_t vww_sxtb16(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t vww_sxtb16_ror8(uint32_t x) { uint32_t r; __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t vww_dbl16(uint32_t x) { uint32_t r; __asm__("sadd16 %0, %1, %1" : "=r"(r) : "r"(x)); return r; }
static inline uint32_t vww_read32(const int8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline int32_t vww_smlad(uint32_t a, uint32_t b, int32_t acc)
{ __asm__("smlad %0, %1, %2, %0" : "+r"(acc) : "r"(a), "r"(b)); return acc; }
/* Loads with post-increment, kept in program order (volatile): the compiler's scheduler would otherwise hoist
 * them and run out of registers (eight sums, two unpacked weights, one patch word and three pointers fill r0-r12, lr) */
#define VWW_LDR_POST(r, ptr, inc) __asm__ volatile("ldr %0, [%1], #" #inc : "=r"(r), "+r"(ptr))
#define VWW_STRD(ptr, off, a, b) __asm__ volatile("strd %1, %2, [%0, #" #off "]" : : "r"(ptr), "r"(a), "r"(b) : "memory")
#define VWW_LDRD_POST(r0, r1, ptr) __asm__ volatile("ldrd %0, %1, [%2], #8" : "=r"(r0), "=r"(r1), "+r"(ptr))
/* The first step of a pair of channels starts the eight sums from the two biases (no copies) */
static inline int32_t vww_smlad3(uint32_t a, uint32_t b, int32_t acc)
{ int32_t r; __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc)); return r; }
#define VWW_MM_J0                                                                                   \
    VWW_LDR_POST(u, v, 4); ub = vww_sxtb16_ror8(u); u = vww_sxtb16(u);                               \
    VWW_LDRD_POST(x, y, p); a00 = vww_smlad3(x, u, b0); a01 = vww_smlad3(x, ub, b1);                 \
    a10 = vww_smlad3(y, u, b0); a11 = vww_smlad3(y, ub, b1);                                         \
    VWW_LDRD_POST(x, y, p); a20 = vww_smlad3(x, u, b0); a21 = vww_smlad3(x, ub, b1);                 \
    a30 = vww_smlad3(y, u, b0); a31 = vww_smlad3(y, ub, b1);
#define VWW_MM_J                                                                                    \
    VWW_LDR_POST(u, v, 4); ub = vww_sxtb16_ror8(u); u = vww_sxtb16(u);                               \
    VWW_LDRD_POST(x, y, p); a00 = vww_smlad(x, u, a00); a01 = vww_smlad(x, ub, a01);                 \
    a10 = vww_smlad(y, u, a10); a11 = vww_smlad(y, ub, a11);                                         \
    VWW_LDRD_POST(x, y, p); a20 = vww_smlad(x, u, a20); a21 = vww_smlad(x, ub, a21);                 \
    a30 = vww_smlad(y, u, a30); a31 = vww_smlad(y, ub, a31);
#endif

/* Requantize the four pixels' sums of one channel and store them. In the fast modes the sums are doubled (patches
 * of doubled inputs, doubled bias): vww_rq_fast2 */
#define VWW_STORE4(c, s0, s1, s2, s3)                                                               \
    {                                                                                               \
        const vww_chan_t *k = Q.ch + (c);                                                           \
        if (mode == VWW_RQ_GENERAL) {                                                               \
            int32_t m = k->mult, sh = k->shift;                                                     \
            o0[c] = vww_clamp(vww_mbqm(s0, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                \
            o1[c] = vww_clamp(vww_mbqm(s1, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                \
            o2[c] = vww_clamp(vww_mbqm(s2, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                \
            o3[c] = vww_clamp(vww_mbqm(s3, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                \
        } else {                                                                                    \
            int32_t m = k->mult, kr = k->kr, rs = k->rs;                                            \
            if (VWW_SAT_MODE(mode)) {                                                               \
                o0[c] = vww_sat8(VWW_RQ_FAST2(mode, s0, m, kr, rs));                                \
                o1[c] = vww_sat8(VWW_RQ_FAST2(mode, s1, m, kr, rs));                                \
                o2[c] = vww_sat8(VWW_RQ_FAST2(mode, s2, m, kr, rs));                                \
                o3[c] = vww_sat8(VWW_RQ_FAST2(mode, s3, m, kr, rs));                                \
            } else {                                                                                \
                o0[c] = vww_clamp(vww_rq_fast2(s0, m, kr, rs), Q.act_min, Q.act_max);               \
                o1[c] = vww_clamp(vww_rq_fast2(s1, m, kr, rs), Q.act_min, Q.act_max);               \
                o2[c] = vww_clamp(vww_rq_fast2(s2, m, kr, rs), Q.act_min, Q.act_max);               \
                o3[c] = vww_clamp(vww_rq_fast2(s3, m, kr, rs), Q.act_min, Q.act_max);               \
            }                                                                                       \
        }                                                                                           \
    }

/* Four int8 values (in int32s) as the bytes of one word, the first lowest: three bit-field inserts on Thumb-2 */
static inline uint32_t vww_pack4(int32_t v0, int32_t v1, int32_t v2, int32_t v3)
{
#if defined(__GNUC__) && defined(__thumb2__)
    uint32_t r = (uint32_t)v0;
    __asm__("bfi %0, %1, #8, #8" : "+r"(r) : "r"(v1));
    __asm__("bfi %0, %1, #16, #8" : "+r"(r) : "r"(v2));
    __asm__("bfi %0, %1, #24, #8" : "+r"(r) : "r"(v3));
    return r;
#else
    return (uint32_t)(uint8_t)v0 | (uint32_t)(uint8_t)v1 << 8 | (uint32_t)(uint8_t)v2 << 16 | (uint32_t)(uint8_t)v3 << 24;
#endif
}

/* The same for channel-major output (planar): the four values go to d[0..3], one word store (need not be aligned
 * on a Cortex-M3 and up; elsewhere memcpy stores bytewise) */
#define VWW_STORE4P(d, c, s0, s1, s2, s3)                                                           \
    {                                                                                               \
        const vww_chan_t *k = Q.ch + (c);                                                           \
        int32_t v0, v1, v2, v3;                                                                     \
        if (mode == VWW_RQ_GENERAL) {                                                               \
            int32_t m = k->mult, sh = k->shift;                                                     \
            v0 = vww_clamp(vww_mbqm(s0, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                   \
            v1 = vww_clamp(vww_mbqm(s1, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                   \
            v2 = vww_clamp(vww_mbqm(s2, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                   \
            v3 = vww_clamp(vww_mbqm(s3, m, sh) + Q.out_zp, Q.act_min, Q.act_max);                   \
        } else {                                                                                    \
            int32_t m = k->mult, kr = k->kr, rs = k->rs;                                            \
            if (VWW_SAT_MODE(mode)) {                                                               \
                v0 = vww_sat8_32(VWW_RQ_FAST2(mode, s0, m, kr, rs));                                \
                v1 = vww_sat8_32(VWW_RQ_FAST2(mode, s1, m, kr, rs));                                \
                v2 = vww_sat8_32(VWW_RQ_FAST2(mode, s2, m, kr, rs));                                \
                v3 = vww_sat8_32(VWW_RQ_FAST2(mode, s3, m, kr, rs));                                \
            } else {                                                                                \
                v0 = vww_clamp(vww_rq_fast2(s0, m, kr, rs), Q.act_min, Q.act_max);                  \
                v1 = vww_clamp(vww_rq_fast2(s1, m, kr, rs), Q.act_min, Q.act_max);                  \
                v2 = vww_clamp(vww_rq_fast2(s2, m, kr, rs), Q.act_min, Q.act_max);                  \
                v3 = vww_clamp(vww_rq_fast2(s3, m, kr, rs), Q.act_min, Q.act_max);                  \
            }                                                                                       \
        }                                                                                           \
        uint32_t wd = vww_pack4(v0, v1, v2, v3);                                                    \
        memcpy((d), &wd, 4);                                                                        \
    }

/* The eight sums of a channel pair (aTC: pixel T, channel co + C) requantized and stored: HWC through o0..o3, or with
 * planar channel co's four values at o0 and channel co + 1's at o0 + cs; the second channel only if `second` */
#define VWW_STORE_PAIR                                                                              \
    if (planar) {                                                                                   \
        VWW_STORE4P(o0, co, a00, a10, a20, a30)                                                     \
        if (second) VWW_STORE4P(o0 + cs, co + 1, a01, a11, a21, a31)                                \
    } else {                                                                                        \
        VWW_STORE4(co, a00, a10, a20, a30)                                                          \
        if (second) VWW_STORE4(co + 1, a01, a11, a21, a31)                                          \
    }

/* Four patches times pairs of weight rows (kp a multiple of 4): all output channels of four pixels, written to
 * o0..o3 (a pixel missing at the end of a row of pixels repeats the last one: same values written twice). */
static inline __attribute__((always_inline))
const int8_t *vww_matmul_pair(const int16_t *P, const int8_t *w, const int8_t *v, int kp, const vww_requant_t Q, int co,
                             int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, const int mode, const int second,
                             int cs, const int planar)
{
    {
        const int db = mode != VWW_RQ_GENERAL;   /* the fast modes' sums are doubled */
#ifdef VWW_USE_SMLAD
        const int32_t b0 = Q.ch[co].bias * (1 << db), b1 = Q.ch[co + 1].bias * (1 << db);   /* (no shift of a negative) */
        (void)w;
        int32_t a00, a01, a10, a11, a20, a21, a30, a31;
        const int8_t *end = v + 2 * kp;
        const int16_t *p = P;
        uint32_t u, ub, x, y;
        /* the first group, then one more if an odd number is left, then two groups a pass (the loop's end test
         * costs three instructions: its bound lives on the stack) */
        VWW_MM_J0 VWW_MM_J
        if (!(kp & 4)) { VWW_MM_J VWW_MM_J }
        while (v < end) { VWW_MM_J VWW_MM_J VWW_MM_J VWW_MM_J }
#else
        int32_t a00 = Q.ch[co].bias * (1 << db), a01 = Q.ch[co + 1].bias * (1 << db);
        int32_t a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
        const int8_t *end;
        const int16_t *p = P;
        int32_t wa, wb, x;
        (void)v; v = w + co * kp; end = v + 2 * kp;
        /* weights byte 4j + 2h + c, patch value 8j + 2t + h */
        do {
            wa = v[0]; wb = v[1];
            x = p[0]; a00 += x * wa; a01 += x * wb; x = p[2]; a10 += x * wa; a11 += x * wb;
            x = p[4]; a20 += x * wa; a21 += x * wb; x = p[6]; a30 += x * wa; a31 += x * wb;
            wa = v[2]; wb = v[3];
            x = p[1]; a00 += x * wa; a01 += x * wb; x = p[3]; a10 += x * wa; a11 += x * wb;
            x = p[5]; a20 += x * wa; a21 += x * wb; x = p[7]; a30 += x * wa; a31 += x * wb;
            wa = v[4]; wb = v[5];
            x = p[8]; a00 += x * wa; a01 += x * wb; x = p[10]; a10 += x * wa; a11 += x * wb;
            x = p[12]; a20 += x * wa; a21 += x * wb; x = p[14]; a30 += x * wa; a31 += x * wb;
            wa = v[6]; wb = v[7];
            x = p[9]; a00 += x * wa; a01 += x * wb; x = p[11]; a10 += x * wa; a11 += x * wb;
            x = p[13]; a20 += x * wa; a21 += x * wb; x = p[15]; a30 += x * wa; a31 += x * wb;
            v += 8; p += 16;
        } while (v < end);
#endif
        VWW_STORE_PAIR
    }
    return v;   /* the next pair's weights */
}
#define VWW_LANE0 (1 << 22)   /* packed sums start here: the low sum's bits then never borrow from the high one */
/* The first layer's packed weights need only the 64-bit multiply-accumulate: the VWW_LANES builds and the Cortex-M4/M7
 * SMLAD build (SMLAL) */
#if defined(VWW_LANES) || defined(VWW_USE_SMLAD)
#define VWW_STEM_PACKED 1
#endif
#ifdef VWW_LANES
/* Portable C, two sums in one 64-bit accumulator (where the compiler has a one-instruction 32 x 32 + 64
 * multiply-accumulate: SMLAL on Arm v7-M and up; and on 64-bit hosts). A patch word packs one input of two pixels,
 * x_a + 2^23 x_b (exact in int32), so one product by a weight adds w x_a + 2^23 w x_b: two multiply-accumulates in
 * one instruction. The generator sets q->lanes where every channel's 128 sum|w| < 2^22, so the low sum S_a stays
 * in [-2^22, 2^22): started at 2^22, the low 23 bits hold S_a + 2^22 and bits 23 and up hold S_b exactly.
 *   patch (four pixels; int32): L[8g + 2i + u] = x_{2u}[k_i] + 2^23 x_{2u+1}[k_i], k_i = 4g + (0, 2, 1, 3)[i]
 * which is the order in which the weights of a channel pair lie (W[8g + 4j + 2h + c] = w_c[4g + j + 2h]). */
static inline __attribute__((always_inline))
const int8_t *vww_matmul_pair_lanes(const int32_t *P, const int8_t *v, int kp, const vww_requant_t Q, int co,
                                    int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, const int mode, const int second,
                                    int cs, const int planar)
{
    const int db = mode != VWW_RQ_GENERAL;   /* the fast modes want doubled sums: doubled here, with the bias */
    const int8_t *end = v + 2 * kp;
    const int32_t *p = P;
    int64_t c00 = VWW_LANE0, c01 = VWW_LANE0, c10 = VWW_LANE0, c11 = VWW_LANE0;   /* c<pixel pair><channel> */
    int32_t wv, x, y;
    /* each weight is loaded right before its two products: few values alive (no spills); a group of four inputs
     * first where their count is odd, then two groups a pass */
#define VWW_LANES_GROUP                                                                             \
    x = p[0]; y = p[1]; wv = v[0]; c00 += (int64_t)x * wv; c10 += (int64_t)y * wv;                 \
    wv = v[1]; c01 += (int64_t)x * wv; c11 += (int64_t)y * wv;                                     \
    x = p[2]; y = p[3]; wv = v[2]; c00 += (int64_t)x * wv; c10 += (int64_t)y * wv;                 \
    wv = v[3]; c01 += (int64_t)x * wv; c11 += (int64_t)y * wv;                                     \
    x = p[4]; y = p[5]; wv = v[4]; c00 += (int64_t)x * wv; c10 += (int64_t)y * wv;                 \
    wv = v[5]; c01 += (int64_t)x * wv; c11 += (int64_t)y * wv;                                     \
    x = p[6]; y = p[7]; wv = v[6]; c00 += (int64_t)x * wv; c10 += (int64_t)y * wv;                 \
    wv = v[7]; c01 += (int64_t)x * wv; c11 += (int64_t)y * wv;                                     \
    v += 8; p += 8;
    if (kp & 4) { VWW_LANES_GROUP }
    while (v < end) { VWW_LANES_GROUP VWW_LANES_GROUP }
    {
        const int32_t b0 = Q.ch[co].bias * (1 << db), b1 = Q.ch[co + 1].bias * (1 << db);
        /* the low lanes' constant: the bias less the starting 2^22, both doubled; unsigned, so that a bias near
         * INT32_MIN wraps (defined) where the sum it is added to brings the result back into range */
        const uint32_t l0 = (uint32_t)b0 - ((uint32_t)VWW_LANE0 << db), l1 = (uint32_t)b1 - ((uint32_t)VWW_LANE0 << db);
        /* low lanes: pixels 0 and 2; high lanes: pixels 1 and 3 */
        int32_t a00 = (int32_t)((((uint32_t)c00 & 0x7fffffu) << db) + l0), a10 = (int32_t)(c00 >> 23) * (1 << db) + b0;
        int32_t a01 = (int32_t)((((uint32_t)c01 & 0x7fffffu) << db) + l1), a11 = (int32_t)(c01 >> 23) * (1 << db) + b1;
        int32_t a20 = (int32_t)((((uint32_t)c10 & 0x7fffffu) << db) + l0), a30 = (int32_t)(c10 >> 23) * (1 << db) + b0;
        int32_t a21 = (int32_t)((((uint32_t)c11 & 0x7fffffu) << db) + l1), a31 = (int32_t)(c11 >> 23) * (1 << db) + b1;
        VWW_STORE_PAIR
    }
    return v;
}
/* The packed patch of four pixels' n inputs (zeros up to kp) */
static VWW_NOINLINE void vww_patch4_lanes(const int8_t *x0, const int8_t *x1, const int8_t *x2, const int8_t *x3, int n,
                                          int kp, int32_t *L)
{
    int k = 0;
    (void)n;   /* up to kp, past n: the weights there are zeros (the arena has 4 bytes of slack) */
    for (; k < kp; k += 4, L += 8) {
        L[0] = x0[k] + x1[k] * (1 << 23); L[1] = x2[k] + x3[k] * (1 << 23);
        L[2] = x0[k + 2] + x1[k + 2] * (1 << 23); L[3] = x2[k + 2] + x3[k + 2] * (1 << 23);
        L[4] = x0[k + 1] + x1[k + 1] * (1 << 23); L[5] = x2[k + 1] + x3[k + 1] * (1 << 23);
        L[6] = x0[k + 3] + x1[k + 3] * (1 << 23); L[7] = x2[k + 3] + x3[k + 3] * (1 << 23);
    }
}
#endif
/* four pixels, channel-major output: channel c's four values at o + c * cs */
static inline __attribute__((always_inline))
void vww_matmul_planar_body(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q, int8_t *o, int cs,
                            int out_c, const int mode)
{
    const vww_requant_t Q = *q;
    int co = 0;
#ifdef VWW_USE_SMLAD
    for (; co + 1 < out_c; co += 2, o += 2 * cs) w = vww_matmul_pair(P, w, w, kp, Q, co, o, 0, 0, 0, mode, 1, cs, 1);
    if (co < out_c) vww_matmul_pair(P, w, w, kp, Q, co, o, 0, 0, 0, mode, 0, cs, 1);
#else
    for (; co < out_c; co += 2, o += 2 * cs) vww_matmul_pair(P, w, w, kp, Q, co, o, 0, 0, 0, mode, co + 1 < out_c, cs, 1);
#endif
}
static VWW_HOT void vww_matmul_planar_general(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                              int8_t *o, int cs, int out_c)
{ vww_matmul_planar_body(P, w, kp, q, o, cs, out_c, VWW_RQ_GENERAL); }
static VWW_HOT void vww_matmul_planar_fast(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                           int8_t *o, int cs, int out_c)
{ vww_matmul_planar_body(P, w, kp, q, o, cs, out_c, VWW_RQ_FAST); }
static VWW_HOT void vww_matmul_planar_sat(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                          int8_t *o, int cs, int out_c)
{ vww_matmul_planar_body(P, w, kp, q, o, cs, out_c, VWW_RQ_FAST_SAT); }
static VWW_HOT void vww_matmul_planar_relu(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                           int8_t *o, int cs, int out_c)
{ vww_matmul_planar_body(P, w, kp, q, o, cs, out_c, VWW_RQ_FAST_RELU); }
/* every pair of channels; an odd out_c's last pair stores its first channel only */
static inline __attribute__((always_inline))
void vww_matmul_body(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                     int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, int out_c, const int mode)
{
    const vww_requant_t Q = *q;
    int co = 0;
#ifdef VWW_USE_SMLAD
    for (; co + 1 < out_c; co += 2) w = vww_matmul_pair(P, w, w, kp, Q, co, o0, o1, o2, o3, mode, 1, 0, 0);
    if (co < out_c) vww_matmul_pair(P, w, w, kp, Q, co, o0, o1, o2, o3, mode, 0, 0, 0);
#else   /* one copy of the loop (two ran slower here: GCC allocates the registers of the portable loop worse) */
    for (; co < out_c; co += 2) vww_matmul_pair(P, w, w, kp, Q, co, o0, o1, o2, o3, mode, co + 1 < out_c, 0, 0);
#endif
}

static VWW_HOT void vww_matmul_general(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                            int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, int out_c)
{ vww_matmul_body(P, w, kp, q, o0, o1, o2, o3, out_c, VWW_RQ_GENERAL); }
static VWW_HOT void vww_matmul_fast(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                         int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, int out_c)
{ vww_matmul_body(P, w, kp, q, o0, o1, o2, o3, out_c, VWW_RQ_FAST); }
static VWW_HOT void vww_matmul_sat(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                        int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, int out_c)
{ vww_matmul_body(P, w, kp, q, o0, o1, o2, o3, out_c, VWW_RQ_FAST_SAT); }
static VWW_HOT void vww_matmul_relu(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q,
                                    int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3, int out_c)
{ vww_matmul_body(P, w, kp, q, o0, o1, o2, o3, out_c, VWW_RQ_FAST_RELU); }

#ifdef VWW_LANES
/* every pair of channels from a packed patch; planar: channel c's four values at o0 + c * cs */
static inline __attribute__((always_inline))
void vww_matmul_lanes_body(const int32_t *P, const int8_t *w, int kp, const vww_requant_t *q, int8_t *o0, int8_t *o1,
                           int8_t *o2, int8_t *o3, int out_c, int cs, const int mode, const int planar)
{
    const vww_requant_t Q = *q;
    for (int co = 0; co < out_c; co += 2, o0 += planar ? 2 * cs : 0)
        w = vww_matmul_pair_lanes(P, w, kp, Q, co, o0, o1, o2, o3, mode, co + 1 < out_c, cs, planar);
}
#define VWW_LANES_FN(name, mode, planar)                                                                    \
static VWW_HOT void name(const int32_t *P, const int8_t *w, int kp, const vww_requant_t *q, int8_t *o0,      \
                         int8_t *o1, int8_t *o2, int8_t *o3, int out_c, int cs)                              \
{ vww_matmul_lanes_body(P, w, kp, q, o0, o1, o2, o3, out_c, cs, mode, planar); }
VWW_LANES_FN(vww_lanes_general, VWW_RQ_GENERAL, 0)
VWW_LANES_FN(vww_lanes_fast, VWW_RQ_FAST, 0)
VWW_LANES_FN(vww_lanes_sat, VWW_RQ_FAST_SAT, 0)
VWW_LANES_FN(vww_lanes_relu, VWW_RQ_FAST_RELU, 0)
VWW_LANES_FN(vww_lanes_planar_general, VWW_RQ_GENERAL, 1)
VWW_LANES_FN(vww_lanes_planar_fast, VWW_RQ_FAST, 1)
VWW_LANES_FN(vww_lanes_planar_sat, VWW_RQ_FAST_SAT, 1)
VWW_LANES_FN(vww_lanes_planar_relu, VWW_RQ_FAST_RELU, 1)
/* Four pixels' inputs x0..x3 (n values each): all their outputs. o0..o3 the four pixels' outputs (HWC), or with
 * planar, o0 channel 0's four values and cs the distance between channels */
static void vww_lanes4(const int8_t *x0, const int8_t *x1, const int8_t *x2, const int8_t *x3, int n, int kp,
                       const int8_t *w, const vww_requant_t *q, int8_t *o0, int8_t *o1, int8_t *o2, int8_t *o3,
                       int out_c, int cs, int planar, int32_t *L)
{
    vww_patch4_lanes(x0, x1, x2, x3, n, kp, L);
    void (*f)(const int32_t *, const int8_t *, int, const vww_requant_t *, int8_t *, int8_t *, int8_t *, int8_t *,
              int, int);
    if (planar) f = VWW_PICK(q->mode, vww_lanes_planar_relu, vww_lanes_planar_sat, vww_lanes_planar_fast, vww_lanes_planar_general);
    else f = VWW_PICK(q->mode, vww_lanes_relu, vww_lanes_sat, vww_lanes_fast, vww_lanes_general);
    f(L, w, kp, q, o0, o1, o2, o3, out_c, cs);
}
#endif

/* Patches of pixels j .. j + n - 1 (n <= 4) are in P: all their outputs, `stride` bytes apart from `o` */
static void vww_matmul(const int16_t *P, const int8_t *w, int kp, const vww_requant_t *q, int8_t *o, int n,
                       int stride, int out_c)
{
    int8_t *o1 = o + (n > 1 ? stride : 0), *o2 = o + (n > 2 ? 2 * stride : 0), *o3 = o + (n > 3 ? 3 * stride : 0);
    if (n == 2) o2 = o3 = o1;
    if (n == 3) o3 = o2;
    VWW_PICK(q->mode, vww_matmul_relu, vww_matmul_sat, vww_matmul_fast, vww_matmul_general)(P, w, kp, q, o, o1, o2, o3, out_c);
}

/* Slot t of the four-pixel patch P from n int8 values x (then zeros up to kp), times 2^db (db = 1: the fast modes'
 * doubled sums) */
static void vww_patch(const int8_t *x, int n, int kp, int16_t *P, int t, int db)
{
    int k = 0;
    for (int16_t *d = P + 2 * t; k + 4 <= n; k += 4, d += 16) {
        d[0] = (int16_t)(x[k] * (1 << db)); d[8] = (int16_t)(x[k + 1] * (1 << db));
        d[1] = (int16_t)(x[k + 2] * (1 << db)); d[9] = (int16_t)(x[k + 3] * (1 << db));
    }
    for (; k < kp; k++) P[((k >> 2) << 4) + ((k & 1) << 3) + 2 * t + ((k >> 1) & 1)] = (int16_t)(k < n ? x[k] * (1 << db) : 0);
}

/* The four-pixel patch P from four rows of n int8 values x + t * stride (t = 0..3), then zeros up to kp; each value
 * times 2^db (db = 1: the fast modes' doubled sums) */
static inline __attribute__((always_inline))
void vww_patch4_body(const int8_t *x, int stride, int n, int kp, int16_t *P, const int db)
{
    int k = 0;
#ifdef VWW_USE_SMLAD
    {   /* SXTB16 unpacks (x0, x2) and (x1, x3): the layout. The word loads need not be aligned (Cortex-M3 and up).
         * SADD16 doubles both halves */
        const int8_t *x1 = x + stride, *x2 = x1 + stride, *x3 = x2 + stride;
        vww_w32 *d = (vww_w32 *)P;
        /* up to kp, past n: the weights there are zeros, so whatever those bytes hold adds nothing (the arena has
         * 4 bytes of slack for the last pixel of a tensor) */
        for (; k < kp; k += 4, d += 8) {
            uint32_t v0 = vww_read32(x + k), v1 = vww_read32(x1 + k), v2 = vww_read32(x2 + k), v3 = vww_read32(x3 + k);
            if (db) {   /* stored two words at a time (STRD: P is 4-byte aligned) */
                VWW_STRD(d, 0, vww_dbl16(vww_sxtb16(v0)), vww_dbl16(vww_sxtb16(v1)));
                VWW_STRD(d, 8, vww_dbl16(vww_sxtb16(v2)), vww_dbl16(vww_sxtb16(v3)));
                VWW_STRD(d, 16, vww_dbl16(vww_sxtb16_ror8(v0)), vww_dbl16(vww_sxtb16_ror8(v1)));
                VWW_STRD(d, 24, vww_dbl16(vww_sxtb16_ror8(v2)), vww_dbl16(vww_sxtb16_ror8(v3)));
            } else {
                d[0] = vww_sxtb16(v0); d[4] = vww_sxtb16_ror8(v0); d[1] = vww_sxtb16(v1); d[5] = vww_sxtb16_ror8(v1);
                d[2] = vww_sxtb16(v2); d[6] = vww_sxtb16_ror8(v2); d[3] = vww_sxtb16(v3); d[7] = vww_sxtb16_ror8(v3);
            }
        }
    }
#endif
    for (int t = 0; t < 4; t++) {
        const int8_t *xt = x + t * stride;
        int kk = k;
        for (int16_t *d = P + 4 * kk + 2 * t; kk + 4 <= n; kk += 4, d += 16) {
            d[0] = (int16_t)(xt[kk] * (1 << db)); d[8] = (int16_t)(xt[kk + 1] * (1 << db));
            d[1] = (int16_t)(xt[kk + 2] * (1 << db)); d[9] = (int16_t)(xt[kk + 3] * (1 << db));
        }
        for (; kk < kp; kk++)
            P[((kk >> 2) << 4) + ((kk & 1) << 3) + 2 * t + ((kk >> 1) & 1)] = (int16_t)(kk < n ? xt[kk] * (1 << db) : 0);
    }
}
static VWW_NOINLINE void vww_patch4(const int8_t *x, int stride, int n, int kp, int16_t *P, int db)
{
    if (db) vww_patch4_body(x, stride, n, kp, P, 1);
    else vww_patch4_body(x, stride, n, kp, P, 0);
}

/* Small fills written out: GCC would otherwise turn these loops into calls of memset, whose call costs more than
 * the one to three bytes they write */
#if defined(__GNUC__) && !defined(__clang__)
#define VWW_NO_MEMSET __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define VWW_NO_MEMSET
#endif
void VWW_NO_MEMSET vww_copy_s8(int8_t *dst, const int8_t *src, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4) { uint32_t v; memcpy(&v, src + i, 4); memcpy(dst + i, &v, 4); }
    for (; i < n; i++) dst[i] = src[i];
}

/* n bytes of value v, a word at a time */
static VWW_NO_MEMSET void vww_fill_s8(int8_t *dst, int8_t v, int n)
{
    const uint32_t w = 0x01010101u * (uint8_t)v;
    int i = 0;
    for (; i + 4 <= n; i += 4) memcpy(dst + i, &w, 4);
    for (; i < n; i++) dst[i] = v;
}

/* zeros from K up to kp (kp - K < 4) */
static inline void vww_zero_tail(int8_t *d, int K, int kp)
{
    switch (kp - K) {
    case 3: d[K + 2] = 0; /* fall through */
    case 2: d[K + 1] = 0; /* fall through */
    case 1: d[K] = 0; /* fall through */
    default: break;
    }
}
/* the padding columns (x < pad_l, x >= pad_l + n) of C channel rows wp bytes apart */
static VWW_NO_MEMSET void vww_pad_cols(int8_t *r, int C, int wp, int pad_l, int n, int8_t zp)
{
    const int rpad = wp - pad_l - n;
    if (pad_l <= 1 && rpad <= 1) {   /* the usual 3x3 padding: a byte on either side at most */
        for (int8_t *e = r + C * wp; r < e; r += wp) {
            if (pad_l) r[0] = zp;
            if (rpad) r[wp - 1] = zp;
        }
        return;
    }
    for (int8_t *e = r + C * wp; r < e; r += wp) {
        for (int x = 0; x < pad_l; x++) r[x] = zp;
        for (int x = pad_l + n; x < wp; x++) r[x] = zp;
    }
}

/* Three runs of 9 bytes, rstep apart, to d[0..26] (a 3x3 filter's inputs over 3 channels): straight-line word copies
 * (the loads and stores need not be aligned on a Cortex-M3 and up; elsewhere memcpy does it bytewise) */
static inline void vww_copy_3x9(int8_t *d, const int8_t *s, int rstep)
{
    uint32_t a, b;   /* written out: GCC -O2 keeps a three-pass loop rolled (+0.04 instructions per MAC, SMLAD) */
    memcpy(&a, s, 4); memcpy(&b, s + 4, 4); memcpy(d, &a, 4); memcpy(d + 4, &b, 4); d[8] = s[8];
    s += rstep;
    memcpy(&a, s, 4); memcpy(&b, s + 4, 4); memcpy(d + 9, &a, 4); memcpy(d + 13, &b, 4); d[17] = s[8];
    s += rstep;
    memcpy(&a, s, 4); memcpy(&b, s + 4, 4); memcpy(d + 18, &a, 4); memcpy(d + 22, &b, 4); d[26] = s[8];
}

/* The direct first layer beats patches plus the matrix kernel up to this many output channels: with SMLAD the
 * patch is shared by more pairs of channels, whose products cost half as many instructions (measured: the direct
 * layer wins at 4 and 6 channels, the patches at 8) */
#ifdef VWW_USE_SMLAD
#define VWW_STEM_MAX_C 6
#else
#define VWW_STEM_MAX_C 84   /* four pixels' outputs fit the scratch (12 kp bytes) */
#endif
static void vww_stem4(const int8_t *s, int rstep, const int32_t *pw, const int8_t *w, const vww_requant_t *q, int8_t *o,
                      int out_c);
#define VWW_PW(k) (8 * ((k) >> 2) + 4 * ((k) & 1) + 2 * (((k) >> 1) & 1))
/* The first layer's packed weights (VWW_STEM_PACKED): at this byte offset of the scratch, 27 words a pair of
 * channels (108 bytes), after the four outputs (4 out_c bytes) and the border rows (81 bytes) */
#define VWW_STEM_PW(out_c) ((4 * (out_c) + 81 + 3) & ~3)

void vww_conv_s8(const int8_t *in, int in_h, int in_w, int in_c,
                 const int8_t *w, int kh, int kw, int kp,
                 int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                 const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int16_t *scratch)
{
    /* output pixels four at a time in row-major order; all four patches are read before any output is written.
     * scratch: the patches (8 kp bytes), then four int8 rows of kp values (the inputs under each filter) */
    const int n = out_h * out_w, K = kh * kw * in_c, seg = kw * in_c;
    const int8_t zp = (int8_t)(-in_off);
    int8_t *rows = (int8_t *)(scratch + 4 * kp);
    const int stem = VWW_FIRST_LAYER_C > 0 && VWW_FIRST_LAYER_C <= VWW_STEM_MAX_C && kh == 3 && kw == 3 && in_c == 3 && kp == 28 && stride_w == 2 && dil_h == 1 && dil_w == 1 &&
                     out_c <= VWW_STEM_MAX_C && q->mode != VWW_RQ_GENERAL;
    /* with SMLAL (VWW_STEM_PACKED): each pair's 27 weights as w_0 + 2^23 w_1 in the scratch, one product feeding
     * both channels' sums (vww_stem4); built before the first group that needs them and again after a group through
     * the patches (which use the same scratch: a group that spans two rows of outputs) */
    int32_t *pw = 0, pw_ok = 0;
#ifdef VWW_STEM_PACKED
    if (stem) pw = (int32_t *)(void *)((int8_t *)scratch + VWW_STEM_PW(out_c));
#endif
    for (int j = 0; j < n; j += 4) {
        int cnt = n - j < 4 ? n - j : 4;
        int oy = j / out_w, ox = j % out_w;
        if (stem && cnt == 4 && ox + 3 < out_w) {
            int iy0 = oy * stride_h - pad_t, ix0 = ox * 2 - pad_l;
            if (pw && !pw_ok) {
                for (int c = 0; c + 1 < out_c; c += 2)
                    for (int k = 0; k < 27; k++)
                        pw[27 * (c >> 1) + k] = w[28 * c + VWW_PW(k)] + w[28 * c + VWW_PW(k) + 1] * (1 << 23);
                pw_ok = 1;
            }
            if (iy0 >= 0 && iy0 + 3 <= in_h && ix0 >= 0 && ix0 + 9 <= in_w) {   /* all four filters inside */
                const int8_t *s = in + (iy0 * in_w + ix0) * 3;
                int8_t *o = out + j * out_c;
                /* the outputs are written channel pair by pair, between the reads: where they could overlap the
                 * four filters' inputs (an output placed over its input), through the scratch, then copied */
                const int alias = (uintptr_t)o < (uintptr_t)(s + 2 * in_w * 3 + 27) &&
                                  (uintptr_t)s < (uintptr_t)(o + 4 * out_c);
                int8_t *d = alias ? (int8_t *)scratch : o;
                vww_stem4(s, in_w * 3, pw, w, q, d, out_c);
                if (alias) vww_copy_s8(o, (const int8_t *)scratch, 4 * out_c);
                continue;
            }
            if (out_c <= 3 * kp - 24) {   /* a border: the four filters' 3 x 9 input pixels copied with the padding
                                           * (zero point) into the scratch, 27 bytes a row, after 4 * out_c bytes */
                int8_t *b = (int8_t *)scratch + 4 * out_c;
                /* the pixels [lo, hi) of the nine lie inside the input's width */
                const int lo = ix0 < 0 ? (-ix0 < 9 ? -ix0 : 9) : 0, hi = ix0 + 9 > in_w ? (in_w - ix0 > lo ? in_w - ix0 : lo) : 9;
                for (int ky = 0; ky < 3; ky++) {
                    int iy = iy0 + ky;
                    int8_t *r = b + 27 * ky;
                    if (iy < 0 || iy >= in_h) { vww_fill_s8(r, zp, 27); continue; }
                    if (lo) vww_fill_s8(r, zp, 3 * lo);
                    vww_copy_s8(r + 3 * lo, in + (iy * in_w + ix0 + lo) * 3, 3 * (hi - lo));
                    if (hi < 9) vww_fill_s8(r + 3 * hi, zp, 27 - 3 * hi);
                }
                vww_stem4(b, 27, pw, w, q, out + j * out_c, out_c);
                continue;
            }
        }
#ifdef VWW_USE_SMLAD
        if (in_c == 3 && kw == 3 && kh == 3 && kp == 28 && stride_w == 2 && dil_h == 1 && dil_w == 1 && cnt == 4 &&
            ox + 3 < out_w) {
            /* the usual first layer, four pixels of one output row whose filters lie inside: their 3 x 9 input
             * bytes straight into the patch rows, neighbours 6 bytes apart (no per-pixel bookkeeping) */
            const int iy0 = oy * stride_h - pad_t, ix0 = ox * 2 - pad_l;
            if (iy0 >= 0 && iy0 + 3 <= in_h && ix0 >= 0 && ix0 + 9 <= in_w) {
                const int8_t *s0 = in + (iy0 * in_w + ix0) * 3;
                const int rstep = in_w * 3;
                int8_t *d = rows;
                for (int t = 0; t < 4; t++, s0 += 6, d += 28) {
                    vww_copy_3x9(d, s0, rstep);
                    d[27] = 0;
                }
                vww_patch4(rows, kp, kp, kp, scratch, q->mode != VWW_RQ_GENERAL);
                vww_matmul(scratch, w, kp, q, out + j * out_c, 4, out_c, out_c);
                continue;
            }
        }
#endif
        pw_ok = 0;
        for (int t = 0; t < cnt; t++, ox++) {
            if (ox == out_w) { ox = 0; oy++; }
            int iy0 = oy * stride_h - pad_t, ix0 = ox * stride_w - pad_l;
            int8_t *d = rows + t * kp;
            if (dil_w == 1 && dil_h == 1 && ix0 >= 0 && ix0 + kw <= in_w && iy0 >= 0 && iy0 + kh <= in_h) {
                /* the whole filter lies inside: kh runs of kw * in_c consecutive bytes, a word at a time */
                const int8_t *s = in + (iy0 * in_w + ix0) * in_c;
                const int rstep = in_w * in_c;
                if (seg == 9 && kh == 3) vww_copy_3x9(d, s, rstep);   /* 3x3 over 3 channels, the usual first layer */
                else
                    for (int ky = 0; ky < kh; ky++, d += seg, s += rstep) {
                        int i = 0;
                        for (; i + 4 <= seg; i += 4) memcpy(d + i, s + i, 4);
                        for (; i < seg; i++) d[i] = s[i];
                    }
                vww_zero_tail(rows + t * kp, K, kp);
                continue;
            }
            int inside_x = ix0 >= 0 && ix0 + (kw - 1) * dil_w < in_w && dil_w == 1;
            for (int ky = 0; ky < kh; ky++, d += seg) {
                int iy = iy0 + ky * dil_h;
                if (iy < 0 || iy >= in_h) { vww_fill_s8(d, zp, seg); continue; }
                const int8_t *src = in + iy * in_w * in_c;
                if (inside_x) {   /* the filter row lies inside: kw * in_c consecutive bytes, a word at a time */
                    const int8_t *s = src + ix0 * in_c;
                    int i = 0;
                    for (; i + 4 <= seg; i += 4) memcpy(d + i, s + i, 4);
                    for (; i < seg; i++) d[i] = s[i];
                    continue;
                }
                for (int kx = 0; kx < kw; kx++) {
                    int ix = ix0 + kx * dil_w;
                    if (ix >= 0 && ix < in_w) for (int c = 0; c < in_c; c++) d[kx * in_c + c] = src[ix * in_c + c];
                    else memset(d + kx * in_c, zp, (size_t)in_c);
                }
            }
            vww_zero_tail(rows + t * kp, K, kp);
        }
        for (int t = cnt; t < 4; t++) memcpy(rows + t * kp, rows + (cnt - 1) * kp, (size_t)kp);  /* the last again */
#ifdef VWW_LANES
        if (q->lanes) {
            int8_t *o = out + j * out_c, *o1 = o + (cnt > 1 ? out_c : 0), *o2 = o + (cnt > 2 ? 2 * out_c : 0);
            int8_t *o3 = o + (cnt > 3 ? 3 * out_c : 0);
            if (cnt == 2) o2 = o3 = o1;
            if (cnt == 3) o3 = o2;
            vww_lanes4(rows, rows + kp, rows + 2 * kp, rows + 3 * kp, kp, kp, w, q, o, o1, o2, o3, out_c, 0, 0,
                       (int32_t *)scratch);
            continue;
        }
#endif
        vww_patch4(rows, kp, kp, kp, scratch, q->mode != VWW_RQ_GENERAL);
        vww_matmul(scratch, w, kp, q, out + j * out_c, cnt, out_c, out_c);
    }
}

void vww_pointwise_s8(const int8_t *in, int pixels, int in_c, const int8_t *w, int kp,
                      const vww_requant_t *q, int8_t *out, int out_c, int16_t *scratch)
{
    int j = 0;
#ifdef VWW_LANES
    if (q->lanes) {   /* the last one to three pixels repeat the last (same values written twice) */
        for (; j < pixels; j += 4) {
            int c1 = j + 1 < pixels ? 1 : pixels - 1 - j, c2 = j + 2 < pixels ? 2 : pixels - 1 - j;
            int c3 = j + 3 < pixels ? 3 : pixels - 1 - j;
            const int8_t *x = in + j * in_c;
            int8_t *o = out + j * out_c;
            vww_lanes4(x, x + c1 * in_c, x + c2 * in_c, x + c3 * in_c, in_c, kp, w, q, o, o + c1 * out_c,
                       o + c2 * out_c, o + c3 * out_c, out_c, 0, 0, (int32_t *)scratch);
        }
        return;
    }
#endif
    for (; j + 4 <= pixels; j += 4) {
        vww_patch4(in + j * in_c, in_c, in_c, kp, scratch, q->mode != VWW_RQ_GENERAL);
        vww_matmul(scratch, w, kp, q, out + j * out_c, 4, out_c, out_c);
    }
    if (j < pixels) {   /* the last one to three pixels; the missing ones repeat the last (same values twice) */
        int cnt = pixels - j;
        for (int t = 0; t < 4; t++) vww_patch(in + (j + (t < cnt ? t : cnt - 1)) * in_c, in_c, kp, scratch, t,
                                           q->mode != VWW_RQ_GENERAL);
        vww_matmul(scratch, w, kp, q, out + j * out_c, cnt, out_c, out_c);
    }
}

#if defined(VWW_STEM_PACKED) && VWW_SMALL_1X1
static void vww_pw_small_planar(const int8_t *in, int pixels, int in_c, const int8_t *w, const vww_requant_t *q,
                                int8_t *out, int cs, int out_c);
#endif
/* vww_pointwise_s8 with channel-major output: channel c of pixel x at out[c * cs + x]. Whole groups of four pixels
 * only (pixels a multiple of 4): each channel's four values are one word store */
static void vww_pointwise_planar_s8(const int8_t *in, int pixels, int in_c, const int8_t *w, int kp,
                                    const vww_requant_t *q, int8_t *out, int cs, int out_c, int16_t *scratch)
{
    const int db = q->mode != VWW_RQ_GENERAL;
#if defined(VWW_STEM_PACKED) && VWW_SMALL_1X1
    if (kp == 4 && q->mode != VWW_RQ_GENERAL) { vww_pw_small_planar(in, pixels, in_c, w, q, out, cs, out_c); return; }
#endif
#ifdef VWW_LANES
    if (q->lanes) {
        for (int j = 0; j < pixels; j += 4) {
            const int8_t *x = in + j * in_c;
            vww_lanes4(x, x + in_c, x + 2 * in_c, x + 3 * in_c, in_c, kp, w, q, out + j, 0, 0, 0, out_c, cs, 1,
                       (int32_t *)scratch);
        }
        return;
    }
#endif
    for (int j = 0; j < pixels; j += 4) {
        vww_patch4(in + j * in_c, in_c, in_c, kp, scratch, db);
        VWW_PICK(q->mode, vww_matmul_planar_relu, vww_matmul_planar_sat, vww_matmul_planar_fast,
                 vww_matmul_planar_general)(scratch, w, kp, q, out + j, cs, out_c);
    }
}

/* n pixels of C channels (HWC) to C rows of n values, `wp` apart: 4x4 blocks of bytes moved as words (the loads
 * and stores need not be aligned on a Cortex-M3 and up; elsewhere memcpy does it bytewise) */
static VWW_NOINLINE void vww_transpose(const int8_t *src, int n, int C, int8_t *dst, int wp)
{
    int x = 0;
    for (; x + 4 <= n; x += 4) {
        const int8_t *s = src + x * C;
        int8_t *d = dst + x;
        int ch = 0;
        for (; ch + 4 <= C; ch += 4, d += 4 * wp) {
            uint32_t a, b, c, e;
            memcpy(&a, s + ch, 4); memcpy(&b, s + C + ch, 4); memcpy(&c, s + 2 * C + ch, 4); memcpy(&e, s + 3 * C + ch, 4);
            /* a = (a0 a1 a2 a3) channels of pixel 0, ... ; byte 0 is the lowest */
            uint32_t t0 = (a & 0x00ff00ffu) | ((b & 0x00ff00ffu) << 8);          /* a0 b0 a2 b2 */
            uint32_t t1 = ((a >> 8) & 0x00ff00ffu) | (b & 0xff00ff00u);          /* a1 b1 a3 b3 */
            uint32_t t2 = (c & 0x00ff00ffu) | ((e & 0x00ff00ffu) << 8);          /* c0 e0 c2 e2 */
            uint32_t t3 = ((c >> 8) & 0x00ff00ffu) | (e & 0xff00ff00u);          /* c1 e1 c3 e3 */
            uint32_t r0 = (t0 & 0xffffu) | (t2 << 16), r1 = (t1 & 0xffffu) | (t3 << 16);
            uint32_t r2 = (t0 >> 16) | (t2 & 0xffff0000u), r3 = (t1 >> 16) | (t3 & 0xffff0000u);
            memcpy(d, &r0, 4); memcpy(d + wp, &r1, 4); memcpy(d + 2 * wp, &r2, 4); memcpy(d + 3 * wp, &r3, 4);
        }
        for (; ch < C; ch++, d += wp) { d[0] = s[ch]; d[1] = s[C + ch]; d[2] = s[2 * C + ch]; d[3] = s[3 * C + ch]; }
    }
    for (; x < n; x++)
        for (int ch = 0; ch < C; ch++) dst[ch * wp + x] = src[x * C + ch];
}

/* Output values of one channel, the requantization specialized on the mode. The channel's constants are read
 * into locals first: stores through int8_t pointers may alias anything, so they would be read again after each. */
#define VWW_RQ_LOCALS(k) \
    const int32_t rq_m = (k)->mult, rq_kr = (k)->kr, rq_nm = (k)->nm, rq_rs = (k)->rs, rq_sh = (k)->shift
static inline __attribute__((always_inline))
int8_t vww_rq1(int32_t acc, int32_t m, int32_t kr, int32_t nm, int32_t rs, int32_t sh, const vww_requant_t *Q,
               const int mode)
{
    if (mode == VWW_RQ_GENERAL) return vww_clamp(vww_mbqm(acc, m, sh) + Q->out_zp, Q->act_min, Q->act_max);
    (void)nm;   /* -1 in the fast modes */
#ifdef VWW_USE_SMLAD
    int32_t acc2 = (int32_t)((uint32_t)acc << 1);
#if defined(__GNUC__)
    __asm__("" : "+r"(acc2));   /* else GCC takes the sign from bit 30 of acc (SBFX), a third instruction */
#endif
    int32_t y = VWW_RQ_FAST2(mode, acc2, m, kr, rs);
#else
    /* vww_rq_fast2 of 2 acc without doubling acc: the multiplier doubled instead, 2m - 2^32 as an int32 (m >= 2^30),
     * whose product acc (2m - 2^32) = 2 acc m - 2^32 acc; acc added to the high word beforehand cancels the second
     * term. The high word kr + acc (+ the sign correction, which ReLU outputs do without: vww_rq_relu2) fits in
     * int32: |kr| < 2^29 and |acc| < 2^30 in the fast modes. */
    const int32_t m2 = (int32_t)((uint32_t)m << 1);
    const int32_t ra = kr + acc + (mode == VWW_RQ_FAST_RELU ? 0 : acc >> 31);
    int32_t y = (int32_t)(((int64_t)(((uint64_t)(uint32_t)ra << 32) | 0x80000000u) + (int64_t)acc * m2) >> 32) >> rs;
#endif
    return VWW_SAT_MODE(mode) ? vww_sat8(y) : vww_clamp(y, Q->act_min, Q->act_max);
}
#define VWW_RQ1(acc) vww_rq1(acc, rq_m, rq_kr, rq_nm, rq_rs, rq_sh, &Q, mode)

#if defined(VWW_STEM_PACKED) && VWW_SMALL_1X1
/* A 1x1 convolution over at most four input channels (kp 4: a pruned student's first expansion, after a first layer
 * of 3 or 4 channels), channel-major output, no patch: a pair of output channels at a time over all the pixels, its
 * four weights packed as w_0 + 2^23 w_1 and its constants in registers, one 64-bit SMLAL per input for both
 * channels (the packed sum's limit, 4 * 128 * 128 < 2^22, always holds). In_c 3 reads three bytes a pixel; 1, 2
 * and 4 read four (the weights past in_c are zeros; the arena's slack covers the last pixel). */
static inline __attribute__((always_inline))
void vww_pws_pair(const int8_t *x, int pixels, int in_c, const int8_t *w, const vww_requant_t *Qp, int co, int8_t *o,
                  int cs, const int K, const int second, const int mode)
{
    const vww_requant_t Q = *Qp;
    /* the pair layout with kp 4: w_c[k] at 4 (k & 1) + 2 (k >> 1) + c */
    const int32_t W0 = w[0] + w[1] * (1 << 23), W1 = w[4] + w[5] * (1 << 23);
    const int32_t W2 = w[2] + w[3] * (1 << 23), W3 = w[6] + w[7] * (1 << 23);
    const vww_chan_t *k0 = Q.ch + co, *k1 = k0 + 1;
    const uint32_t l0 = (uint32_t)k0->bias - (uint32_t)VWW_LANE0;
    const int32_t b1 = k1->bias, m0 = k0->mult, kr0 = k0->kr, rs0 = k0->rs, m1 = k1->mult, kr1 = k1->kr, rs1 = k1->rs;
    for (int8_t *end = o + pixels; o < end; o++, x += in_c) {
        int64_t c = VWW_LANE0;
        c += (int64_t)x[0] * W0;
        if (K > 1) c += (int64_t)x[1] * W1;
        if (K > 2) c += (int64_t)x[2] * W2;
        if (K > 3) c += (int64_t)x[3] * W3;
        o[0] = vww_rq1((int32_t)(((uint32_t)c & 0x7fffffu) + l0), m0, kr0, -1, rs0, -rs0, &Q, mode);
        if (second) o[cs] = vww_rq1((int32_t)(c >> 23) + b1, m1, kr1, -1, rs1, -rs1, &Q, mode);
    }
}
#define VWW_PWS_FN(name, K, mode)                                                                           \
static VWW_HOT void name(const int8_t *in, int pixels, int in_c, const int8_t *w, const vww_requant_t *q,    \
                         int8_t *out, int cs, int out_c)                                                     \
{                                                                                                           \
    int co = 0;                                                                                             \
    for (; co + 1 < out_c; co += 2, w += 8, out += 2 * cs) vww_pws_pair(in, pixels, in_c, w, q, co, out, cs, K, 1, mode); \
    if (co < out_c) vww_pws_pair(in, pixels, in_c, w, q, co, out, cs, K, 0, mode);                         \
}
VWW_PWS_FN(vww_pws3_relu, 3, VWW_RQ_FAST_RELU)
VWW_PWS_FN(vww_pws4_relu, 4, VWW_RQ_FAST_RELU)
VWW_PWS_FN(vww_pws3_sat, 3, VWW_RQ_FAST_SAT)
VWW_PWS_FN(vww_pws4_sat, 4, VWW_RQ_FAST_SAT)
VWW_PWS_FN(vww_pws3_fast, 3, VWW_RQ_FAST)
VWW_PWS_FN(vww_pws4_fast, 4, VWW_RQ_FAST)
static void vww_pw_small_planar(const int8_t *in, int pixels, int in_c, const int8_t *w, const vww_requant_t *q,
                                int8_t *out, int cs, int out_c)
{
    /* (the fast modes only: the caller keeps TFLite's two steps on the patch path) */
    if (in_c == 3) VWW_PICK(q->mode, vww_pws3_relu, vww_pws3_sat, vww_pws3_fast, vww_pws3_fast)(in, pixels, in_c, w, q, out, cs, out_c);
    else VWW_PICK(q->mode, vww_pws4_relu, vww_pws4_sat, vww_pws4_fast, vww_pws4_fast)(in, pixels, in_c, w, q, out, cs, out_c);
}
#endif

/* The usual first layer: 3x3 filters over 3 input channels, stride 2, four horizontally adjacent output pixels
 * whose filters lie inside the input, straight from the input (no patch): each pixel's 27 taps are three runs of 9
 * bytes, a row apart, and neighbouring pixels' runs are 6 bytes apart, so every load has a constant offset. Pairs
 * of output channels: eight sums, each loaded weight used four times and each input value twice (the matrix
 * kernels' weight layout, W[8g + 4j + 2h + c] = w_c[4g + j + 2h]). The sums are not doubled: vww_rq1 does it. */
/* neighbouring pixels' taps overlap (tap j + 6 of one pixel is tap j of the next): hiding the pointer after each
 * tap keeps GCC from reusing those loads, which would need more registers than there are (spills) */
#if defined(__GNUC__)
#define VWW_OPAQUE(p) __asm__("" : "+r"(p));
#else
#define VWW_OPAQUE(p)
#endif
#define VWW_ST_TAP0(k, off)                                                                         \
    wa = v[VWW_PW(k)]; wb = v[VWW_PW(k) + 1];                                                       \
    x = p[off]; a00 = b0 + x * wa; a01 = b1 + x * wb; x = p[(off) + 6]; a10 = b0 + x * wa; a11 = b1 + x * wb; \
    x = p[(off) + 12]; a20 = b0 + x * wa; a21 = b1 + x * wb; x = p[(off) + 18]; a30 = b0 + x * wa; a31 = b1 + x * wb; \
    VWW_OPAQUE(p)
#define VWW_ST_TAP(k, off)                                                                          \
    wa = v[VWW_PW(k)]; wb = v[VWW_PW(k) + 1];                                                       \
    x = p[off]; a00 += x * wa; a01 += x * wb; x = p[(off) + 6]; a10 += x * wa; a11 += x * wb;       \
    x = p[(off) + 12]; a20 += x * wa; a21 += x * wb; x = p[(off) + 18]; a30 += x * wa; a31 += x * wb; \
    VWW_OPAQUE(p)
#define VWW_ST_ROW(k)                                                                               \
    VWW_ST_TAP((k) + 1, 1) VWW_ST_TAP((k) + 2, 2) VWW_ST_TAP((k) + 3, 3) VWW_ST_TAP((k) + 4, 4)     \
    VWW_ST_TAP((k) + 5, 5) VWW_ST_TAP((k) + 6, 6) VWW_ST_TAP((k) + 7, 7) VWW_ST_TAP((k) + 8, 8)
#define VWW_S1_TAP0(k, off)                                                                         \
    wa = v[VWW_PW(k)];                                                                              \
    x = p[off]; a00 = b0 + x * wa; x = p[(off) + 6]; a10 = b0 + x * wa;                           \
    x = p[(off) + 12]; a20 = b0 + x * wa; x = p[(off) + 18]; a30 = b0 + x * wa;                    \
    VWW_OPAQUE(p)
#define VWW_S1_TAP(k, off)                                                                          \
    wa = v[VWW_PW(k)];                                                                              \
    x = p[off]; a00 += x * wa; x = p[(off) + 6]; a10 += x * wa;                                    \
    x = p[(off) + 12]; a20 += x * wa; x = p[(off) + 18]; a30 += x * wa;                            \
    VWW_OPAQUE(p)
#define VWW_S1_ROW(k)                                                                               \
    VWW_S1_TAP((k) + 1, 1) VWW_S1_TAP((k) + 2, 2) VWW_S1_TAP((k) + 3, 3) VWW_S1_TAP((k) + 4, 4)     \
    VWW_S1_TAP((k) + 5, 5) VWW_S1_TAP((k) + 6, 6) VWW_S1_TAP((k) + 7, 7) VWW_S1_TAP((k) + 8, 8)
#ifdef VWW_STEM_PACKED
/* With a one-instruction 64-bit multiply-accumulate: a pixel's two sums in one accumulator, started at 2^22 (as the
 * matrix kernels' packed lanes), times the packed weight w_0 + 2^23 w_1. 27 taps keep each sum within
 * 27 * 128 * 128 < 2^22, so the low 23 bits hold S_0 + 2^22 and the bits above S_1, exactly. */
#define VWW_SL_TAP(k, off)                                                                          \
    W = pw[k];                                                                                      \
    x = p[off]; c0 += (int64_t)x * W; x = p[(off) + 6]; c1 += (int64_t)x * W;                       \
    x = p[(off) + 12]; c2 += (int64_t)x * W; x = p[(off) + 18]; c3 += (int64_t)x * W;               \
    VWW_OPAQUE(p)
#define VWW_SL_ROW(k)                                                                               \
    VWW_SL_TAP((k), 0) VWW_SL_TAP((k) + 1, 1) VWW_SL_TAP((k) + 2, 2) VWW_SL_TAP((k) + 3, 3)         \
    VWW_SL_TAP((k) + 4, 4) VWW_SL_TAP((k) + 5, 5) VWW_SL_TAP((k) + 6, 6) VWW_SL_TAP((k) + 7, 7)     \
    VWW_SL_TAP((k) + 8, 8)
/* the last three channels of an odd count: the pair's packed sums and the third channel's plain one, two pixels at
 * a time (six sums: one load of an input feeds three channels) */
#define VWW_SF_TAP(k, off)                                                                          \
    W = pw[k]; u = v[VWW_PW(k)];                                                                    \
    x = p[off]; c0 += (int64_t)x * W; e0 += x * u;                                                  \
    x = p[(off) + 6]; c1 += (int64_t)x * W; e1 += x * u;                                            \
    VWW_OPAQUE(p)
#define VWW_SF_ROW(k)                                                                               \
    VWW_SF_TAP((k), 0) VWW_SF_TAP((k) + 1, 1) VWW_SF_TAP((k) + 2, 2) VWW_SF_TAP((k) + 3, 3)         \
    VWW_SF_TAP((k) + 4, 4) VWW_SF_TAP((k) + 5, 5) VWW_SF_TAP((k) + 6, 6) VWW_SF_TAP((k) + 7, 7)     \
    VWW_SF_TAP((k) + 8, 8)
#define VWW_SF_STORE(m)                                                                             \
    {                                                                                               \
        const int mode = (m);                                                                       \
        { VWW_RQ_LOCALS(Q.ch + co); d[0] = VWW_RQ1(a00); d[out_c] = VWW_RQ1(a10); }                 \
        { VWW_RQ_LOCALS(Q.ch + co + 1); d[1] = VWW_RQ1(a01); d[out_c + 1] = VWW_RQ1(a11); }         \
        { VWW_RQ_LOCALS(Q.ch + co + 2); d[2] = VWW_RQ1(e0); d[out_c + 2] = VWW_RQ1(e1); }           \
    }
#define VWW_STEM_FUSE3 1
#else
#define VWW_STEM_FUSE3 0
#endif
/* a pair's four pixels requantized and stored in mode m */
#define VWW_ST_STORE(m)                                                                             \
    {                                                                                               \
        const int mode = (m);                                                                       \
        { VWW_RQ_LOCALS(Q.ch + co); o[0] = VWW_RQ1(a00); o[out_c] = VWW_RQ1(a10); o[2 * out_c] = VWW_RQ1(a20); o[3 * out_c] = VWW_RQ1(a30); } \
        { VWW_RQ_LOCALS(Q.ch + co + 1); o[1] = VWW_RQ1(a01); o[out_c + 1] = VWW_RQ1(a11); o[2 * out_c + 1] = VWW_RQ1(a21); o[3 * out_c + 1] = VWW_RQ1(a31); } \
    }
/* STORE in the layer's fast mode, tested once per pair of channels (one copy of the products: flash) */
#define VWW_STEM_BY_MODE(STORE)                                                                     \
    if (VWW_HAS_MODE(VWW_RQ_FAST_RELU) && Q.mode == VWW_RQ_FAST_RELU) STORE(VWW_RQ_FAST_RELU)       \
    else if (VWW_HAS_MODE(VWW_RQ_FAST_SAT) && Q.mode == VWW_RQ_FAST_SAT) STORE(VWW_RQ_FAST_SAT)     \
    else STORE(VWW_RQ_FAST)
static VWW_HOT void vww_stem4(const int8_t *s, int rstep, const int32_t *pw, const int8_t *w, const vww_requant_t *q,
                              int8_t *o, int out_c)
{
    const vww_requant_t Q = *q;
    int co = 0;
    (void)pw;
    for (; co + 1 < out_c && !(VWW_STEM_FUSE3 && out_c - co == 3); co += 2, w += 56, o += 2) {
        const int8_t *p = s;
        const int32_t b0 = Q.ch[co].bias, b1 = Q.ch[co + 1].bias;
        int32_t a00, a01, a10, a11, a20, a21, a30, a31;
#ifdef VWW_STEM_PACKED
        {
            int64_t c0 = VWW_LANE0, c1 = VWW_LANE0, c2 = VWW_LANE0, c3 = VWW_LANE0;
            int32_t W, x;
            VWW_SL_ROW(0)
            p += rstep;
            VWW_SL_ROW(9)
            p += rstep;
            VWW_SL_ROW(18)
            pw += 27;
            const uint32_t l0 = (uint32_t)b0 - (uint32_t)VWW_LANE0;   /* unsigned: see vww_matmul_pair_lanes */
            a00 = (int32_t)(((uint32_t)c0 & 0x7fffffu) + l0); a01 = (int32_t)(c0 >> 23) + b1;
            a10 = (int32_t)(((uint32_t)c1 & 0x7fffffu) + l0); a11 = (int32_t)(c1 >> 23) + b1;
            a20 = (int32_t)(((uint32_t)c2 & 0x7fffffu) + l0); a21 = (int32_t)(c2 >> 23) + b1;
            a30 = (int32_t)(((uint32_t)c3 & 0x7fffffu) + l0); a31 = (int32_t)(c3 >> 23) + b1;
        }
#else
        {
            const int8_t *v = w;
            int32_t wa, wb, x;
            VWW_ST_TAP0(0, 0) VWW_ST_ROW(0)
            p += rstep;
            VWW_ST_TAP(9, 0) VWW_ST_ROW(9)
            p += rstep;
            VWW_ST_TAP(18, 0) VWW_ST_ROW(18)
        }
#endif
        VWW_STEM_BY_MODE(VWW_ST_STORE)
    }
#ifdef VWW_STEM_PACKED
    if (out_c - co == 3) {
        const int8_t *v = w + 56;   /* the third channel's weights: the first row of the next pair (the second is zeros) */
        const int32_t b0 = Q.ch[co].bias, b1 = Q.ch[co + 1].bias, b2 = Q.ch[co + 2].bias;
        const uint32_t l0 = (uint32_t)b0 - (uint32_t)VWW_LANE0;
        for (int t = 0; t < 4; t += 2) {
            const int8_t *p = s + 6 * t;
            int64_t c0 = VWW_LANE0, c1 = VWW_LANE0;
            int32_t e0 = b2, e1 = b2, W, u, x;
            VWW_SF_ROW(0)
            p += rstep;
            VWW_SF_ROW(9)
            p += rstep;
            VWW_SF_ROW(18)
            const int32_t a00 = (int32_t)(((uint32_t)c0 & 0x7fffffu) + l0), a01 = (int32_t)(c0 >> 23) + b1;
            const int32_t a10 = (int32_t)(((uint32_t)c1 & 0x7fffffu) + l0), a11 = (int32_t)(c1 >> 23) + b1;
            int8_t *d = o + t * out_c;
            VWW_STEM_BY_MODE(VWW_SF_STORE)
        }
        return;
    }
#endif
    if (co < out_c) {   /* an odd channel count: the last channel alone (its pair's second row of weights is zeros) */
        const int8_t *v = w, *p = s;
        const int32_t b0 = Q.ch[co].bias;
        int32_t a00, a10, a20, a30, wa, x;
        VWW_S1_TAP0(0, 0) VWW_S1_ROW(0)
        p += rstep;
        VWW_S1_TAP(9, 0) VWW_S1_ROW(9)
        p += rstep;
        VWW_S1_TAP(18, 0) VWW_S1_ROW(18)
        const int mode = VWW_RQ_FAST;   /* the clamping form serves both fast modes */
        const vww_chan_t *k = Q.ch + co;
        VWW_RQ_LOCALS(k);
        o[0] = VWW_RQ1(a00); o[out_c] = VWW_RQ1(a10); o[2 * out_c] = VWW_RQ1(a20); o[3 * out_c] = VWW_RQ1(a30);
    }
}


/* 3x3 depthwise, multiplier 1, stride S: one output row, every channel. The padded input rows are channel-major
 * (each channel's wp values together), so a channel's taps are neighbouring bytes; the weights hold each channel's
 * kernel row as 4 bytes (w0, w1, w2, 0), 12 bytes a channel. Four adjacent outputs at a time share each loaded
 * input (a value feeds up to three of them), then one at a time for the rest of the row. Each input value is
 * loaded right before its products, so few are alive at once. With SMLAD, pairs of taps instead (below). */
#ifdef VWW_USE_SMLAD
/* SMLAD form: a kernel row (w0, w1, w2, 0) unpacks to (w0, w2) and (w1, 0); a word of four inputs (r0 r1 r2 r3) to
 * (r0, r2) and (r1, r3). Then a0 = (r0, r2).(w0, w2) + r1 w1 and a1 = (r1, r3).(w0, w2) + r2 w1 (r2 the top half of
 * (r0, r2)): two outputs from one load, two unpacks and four multiplies (SMLAD, SMLABB / SMLATB). Stride 2 reads a
 * word every two outputs' taps. Word loads need not be aligned (Cortex-M3 and up); none reads past the taps. */
static inline int32_t vww_smlabb(uint32_t a, uint32_t b, int32_t acc)
{ __asm__("smlabb %0, %1, %2, %0" : "+r"(acc) : "r"(a), "r"(b)); return acc; }
static inline int32_t vww_smlatb(uint32_t a, uint32_t b, int32_t acc)
{ __asm__("smlatb %0, %1, %2, %0" : "+r"(acc) : "r"(a), "r"(b)); return acc; }
#define VWW_DW_ROW4(r, k)                                                                   \
    {                                                                                       \
        uint32_t W = vww_read32(wc + (k)), W02 = vww_sxtb16(W), W1 = vww_sxtb16_ror8(W), X, E, O; \
        if (S == 1) {                                                                       \
            X = vww_read32(r); E = vww_sxtb16(X); O = vww_sxtb16_ror8(X);                   \
            a0 = vww_smlad(E, W02, a0); a0 = vww_smlabb(O, W1, a0);                         \
            a1 = vww_smlad(O, W02, a1); a1 = vww_smlatb(E, W1, a1);                         \
            X = vww_read32(r + 2); E = vww_sxtb16(X); O = vww_sxtb16_ror8(X);               \
            a2 = vww_smlad(E, W02, a2); a2 = vww_smlabb(O, W1, a2);                         \
            a3 = vww_smlad(O, W02, a3); a3 = vww_smlatb(E, W1, a3);                         \
        } else {                                                                            \
            X = vww_read32(r); E = vww_sxtb16(X); O = vww_sxtb16_ror8(X);                   \
            a0 = vww_smlad(E, W02, a0); a0 = vww_smlabb(O, W1, a0);                         \
            a1 = vww_smlatb(O, W1, a1);                                                     \
            X = vww_read32(r + 2); E = vww_sxtb16(X);                                       \
            a1 = vww_smlad(E, W02, a1);                                                     \
            X = vww_read32(r + 4); E = vww_sxtb16(X); O = vww_sxtb16_ror8(X);               \
            a2 = vww_smlad(E, W02, a2); a2 = vww_smlabb(O, W1, a2);                         \
            a3 = vww_smlatb(O, W1, a3);                                                     \
            X = vww_read32(r + 5); E = vww_sxtb16_ror8(X);                                  \
            a3 = vww_smlad(E, W02, a3);                                                     \
        }                                                                                   \
    }
#define VWW_DW_ROW2(r, k)                                                                   \
    {                                                                                       \
        uint32_t W = vww_read32(wc + (k)), W02 = vww_sxtb16(W), W1 = vww_sxtb16_ror8(W);    \
        uint32_t X = vww_read32(r), E = vww_sxtb16(X), O = vww_sxtb16_ror8(X);              \
        a0 = vww_smlad(E, W02, a0); a0 = vww_smlabb(O, W1, a0);                             \
        if (S == 1) { a1 = vww_smlad(O, W02, a1); a1 = vww_smlatb(E, W1, a1); }             \
        else { a1 = vww_smlatb(O, W1, a1); a1 = vww_smlad(vww_sxtb16_ror8(vww_read32((r) + 1)), W02, a1); } \
    }
#define VWW_DW_ROW1(r, k)                                                                   \
    {                                                                                       \
        uint32_t W = vww_read32(wc + (k)), W02 = vww_sxtb16(W), W1 = vww_sxtb16_ror8(W);    \
        uint32_t X = vww_read32((r) - 1);                                                   \
        a = vww_smlad(vww_sxtb16_ror8(X), W02, a); a = vww_smlatb(vww_sxtb16(X), W1, a);    \
    }
#else
#define VWW_DW_ROW4(r, k)                                                                   \
    w0 = wc[k]; w1 = wc[k + 1]; w2 = wc[k + 2];                                             \
    if (S == 1) {                                                                           \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1; a1 += x * w0;                                               \
        x = r[2]; a0 += x * w2; a1 += x * w1; a2 += x * w0;                                 \
        x = r[3]; a1 += x * w2; a2 += x * w1; a3 += x * w0;                                 \
        x = r[4]; a2 += x * w2; a3 += x * w1;                                               \
        x = r[5]; a3 += x * w2;                                                             \
    } else {                                                                                \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1;                                                             \
        x = r[2]; a0 += x * w2; a1 += x * w0;                                               \
        x = r[3]; a1 += x * w1;                                                             \
        x = r[4]; a1 += x * w2; a2 += x * w0;                                               \
        x = r[5]; a2 += x * w1;                                                             \
        x = r[6]; a2 += x * w2; a3 += x * w0;                                               \
        x = r[7]; a3 += x * w1;                                                             \
        x = r[8]; a3 += x * w2;                                                             \
    }
/* six outputs (a row of six, the 6x6 maps of the last layers): each input loaded once for up to three of them. The
 * three-, four- and six-output schedules are written out: one generic loop over an array of sums kept the sums on
 * the stack (+0.48 instructions per MAC, measured) */
#define VWW_DW_ROW6(r, k)                                                                   \
    w0 = wc[k]; w1 = wc[k + 1]; w2 = wc[k + 2];                                             \
    if (S == 1) {                                                                           \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1; a1 += x * w0;                                               \
        x = r[2]; a0 += x * w2; a1 += x * w1; a2 += x * w0;                                 \
        x = r[3]; a1 += x * w2; a2 += x * w1; a3 += x * w0;                                 \
        x = r[4]; a2 += x * w2; a3 += x * w1; a4 += x * w0;                                 \
        x = r[5]; a3 += x * w2; a4 += x * w1; a5 += x * w0;                                 \
        x = r[6]; a4 += x * w2; a5 += x * w1;                                               \
        x = r[7]; a5 += x * w2;                                                             \
    } else {                                                                                \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1;                                                             \
        x = r[2]; a0 += x * w2; a1 += x * w0;                                               \
        x = r[3]; a1 += x * w1;                                                             \
        x = r[4]; a1 += x * w2; a2 += x * w0;                                               \
        x = r[5]; a2 += x * w1;                                                             \
        x = r[6]; a2 += x * w2; a3 += x * w0;                                               \
        x = r[7]; a3 += x * w1;                                                             \
        x = r[8]; a3 += x * w2; a4 += x * w0;                                               \
        x = r[9]; a4 += x * w1;                                                             \
        x = r[10]; a4 += x * w2; a5 += x * w0;                                              \
        x = r[11]; a5 += x * w1;                                                            \
        x = r[12]; a5 += x * w2;                                                            \
    }
/* three outputs (a row's last three; the 3x3 maps) */
#define VWW_DW_ROW3(r, k)                                                                   \
    w0 = wc[k]; w1 = wc[k + 1]; w2 = wc[k + 2];                                             \
    if (S == 1) {                                                                           \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1; a1 += x * w0;                                               \
        x = r[2]; a0 += x * w2; a1 += x * w1; a2 += x * w0;                                 \
        x = r[3]; a1 += x * w2; a2 += x * w1;                                               \
        x = r[4]; a2 += x * w2;                                                             \
    } else {                                                                                \
        x = r[0]; a0 += x * w0;                                                             \
        x = r[1]; a0 += x * w1;                                                             \
        x = r[2]; a0 += x * w2; a1 += x * w0;                                               \
        x = r[3]; a1 += x * w1;                                                             \
        x = r[4]; a1 += x * w2; a2 += x * w0;                                               \
        x = r[5]; a2 += x * w1;                                                             \
        x = r[6]; a2 += x * w2;                                                             \
    }
#endif
static inline __attribute__((always_inline))
void vww_dw3x3_row_body(const int8_t *rp0, const int8_t *rp1, const int8_t *rp2, int C, int wp, const int8_t *w,
                        const vww_requant_t *q, int8_t *orow, int out_w, int out_c, const int S, const int mode)
{
    const vww_requant_t Q = *q;
#ifdef VWW_USE_SMLAD
    const int n4 = out_w & ~3;
#else   /* a row whose length leaves 2 after the fours ends in a block of six, one that leaves 3 in a block of three */
    const int n4 = (out_w & 3) == 2 && out_w >= 6 ? out_w - 6 : out_w & ~3;
#endif
    for (int c = 0; c < C; c++, w += 12) {
        const vww_chan_t *k = Q.ch + c;
        const int8_t *r0 = rp0 + c * wp, *r1 = rp1 + c * wp, *r2 = rp2 + c * wp, *wc = w;
        int8_t *o = orow + c;
        const int32_t bias = k->bias;
        int ox = 0;
        for (; ox < n4; ox += 4, r0 += 4 * S, r1 += 4 * S, r2 += 4 * S, o += 4 * out_c) {
            int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias;
#ifndef VWW_USE_SMLAD
            int32_t w0, w1, w2, x;
#endif
            VWW_DW_ROW4(r0, 0) VWW_DW_ROW4(r1, 4) VWW_DW_ROW4(r2, 8)
            {
                VWW_RQ_LOCALS(k);
                int8_t v0 = VWW_RQ1(a0), v1 = VWW_RQ1(a1), v2 = VWW_RQ1(a2), v3 = VWW_RQ1(a3);
                o[0] = v0; o[out_c] = v1; o[2 * out_c] = v2; o[3 * out_c] = v3;
            }
        }
#ifndef VWW_USE_SMLAD
        if (out_w - ox == 6) {
            int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, w0, w1, w2, x;
            VWW_DW_ROW6(r0, 0) VWW_DW_ROW6(r1, 4) VWW_DW_ROW6(r2, 8)
            VWW_RQ_LOCALS(k);
            int8_t v0 = VWW_RQ1(a0), v1 = VWW_RQ1(a1), v2 = VWW_RQ1(a2), v3 = VWW_RQ1(a3), v4 = VWW_RQ1(a4), v5 = VWW_RQ1(a5);
            o[0] = v0; o[out_c] = v1; o[2 * out_c] = v2; o[3 * out_c] = v3; o[4 * out_c] = v4; o[5 * out_c] = v5;
            continue;
        }
        if (out_w - ox == 3) {
            int32_t a0 = bias, a1 = bias, a2 = bias, w0, w1, w2, x;
            VWW_DW_ROW3(r0, 0) VWW_DW_ROW3(r1, 4) VWW_DW_ROW3(r2, 8)
            VWW_RQ_LOCALS(k);
            int8_t v0 = VWW_RQ1(a0), v1 = VWW_RQ1(a1), v2 = VWW_RQ1(a2);
            o[0] = v0; o[out_c] = v1; o[2 * out_c] = v2;
            continue;
        }
#endif
#ifdef VWW_USE_SMLAD
        /* the rest of the row: two outputs with the four-output scheme's first half (a word holds both outputs'
         * taps for stride 1; stride 2 reads its second word from r + 1), then one from the word ending at its last
         * tap (so no load reads past the row) */
        if (out_w - ox >= 2) {
            int32_t a0 = bias, a1 = bias;
            VWW_DW_ROW2(r0, 0) VWW_DW_ROW2(r1, 4) VWW_DW_ROW2(r2, 8)
            VWW_RQ_LOCALS(k);
            int8_t v0 = VWW_RQ1(a0), v1 = VWW_RQ1(a1);
            o[0] = v0; o[out_c] = v1;
            ox += 2; r0 += 2 * S; r1 += 2 * S; r2 += 2 * S; o += 2 * out_c;
        }
        if (ox < out_w && ox > 0) {   /* taps r[0..2]: the word r[-1..2] */
            int32_t a = bias;
            VWW_DW_ROW1(r0, 0) VWW_DW_ROW1(r1, 4) VWW_DW_ROW1(r2, 8)
            VWW_RQ_LOCALS(k);
            o[0] = VWW_RQ1(a);
            ox++;
        }
#endif
        for (; ox < out_w; ox++, r0 += S, r1 += S, r2 += S, o += out_c) {
            int32_t a = bias;
            a += r0[0] * wc[0]; a += r0[1] * wc[1]; a += r0[2] * wc[2];
            a += r1[0] * wc[4]; a += r1[1] * wc[5]; a += r1[2] * wc[6];
            a += r2[0] * wc[8]; a += r2[1] * wc[9]; a += r2[2] * wc[10];
            VWW_RQ_LOCALS(k);
            o[0] = VWW_RQ1(a);
        }
    }
}
#define VWW_DW_ROW_FN(name, S, mode)                                                                        \
static VWW_HOT void name(const int8_t *rp0, const int8_t *rp1, const int8_t *rp2, int C, int wp,         \
                              const int8_t *w, const vww_requant_t *q, int8_t *orow, int out_w, int out_c)    \
{ vww_dw3x3_row_body(rp0, rp1, rp2, C, wp, w, q, orow, out_w, out_c, S, mode); }
VWW_DW_ROW_FN(vww_dw3x3_s1_general, 1, VWW_RQ_GENERAL)
VWW_DW_ROW_FN(vww_dw3x3_s1_fast, 1, VWW_RQ_FAST)
VWW_DW_ROW_FN(vww_dw3x3_s1_sat, 1, VWW_RQ_FAST_SAT)
VWW_DW_ROW_FN(vww_dw3x3_s1_relu, 1, VWW_RQ_FAST_RELU)
VWW_DW_ROW_FN(vww_dw3x3_s2_general, 2, VWW_RQ_GENERAL)
VWW_DW_ROW_FN(vww_dw3x3_s2_fast, 2, VWW_RQ_FAST)
VWW_DW_ROW_FN(vww_dw3x3_s2_sat, 2, VWW_RQ_FAST_SAT)
VWW_DW_ROW_FN(vww_dw3x3_s2_relu, 2, VWW_RQ_FAST_RELU)

void vww_depthwise_s8(const int8_t *in, int in_h, int in_w, int in_c,
                      const int8_t *w, int kh, int kw, int depth_mult,
                      int stride_h, int stride_w, int dil_h, int dil_w, int pad_t, int pad_l, int32_t in_off,
                      const vww_requant_t *q, int8_t *out, int out_h, int out_w, int out_c, int8_t *rows)
{
    vww_expand_depthwise_s8(in, 0, in_h, in_w, in_c, w, kh, kw, depth_mult, stride_h, stride_w, dil_h, dil_w, pad_t,
                            pad_l, in_off, q, out, out_h, out_w, out_c, rows);
}

void vww_expand_depthwise_s8(const int8_t *in, const vww_expand_t *ex, int in_h, int in_w, int in_c,
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
    /* the padding columns of every row slot hold the zero point for the whole op: written once here */
    for (int s = 0; s < kh; s++) {
        loaded[s] = -0x7fffffff;
        vww_pad_cols(rows + s * row_bytes, C, wp, pad_l, n, zp);
    }
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
                loaded[s] = iy;   /* (a zero-point row left the padding columns as they were: the zero point) */
                if (iy < 0 || iy >= in_h) vww_fill_s8(r, zp, row_bytes);
                else {
                    /* the row, HWC, as C channel rows */
                    if (ex) {  /* the input row is computed now, by the 1x1 convolution before (fused), straight into
                                * the row slot, channel-major, four pixels at a time; the last 1-3 through `row` */
                        const int8_t *xin = ex->in + iy * in_w * ex->in_c;
                        const int n4 = n & ~3;
                        vww_pointwise_planar_s8(xin, n4, ex->in_c, ex->w, ex->kp, ex->q, r + pad_l, wp, C, ex->scratch);
                        if (n4 < n) {
                            vww_pointwise_s8(xin + n4 * ex->in_c, n - n4, ex->in_c, ex->w, ex->kp, ex->q, ex->row, C,
                                             ex->scratch);
                            vww_transpose(ex->row, n - n4, C, r + pad_l + n4, wp);
                        }
                    } else vww_transpose(in + iy * in_w * C, n, C, r + pad_l, wp);
                }
            }
            rp[ky] = rows + s * row_bytes;
        }
        int8_t *orow = out + oy * out_w * out_c;
        if (fast) {
            void (*f)(const int8_t *, const int8_t *, const int8_t *, int, int, const int8_t *, const vww_requant_t *,
                      int8_t *, int, int);
            if (stride_w == 1) f = VWW_PICK(Q.mode, vww_dw3x3_s1_relu, vww_dw3x3_s1_sat, vww_dw3x3_s1_fast, vww_dw3x3_s1_general);
            else f = VWW_PICK(Q.mode, vww_dw3x3_s2_relu, vww_dw3x3_s2_sat, vww_dw3x3_s2_fast, vww_dw3x3_s2_general);
            f(rp[0], rp[1], rp[2], C, wp, w, q, orow, out_w, out_c);
            continue;
        }
        for (int ox = 0; ox < out_w; ox++)
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

/* The fast form where one input (b here) has the larger scale: its multiplier is exactly 1/2 (2^30, shift 0), so its
 * term is (off + b) << 19 exactly (an even number halved), and the other input and the output round right by at
 * least one bit (rs >= 1: vww_rq_fast2 on doubled sums). Saturating or clamping store. */
static inline __attribute__((always_inline))
void vww_add_half_body(const int8_t *a, const int8_t *b, int n, int32_t off1, int32_t off2, int32_t m1, int32_t kr1,
                       int32_t rs1, int32_t mo, int32_t kro, int32_t rso, int32_t lo, int32_t hi, int8_t *out,
                       const int sat)
{
    for (const int8_t *e = a + n; a < e; a++, b++, out++) {
        int32_t x2 = (int32_t)((uint32_t)(off1 + *a) << 21);
        int32_t s = vww_rq_fast2(x2, m1, kr1, rs1) + (int32_t)((uint32_t)(off2 + *b) << 19);
        int32_t y = vww_rq_fast2((int32_t)((uint32_t)s << 1), mo, kro, rso);
        *out = sat ? vww_sat8(y) : vww_clamp(y, lo, hi);
    }
}
static VWW_NOINLINE void vww_add_half_sat(const int8_t *a, const int8_t *b, int n, int32_t off1, int32_t off2,
                                          int32_t m1, int32_t kr1, int32_t rs1, int32_t mo, int32_t kro, int32_t rso,
                                          int8_t *out)
{ vww_add_half_body(a, b, n, off1, off2, m1, kr1, rs1, mo, kro, rso, -128, 127, out, 1); }
static VWW_NOINLINE void vww_add_half(const int8_t *a, const int8_t *b, int n, int32_t off1, int32_t off2, int32_t m1,
                                      int32_t kr1, int32_t rs1, int32_t mo, int32_t kro, int32_t rso, int32_t lo,
                                      int32_t hi, int8_t *out)
{ vww_add_half_body(a, b, n, off1, off2, m1, kr1, rs1, mo, kro, rso, lo, hi, out, 0); }

void vww_add_s8(const int8_t *a, const int8_t *b, int n, const vww_add_t *p, int8_t *out)
{
    const vww_add_t P = *p;
    /* every shift rounds right by at most 22 bits and the multipliers are normal: the one-multiply form. Then
     * (in + off) << 20 is below 2^28 and so are both scaled terms: their doubles fit in 32 bits */
    if (P.left_shift == 20 && P.in1_shift <= 0 && P.in1_shift >= -22 && P.in2_shift <= 0 && P.in2_shift >= -22 &&
        P.out_shift <= 0 && P.out_shift >= -22 && P.in1_mult >= 0x40000000 && P.in2_mult >= 0x40000000 &&
        P.out_mult >= 0x40000000) {
        const int32_t rs1 = -P.in1_shift, rs2 = -P.in2_shift, rso = -P.out_shift;
        const int32_t nm1 = rs1 ? -1 : 0, nm2 = rs2 ? -1 : 0, nmo = rso ? -1 : 0;
        const int32_t kr1 = rs1 ? 1 << (rs1 - 1) : 0, kr2 = rs2 ? 1 << (rs2 - 1) : 0;
        const int32_t kro = P.out_off * (1 << rso) + (rso ? 1 << (rso - 1) : 0);
        const int half1 = P.in1_mult == 0x40000000 && P.in1_shift == 0, half2 = P.in2_mult == 0x40000000 && P.in2_shift == 0;
        if (rso >= 1 && ((half2 && rs1 >= 1) || (half1 && rs2 >= 1))) {   /* b (or a) the larger scale */
            const int8_t *x = half2 ? a : b, *y = half2 ? b : a;
            const int32_t offx = half2 ? P.in1_off : P.in2_off, offy = half2 ? P.in2_off : P.in1_off;
            const int32_t mx = half2 ? P.in1_mult : P.in2_mult, krx = half2 ? kr1 : kr2, rsx = half2 ? rs1 : rs2;
            if (P.act_min == -128 && P.act_max == 127) vww_add_half_sat(x, y, n, offx, offy, mx, krx, rsx, P.out_mult, kro, rso, out);
            else vww_add_half(x, y, n, offx, offy, mx, krx, rsx, P.out_mult, kro, rso, P.act_min, P.act_max, out);
            return;
        }
        for (int i = 0; i < n; i++) {
            int32_t x = (int32_t)((uint32_t)(P.in1_off + a[i]) << 20), y = (int32_t)((uint32_t)(P.in2_off + b[i]) << 20);
            int32_t s = vww_rq_fast(x, P.in1_mult, kr1, nm1, rs1) + vww_rq_fast(y, P.in2_mult, kr2, nm2, rs2);
            out[i] = vww_clamp(vww_rq_fast(s, P.out_mult, kro, nmo, rso), P.act_min, P.act_max);
        }
        return;
    }
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

void vww_requant_s8(const int8_t *in, int n, int32_t in_zp, int32_t mult, int32_t shift, int32_t out_zp, int8_t *out)
{
    for (int i = 0; i < n; i++) out[i] = vww_clamp(vww_mbqm(in[i] - in_zp, mult, shift) + out_zp, -128, 127);
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
