"""Does the detector `make demo` gives a user see people in real photos it has never seen? (issue 16)

    python bench/demo_real.py [--out DIR]

Runs the demo (the default recipe on the built-in sample set: the pretrained student fine-tuned, int8) into a fresh
folder, then reads its `student_int8.tflite` at the threshold its contract carries, and the shipped pretrained int8
file at its own, on the real test set of `realdata.py` (3,546 views from several sources). Prints a table and writes
bench/results/demo_real.json.
"""
import argparse, json, sys, tempfile, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import realdata

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=None, help='demo output folder (default: a temporary one)')
    p.add_argument('--set', action='append', default=[], metavar='SECTION.KEY=VALUE', help='recipe override, as for vww-kit demo')
    p.add_argument('--json', default='demo_real.json', help='results file name under bench/results/')
    a = p.parse_args(argv)
    if realdata.missing(): sys.exit(f"demo_real.py needs ../shared: {realdata.missing()}.")
    import vww_kit
    from vww_kit.cli import main as cli
    from vww_kit.camera import InputSpec
    from vww_kit.contract import read_contract
    from vww_kit.models import PRETRAINED_DIR, student_manifest
    from vww_kit.quantize import predictions
    out = Path(a.out or tempfile.mkdtemp())/'demo'
    t0 = time.time()
    if cli(['demo', '--out', str(out)] + [f for kv in a.set for f in ('--set', kv)]) != 0: sys.exit('the demo failed')
    seconds = time.time() - t0
    files = {'demo student (fine-tuned on the sample set), int8': (out/'student_int8.tflite').read_bytes(),
             'shipped pretrained vww-rgb96, int8': (PRETRAINED_DIR/student_manifest('vww-rgb96')['int8']).read_bytes()}
    te = realdata.real_sets(InputSpec.from_model(files['shipped pretrained vww-rgb96, int8']), splits=('test',))['test']
    rows = []
    for name, data in files.items():
        c = read_contract(data)
        r = realdata.scores_report(predictions(data, te.x)[:, c['person_index']], te, c['threshold'])
        rows.append(dict(model=name, threshold_rule=c['threshold_rule'], **r))
        print(f"{name:52} threshold {c['threshold']:.4f}  balanced {r['balanced_accuracy']:.4f}  AUC {r['auc']:.4f}  "
              f"recall {r['recall']:.4f}  specificity {r['specificity']:.4f}", flush=True)
    q = json.loads((out/'quantize.json').read_text())
    res = dict(recipe_overrides=a.set, demo_seconds=round(seconds, 1),
               student_params=json.loads((out/'profile.json').read_text())['student']['params'], demo_test_split=q['detection'], real_test=realdata.describe(te), rows=rows)
    (HERE/'results'/a.json).write_text(json.dumps(res, indent=1, default=str))
    print(f"demo {seconds:.0f} s; sample test split balanced {q['detection']['balanced_accuracy']:.4f}")

if __name__ == '__main__': main()
