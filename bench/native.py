"""The native C backend against TensorFlow Lite Micro: bit-exactness, flash, RAM and instructions per MAC.

Run from the project root: `python bench/native.py [--epochs N]`. Writes bench/results/native.json, a row at a time.

For the MLPerf Tiny VWW int8 models (../shared/models/mlperf-tiny-vww and the 14-block one of mlperf-tiny-vww-large,
skipped where absent), the pretrained students (vww_kit/pretrained), any --model given (the demo's own student:
`make demo`, then --model vww_out/student_int8.tflite) and two small students trained here for a few epochs on the
built-in sample set (a MobileNetV1 at width 0.1, and a MobileNetV2 at width 0.1 for ADD coverage), each calibrated on
real board views made with that model's own input (size, color):
- outputs of the native host build against the tflite-micro interpreter on every sample frame (train+val+test);
- bare-metal builds for Cortex-M4F (QEMU mps2-an386) and RV32IMC (QEMU virt), semihosting checksums vs the host;
- flash (text + rodata + data) and RAM (data + bss + measured stack) of the model's own objects (arm-none-eabi-size),
  beside the .tflite size and TFLM's arena measured by bisection (vww_kit.profile.measure_arena);
- instructions per inference on a Cortex-M4 (Unicorn emulator), portable C and the SMLAD path, per MAC;
- the peers on the same counter: TensorFlow Lite Micro with CMSIS-NN kernels and with its reference kernels, built for
  Cortex-M4F from the rebuild kit in ../shared/anchors/tflm-cmsis-nn (its libraries compiled once, into --anchor-dir,
  and reused): instructions per MAC, TFLM's smallest arena on the 32-bit target plus the Invoke stack, code and
  constants; their outputs must equal the native build's on the same real frames (checked, --anchor-frames of them).
Toolchains: apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi gcc-riscv64-unknown-elf
picolibc-riscv64-unknown-elf qemu-system-arm qemu-system-misc libstdc++-arm-none-eabi-picolibc; pip install unicorn.
"""
import argparse, json, os, platform, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import numpy as np
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
from vww_kit.native import native_figures
from vww_kit.data import sample_set
from vww_kit.camera import InputSpec, to_model_input
from vww_kit.pipeline import board_views

MODEL = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'/'vww_96_int8.tflite'
LARGE = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww-large'/'vww_96_14blk_836k_int8.tflite'
PRETRAINED = ROOT/'vww_kit'/'pretrained'
ANCHOR = ROOT.parent/'shared'/'anchors'/'tflm-cmsis-nn'
OUT = ROOT/'bench'/'results'/'native.json'
GOALS = dict(ram_vs_tflm_arena=0.60, portable_instructions_per_mac=3.0, smlad_instructions_per_mac=1.5)
ANCHORS = {
    'TinyEngine (MCUNet vww0, STM32H743)': 'peak SRAM 59 kB vs 163 kB under TFLM (mit-han-lab/tinyengine README)',
    'Edge Impulse EON': '25-65% less RAM and 10-35% less flash than TFLM (Edge Impulse docs)',
}

def students(views, labels, epochs):
    "Two small int8 students trained briefly on the sample set's views: {name: tflite bytes}"
    import tf_keras
    from vww_kit.models import mobilenet_v1, mobilenet_v2
    from vww_kit.profile import to_int8_tflite
    tf_keras.utils.set_random_seed(0)
    x = views.astype(np.float32)/255
    rep = x[::13][:32]
    res = {}
    for name, m in [('mobilenet_v1 0.1 student', mobilenet_v1(96, 3, 0.1)),
                    ('mobilenet_v2 0.1 student', mobilenet_v2(96, 3, 0.1, last_channels=64))]:
        m.compile(tf_keras.optimizers.Adam(2e-3), 'sparse_categorical_crossentropy')
        m.fit(x, labels, epochs=epochs, batch_size=32, verbose=0)
        res[name] = to_int8_tflite(m, representative=rep)
    return res

def versions():
    out = {}
    for tool in ('gcc', 'arm-none-eabi-gcc', 'riscv64-unknown-elf-gcc', 'qemu-system-arm', 'qemu-system-riscv32'):
        try: out[tool] = subprocess.run([tool, '--version'], capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError): out[tool] = 'absent'
    try:
        import unicorn; out['unicorn'] = unicorn.__version__
    except ImportError: out['unicorn'] = 'absent'
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=3, help='training epochs of the two students (default 3)')
    ap.add_argument('--cache', default=str(Path.home()/'.cache'/'vww_kit'/'bench_views'))
    ap.add_argument('--model', action='append', default=[], metavar='TFLITE',
                    help="also benchmark this int8 .tflite, e.g. the demo's student: `make demo`, then "
                         "--model vww_out/student_int8.tflite (repeatable)")
    ap.add_argument('--anchor-dir', default=str(Path.home()/'.cache'/'vww_kit'/'tflm-anchor'),
                    help='where the TFLM + CMSIS-NN and TFLM reference libraries are compiled once and kept')
    ap.add_argument('--anchor-frames', type=int, default=20, help='real frames each TFLM build runs (default 20)')
    ap.add_argument('--no-students', action='store_true', help='skip the two students trained here')
    a = ap.parse_args(argv)
    samples = sample_set('train') + sample_set('val') + sample_set('test')
    n_train = len(sample_set('train'))
    models = {}
    if MODEL.exists(): models['MLPerf VWW int8 (MobileNetV1 0.25)'] = MODEL.read_bytes()
    else: print(f"MLPerf model not found at {MODEL}: skipped.")
    if LARGE.exists(): models['MLPerf VWW 14blk_836k int8'] = LARGE.read_bytes()
    for p in sorted(PRETRAINED.glob('*_int8.tflite')): models[f"pretrained {p.name.replace('_int8.tflite', '')}"] = p.read_bytes()
    for p in map(Path, a.model):
        name = 'demo student (distilled, pruned, QAT)' if p.name == 'student_int8.tflite' else p.name
        models[name] = p.read_bytes()
    if not a.no_students:
        t = time.perf_counter()
        views, labels = board_views(samples[:n_train], 'esp32-cam', InputSpec(96, 96, 3, 'int8', 1/255, -128), a.cache, progress=False)
        models.update(students(views, labels, a.epochs))
        print(f"students trained and converted in {time.perf_counter() - t:.0f} s")
    res = dict(goals=GOALS, anchors=ANCHORS, epochs=a.epochs, frames=len(samples), platform=platform.platform(),
               tools=versions(), models={})
    print(f"\n{'model':36} {'exact':>9} {'.tflite':>9} {'flash':>9} {'TFLM arena':>10} {'RAM':>8} {'RAM/arena':>9} "
          f"{'instr/MAC':>9} {'+SMLAD':>7} {'M4/RV ok':>8} {'CMSIS-NN':>8} {'ratio':>6} {'+SMLAD':>6} {'TFLM RAM':>9} {'same':>5}", flush=True)
    for name, data in models.items():
        t = time.perf_counter()
        s = InputSpec.from_model(data)       # views from the model's own input: size and color
        views = board_views(samples, 'esp32-cam', s, a.cache, progress=False)[0]
        frames = to_model_input(views, s)
        r = native_figures(data, frames, cross_frames=2)
        r['spec'] = f"{s.height}x{s.width}x{s.channels}"
        r['tflm_anchor'] = tflm_anchor(name, data, frames[:a.anchor_frames], Path(a.anchor_dir))
        compare(r, data, frames[:a.anchor_frames])
        r['seconds'] = round(time.perf_counter() - t, 1)
        res['models'][name] = r
        print_row(name, r)
        OUT.parent.mkdir(parents=True, exist_ok=True)   # each row is kept as soon as it is measured
        OUT.write_text(json.dumps(res, indent=1, default=str))
    print(f"\nGoals: RAM <= {GOALS['ram_vs_tflm_arena']:.0%} of the TFLM arena; instructions/MAC <= "
          f"{GOALS['portable_instructions_per_mac']} portable, <= {GOALS['smlad_instructions_per_mac']} with SMLAD.")
    print("Flash is the model's own objects (weights, constants, kernels, the static arena excluded); TFLM needs the "
          ".tflite plus its interpreter and kernels. RAM is the model's data+bss plus the stack vww_invoke used.")
    print("TFLM arena: measured with the tflite-micro interpreter on this 64-bit host. TFLM RAM: the smallest arena "
          "TFLM + CMSIS-NN accepts on the 32-bit target plus its Invoke stack. ratio: CMSIS-NN instructions/MAC over "
          "native's (portable, SMLAD). same: frames on which TFLM + CMSIS-NN, TFLM reference and native agree.")
    for k, v in ANCHORS.items(): print(f"Anchor, {k}: {v}")
    print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0

def tflm_anchor(name, data, frames, work)->dict:
    "TFLM + CMSIS-NN and TFLM reference for one model, built and counted with ../shared/anchors/tflm-cmsis-nn: {variant: count.py's JSON}"
    if not (ANCHOR/'build.sh').exists(): return dict(skipped=f"{ANCHOR} is absent: no TFLM peer measured")
    if not shutil.which('arm-none-eabi-g++'): return dict(skipped='arm-none-eabi-g++ not found (apt-get install gcc-arm-none-eabi)')
    work.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r'\W+', '_', name).strip('_')
    (work/f'{slug}.tflite').write_bytes(data)
    np.save(work/f'{slug}_frames.npy', np.asarray(frames, np.int8))
    out = {}
    for v in ('cmsis_nn', 'ref'):
        od, t = work/f'{slug}_{v}', time.perf_counter()
        shutil.rmtree(od, ignore_errors=True)
        env = {**os.environ, 'LIBDIR': str(work/f'lib_{v}'), 'JOBS': str(os.cpu_count() or 2)}
        b = subprocess.run(['bash', str(ANCHOR/'build.sh'), str(work/f'{slug}.tflite'), str(od), v], env=env,
                           capture_output=True, text=True)
        if b.returncode: out[v] = dict(error=f"build failed: {(b.stdout + b.stderr)[-800:]}"); continue
        c = subprocess.run([sys.executable, str(ANCHOR/'count.py'), str(od/'tflm.elf'), '--input', str(work/f'{slug}_frames.npy'),
                            '--frames', ','.join(map(str, range(len(frames)))), '--min-arena', '--json', str(od/'count.json')],
                           capture_output=True, text=True)
        if c.returncode: out[v] = dict(error=f"count failed: {(c.stdout + c.stderr)[-800:]}"); continue
        d = json.loads((od/'count.json').read_text())
        d['seconds'] = round(time.perf_counter() - t, 1)
        out[v] = d
    return out

def compare(r, data, frames):
    "Ratios and RAM against TFLM + CMSIS-NN, and whether every engine gave the same outputs on the same frames"
    from vww_kit.native import NativeModel
    a = r['tflm_anchor']
    cm, ref = a.get('cmsis_nn', {}), a.get('ref', {})
    if 'frames' not in cm: return
    native = NativeModel(data)(np.asarray(frames, np.int8))
    outs = lambda d: np.array([f['output'][:native.shape[1]] for f in d.get('frames', [])], np.int8)
    r['anchor_frames'] = len(frames)
    r['anchor_same'] = int(((outs(cm) == native).all(1) & ((outs(ref) == native).all(1) if 'frames' in ref else True)).sum())
    m4, sm = (r['targets'].get(t, {}) for t in ('cortex-m4', 'cortex-m4-smlad'))
    ipm = cm['instructions']/r['macs']
    r['vs_cmsis_nn'] = dict(cmsis_nn_instructions_per_mac=round(ipm, 3),
                            ref_instructions_per_mac=round(ref['instructions']/r['macs'], 3) if 'instructions' in ref else None,
                            portable_ratio=round(ipm/m4['instructions_per_mac'], 2) if m4.get('instructions_per_mac') else None,
                            smlad_ratio=round(ipm/sm['instructions_per_mac'], 2) if sm.get('instructions_per_mac') else None,
                            tflm_ram=cm['min_arena_bytes'] + cm['invoke_stack_bytes'],
                            native_ram=m4.get('ram'), tflm_flash=cm['text_data_excl_model_input'] + cm['model_bytes'],
                            native_flash=m4.get('flash'))

def print_row(name, r):
    m4, sm, rv = (r['targets'].get(t, {}) for t in ('cortex-m4', 'cortex-m4-smlad', 'rv32imc'))
    ram = m4.get('ram', r['arena_bytes'])
    ok = all(x.get('matches_host') for x in (m4, sm, rv) if x)
    v = r.get('vs_cmsis_nn', {})
    nan = float('nan')
    print(f"{name:36} {r['bit_exact']:>4}/{r['frames']:<4} {r['model_bytes']:>9,} {m4.get('flash', 0):>9,} "
          f"{r.get('tflm_arena_bytes', 0):>10,} {ram:>8,} {ram/r.get('tflm_arena_bytes', 1):>9.0%} "
          f"{m4.get('instructions_per_mac', nan):>9.2f} {sm.get('instructions_per_mac', nan):>7.2f} {str(ok):>8} "
          f"{v.get('cmsis_nn_instructions_per_mac') or nan:>8.2f} {v.get('portable_ratio') or nan:>6.2f} "
          f"{v.get('smlad_ratio') or nan:>6.2f} {v.get('tflm_ram') or 0:>9,} {r.get('anchor_same', 0):>2}/{r.get('anchor_frames', 0):<2}",
          flush=True)
    for k, why in r['skipped'].items(): print(f"    skipped {k}: {why}")
    for k, d in r['tflm_anchor'].items():
        if isinstance(d, dict) and 'error' in d: print(f"    TFLM {k}: {d['error'][-300:]}")
        elif k == 'skipped': print(f"    TFLM peers skipped: {d}")

if __name__ == '__main__':
    sys.exit(main())
