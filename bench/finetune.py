"""What the demo's stages do to the pretrained student (issue 16, item 5): fine-tuning on the sample set with several
settings, then pruning, each judged on the same real test set (`realdata.py`) and on the sample set's test split.

    python bench/finetune.py

Prints a table and writes bench/results/finetune.json. The default recipe's [distill] and [prune] settings were chosen
from these figures: fine-tune with the labels beside the teacher (alpha 0.5) at a low learning rate, and do not prune.
"""
import json, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import realdata

def main():
    if realdata.missing(): sys.exit(f"finetune.py needs ../shared: {realdata.missing()}.")
    import vww_kit, tf_keras
    from vww_kit.models import pretrained_student, pretrained, student_manifest
    from vww_kit.camera import InputSpec
    from vww_kit.pipeline import board_views
    from vww_kit.data import sample_set
    from vww_kit.distill import distill, detection_report, person_scores
    from vww_kit.prune import prune
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    te = realdata.real_sets(spec, splits=('test',))['test']
    sets = {s: board_views(sample_set(s), 'esp32-cam', spec, progress=False) for s in ('train', 'val', 'test')}
    teacher = pretrained('mlperf-vww', path=realdata.SHARED/'models/mlperf-tiny-vww', download=False)
    thr = student_manifest('vww-rgb96')['float_threshold']
    rows = []
    def ev(m, tag, seconds=0.0):
        r = detection_report(person_scores(m, te.x), te.y, thr)
        s = detection_report(person_scores(m, sets['test'][0]), sets['test'][1], thr)
        rows.append(dict(setting=tag, real_balanced_accuracy=r['balanced_accuracy'], real_auc=r['auc'],
                         sample_test_accuracy=s['accuracy'], sample_test_auc=s['auc'], params=int(m.count_params()),
                         seconds=round(seconds, 1)))
        print(f"{tag:48} real bal.acc {r['balanced_accuracy']:.4f} AUC {r['auc']:.4f} | sample test acc {s['accuracy']:.4f} "
              f"AUC {s['auc']:.4f}", flush=True)
    ev(pretrained_student('vww-rgb96'), 'pretrained, not fine-tuned')
    tuned = None
    for lr, ep, alpha in [(1e-4, 5, 0.5), (3e-4, 5, 0.0), (1e-3, 10, 0.0)]:
        tf_keras.utils.set_random_seed(0)
        m = pretrained_student('vww-rgb96'); t0 = time.time()
        distill(m, sets['train'], sets['val'], teacher, alpha, 1.0, ep, batch_size=32, learning_rate=lr, patience=0, verbose=0)
        ev(m, f'fine-tuned: lr {lr:g}, {ep} epochs, alpha {alpha}', time.time() - t0)
        if tuned is None: tuned = m
    for method, keep, sp in [('channels', 0.9, 0.0), ('channels', 0.75, 0.0), ('magnitude', 1.0, 0.5)]:
        t0 = time.time()
        res = prune(tuned, method, keep=keep, sparsity=sp, train=sets['train'], val=sets['val'], epochs=5, alpha=0.5,
                    temperature=1.0, learning_rate=1e-4, seed=0)
        ev(res.model, f'then {method} pruning ' + (f'keep {keep}' if method == 'channels' else f'sparsity {sp}'), time.time() - t0)
    out = dict(threshold=thr, note='threshold: the pretrained float student\'s, calibrated on the real validation set',
               real_test=realdata.describe(te), rows=rows)
    (HERE/'results/finetune.json').write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
