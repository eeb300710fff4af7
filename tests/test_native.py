"""vww_kit.native: generated C is bit-exact with tflite-micro, on the host and bare metal (Cortex-M4F, RV32IMC).

Cross builds need: apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi gcc-riscv64-unknown-elf
picolibc-riscv64-unknown-elf qemu-system-arm qemu-system-misc; instruction counts need `pip install unicorn`.
Each of those tests skips, saying which package is missing, where its tool is absent.
"""
import shutil, subprocess
from pathlib import Path
import numpy as np
import pytest
import vww_kit
from vww_kit import native as N
from vww_kit.data import sample_set
from vww_kit.camera import InputSpec, to_model_input
from vww_kit.pipeline import board_views

SPEC = InputSpec(96, 96, 3, 'int8', 1/255, -128)
SHARED_MODELS = Path(__file__).resolve().parents[1].parent/'shared'/'models'/'mlperf-tiny-vww'

RQ_TEST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "vww_kernels.h"
static uint32_t s = 1;
static uint32_t rnd(void) { s = s * 1664525u + 1013904223u; return s; }
int main(void) {
    const int32_t edge[] = {0, 1, -1, 2, -2, 3, -3, 127, -128, 1 << 20, -(1 << 20), (1 << 30) - 1, -(1 << 30) + 1};
    const int32_t mults[] = {1 << 30, (1 << 30) + 12345, 0x7fffffff};   /* QuantizeMultiplier's range [2^30, 2^31) */
    long bad = 0, n = 0;
    for (int rs = 0; rs <= 22; rs++)          /* the range the generator allows (requant_mode) */
        for (int i = 0; i < 50000; i++) {
            int32_t m = i < 13 * 3 ? mults[i % 3] : (int32_t)((rnd() >> 1) | 0x40000000u);
            int32_t zp = (int32_t)(rnd() % 256) - 128;
            int32_t kr = zp * (1 << rs) + (rs ? 1 << (rs - 1) : 0), nm = rs ? -1 : 0;
            int32_t acc = i < 13 * 3 ? edge[i / 3] : (int32_t)rnd() >> (2 + rnd() % 24);   /* |acc| < 2^30 */
            n++; bad += vww_rq_fast(acc, m, kr, nm, rs) != vww_mbqm(acc, m, -rs) + zp;
            /* the hot loops' form (rs >= 1 in the fast modes): the sum doubled, the sign from its top bit */
            if (rs) { n++; bad += vww_rq_fast2((int32_t)((uint32_t)acc << 1), m, kr, rs) != vww_mbqm(acc, m, -rs) + zp; }
            /* VWW_RQ_FAST_RELU: output zero point -128, saturated to int8, no sign correction with SMMLAR */
            if (rs) {
                int32_t want = vww_mbqm(acc, m, -rs) - 128, kr0 = -128 * (1 << rs) + (1 << (rs - 1));
                want = want < -128 ? -128 : want > 127 ? 127 : want;
                n++; bad += vww_sat8(vww_rq_relu2((int32_t)((uint32_t)acc << 1), m, kr0, rs)) != want;
            }
        }
    printf("%ld %ld\n", bad, n);
    fflush(stdout);
    exit(0);   /* picolibc's semihosting exit on bare metal */
}"""

@pytest.fixture(scope='module')
def views(tmp_path_factory):
    "Board views of the whole sample set (train + val + test), as the ESP32-CAM sees them"
    samples = sample_set('train') + sample_set('val') + sample_set('test')
    x, y = board_views(samples, 'esp32-cam', SPEC, tmp_path_factory.mktemp('views'), progress=False)
    return x, y

@pytest.fixture(scope='module')
def mlperf(views):
    p = SHARED_MODELS/'vww_96_int8.tflite'
    if not p.exists(): pytest.skip(f"MLPerf VWW reference model not found at {SHARED_MODELS} (../shared/models/mlperf-tiny-vww)")
    data = p.read_bytes()
    return data, to_model_input(views[0], InputSpec.from_model(data))

@pytest.fixture(scope='module')
def student(views):
    "A MobileNetV1 width 0.1 student trained one epoch on the train views, int8 with real-view calibration"
    import tf_keras
    from vww_kit.models import mobilenet_v1
    from vww_kit.profile import to_int8_tflite
    tf_keras.utils.set_random_seed(0)
    x, y = views
    n = len(sample_set('train'))
    xf = x[:n].astype(np.float32)/255
    m = mobilenet_v1(96, 3, 0.1)
    m.compile(tf_keras.optimizers.Adam(2e-3), 'sparse_categorical_crossentropy')
    m.fit(xf, y[:n], epochs=1, batch_size=32, verbose=0)
    data = to_int8_tflite(m, representative=xf[::13][:32])
    return data, to_model_input(x, InputSpec.from_model(data))

@pytest.fixture(scope='module')
def pad_add(views):
    "A small untrained model with PAD, ADD, a depthwise multiplier of 2, strided and 2x2 pooling layers, odd channel counts"
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    tf_keras.utils.set_random_seed(1)
    L = tf_keras.layers
    inp = tf_keras.Input((96, 96, 3))
    a = L.ZeroPadding2D(((1, 0), (0, 1)))(inp)
    a = L.Conv2D(7, 3, strides=2, padding='valid', activation='relu')(a)   # an odd channel count (pruned students)
    b = L.DepthwiseConv2D(3, padding='same', activation='relu6', depth_multiplier=2)(a)
    c = L.Add()([a, L.Conv2D(7, 1)(b)])
    c = L.Conv2D(12, 3, strides=2, padding='same', activation='relu')(c)
    c = L.Flatten()(L.AveragePooling2D(2)(c))
    m = tf_keras.Model(inp, L.Dense(2, activation='softmax')(c))
    x = views[0]
    data = to_int8_tflite(m, representative=x[::13][:32].astype(np.float32)/255)
    return data, to_model_input(x, InputSpec.from_model(data))

def test_quantize_multiplier_as_tflite():
    assert N.quantize_multiplier(0.5) == (1 << 30, 0)
    assert N.quantize_multiplier(1.0) == (1 << 30, 1)
    assert N.quantize_multiplier(0.75) == (3 << 29, 0)
    assert N.quantize_multiplier(1e-12) == (0, 0)            # below 2^-31: flushed to zero, as TFLite does
    m, s = N.quantize_multiplier(0.0026)
    assert abs(m*2.0**(s - 31) - 0.0026) < 1e-11

def test_mbqm_is_tflite_double_rounding():
    "Against gemmlowp's definitions written out with Python integers"
    def ref(x, m, shift):
        ls, rs = max(shift, 0), max(-shift, 0)
        ab = (x*(1 << ls))*m
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        v = ab + nudge
        r = v // (1 << 31) if v >= 0 else -((-v) // (1 << 31))   # C++ division truncates towards zero
        if rs:
            mask = (1 << rs) - 1
            r = (r >> rs) + ((r & mask) > (mask >> 1) + (r < 0))
        return r
    rng = np.random.default_rng(0)
    for _ in range(2000):
        x = int(rng.integers(-2**24, 2**24)); m = int(rng.integers(1 << 30, 1 << 31)); s = int(rng.integers(-20, 2))
        assert int(N.mbqm(x, m, s)) == ref(x, m, s)

def _c_check(tmp_path, source, target='host')->tuple:
    "Build a C check beside the kernel files for the host or a bare-metal TARGETS key, run it (QEMU), its (bad, n)"
    for k, v in N.kernel_sources().items(): (tmp_path/k).write_text(v)
    (tmp_path/'t.c').write_text(source)
    if target == 'host':
        if not shutil.which('gcc'): pytest.skip("gcc is not installed (apt-get install gcc)")
        subprocess.run(['gcc', '-std=c99', '-O2', '-I', str(tmp_path), str(tmp_path/'t.c'), '-o', str(tmp_path/'t')],
                       check=True)
        out = subprocess.run([str(tmp_path/'t')], capture_output=True, text=True, check=True).stdout
    else:
        t = N.TARGETS[target]
        for tool in (t['cc'], t['qemu'][0]):
            if not shutil.which(tool): pytest.skip(f"{tool} is not installed: apt-get install {N.NEEDED_PACKAGES[tool]}")
        ld = ['-Wl,--defsym=__flash=0x0', '-Wl,--defsym=__flash_size=0x400000', '-Wl,--defsym=__ram=0x20000000',
              '-Wl,--defsym=__ram_size=0x400000', '-Wl,--defsym=__stack_size=0x8000']
        subprocess.run([t['cc'], '-std=c99', '-O2', *t['cflags'], '--specs=picolibc.specs', '--oslib=semihost', *ld,
                        '-I', str(tmp_path), str(tmp_path/'t.c'), '-o', str(tmp_path/'t.elf')], check=True)
        r = subprocess.run([*t['qemu'], '-nographic', '-monitor', 'none', '-serial', 'none', '-semihosting-config',
                            'enable=on,target=native', '-kernel', str(tmp_path/'t.elf')], capture_output=True, text=True,
                           timeout=300)
        out = r.stdout + r.stderr
    bad, n = map(int, out.split()[:2])
    return bad, n

def test_single_rounding_equals_double_rounding_in_c(tmp_path):
    "vww_rq_fast (one rounded 32x32 multiply, output zero point folded in) against vww_mbqm (TFLite's two steps) + zp"
    bad, n = _c_check(tmp_path, RQ_TEST_C)
    assert n > 1_000_000 and bad == 0

ADD_TEST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "vww_kernels.h"
static uint32_t s = 7;
static uint32_t rnd(void) { s = s * 1664525u + 1013904223u; return s >> 8; }
static int8_t ref(int a, int b, const vww_add_t *p)   /* TFLite's ADD: vww_mbqm is its double rounding */
{
    int32_t x = (int32_t)((uint32_t)(p->in1_off + a) << p->left_shift), y = (int32_t)((uint32_t)(p->in2_off + b) << p->left_shift);
    int32_t r = vww_mbqm(vww_mbqm(x, p->in1_mult, p->in1_shift) + vww_mbqm(y, p->in2_mult, p->in2_shift), p->out_mult,
                         p->out_shift) + p->out_off;
    r = r < p->act_min ? p->act_min : r;
    return (int8_t)(r > p->act_max ? p->act_max : r);
}
int main(void) {
    static int8_t A[65536], B[65536], O[65536];
    long bad = 0, n = 0;
    for (int i = 0; i < 65536; i++) { A[i] = (int8_t)(i & 255); B[i] = (int8_t)(i >> 8); }
    for (int t = 0; t < 200; t++) {   /* either input the larger scale (multiplier 1/2), saturating or clamping */
        vww_add_t p;
        int32_t m = (int32_t)(0x40000000u + rnd() % 0x3fffffffu);
        int sh = -(int)(rnd() % 5);
        p.in1_off = (int32_t)(rnd() % 256) - 128; p.in2_off = (int32_t)(rnd() % 256) - 128;
        p.out_off = (int32_t)(rnd() % 256) - 128; p.left_shift = 20;
        p.in1_mult = t & 1 ? m : 0x40000000; p.in1_shift = t & 1 ? sh : 0;
        p.in2_mult = t & 1 ? 0x40000000 : m; p.in2_shift = t & 1 ? 0 : sh;
        p.out_mult = (int32_t)(0x40000000u + rnd() % 0x3fffffffu); p.out_shift = -(17 + (int)(rnd() % 4));
        p.act_min = t & 2 ? -128 : -128 + (int32_t)(rnd() % 100);
        p.act_max = t & 2 ? 127 : p.act_min + (int32_t)(rnd() % 120);
        vww_add_s8(A, B, 65536, &p, O);
        for (int i = 0; i < 65536; i++, n++) bad += O[i] != ref(A[i], B[i], &p);
    }
    printf("%ld %ld\n", bad, n);
    return 0;
}
"""

def test_add_fast_paths_equal_tflite_in_c(tmp_path):
    "vww_add_s8's one-multiply forms (an input at multiplier 1/2 taken exactly) against TFLite's two steps, all int8 pairs"
    if not shutil.which('gcc'): pytest.skip("gcc is not installed (apt-get install gcc)")
    for k, v in N.kernel_sources().items(): (tmp_path/k).write_text(v)
    (tmp_path/'t.c').write_text(ADD_TEST_C)
    subprocess.run(['gcc', '-std=c99', '-O2', '-I', str(tmp_path), str(tmp_path/'t.c'), str(tmp_path/'vww_kernels.c'),
                    '-o', str(tmp_path/'t')], check=True)
    bad, n = map(int, subprocess.run([str(tmp_path/'t')], capture_output=True, text=True, check=True).stdout.split())
    assert n > 10_000_000 and bad == 0

def test_single_rounding_with_smmlar_on_cortex_m4(tmp_path):
    "The same check built for a Cortex-M4 with VWW_USE_SMLAD (the SMMLAR instruction), run under QEMU"
    bad, n = _c_check(tmp_path, RQ_TEST_C, 'cortex-m4-smlad')
    assert n > 1_000_000 and bad == 0

RQ1_TEST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "vww_kernels.c"   /* vww_rq1, the hot loops' requantization of an undoubled sum, is static there */
static uint32_t s = 3;
static uint32_t rnd(void) { s = s * 1664525u + 1013904223u; return s; }
int main(void) {
    long bad = 0, n = 0;
    for (int i = 0; i < 200000; i++) {
        int rs = 1 + (int)(rnd() % 22);
        int32_t m = i % 7 == 0 ? 1 << 30 : i % 7 == 1 ? 0x7fffffff : (int32_t)((rnd() >> 1) | 0x40000000u);
        int32_t acc = (int32_t)rnd() >> (1 + rnd() % 30);   /* |acc| <= 2^30, the fast modes' bound: below it */
        if (acc == -(1 << 30)) acc++;
        if (i % 4 == 0) {   /* next to a rounding tie: acc m / 2^31 near an odd multiple of 2^(rs-1) */
            int64_t k = (int64_t)(rnd() % (1u << (rs < 30 ? 30 - rs : 1))) - (int64_t)(1u << (rs < 30 ? 29 - rs : 0));
            int64_t a = ((2 * k + 1) * ((int64_t)1 << (rs - 1)) * ((int64_t)1 << 31)) / m + (int64_t)(rnd() % 5) - 2;
            acc = (int32_t)(a > (1 << 30) - 1 ? (1 << 30) - 1 : a < 1 - (1 << 30) ? 1 - (1 << 30) : a);
        }
        int32_t zp = i % 3 == 0 ? -128 : (int32_t)(rnd() % 256) - 128;
        int32_t kr = zp * (1 << rs) + (1 << (rs - 1));
        for (int mode = VWW_RQ_FAST; mode <= VWW_RQ_FAST_RELU; mode++) {
            if (mode == VWW_RQ_FAST_RELU && zp != -128) continue;   /* the generator's condition */
            int32_t lo = -128, hi = 127;
            if (mode == VWW_RQ_FAST) { lo = (int32_t)(rnd() % 128) - 128; hi = lo + (int32_t)(rnd() % (uint32_t)(128 - lo)); }
            vww_requant_t Q = {0, zp, lo, hi, mode, 0};
            int32_t want = vww_mbqm(acc, m, -rs) + zp;
            want = want < lo ? lo : want > hi ? hi : want;
            n++; bad += vww_rq1(acc, m, kr, -1, rs, -rs, &Q, mode) != want;
        }
    }
    printf("%ld %ld\n", bad, n);
    fflush(stdout);
    exit(0);
}"""

@pytest.mark.parametrize('target', ['host', 'cortex-m4', 'cortex-m4-smlad'])
def test_undoubled_sum_requantization_in_c(tmp_path, target):
    """The hot loops' requantization of an undoubled sum (depthwise, first layer: vww_rq1; portable C doubles the
    multiplier instead of the sum, the SMLAD build shifts the sum) in modes 1-3, against TFLite's two steps, random
    sums up to the fast modes' bound and sums next to rounding ties: host, and Cortex-M4 portable and SMLAD (QEMU)"""
    bad, n = _c_check(tmp_path, RQ1_TEST_C, target)
    assert n > 400_000 and bad == 0

def test_mlperf_bit_exact_on_all_sample_frames(mlperf):
    data, x = mlperf
    assert len(x) >= 200
    ours, ref = N.NativeModel(data)(x), N.tflm_outputs(data, x)
    assert (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} frames differ"

def test_student_bit_exact(student):
    data, x = student
    ours, ref = N.NativeModel(data)(x), N.tflm_outputs(data, x)
    assert (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} frames differ"

def test_quantization_aware_student_with_requantize_bit_exact(views):
    """The demo's student is quantization-aware (QAT) with dropout: after fine-tuning its converted file holds an
    int8 -> int8 QUANTIZE before the classifier. The native build runs it bit-exact with tflite-micro on every frame,
    on the host and on the Cortex-M4 (QEMU)."""
    import tf_keras
    from vww_kit.models import mobilenet_v1
    from vww_kit.quantize import qat, quantize
    tf_keras.utils.set_random_seed(0)
    x, y = views
    n = len(sample_set('train'))
    q = qat(mobilenet_v1(96, 3, 0.1, dropout=0.1), x[:n:4], y[:n:4], epochs=1, learning_rate=1e-3)
    data = quantize(q, x[:n:25])
    assert 'QUANTIZE' in {o['op'] for o in N.read_int8_graph(data)['ops']}
    xi = to_model_input(x, InputSpec.from_model(data))
    ours, ref = N.NativeModel(data)(xi), N.tflm_outputs(data, xi)
    assert len(xi) >= 200 and (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(xi)} frames differ"
    if not (shutil.which('arm-none-eabi-gcc') and shutil.which('qemu-system-arm')):
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm are not installed: apt-get install "
                    + N.NEEDED_PACKAGES['arm-none-eabi-gcc'] + " qemu-system-arm")
    r = N.run_qemu(N.cross_build(data, xi[:2], 'cortex-m4'))
    assert (r['outputs'] == ours[:2]).all()

def test_pad_add_and_strided_ops_bit_exact(pad_add):
    data, x = pad_add
    ops = {o['op'] for o in N.read_int8_graph(data)['ops']}
    assert {'PAD', 'ADD', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX'} <= ops
    x = x[::3]
    assert ((N.NativeModel(data)(x) == N.tflm_outputs(data, x)).all())

@pytest.mark.parametrize('mode', [0, 1, 2])
def test_every_requantization_path_bit_exact(mlperf, monkeypatch, mode):
    """The MLPerf model with every layer forced to TFLite's two-step form (0), the clamped one-multiply form (1) or the
    saturated one with the sign correction (2; its ReLU layers take 3 otherwise): the host build and the Cortex-M4
    SMLAD build (under Unicorn) still give tflite-micro's outputs, and the kernels carry only the modes used"""
    data, x = mlperf
    x = x[:6]
    orig = N.requant_mode
    monkeypatch.setattr(N, 'requant_mode', lambda q: min(orig(q), mode))
    import re   # the requant_t constants carry the forced mode (then the packed-lanes flag)
    src = N.native_sources(data)
    assert re.search(rf", {mode}, [01] }};", src['model.c'])
    assert f"#define VWW_MODES {1 << mode:#x}" in src['vww_kernels.h']
    ref = N.tflm_outputs(data, x)
    ours = N.NativeModel(data)(x)
    assert (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} frames differ"
    try: b = N.cross_build(data, x[:1], 'cortex-m4-smlad')
    except FileNotFoundError as e: pytest.skip(str(e))
    try: c = N.count_instructions(b)
    except ModuleNotFoundError as e: pytest.skip(str(e))
    assert (c['output'][:ref.shape[1]] == ref[0]).all()

@pytest.mark.parametrize('in_c, fused', [(256, False), (264, False), (256, True), (264, True)])
def test_packed_lanes_at_their_limit(in_c, fused):
    """Portable C packs two sums into one 64-bit accumulator where 128 * sum|w| < 2^22 (`q->lanes`). A 1x1 layer whose
    weights are all +-127 over 256 inputs (the largest sums: 128 * 127 * 256 = 2^22 - 32768) keeps the packed path
    and stays bit-exact on the most extreme inputs (all -128, all 127, alternating); over 264 inputs the generator
    turns the packing off and the plain path gives the same outputs. `fused`: a depthwise layer reads the 1x1 layer,
    which is then computed row by row into the depthwise row cache (the channel-major packed kernel)."""
    import re, tf_keras
    from vww_kit.profile import to_int8_tflite
    tf_keras.utils.set_random_seed(2)
    L = tf_keras.layers
    inp = tf_keras.Input((4, 4, in_c))
    sign = np.where(np.arange(4) % 2, -1.0, 1.0).astype(np.float32)
    conv = L.Conv2D(4, 1, use_bias=False,
                    kernel_initializer=lambda shape, dtype=None: np.ones(shape, np.float32)*sign)(inp)
    if fused: conv = L.DepthwiseConv2D(3, padding='same')(conv)
    m = tf_keras.Model(inp, L.Dense(2)(L.Flatten()(conv)))
    rng = np.random.default_rng(0)
    data = to_int8_tflite(m, representative=rng.uniform(-1, 1, (16, 4, 4, in_c)).astype(np.float32))
    lanes = re.search(r"q0 = \{ c0, [-0-9]+, [-0-9]+, [-0-9]+, \d, (\d) \}", N.native_sources(data)['model.c'])
    assert lanes and int(lanes.group(1)) == (in_c <= 256)
    first = N.model_layers(data)['layers'][0]
    assert first['kernel'] == ('expand_dw' if fused else 'pointwise')
    w = np.abs((first['pw'] if fused else first)['weights'].astype(np.int64))
    assert w.max() == 127                                         # the sums do reach the bound
    n = 16*in_c
    x = np.stack([np.full(n, -128), np.full(n, 127), np.tile([-128, 127], n//2), rng.integers(-128, 128, n)]).astype(np.int8)
    ours, ref = N.NativeModel(data)(x), N.tflm_outputs(data, x)
    assert (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} inputs differ"

@pytest.mark.parametrize('shape, kernel', [((12, 32, 9), (3, 1)), ((12, 40, 1), (3, 9)), ((12, 32, 3), (3, 3))])
def test_first_layer_fast_path_takes_only_3x3_over_3_channels(shape, kernel):
    """The SMLAD build copies a 3x3 filter over 3 channels (27 taps = 3 rows of 9 bytes) straight into its patch rows.
    Filters with the same 27 taps in another shape (3x1 over 9 channels, 3x9 over 1) must take the general im2col
    path: the SMLAD build on the Cortex-M4 (QEMU) gives tflite-micro's outputs for all three. 8 output channels: up
    to 6 the SMLAD build runs the direct first-layer kernel instead."""
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    t = N.TARGETS['cortex-m4-smlad']
    for tool in (t['cc'], t['qemu'][0]):
        if not shutil.which(tool): pytest.skip(f"{tool} is not installed: apt-get install {N.NEEDED_PACKAGES[tool]}")
    tf_keras.utils.set_random_seed(3)
    L = tf_keras.layers
    inp = tf_keras.Input(shape)
    x = L.Conv2D(8, kernel, strides=2, padding='valid', activation='relu')(inp)
    m = tf_keras.Model(inp, L.Dense(2)(L.Flatten()(x)))
    rng = np.random.default_rng(1)
    data = to_int8_tflite(m, representative=rng.uniform(0, 1, (16,) + shape).astype(np.float32))
    assert N.model_layers(data)['layers'][0]['kernel'] == 'conv' and N.model_layers(data)['layers'][0]['kp'] == 28
    x = rng.integers(-128, 128, (2, int(np.prod(shape)))).astype(np.int8)
    ref = N.tflm_outputs(data, x)
    assert (N.NativeModel(data)(x) == ref).all()
    r = N.run_qemu(N.cross_build(data, x, 'cortex-m4-smlad'))
    assert (r['outputs'] == ref).all(), f"SMLAD build differs for a {kernel} filter over {shape[-1]} channels"

@pytest.mark.parametrize('out_c, size', [(1, 96), (2, 96), (3, 96), (5, 96), (8, 96), (3, 95), (3, 100)])
def test_first_layer_packed_weights_every_channel_count(views, out_c, size):
    """Portable C runs the usual first layer (3x3 over 3 channels, stride 2) straight from the input: pairs of
    channels through one 64-bit sum per pixel times the packed weight w_0 + 2^23 w_1, the last three of an odd count
    two pixels at a time, a single channel alone. Every case against tflite-micro on the host (which takes the packed
    path) for 24 real frames and the extreme inputs (all -128, all 127, a checkerboard of both), with the 'same'
    padding's border groups (right and bottom at 96 pixels, all four sides at 95; at 100 the 50-wide output puts groups
    of four across two rows, which go through the patches and overwrite the packed weights: rebuilt after); and the
    Cortex-M4 builds, portable and SMLAD (QEMU), on two frames. A 1x1 convolution over the first layer's channels
    follows, fused into a depthwise one: over 1 to 4 channels it runs the direct small 1x1 kernel (pairs of output
    channels with packed weights, no patch), over 5 and 8 the patch kernels."""
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    tf_keras.utils.set_random_seed(5)
    L = tf_keras.layers
    inp = tf_keras.Input((size, size, 3))
    a = L.Conv2D(out_c, 3, strides=2, padding='same', activation='relu6')(inp)
    a = L.Conv2D(6, 1, activation='relu6')(a)             # a 1x1 over out_c channels, fused into the depthwise
    a = L.DepthwiseConv2D(3, padding='same', activation='relu6')(a)
    m = tf_keras.Model(inp, L.Dense(2)(L.Flatten()(L.AveragePooling2D(8)(a))))
    v, _ = views
    v = v[:, :size, :size] if size <= 96 else np.pad(v, ((0, 0), (0, size - 96), (0, size - 96), (0, 0)), mode='edge')
    data = to_int8_tflite(m, representative=v[:32].astype(np.float32)/255)
    first = N.model_layers(data)['layers'][0]
    assert first['pad'] == ((size % 2, size % 2))
    fused = [L_['pw']['kp'] for L_ in N.model_layers(data)['layers'] if L_['kernel'] == 'expand_dw']
    assert fused == ([] if size == 100 else [4 if out_c <= 4 else 8])   # 50-wide maps are not fused
    assert f"#define VWW_SMALL_1X1 {int(fused == [4])}" in N.native_sources(data)['vww_kernels.h']
    assert first['kernel'] == 'conv' and first['kp'] == 28 and first['out_shape'][-1] == out_c
    x = to_model_input(v[::25][:24], InputSpec.from_model(data))
    board = np.indices((size, size)).sum(0)[..., None] % 2
    x = np.concatenate([x, np.full((1,) + x.shape[1:], -128, np.int8), np.full((1,) + x.shape[1:], 127, np.int8),
                        np.broadcast_to(np.where(board, 127, -128), (1, size, size, 3)).astype(np.int8)])
    ref = N.tflm_outputs(data, x)
    ours = N.NativeModel(data)(x)
    assert (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} inputs differ"
    t = N.TARGETS['cortex-m4']
    if shutil.which(t['cc']) and shutil.which(t['qemu'][0]):   # the SMLAD build takes this path up to 6 channels
        for target in ('cortex-m4', 'cortex-m4-smlad'):
            assert (N.run_qemu(N.cross_build(data, x[:2], target))['outputs'] == ref[:2]).all(), target

def test_relu_mode_only_where_the_zero_point_is_minus_128(views, monkeypatch):
    """Layers whose output zero point is -128 (a ReLU's range) requantize without the rounding's sign correction in
    the SMLAD build (mode 3): a negative sum gives -128 either way. A linear 1x1 layer (zero point inside the range)
    keeps it (mode 2). On 48 real frames the Cortex-M4 SMLAD build (QEMU) equals tflite-micro; giving the linear layer
    mode 3 too makes frames differ, so the frames do reach the case the correction is for."""
    import re, tf_keras
    from vww_kit.profile import to_int8_tflite
    t = N.TARGETS['cortex-m4-smlad']
    for tool in (t['cc'], t['qemu'][0]):
        if not shutil.which(tool): pytest.skip(f"{tool} is not installed: apt-get install {N.NEEDED_PACKAGES[tool]}")
    tf_keras.utils.set_random_seed(4)
    L = tf_keras.layers
    inp = tf_keras.Input((96, 96, 3))
    a = L.Conv2D(8, 3, strides=2, padding='same', activation='relu6')(inp)
    a = L.DepthwiseConv2D(3, strides=2, padding='same', activation='relu6')(a)
    b = L.Conv2D(16, 1)(a)                                      # linear
    b = L.DepthwiseConv2D(3, strides=2, padding='same', activation='relu')(b)
    m = tf_keras.Model(inp, L.Dense(2)(L.Flatten()(L.AveragePooling2D(12)(b))))
    v, _ = views
    data = to_int8_tflite(m, representative=v[:32].astype(np.float32)/255)
    x = to_model_input(v[::12][:48], InputSpec.from_model(data))
    modes = re.findall(r"q\d+ = \{ c\d+, (-?\d+), -?\d+, -?\d+, (\d)", N.native_sources(data)['model.c'])
    assert ('-128', '3') in modes and any(zp != '-128' and mode == '2' for zp, mode in modes)
    assert all((mode == '3') == (zp == '-128') for zp, mode in modes)
    ref = N.tflm_outputs(data, x)
    assert (N.run_qemu(N.cross_build(data, x, 'cortex-m4-smlad'))['outputs'] == ref).all()
    orig = N.requant_mode
    monkeypatch.setattr(N, 'requant_mode', lambda q: 3 if orig(q) == 2 else orig(q))
    assert (N.run_qemu(N.cross_build(data, x, 'cortex-m4-smlad'))['outputs'] != ref).any()

def test_memory_plan_is_sound_and_small(mlperf, pad_add):
    from vww_kit.profile import measure_arena
    for data, _ in (mlperf, pad_add):
        plan = N.plan_memory(data)
        assert N.plan_conflicts(plan) == []
        assert plan['arena_bytes'] < plan['peak_live']          # outputs do overlap their inputs
        broken = dict(plan, buffers={b: dict(v, offset=0) for b, v in plan['buffers'].items()})
        assert N.plan_conflicts(broken)                          # and the checker does see an unsound plan
    plan = N.plan_memory(mlperf[0])
    assert plan['arena_bytes'] <= 0.6*measure_arena(mlperf[0])  # the goal: 60% of TFLM's arena

def test_sources_are_strict_c99(mlperf, tmp_path):
    if not shutil.which('gcc'): pytest.skip("gcc is not installed (apt-get install gcc)")
    src = N.native_sources(mlperf[0], name='vww_mlperf')
    assert set(src) == {'model.h', 'model.c', 'vww_kernels.h', 'vww_kernels.c'}
    assert 'int vww_invoke(const int8_t *input, int8_t *output);' in src['model.h']
    assert '#include' in src['model.c'] and 'tensorflow' not in src['model.c'].lower()
    # its ReLU layers requantize in mode 3, the classifier in mode 2: the kernels carry those two modes' loops only
    assert '#define VWW_MODES 0xc' in src['vww_kernels.h'] and ', 3, 1 };' in src['model.c']
    assert '#define VWW_FIRST_LAYER_C 8' in src['vww_kernels.h']   # its first layer: 8 channels
    assert '#define VWW_SMALL_1X1 0' in src['vww_kernels.h']       # no 1x1 over 4 channels or fewer
    every = tmp_path/'every'   # the kernels as shipped: every mode and kernel built
    N.write_sources(N.kernel_sources(), every)
    N.write_sources(src, tmp_path)
    t = N.TARGETS['cortex-m4-smlad']   # the SMLAD path too, where the toolchain is installed
    for path in (tmp_path/'model.c', tmp_path/'vww_kernels.c', every/'vww_kernels.c'):
        subprocess.run(['gcc', '-std=c99', '-Wall', '-Wextra', '-pedantic', '-Werror', '-O2', '-c', str(path),
                        '-o', str(path) + '.o'], check=True)
        if shutil.which(t['cc']):
            subprocess.run([t['cc'], '-std=c99', '-Wall', '-Wextra', '-pedantic', '-Werror', '-O2', *t['cflags'],
                            '--specs=picolibc.specs', '-c', str(path), '-o', str(path) + '.arm.o'], check=True)
    # a vww_kernels.h generated for a model with other requantization modes is refused by name, not miscomputed
    (tmp_path/'vww_kernels.h').write_text(src['vww_kernels.h'].replace('#define VWW_MODES 0xc', '#define VWW_MODES 0x1'))
    r = subprocess.run(['gcc', '-std=c99', '-c', str(tmp_path/'model.c'), '-o', str(tmp_path/'x.o')], capture_output=True,
                       text=True)
    assert r.returncode and 'leaves out requantization modes this model uses' in r.stderr

@pytest.mark.parametrize('target', list(N.TARGETS))
def test_bare_metal_checksum_equals_host(mlperf, target):
    t = N.TARGETS[target]
    for tool in (t['cc'], t['qemu'][0]):
        if not shutil.which(tool): pytest.skip(f"{tool} is not installed: apt-get install {N.NEEDED_PACKAGES[tool]}")
    data, x = mlperf
    frames = x[:2]
    host = N.NativeModel(data)(frames)
    build = N.cross_build(data, frames, target)
    r = N.run_qemu(build)
    assert r['checksum'] == N.fnv1a(host.tobytes())
    assert (r['outputs'] == host).all()
    sizes = N.object_sizes(build)
    assert 0 < sizes['flash'] < len(data)                        # the C model is smaller than the .tflite alone

def test_instructions_counted_on_cortex_m4(mlperf):
    pytest.importorskip('unicorn', reason="instruction counting needs the unicorn emulator (pip install unicorn)")
    if not shutil.which('arm-none-eabi-gcc'): pytest.skip("arm-none-eabi-gcc is not installed: apt-get install "
                                                         + N.NEEDED_PACKAGES['arm-none-eabi-gcc'])
    data, x = mlperf
    host = N.NativeModel(data)(x[:1])
    macs = sum(L['macs'] for L in N.model_layers(data)['layers'])
    counts = {}
    for target in ('cortex-m4', 'cortex-m4-smlad'):
        c = N.count_instructions(N.cross_build(data, x[:1], target))
        assert (c['output'][:2] == host[0]).all()                # the emulated run computes the same outputs
        assert 0 < c['stack_bytes'] < 4096
        counts[target] = c['instructions']
    assert macs < counts['cortex-m4-smlad'] < counts['cortex-m4']

def test_unsupported_op_is_named():
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    L = tf_keras.layers
    inp = tf_keras.Input((8, 8, 3))
    m = tf_keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling2D()(L.Conv2D(4, 3)(inp))))
    with pytest.raises(ValueError, match='no kernel for MEAN'): N.native_sources(to_int8_tflite(m, n=2))

def test_float_model_refused():
    import tensorflow as tf, tf_keras
    inp = tf_keras.Input((8, 8, 3))
    m = tf_keras.Model(inp, tf_keras.layers.Conv2D(2, 3)(inp))
    with pytest.raises(ValueError, match='not INT8'): N.native_sources(tf.lite.TFLiteConverter.from_keras_model(m).convert())

def test_missing_toolchain_and_bad_target(mlperf, monkeypatch):
    data, x = mlperf
    with pytest.raises(ValueError, match='Unknown target'): N.cross_build(data, x[:1], 'z80')
    monkeypatch.setattr(N.shutil, 'which', lambda tool: None)
    with pytest.raises(FileNotFoundError, match='apt-get install gcc-arm-none-eabi'): N.cross_build(data, x[:1], 'cortex-m4')
    with pytest.raises(FileNotFoundError, match='not installed'): N.NativeModel(data)

def test_native_command_writes_and_checks(mlperf, tmp_path):
    import argparse
    p = tmp_path/'vww.tflite'; p.write_bytes(mlperf[0])
    a = N.add_native_args(argparse.ArgumentParser()).parse_args([str(p), '--check', '6'])
    assert N.native_command(a) == 0
    assert sorted(f.name for f in (tmp_path/'vww_native').iterdir()) == ['model.c', 'model.h', 'vww_kernels.c', 'vww_kernels.h']
    a = N.add_native_args(argparse.ArgumentParser()).parse_args([str(tmp_path/'missing.tflite')])
    with pytest.raises(FileNotFoundError, match='does not exist'): N.native_command(a)
