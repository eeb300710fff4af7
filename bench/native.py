"""The native C backend against TensorFlow Lite Micro: bit-exactness, flash, RAM and instructions per MAC.

Run from the project root: `python bench/native.py [--epochs N]`. Writes bench/results/native.json.

For the MLPerf Tiny VWW int8 model (../shared/models/mlperf-tiny-vww, skipped where absent), any --model given (the
demo's own student: `make demo`, then --model vww_out/student_int8.tflite) and two small students
trained here for a few epochs on the built-in sample set (a MobileNetV1 at width 0.1, and a MobileNetV2 at width 0.1
for ADD coverage), each calibrated on real board views:
- outputs of the native host build against the tflite-micro interpreter on every sample frame (train+val+test);
- bare-metal builds for Cortex-M4F (QEMU mps2-an386) and RV32IMC (QEMU virt), semihosting checksums vs the host;
- flash (text + rodata + data) and RAM (data + bss + measured stack) of the model's own objects (arm-none-eabi-size),
  beside the .tflite size and TFLM's arena measured by bisection (vww_kit.profile.measure_arena);
- instructions per inference on a Cortex-M4 (Unicorn emulator), portable C and the SMLAD path, per MAC.
Toolchains: apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi gcc-riscv64-unknown-elf
picolibc-riscv64-unknown-elf qemu-system-arm qemu-system-misc; pip install unicorn.
"""
import argparse, json, os, platform, subprocess, sys, time
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
    a = ap.parse_args(argv)
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    samples = sample_set('train') + sample_set('val') + sample_set('test')
    views, labels = board_views(samples, 'esp32-cam', spec, a.cache, progress=False)
    n_train = len(sample_set('train'))
    models = {}
    if MODEL.exists(): models['MLPerf VWW int8 (MobileNetV1 0.25)'] = MODEL.read_bytes()
    else: print(f"MLPerf model not found at {MODEL}: benchmarking the students only.")
    t = time.perf_counter()
    for p in map(Path, a.model):
        name = 'demo student (distilled, pruned, QAT)' if p.name == 'student_int8.tflite' else p.name
        models[name] = p.read_bytes()
    models.update(students(views[:n_train], labels[:n_train], a.epochs))
    print(f"students trained and converted in {time.perf_counter() - t:.0f} s")
    rows = {}
    for name, data in models.items():
        t = time.perf_counter()
        s = InputSpec.from_model(data)
        r = native_figures(data, to_model_input(views, s), cross_frames=2)
        r['seconds'] = round(time.perf_counter() - t, 1)
        rows[name] = r
    print(f"\n{'model':36} {'exact':>9} {'.tflite':>9} {'flash':>9} {'TFLM arena':>10} {'RAM':>8} {'RAM/arena':>9} "
          f"{'instr/MAC':>9} {'+SMLAD':>7} {'M4/RV ok':>8}")
    for name, r in rows.items():
        m4, sm, rv = (r['targets'].get(t, {}) for t in ('cortex-m4', 'cortex-m4-smlad', 'rv32imc'))
        ram = m4.get('ram', r['arena_bytes'])
        ok = all(x.get('matches_host') for x in (m4, sm, rv) if x)
        print(f"{name:36} {r['bit_exact']:>4}/{r['frames']:<4} {r['model_bytes']:>9,} {m4.get('flash', 0):>9,} "
              f"{r.get('tflm_arena_bytes', 0):>10,} {ram:>8,} {ram/r.get('tflm_arena_bytes', 1):>9.0%} "
              f"{m4.get('instructions_per_mac', float('nan')):>9.2f} {sm.get('instructions_per_mac', float('nan')):>7.2f} "
              f"{str(ok):>8}")
        for k, why in r['skipped'].items(): print(f"    skipped {k}: {why}")
    print(f"\nGoals: RAM <= {GOALS['ram_vs_tflm_arena']:.0%} of the TFLM arena; instructions/MAC <= "
          f"{GOALS['portable_instructions_per_mac']} portable, <= {GOALS['smlad_instructions_per_mac']} with SMLAD.")
    print("Flash is the model's own objects (weights, constants, kernels, the static arena excluded); TFLM needs the "
          ".tflite plus its interpreter and kernels. RAM is the model's data+bss plus the stack vww_invoke used.")
    print("TFLM arena: measured with the tflite-micro interpreter on this 64-bit host.")
    for k, v in ANCHORS.items(): print(f"Anchor, {k}: {v}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(goals=GOALS, anchors=ANCHORS, epochs=a.epochs, frames=len(views),
                                   platform=platform.platform(), tools=versions(), models=rows), indent=1, default=str))
    print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0

if __name__ == '__main__':
    sys.exit(main())
