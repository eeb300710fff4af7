"""The teachers on the real test set of `realdata.py` (issue 16), each read at 0.5 and at its own threshold calibrated
on the real validation set (equal error rate), as the students are: the fair comparison.

    python bench/teachers_real.py        # writes bench/results/teachers_real.json
"""
import json, os, sys
from pathlib import Path
import numpy as np
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import realdata
from pretrain import TEACHER_FILES, teachers

def main():
    if realdata.missing(): sys.exit(f"teachers_real.py needs ../shared: {realdata.missing()}.")
    from vww_kit.camera import InputSpec
    from vww_kit.distill import teacher_probs, calibrate_threshold
    sets = realdata.real_sets(InputSpec(96, 96, 3, 'int8', 1/255, -128), splits=('val', 'test'))
    cache = Path(os.path.expanduser('~/.cache/vww_kit/teacher_outputs'))
    ens = teachers('ensemble')
    rows = {}
    for t in ens.teachers + [ens]:
        v, s = teacher_probs(t, sets['val'].x, cache)[:, 1], teacher_probs(t, sets['test'].x, cache)[:, 1]
        thr = calibrate_threshold(v, sets['val'].y)
        rows[t.name] = dict(at_05=realdata.scores_report(s, sets['test'], 0.5), calibrated=realdata.scores_report(s, sets['test'], thr))
        print(f"{t.name:28} at 0.5: balanced acc {rows[t.name]['at_05']['balanced_accuracy']:.4f} | at its validation EER "
              f"threshold {thr:.3f}: {rows[t.name]['calibrated']['balanced_accuracy']:.4f} | AUC {rows[t.name]['at_05']['auc']:.4f}")
    (HERE/'results/teachers_real.json').write_text(json.dumps(dict(test=realdata.describe(sets['test']), rows=rows), indent=1))

if __name__ == '__main__': main()
