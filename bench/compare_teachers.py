"""Distillation on real photos (issue 16): the same student (vww-rgb96: cut from the MLPerf reference, 48% of its
channels) distilled from the three-teacher ensemble, from the reference teacher alone, and trained on the labels
alone, over several seeds, judged on the real test set of `realdata.py` (int8, threshold calibrated on validation).

    python bench/compare_teachers.py [--seeds 0 1 2] [--epochs 6]        # runs bench/pretrain.py for each, then sums up
    python bench/compare_teachers.py --summarise-only

Each run is a separate process (bench/pretrain.py, resumable); results in bench/results/pretrain/compare/, the summary
in bench/results/compare_teachers.json.
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
MODES = ('ensemble', 'reference', 'none')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--student', default='vww-rgb96')
    ap.add_argument('--keep', type=float, default=0.48, help="share of the reference's channels (the shipped vww-rgb96: 0.48)")
    ap.add_argument('--out', default=str(HERE/'results/pretrain/compare'))
    ap.add_argument('--summarise-only', action='store_true')
    a = ap.parse_args(argv)
    t0 = time.time()
    if not a.summarise_only:
        for seed in a.seeds:
            for mode in MODES:
                if (Path(a.out)/f'{a.student}-{mode}-reference-s{seed}'/'result.json').exists(): continue
                subprocess.run([sys.executable, str(HERE/'pretrain.py'), '--student', a.student, '--teachers', mode,
                                '--seed', str(seed), '--epochs', str(a.epochs), '--keep', str(a.keep), '--out', a.out], check=True)
    rows = {}
    for mode in MODES:
        rs = [json.loads(f.read_text()) for f in sorted(Path(a.out).glob(f'{a.student}-{mode}-reference-s*/result.json'))]
        if not rs: continue
        get = lambda k, sub='test': [r['int8'][sub][k] for r in rs]
        rows[mode] = dict(seeds=[r['seed'] for r in rs], epochs=rs[0]['epochs'],
                          balanced_accuracy=get('balanced_accuracy'), auc=get('auc'), recall=get('recall'),
                          specificity=get('specificity'),
                          mean_balanced_accuracy=round(float(np.mean(get('balanced_accuracy'))), 4),
                          std_balanced_accuracy=round(float(np.std(get('balanced_accuracy'))), 4),
                          mean_auc=round(float(np.mean(get('auc'))), 4),
                          per_source={s: round(float(np.mean([r['int8']['test']['per_source'][s]['accuracy'] for r in rs])), 4)
                                      for s in rs[0]['int8']['test']['per_source']},
                          seconds=[r['seconds'] for r in rs])
    res = dict(student=a.student, test='bench/realdata.py test split (int8, threshold at the validation equal error rate)',
               rows=rows, seconds=round(time.time() - t0))
    (HERE/'results/compare_teachers.json').write_text(json.dumps(res, indent=1))
    print(f"{'teachers':10} {'seeds':>5} {'balanced acc (mean +- sd)':>26} {'AUC':>7}")
    for m, r in rows.items():
        print(f"{m:10} {len(r['seeds']):5} {r['mean_balanced_accuracy']:>18.4f} +- {r['std_balanced_accuracy']:.4f} {r['mean_auc']:7.4f}")
    return res

if __name__ == '__main__': main()
