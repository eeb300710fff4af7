"""Accuracy against sparsity (magnitude) and against kept channels (structured) on a model trained on the sample set.

Run from the project root: `python bench/prune.py [--epochs N] [--quick]`. Writes bench/results/prune.json (and
prune.png) and prints a table.

The model: the MLPerf Tiny VWW float teacher (../shared/models/mlperf-tiny-vww), fine-tuned on the board views
(esp32-cam, 96x96 RGB) of the sample set's train split; without it, a MobileNetV1 0.25 trained from scratch on the same
views (3 epochs at a low learning rate, then batch norm statistics re-estimated on them). Each pruned model is measured
on the test split at once (no fine-tuning; then with batch norm statistics re-estimated) and after `--epochs` epochs of
fine-tuning distilled from the unpruned model. Beside each, the figures the board cares about (parameters, MACs, int8
bytes, zipped bytes, measured TFLM arena), and whether `CostModel` predicted them exactly before any training.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
import numpy as np

MLPERF = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'
OUT = ROOT/'bench'/'results'/'prune.json'
FIGS = ('params', 'macs', 'model_bytes', 'zipped_bytes', 'peak_activation_bytes', 'arena_bytes')

ANCHORS = dict(
    tfmot_mobilenet_v1_224=('TF-MOT magnitude pruning, MobileNetV1-224 ImageNet: 70.84% top-1 at 50% sparsity vs '
                            '71.04% dense (-0.20 points); unstructured sparsity does not shrink a TFLM model '
                            '(../shared/ANCHORS.md)'),
    mlperf_vww=('MLPerf Tiny VWW reference int8: 333,288 B file, ~103.7 KB tflite-micro arena on a 64-bit host, '
                '7.49 M MACs, 85.0% int8 on VWW val (../shared/ANCHORS.md)'),
    mcunet=('MCUNet vww0: 617 kB flash, 146 kB SRAM, 6.0 M MACs, 87.3% int8 (mit-han-lab/mcunet README)'),
)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=3, help='fine-tuning epochs per pruned model (default 3)')
    ap.add_argument('--lr', type=float, default=1e-4, help='fine-tuning learning rate (default 1e-4)')
    ap.add_argument('--base-epochs', type=int, default=3, help='epochs that fit the base model to the sample set')
    ap.add_argument('--quick', action='store_true', help='fewer levels, 1 epoch: a smoke run')
    a = ap.parse_args(argv)
    from vww_kit.camera import InputSpec
    from vww_kit.data import sample_set
    from vww_kit.pipeline import board_views
    from vww_kit.models import pretrained, mobilenet_v1
    from vww_kit.distill import distill, accuracy
    from vww_kit.prune import CostModel, prune, prune_channels, sparsify, model_figures, recalibrate_bn
    from vww_kit.profile import to_int8_tflite
    t_all = time.time()
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    train, val, test = (board_views(sample_set(s), 'esp32-cam', spec, '/tmp/vcache', progress=False) for s in ('train', 'val', 'test'))
    rep = val[0][:32].astype(np.float32)/255
    if (MLPERF/'vww_96.h5').exists():
        model, source = pretrained(path=MLPERF, download=False).model, 'MLPerf Tiny VWW float teacher, fine-tuned on the sample set'
        lr, base_lr = a.lr, 1e-4
    else:
        model, source = mobilenet_v1(96, 3, 0.25), 'MobileNetV1 0.25 trained from scratch on the sample set'
        lr, base_lr = max(a.lr, 5e-4), 1e-3
        a.base_epochs = max(a.base_epochs, 15)
    print(f"Base: {source}"); sys.stdout.flush()
    acc0 = accuracy(model, *test)
    t = time.time()
    distill(model, train, val, epochs=a.base_epochs, learning_rate=base_lr, patience=0, verbose=0)
    recalibrate_bn(model, train[0])  # batch norm statistics of the sample set (momentum 0.99 barely moves them)
    base_fit_s = time.time() - t
    epochs = 1 if a.quick else a.epochs
    sparsities = (0.5, 0.9) if a.quick else (0.25, 0.5, 0.75, 0.9)
    keeps = (0.5, 0.25) if a.quick else (0.75, 0.5, 0.35, 0.25)

    t = time.time(); costs = CostModel(model, rep); t_costs = time.time() - t
    base = model_figures(model, test, rep, boards='esp32-cam', name='unpruned', tflite=costs.base)
    print(f"accuracy before/after fitting to the sample set: {acc0:.3f} / {base['accuracy']:.3f} ({base_fit_s:.0f} s); "
          f"CostModel built in {t_costs:.1f} s ({costs.mode})"); sys.stdout.flush()
    rows, t_pred = [], []

    def run(method, level):
        kw = dict(keep=level) if method == 'channels' else dict(sparsity=level)
        t = time.time(); pred = costs.predict(**kw); t_pred.append(time.time() - t)
        now = prune_channels(model, level) if method == 'channels' else sparsify(model, level)
        t = time.time()
        r = prune(model, method, **kw, train=train, val=val, epochs=epochs, teacher=True, learning_rate=lr)
        fit_s = time.time() - t
        data = to_int8_tflite(r.model, rep)
        m = model_figures(r.model, test, boards='esp32-cam', name=f"{method} {level:g}", tflite=data)
        acc_now = accuracy(now, *test)
        recalibrate_bn(now, train[0])
        row = dict(method=method, level=level, accuracy_no_finetune=round(acc_now, 4),
                   accuracy_bn_recalibrated=round(accuracy(now, *test), 4), accuracy=m['accuracy'], fine_tune_s=round(fit_s, 1), **{k: m[k] for k in FIGS},
                   zero_weights=m['zero_weights'], fits_esp32_cam=m['fits']['esp32-cam'],
                   predicted={k: pred[k] for k in FIGS},
                   exact={k: pred[k] == m[k] for k in ('params', 'macs', 'model_bytes', 'peak_activation_bytes', 'arena_bytes')})
        if method == 'channels':  # the same fine-tuning without the teacher: what distillation adds
            alone = prune(model, method, **kw, train=train, val=val, epochs=epochs, teacher=None, learning_rate=lr)
            row['accuracy_alone'] = round(accuracy(alone.model, *test), 4)
        rows.append(row)
        print(f"  {method:9} {level:5.2f}  acc {row['accuracy_no_finetune']:.3f} / {row['accuracy_bn_recalibrated']:.3f} -> {row['accuracy']:.3f}  "
              f"int8 {row['model_bytes']:,} B  zipped {row['zipped_bytes']:,} B  arena {row['arena_bytes']:,} B  "
              f"({fit_s:.0f} s)"); sys.stdout.flush()

    for s in sparsities: run('magnitude', s)
    for k in keeps: run('channels', k)

    hdr = (f"{'method':10} {'level':>5} {'acc now':>7} {'+BN':>6} {'acc FT':>6} {'params':>8} {'MACs':>10} {'int8 B':>8} "
           f"{'zipped B':>8} {'arena B':>8} {'exact':>5} {'alone':>6}")
    print(f"\nPruning {source}: test accuracy on the sample set's test split ({len(test[1])} frames), esp32-cam views;")
    print(f"'acc now': pruned, no fine-tuning; '+BN': and batch norm statistics re-estimated on the train views;")
    print(f"'acc FT': after {epochs} epoch(s) at lr {lr:g} distilled from the unpruned model (then batch norm re-estimated);")
    print("'alone': the same fine-tuning on the labels only; 'exact': CostModel predicted params, MACs, int8 bytes, peak")
    print("activations and the measured arena of the fine-tuned model before any training.")
    print("magnitude level = sparsity of every layer but the first conv and the classifier; channels level = share kept.\n")
    print(hdr)
    print(f"{'unpruned':10} {'':>5} {base['accuracy']:7.3f} {'':>6} {'':>6} {base['params']:8,} {base['macs']:10,} "
          f"{base['model_bytes']:8,} {base['zipped_bytes']:8,} {base['arena_bytes']:8,}")
    for r in rows:
        print(f"{r['method']:10} {r['level']:5.2f} {r['accuracy_no_finetune']:7.3f} {r['accuracy_bn_recalibrated']:6.3f} {r['accuracy']:6.3f} {r['params']:8,} "
              f"{r['macs']:10,} {r['model_bytes']:8,} {r['zipped_bytes']:8,} {r['arena_bytes']:8,} "
              f"{'yes' if all(r['exact'].values()) else 'NO':>5} {r.get('accuracy_alone', ''):>6}")
    print(f"\nSlider prediction (CostModel.predict, arena measured): median {np.median(t_pred):.2f} s, max {max(t_pred):.2f} s; "
          f"CostModel built in {t_costs:.1f} s.")
    print("Anchors:"); [print(f"  - {v}") for v in ANCHORS.values()]
    res = dict(source=source, epochs=epochs, learning_rate=lr, base_epochs=a.base_epochs, test_frames=int(len(test[1])),
               accuracy_before_fit=round(acc0, 4), unpruned=base, rows=rows, anchors=ANCHORS,
               cost_model=dict(mode=costs.mode, build_s=round(t_costs, 2), predict_s_median=round(float(np.median(t_pred)), 3),
                               predict_s_max=round(max(t_pred), 3)),
               host=dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count()),
               seconds=round(time.time() - t_all))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=str))
    _plot(res, OUT.with_suffix('.png'))
    print(f"\nWritten {OUT} and {OUT.with_suffix('.png')} in {res['seconds']} s")
    return 0

def _plot(res, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    base = res['unpruned']
    for ax, method, x_of, xlabel in ((a1, 'magnitude', lambda r: r['level'], 'sparsity (share of weights zeroed)'),
                                     (a2, 'channels', lambda r: r['level'], 'share of channels kept')):
        rows = [r for r in res['rows'] if r['method'] == method]
        x0 = 0.0 if method == 'magnitude' else 1.0
        xs = [x0] + [x_of(r) for r in rows]
        ax.plot(xs, [base['accuracy']] + [r['accuracy'] for r in rows], 'o-', label=f"fine-tuned {res['epochs']} ep.")
        ax.plot(xs, [base['accuracy']] + [r['accuracy_no_finetune'] for r in rows], 's--', label='no fine-tuning')
        ax.plot(xs, [base['accuracy']] + [r['accuracy_bn_recalibrated'] for r in rows], '^--', label='no fine-tuning, BN re-estimated')
        ax.set(xlabel=xlabel, ylabel='test accuracy', ylim=(0.3, 1.0), title=f"{method} pruning")
        ax2 = ax.twinx()
        keys = ('model_bytes', 'zipped_bytes') if method == 'magnitude' else ('model_bytes',)
        for key, style in zip(keys, ('k:', 'k-.')):
            ax2.plot(xs, [base[key]/1e3] + [r[key]/1e3 for r in rows], style,
                     label=('int8 file' if key == 'model_bytes' else 'zipped int8 file') + ', kB')
        ax2.plot(xs, [base['arena_bytes']/1e3] + [r['arena_bytes']/1e3 for r in rows], 'g:', label='TFLM arena, kB')
        ax2.set_ylabel('kB'); ax2.set_ylim(0, None)
        ax.legend(loc='lower left', fontsize=7); ax2.legend(loc='lower right', fontsize=7)
        if method == 'channels': ax.invert_xaxis()
    fig.savefig(path, dpi=110); plt.close(fig)

if __name__ == '__main__':
    sys.exit(main())
