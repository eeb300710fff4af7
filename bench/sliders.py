"""Pruning sliders: how long a slider move takes until the table shows the new setting (the TFLM arena measured).

Run from the project root: `python bench/sliders.py [--moves N]`. Writes bench/results/sliders.json and prints the
median and the 90th percentile per model.

A move is what a user does: set one slider's `.value` (a per-layer slider, or the global one) exactly as the browser
does through the widget protocol; the observer predicts the setting with `CostModel` (the int8 file rewritten, its
figures read, the arena measured by tflite-micro) and writes the table. The time is taken around the assignment, so
it holds the whole handler, table included. The moves visit new settings (a setting seen before is answered from the
cache, which would flatter the figures): each move picks a slider and a value at random, with a fixed seed.

Models: the MLPerf Tiny VWW reference (../shared/models/mlperf-tiny-vww; 14 prunable groups, 300 kB int8), skipped with
a message if absent, and the shipped pretrained student vww-rgb96 (vww_kit/pretrained), the model `make demo` prunes.
(An untrained model is a poor subject: its zero biases are stored once for several layers, which stops `CostModel`
from mapping channels, and each move then converts the model, a few seconds.)
"""
import argparse, json, os, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
import numpy as np

MLPERF = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'
OUT = ROOT/'bench'/'results'/'sliders.json'

def moves(w, n, seed=0):
    "Move sliders `n` times to settings not seen before; the seconds each move took, as the user waits for it"
    rng, seen, out = np.random.default_rng(seed), set(), []
    names = list(w.sliders)
    while len(out) < n:
        name = rng.choice(names + ['(all)'])
        s = w.global_slider if name == '(all)' else w.sliders[name]
        v = round(float(rng.choice(np.arange(0.25, 1.0001, 0.05))), 2)
        key = (name, v, tuple(sorted(w.setting().items())))
        if v == round(s.value, 2) or key in seen: continue
        seen.add(key)
        before = w.table.value
        t = time.perf_counter(); s.value = v; dt = time.perf_counter() - t
        assert w.table.value != before or w.predicted['setting'] == w.costs.predict(keep=w.setting())['setting']
        out.append(dict(slider=str(name), value=v, seconds=round(dt, 4), handler_seconds=round(w.move_seconds, 4)))
    return out

def summary(rows):
    s = np.array([r['seconds'] for r in rows])
    return dict(moves=len(s), median=round(float(np.median(s)), 3), p90=round(float(np.percentile(s, 90)), 3),
                max=round(float(s.max()), 3))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--moves', type=int, default=60, help='slider moves per model (default 60)')
    a = ap.parse_args(argv)
    from vww_kit.models import pretrained, load_model
    from vww_kit.prune import PruningSliders, CostModel
    from vww_kit.data import sample_set
    from vww_kit.pipeline import board_views
    from vww_kit.camera import InputSpec
    val = board_views(sample_set('val'), 'esp32-cam', InputSpec(96, 96, 3, 'int8', 1/255, -128), progress=False)
    models = {}
    if (MLPERF/'vww_96.h5').exists(): models['MLPerf Tiny VWW reference'] = pretrained(path=MLPERF, download=False).model
    else: print(f"{MLPERF} is absent: the MLPerf model is skipped")
    models['pretrained student vww-rgb96'] = load_model(ROOT/'vww_kit'/'pretrained'/'vww-rgb96.h5')
    res = dict(moves=a.moves, host=dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count()),
               models={})
    for name, model in models.items():
        t = time.time()
        w = PruningSliders(model, val=val, boards=None)
        build = time.time() - t
        rows = moves(w, a.moves)
        res['models'][name] = dict(summary(rows), widget_build_seconds=round(build, 1), cost_model=w.costs.mode,
                                   groups=len(w.sliders), base=w.costs.base_figures, rows=rows)
        s = res['models'][name]
        print(f"{name}: {s['groups']} sliders; {s['moves']} moves: median {s['median']:.3f} s, 90th percentile "
              f"{s['p90']:.3f} s, slowest {s['max']:.3f} s (widget built in {build:.0f} s)", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=str))
    print(f"Written {OUT}")

if __name__ == '__main__': main()
