"""What the demo's stages do to the pretrained student (issue 16, item 5): fine-tuning on the sample set with several
settings, then pruning, each judged on the same real test set (`realdata.py`) and on the sample set's test split.

    python bench/finetune.py

Prints a table and writes bench/results/finetune.json. The default recipe's [distill] and [prune] settings were chosen
from these figures: fine-tune with the labels beside the teacher (alpha 0.5) at a low learning rate, and do not prune.
Pruning rows: the same share of channels in every layer (uniform), and the per-layer plan of a sensitivity scan
(`vww_kit.prune.sensitivity_plan`, ROC AUC on 1,500 real validation views) cut to the same number of weights.
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
    from vww_kit.prune import prune, sensitivity, sensitivity_plan
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    real = realdata.real_sets(spec, splits=('val', 'test'))
    te, va = real['test'], real['val']
    sets = {s: board_views(sample_set(s), 'esp32-cam', spec, progress=False) for s in ('train', 'val', 'test')}
    teacher = pretrained('mlperf-vww', path=realdata.SHARED/'models/mlperf-tiny-vww', download=False)
    thr = student_manifest('vww-rgb96')['float_threshold']
    rows = []
    mine = np.concatenate([sets['train'][0], sets['val'][0]])     # the user's own frames, labels not needed
    rate = float(np.mean(person_scores(pretrained_student('vww-rgb96'), mine) >= thr))
    def ev(m, tag, seconds=0.0):
        # the threshold kept from pretraining, and the pretrained operating point matched on the user's frames (run.matched_threshold)
        matched = float(np.quantile(person_scores(m, mine), 1 - rate))
        r, rm = (detection_report(person_scores(m, te.x), te.y, t) for t in (thr, matched))
        s = detection_report(person_scores(m, sets['test'][0]), sets['test'][1], matched)
        rows.append(dict(setting=tag, real_balanced_accuracy=r['balanced_accuracy'], real_auc=r['auc'],
                         matched_threshold=round(matched, 4), real_balanced_accuracy_matched=rm['balanced_accuracy'],
                         sample_test_accuracy_matched=s['accuracy'], sample_test_auc=s['auc'], params=int(m.count_params()),
                         seconds=round(seconds, 1)))
        print(f"{tag:60} real bal.acc {r['balanced_accuracy']:.4f} matched {rm['balanced_accuracy']:.4f} AUC {r['auc']:.4f} | "
              f"sample test acc {s['accuracy']:.4f} AUC {s['auc']:.4f} | {int(m.count_params()):,} params", flush=True)
    ev(pretrained_student('vww-rgb96'), 'pretrained, not fine-tuned')
    tuned = None
    for lr, ep, alpha in [(1e-4, 5, 0.5), (3e-4, 5, 0.0), (1e-3, 10, 0.0)]:
        tf_keras.utils.set_random_seed(0)
        m = pretrained_student('vww-rgb96'); t0 = time.time()
        distill(m, sets['train'], sets['val'], teacher, alpha, 1.0, ep, batch_size=32, learning_rate=lr, patience=0, verbose=0)
        ev(m, f'fine-tuned: lr {lr:g}, {ep} epochs, alpha {alpha}', time.time() - t0)
        if tuned is None: tuned = m
    kernels = lambda m: sum(l.get_weights()[0].size for l in m.layers if l.get_weights() and len(l.get_weights()[0].shape) > 1)
    fit = dict(train=sets['train'], val=sets['val'], epochs=5, alpha=0.5, temperature=1.0, learning_rate=1e-4, seed=0)
    pick = np.random.default_rng(0).permutation(len(va.y))[:1500]
    t0 = time.time(); scan = sensitivity(tuned, va.x[pick], va.y[pick], 'channels', metric='auc')
    print(f"sensitivity scan (AUC, {len(pick)} real validation views): {time.time() - t0:.0f} s", flush=True)
    for keep in (0.9, 0.75):
        t0 = time.time()
        res = prune(tuned, 'channels', keep=keep, **fit)
        ev(res.model, f'then channels pruning, uniform keep {keep}', time.time() - t0)
        share = kernels(res.model)/kernels(tuned)   # the conv and dense weights the uniform cut kept
        t0 = time.time()
        res = prune(tuned, 'channels', keep=sensitivity_plan(tuned, scan, share), **fit)
        ev(res.model, f'then channels pruning, sensitivity plan ({share:.0%} of the weights)', time.time() - t0)
    t0 = time.time()
    res = prune(tuned, 'magnitude', sparsity=0.5, **fit)
    ev(res.model, 'then magnitude pruning sparsity 0.5', time.time() - t0)
    out = dict(scan=scan, threshold=thr, person_rate_on_sample_train_val=rate,
               note='threshold: the pretrained float student\'s, calibrated on the real validation set; matched: the '
                    'threshold that calls person on the same share of the sample set\'s train+val frames as the pretrained '
                    'student does at its own (vww_kit.run.matched_threshold)',
               real_test=realdata.describe(te), rows=rows)
    (HERE/'results/finetune.json').write_text(json.dumps(out, indent=1))

if __name__ == '__main__': main()
