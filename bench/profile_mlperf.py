"""Time `vww_kit.profile` on the MLPerf Tiny VWW int8 reference model and set its figures beside the published ones.

Run from the project root: `python bench/profile_mlperf.py [--repeat N]`. Writes bench/results/profile_mlperf.json.
The model is read from ../shared/models/mlperf-tiny-vww (see its README); without it the script says so and exits 0.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
from vww_kit.profile import profile_model, measure_arena, read_graph, layer_table, PERSON_DETECTION_MACS

MODEL = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'/'vww_96_int8.tflite'
OUT = ROOT/'bench'/'results'/'profile_mlperf.json'

# Published figures (docs: ../shared/ANCHORS.md, the model's README)
ANCHORS = dict(
    macs=(7_490_000, 'MLPerf Tiny VWW reference: 7.49 M MACs (mlcommons/tiny, benchmark/training/visual_wake_words)'),
    arena_bytes=(103_700, 'tflite-micro (PyPI) on a 64-bit host, smallest arena found by bisection: ~103.7 KB '
                          '(shared/models/mlperf-tiny-vww/README.md)'),
    model_bytes=(333_288, 'vww_96_int8.tflite: 333,288 B (mlcommons/tiny)'),
    ops=(['AVERAGE_POOL_2D', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'RESHAPE', 'SOFTMAX'],
         'model README'),
    peak_ram_bytes=(156_424, 'SiliconLabs MLTK profile "RAM" of the same model: a different definition (its own '
                             'runtime and buffers), shown for reference only'),
)
LATENCY_ANCHORS = {  # person_detection (1-channel input, PERSON_DETECTION_MACS), not the MLPerf model itself
    'esp32-cam': (380, 'ESP32 @240 MHz with ESP-NN, person_detection (espressif/esp-tflite-micro README)'),
    'xiao-esp32s3-sense': (54, 'ESP32-S3 @240 MHz with ESP-NN, person_detection (espressif/esp-tflite-micro README)'),
}

def timed(fn, repeat):
    "Result of the last call and the seconds of each call"
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); res = fn(); times.append(time.perf_counter() - t)
    return res, times

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeat', type=int, default=3, help='timed runs of each step (default 3)')
    a = ap.parse_args(argv)
    if not MODEL.exists():
        print(f"MLPerf VWW reference model not found at {MODEL}; nothing to benchmark (see shared/models README).")
        return 0
    p, t_profile = timed(lambda: profile_model(MODEL), a.repeat)
    arena, t_arena = timed(lambda: measure_arena(MODEL), a.repeat)
    _, t_table = timed(lambda: layer_table(read_graph(MODEL)), a.repeat)
    # the whole command as a user types it: a fresh Python, TensorFlow import, profile with the arena bisection, JSON
    cli = Path(sys.executable).with_name('vww-kit')
    cmd = [str(cli), 'profile', str(MODEL), '--json'] if cli.exists() else [sys.executable, '-m', 'vww_kit.cli', 'profile', str(MODEL), '--json']
    _, t_cli = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), a.repeat)
    ours = dict(macs=p['macs'], arena_bytes=p['arena_bytes'], model_bytes=p['model_bytes'],
                ops=[o['op'] for o in p['ops']], peak_ram_bytes=p['peak_activation_bytes'])
    rows = []
    print(f"Profile of {MODEL.name} (vww_kit.profile) beside the published figures\n")
    print(f"{'figure':16} {'ours':>12} {'anchor':>12} {'diff':>8}  source")
    for k, (ref, src) in ANCHORS.items():
        mine = ours[k]
        if isinstance(ref, list): diff = 'same' if mine == ref else 'DIFFERS'; shown = (f"{len(mine)} ops", f"{len(ref)} ops")
        else: diff = f"{(mine - ref)/ref:+.2%}"; shown = (f"{mine:,}", f"{ref:,}")
        label = 'peak activations' if k == 'peak_ram_bytes' else k
        print(f"{label:16} {shown[0]:>12} {shown[1]:>12} {diff:>8}  {src}")
        rows.append(dict(figure=k, ours=mine, anchor=ref, diff=diff, source=src))
    print(f"\nparams (deployed, batch norm folded): {p['params']:,}; peak activations {p['peak_activation_bytes']:,} B "
          f"at op {p['peak_layer']}; arena measured on a 64-bit host")
    print("\nLatency ESTIMATES for this model (MACs x cycles/MAC fitted to person_detection timings):")
    lat = {}
    for b, e in p['latency'].items():
        anchor = LATENCY_ANCHORS.get(b)
        pd_ms = round(e['ms_optimized']*PERSON_DETECTION_MACS/p['macs'], 1)
        print(f"  {b:20} {e['ms_optimized']:>7,.1f} ms with {e['kernels']:8} {e['ms_reference']:>8,.0f} ms without"
              + (f"   (person_detection: fit {pd_ms} ms vs published {anchor[0]} ms)" if anchor else f"   ({e['basis']})"))
        lat[b] = dict(e, person_detection_anchor_ms=anchor[0] if anchor else None)
    fits = {b: f['fits'] for b, f in p['fits'].items()}
    print(f"\nfits: {fits}")
    print(f"\nTiming on this machine ({os.cpu_count()} CPUs), {a.repeat} runs each:")
    for name, ts in [('profile_model (incl. arena)', t_profile), ('measure_arena', t_arena),
                     ('parse + layer table', t_table), ('vww-kit profile --json (whole command)', t_cli)]:
        print(f"  {name:40} median {statistics.median(ts):.3f} s, max {max(ts):.3f} s")
    res = dict(model=str(MODEL.relative_to(ROOT.parent)), figures=rows, params=p['params'],
               peak_activation_bytes=p['peak_activation_bytes'], arena_bytes=arena, fits=fits, latency_estimates=lat,
               seconds=dict(profile_model=t_profile, measure_arena=t_arena, parse_and_layer_table=t_table, cli_command=t_cli),
               target_seconds=10, machine=dict(python=platform.python_version(), platform=platform.platform(),
                                               cpus=os.cpu_count()),
               date=time.strftime('%Y-%m-%d %H:%M:%S'))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1))
    print(f"\nwrote {OUT.relative_to(ROOT)}")
    return 0 if max(t_profile) < 10 else 1

if __name__ == '__main__': sys.exit(main())
