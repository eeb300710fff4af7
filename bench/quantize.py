"""int8 quantization of a person detector trained on the sample set: float vs PTQ vs QAT, runtimes bit for bit, SQNR.

Run from the project root: `python bench/quantize.py [--epochs 6] [--qat-epochs 3] [--calibration 200]`.
Writes bench/results/quantize.json. The float model is the MLPerf Tiny VWW Keras model
(../shared/models/mlperf-tiny-vww/vww_96.h5, see its README) fine-tuned on the sample set's training split as the
ESP32-CAM sees it; without that folder the script says so and exits 0. About five minutes on two CPU cores.

Fine-tuning is not bit-deterministic on CPU (threads), so the accuracies move by a frame or two between runs.
The sample set's test split has 115 frames: one frame is 0.87 accuracy points, so differences of a point or two are
within the noise of the split. Agreement with the float model's decisions is the sharper figure.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
from vww_kit.camera import InputSpec
from vww_kit.data import sample_set
from vww_kit.pipeline import board_views, make_dataset
from vww_kit.quantize import (representative_views, quantize, qat, float_twin, accuracy_table, compare_runtimes,
                              quantization_error, float_tflite)

SHARED = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'
OUT = ROOT/'bench'/'results'/'quantize.json'
SPEC = InputSpec(96, 96, 3, 'int8', 1/255, -128)
ANCHOR = dict(float=0.854, int8=0.850, drop_points=0.4,
              source='MLPerf Tiny VWW reference, COCO VWW val: 85.4% float, 85.0% int8 PTQ (../shared/ANCHORS.md)')

def timed(fn):
    t = time.perf_counter(); res = fn(); return res, round(time.perf_counter() - t, 2)

def fine_tune(model, train, val, epochs, lr=1e-4, seed=0):
    "Fine-tune the float model on the sample set's board views (augmented)"
    import tf_keras
    tf_keras.utils.set_random_seed(seed)
    model.compile(tf_keras.optimizers.Adam(lr), 'categorical_crossentropy', ['accuracy'])
    h = model.fit(make_dataset(*train, 32, training=True, seed=seed), validation_data=make_dataset(*val, 64),
                  epochs=epochs, verbose=0)
    return {k: [round(float(v), 4) for v in vs] for k, vs in h.history.items()}

def runtimes(name, data, views):
    "litert (reference and XNNPACK kernels) against tflite-micro on `views`"
    res = {}
    for k in ('reference', 'xnnpack'):
        r = compare_runtimes(data, views, k)
        o = r['outputs'][0]
        res[k] = dict(inputs=r['inputs'], bit_exact=r['bit_exact'], equal=o['equal'], different=o['different'],
                      max_abs_diff=o['max_abs_diff'], first_difference=r['first_difference'])
        print(f"  {name:14} litert {k:9} vs tflite-micro: {o['equal']}/{r['inputs']} frames bit-identical"
              + ('' if r['bit_exact'] else f", {o['different']} differ by up to {o['max_abs_diff']} step(s); first "
                 f"differing op: " + ', '.join(f"{f['index']} {f['op']}" for f in r['first_difference'])))
    return res

def sqnr_table(records):
    fin = lambda v: round(v, 2) if np.isfinite(v) else None
    return [dict(index=r['index'], op=r['op'], layer=r['layer'], sqnr_db=fin(r['sqnr_db']),
                 weight_sqnr_db=fin(r['weights']['sqnr_db']) if 'weights' in r else None,
                 clipped=round(r['clipped'], 5), scale=r['scale'], zero_point=r['zero_point']) for r in records]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--epochs', type=int, default=6, help='float fine-tuning epochs on the sample train split')
    ap.add_argument('--qat-epochs', type=int, default=3, help='quantization-aware fine-tuning epochs')
    ap.add_argument('--calibration', type=int, default=200, help='representative views for PTQ')
    a = ap.parse_args(argv)
    if not (SHARED/'vww_96.h5').exists():
        print(f"MLPerf VWW float model not found at {SHARED}; nothing to benchmark (see shared/models README).")
        return 0
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    t0 = time.perf_counter()
    cache = Path(os.environ.get('TMPDIR', '/tmp'))/'vww_kit_bench_views'
    views = {s: board_views(sample_set(s), 'esp32-cam', SPEC, cache, progress=False) for s in ('train', 'val', 'test')}
    all_views = np.concatenate([views[s][0] for s in ('train', 'val', 'test')])
    print(f"Sample set as the ESP32-CAM sees it: {', '.join(f'{s} {len(v[0])}' for s, v in views.items())} views")

    model = tf_keras.models.load_model(SHARED/'vww_96.h5', compile=False)
    before = accuracy_table({'float': model}, *views['test'])['float']['accuracy']
    hist, t_ft = timed(lambda: fine_tune(model, views['train'], views['val'], a.epochs))
    print(f"MLPerf float model on the test split: {before:.3f} as published, fine-tuned {a.epochs} epochs ({t_ft} s)")

    cal = representative_views(*views['train'], n=a.calibration)
    ptq, t_ptq = timed(lambda: quantize(model, cal))
    _, t_old = timed(lambda: to_int8_tflite(model, cal.astype(np.float32)/255))
    qm, t_qat = timed(lambda: qat(model, *views['train'], epochs=a.qat_epochs, val=views['val']))
    q8, t_qconv = timed(lambda: quantize(qm, cal))
    twin = float_twin(qm, model)
    # control: the float model trained as many more epochs as QAT, without fake quantization
    more = tf_keras.models.clone_model(model); more.set_weights(model.get_weights())
    fine_tune(more, views['train'], views['val'], a.qat_epochs)
    models = {'float': model, 'int8 PTQ': ptq, 'float +QAT epochs': more, 'float, QAT weights': twin, 'int8 QAT': q8}
    acc = accuracy_table(models, *views['test'], reference={'int8 QAT': 'float, QAT weights'})
    print(f"\nTest split ({len(views['test'][0])} frames; 1 frame = {100/len(views['test'][0]):.2f} points):")
    for k, r in acc.items():
        print(f"  {k:18} accuracy {100*r['accuracy']:5.1f}%   agrees with {r['reference']:18} on "
              f"{100*r['agreement']:5.1f}% ({r['changed']} changed)")
    drop = {'int8 PTQ': round(100*(acc['float']['accuracy'] - acc['int8 PTQ']['accuracy']), 2),
            'int8 QAT vs its float twin': round(100*(acc['float, QAT weights']['accuracy'] - acc['int8 QAT']['accuracy']), 2),
            'int8 QAT vs float': round(100*(acc['float']['accuracy'] - acc['int8 QAT']['accuracy']), 2)}
    print("  drop in points: " + ', '.join(f"{k} {v:+.2f}" for k, v in drop.items())
          + f" (anchor, PTQ: {ANCHOR['drop_points']} points, {ANCHOR['source']})")

    sweep = {}
    for n in (8, 32, 100, a.calibration):
        d = quantize(model, representative_views(*views['train'], n=n))
        sweep[n] = accuracy_table({'float': model, 'ptq': d}, *views['test'])['ptq']
    print("  PTQ by number of calibration views: "
          + ', '.join(f"{n}: {100*r['accuracy']:.1f}% ({r['changed']} changed)" for n, r in sweep.items()))

    print(f"\nlitert against tflite-micro on all {len(all_views)} sample-set frames:")
    rt = {'MLPerf int8': runtimes('MLPerf int8', SHARED/'vww_96_int8.tflite', all_views),
          'ours PTQ': runtimes('ours PTQ', ptq, all_views), 'ours QAT': runtimes('ours QAT', q8, all_views)}

    (ep, t_err) = timed(lambda: quantization_error(model, ptq, views['test'][0], n=32))
    eq = quantization_error(twin, q8, views['test'][0], n=32)  # against the float model with QAT's weights
    print(f"\nPer-op SQNR on 32 test frames (activations, end to end; weights), {t_err} s:")
    print(f"  {'op':>3} {'':18} {'PTQ act.':>8} {'PTQ w.':>7} {'QAT act.':>8}  clipped(PTQ)")
    qat_by_layer = {r['layer']: r for r in eq}
    for r in ep:
        s = qat_by_layer.get(r['layer'], dict(sqnr_db=float('nan')))
        w = r.get('weights', {}).get('sqnr_db')
        print(f"  {r['index']:>3} {r['op']:18} {r['sqnr_db']:8.1f} {w if w is None else round(w, 1)!s:>7} "
              f"{s['sqnr_db']:8.1f}  {100*r['clipped']:.2f}%   {r['layer'][:44]}")
    print(f"  mean activation SQNR: PTQ {np.mean([r['sqnr_db'] for r in ep]):.1f} dB, "
          f"QAT {np.mean([r['sqnr_db'] for r in eq]):.1f} dB")
    worst = min(ep, key=lambda r: r['sqnr_db'])
    print(f"  worst PTQ op: {worst['label']} at {worst['sqnr_db']:.1f} dB")

    res = dict(model='MLPerf Tiny VWW float (vww_96.h5), fine-tuned on the sample train split',
               views={s: len(v[0]) for s, v in views.items()}, float_before_fine_tuning=before,
               fine_tune=dict(epochs=a.epochs, history=hist), calibration_views=len(cal), qat_epochs=a.qat_epochs,
               accuracy=acc, drop_points=drop, calibration_sweep={str(k): v for k, v in sweep.items()},
               anchor=ANCHOR, runtimes=rt, sqnr_ptq=sqnr_table(ep), sqnr_qat=sqnr_table(eq),
               model_bytes=dict(ptq=len(ptq), qat=len(q8), float_tflite=len(float_tflite(model))),
               seconds=dict(fine_tune=t_ft, quantize_ptq=t_ptq, profile_to_int8_tflite_same_model=t_old,
                            qat_fine_tune=t_qat, quantize_qat=t_qconv, quantization_error_32_views=t_err,
                            total=round(time.perf_counter() - t0, 1)),
               machine=dict(cpus=os.cpu_count(), python=platform.python_version(), platform=platform.platform()))
    print(f"\nquantize() {t_ptq} s vs profile.to_int8_tflite {t_old} s on the same model; total {res['seconds']['total']} s")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=1, default=float))
    print(f"Wrote {OUT.relative_to(ROOT)}")
    return 0

if __name__ == '__main__': sys.exit(main())
