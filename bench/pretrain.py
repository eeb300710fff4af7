"""Pretrain a shipped student on real photos (issue 16): cut from the MLPerf reference, distilled from a teacher ensemble
together with the labels, on the real pool of `realdata.py`; PTQ int8; a threshold calibrated on validation; judged on
the real test set, float and int8, per source.

    python bench/pretrain.py --student vww-rgb96 [--teachers ensemble|reference|none] [--seed 0] [--epochs 12]
    python bench/pretrain.py --student vww-gray64 --ship      # ... and copy the result into vww_kit/pretrained/

Writes bench/results/pretrain/<student>-<teachers>-s<seed>/ (model .h5, int8 .tflite, result.json, history, log) and,
with --ship, vww_kit/pretrained/<student>.h5 + .tflite and its entry in vww_kit/pretrained/manifest.json. Needs
../shared (capston2-person photos, the MLPerf models); resumes an interrupted run from its checkpoints.
"""
import argparse, json, math, os, resource, sys, time, hashlib, shutil
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import realdata
from realdata import SHARED, real_sets, describe, scores_report

# the teachers: float .tflite files (one interpreter call per batch; identical networks to their int8 twins but exact)
TEACHER_FILES = {
    'reference': [SHARED/'models/mlperf-tiny-vww/vww_96_float.tflite'],
    'ensemble': [SHARED/'models/mlperf-tiny-vww/vww_96_float.tflite',
                 SHARED/'models/mlperf-tiny-vww-large/vww_96_14blk_836k_float.tflite',
                 SHARED/'models/mlperf-tiny-vww-large/vww_96_20blk_791k_float.tflite'],
    'none': [],
}
STUDENTS = {'vww-rgb96': dict(size=96, color='rgb'), 'vww-gray64': dict(size=64, color='grayscale')}

def sha256(p): return hashlib.sha256(Path(p).read_bytes()).hexdigest()

def teachers(name):
    from vww_kit.models import Teacher, Ensemble
    ts = [Teacher(f.read_bytes(), 1/255, 1, name=f.stem) for f in TEACHER_FILES[name]]
    return Ensemble(ts, name) if ts else None

def eer_threshold(scores, labels):
    "The threshold where recall equals specificity on `labels` (the equal error rate point)"
    s, y = np.asarray(scores), np.asarray(labels) == 1
    cands = np.unique(np.quantile(s, np.linspace(0.001, 0.999, 999)))
    gap = [abs(np.mean(s[y] >= t) - np.mean(s[~y] < t)) for t in cands]
    return float(cands[int(np.argmin(gap))])

def retarget(model, size:int, channels:int):
    "The same network for a size x size x channels input: a 3-channel first layer summed for grayscale, global pools resized"
    import tf_keras
    cfg = model.get_config(); old = model.input_shape[1]
    for l in cfg['layers']:
        c = l['config']
        if l['class_name'] == 'InputLayer': c['batch_input_shape'] = [None, size, size, channels]
        if l['class_name'] == 'AveragePooling2D':
            m = model.get_layer(c['name']).input_shape[1]
            if tuple(c['pool_size']) == (m, m):   # a global pool: covers the new, smaller map
                n = math.ceil(m*size/old); c['pool_size'] = [n, n]; c['strides'] = [n, n]
    new = tf_keras.Model.from_config(cfg)
    for l in model.layers:
        w = l.get_weights()
        if not w: continue
        nl = new.get_layer(l.name)
        if w[0].ndim == 4 and w[0].shape[2] == 3 and nl.get_weights()[0].shape[2] == 1: w[0] = w[0].sum(2, keepdims=True)
        nl.set_weights(w)
    return new

def cut_student(name, keep, views):
    "A student cut from the MLPerf reference (keep of its channels, L1), at the preset's input, batch norm recalibrated"
    from vww_kit.models import pretrained
    from vww_kit.prune import student_from_teacher, recalibrate_bn
    ref = pretrained('mlperf-vww', path=SHARED/'models/mlperf-tiny-vww', download=False)
    s = student_from_teacher(ref, keep)
    st = STUDENTS[name]; ch = 1 if st['color'] == 'grayscale' else 3
    if s.input_shape[1:] != (st['size'], st['size'], ch): s = retarget(s, st['size'], ch)
    return recalibrate_bn(s, views[:512])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--student', default='vww-rgb96', choices=list(STUDENTS))
    ap.add_argument('--teachers', default='ensemble', choices=list(TEACHER_FILES))
    ap.add_argument('--init', default='reference', choices=['reference', 'scratch'])
    ap.add_argument('--keep', type=float, default=0.5, help="share of the reference's channels the student keeps")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--alpha', type=float, default=0.5, help='weight of the labels; 1 - alpha for the teachers')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--mixup', type=float, default=0.2)
    ap.add_argument('--limit', type=int, default=0, help='train on the first N views only (smoke test)')
    ap.add_argument('--out', default=str(HERE/'results/pretrain'))
    ap.add_argument('--ship', action='store_true', help='copy the model into vww_kit/pretrained and record it')
    ap.add_argument('--ship-run', default=None, help='ship the result of a finished run folder, without training')
    a = ap.parse_args(argv)
    if a.ship_run:
        out = json.loads((Path(a.ship_run)/'result.json').read_text())
        return ship(out['student'], Path(a.ship_run), out)
    why = realdata.missing()
    if why: sys.exit(f"pretrain.py needs ../shared: {why}.")
    import vww_kit, tf_keras
    from vww_kit.camera import InputSpec
    from vww_kit.distill import distill, teacher_probs
    from vww_kit.profile import to_int8_tflite
    from vww_kit.models import Teacher, build_model
    t0 = time.time()
    run = Path(a.out)/f'{a.student}-{a.teachers}-{a.init}-s{a.seed}'; run.mkdir(parents=True, exist_ok=True)
    log = open(run/'log.txt', 'a')
    def say(*m):
        s = ' '.join(str(v) for v in m); print(s, flush=True); log.write(s + '\n'); log.flush()
    st = STUDENTS[a.student]
    spec = InputSpec(st['size'], st['size'], 1 if st['color'] == 'grayscale' else 3, 'int8', 1/255, -128)
    tspec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    sets = real_sets(spec)
    tsets = sets if spec == tspec else real_sets(tspec)
    for k in sets: assert np.array_equal(sets[k].y, tsets[k].y), f'{k}: student and teacher views out of step'
    tr, va, te = sets['train'], sets['val'], sets['test']
    if a.limit: tr = tr.where(np.arange(len(tr)) < a.limit)
    say(f'[{time.time() - t0:.0f}s] data: train {tr}\n  val {va}\n  test {te}')
    ens = teachers(a.teachers)
    soft = vsoft = None
    cache = Path(os.path.expanduser('~/.cache/vww_kit/teacher_outputs'))
    tres = {}
    if ens is not None:
        soft = teacher_probs(ens, tsets['train'].x[:len(tr)], cache)
        vsoft = teacher_probs(ens, tsets['val'].x, cache)
        for t in ens.teachers + [ens]:
            p = teacher_probs(t, tsets['test'].x, cache)[:, 1]
            tres[t.name] = scores_report(p, te, 0.5)
            say(f"[{time.time() - t0:.0f}s] teacher {t.name} on test: balanced acc {tres[t.name]['balanced_accuracy']}, "
                f"AUC {tres[t.name]['auc']}")
    tf_keras.utils.set_random_seed(a.seed)
    if a.init == 'reference': student = cut_student(a.student, a.keep, tr.x.astype(np.float32)/255)
    else: student = build_model('mobilenet_v1', st['size'], st['color'], 0.125, 0.1, name=a.student)
    student._name = a.student.replace('-', '_')
    say(f'student: {student.count_params():,} params, input {student.input_shape}')
    res = distill(student, (tr.x, tr.y), (va.x, va.y), soft=soft, val_soft=vsoft, alpha=a.alpha if ens else 1.0,
                  temperature=1.0, epochs=a.epochs, batch_size=a.batch_size, learning_rate=a.lr, patience=0,
                  mixup=a.mixup, correct_teacher=ens is not None, seed=a.seed, work_dir=run/'work', verbose=2)
    say(f'[{time.time() - t0:.0f}s] trained: {res}')
    m = res.student
    fs_val = m.predict(va.x.astype(np.float32)/255, verbose=0, batch_size=256)[:, 1]
    thr = eer_threshold(fs_val, va.y)
    fs = m.predict(te.x.astype(np.float32)/255, verbose=0, batch_size=256)[:, 1]
    rng = np.random.default_rng(0)
    rep = tr.x[rng.choice(len(tr), 500, replace=False)].astype(np.float32)/255
    data = to_int8_tflite(m, rep)
    q = Teacher(data, 1/255, 1, name='int8')
    qs_val = q.probs(va.x)[:, 1]; qthr = eer_threshold(qs_val, va.y)
    qs = q.probs(te.x)[:, 1]
    out = dict(student=a.student, teachers=a.teachers, teacher_files=[f.name for f in TEACHER_FILES[a.teachers]],
               init=a.init, keep=a.keep, seed=a.seed, epochs=a.epochs, alpha=a.alpha, mixup=a.mixup, lr=a.lr,
               params=int(m.count_params()), int8_bytes=len(data),
               train=describe(tr), val=describe(va), test=describe(te),
               float=dict(val_threshold=round(thr, 4), test=scores_report(fs, te, thr), test_at_05=scores_report(fs, te, 0.5)),
               int8=dict(val_threshold=round(qthr, 4), test=scores_report(qs, te, qthr)),
               teachers_on_test=tres, history=res.history, seconds=round(time.time() - t0),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024))
    m.save(run/f'{a.student}.h5', include_optimizer=False); (run/f'{a.student}_int8.tflite').write_bytes(data)
    (run/'result.json').write_text(json.dumps(out, indent=1))
    say(f"[{out['seconds']}s] {a.student} ({a.teachers}, seed {a.seed}): float balanced acc {out['float']['test']['balanced_accuracy']} "
        f"(thr {thr:.3f}), int8 {out['int8']['test']['balanced_accuracy']} (thr {qthr:.3f}), AUC {out['int8']['test']['auc']}, "
        f"{len(data):,} B int8, peak RSS {out['peak_rss_mb']} MB")
    if a.ship: ship(a.student, run, out)
    return out

def ship(name, run, out):
    "Copy the run's model into the package, its int8 file carrying the model contract, and record it in the manifest"
    import vww_kit
    from vww_kit.contract import make_contract, with_contract
    from vww_kit.distill import verdict
    dest = HERE.parent/'vww_kit/pretrained'; dest.mkdir(exist_ok=True)
    shutil.copy(run/f'{name}.h5', dest/f'{name}.h5')
    st = STUDENTS[name]; q = out['int8']
    v, _ = verdict(q['test'], out['teachers_on_test'].get(out['teachers']))
    c = make_contract(1/255, color=st['color'], crop='center', threshold=q['val_threshold'],
                      threshold_rule='equal error rate on the validation set of bench/realdata.py', verdict=v, student=name,
                      teacher=' + '.join(out['teacher_files']) or 'none (labels)', data='bench/realdata.py real pool',
                      made_by='bench/pretrain.py', vww_kit=vww_kit.__version__)
    (dest/f'{name}_int8.tflite').write_bytes(with_contract((run/f'{name}_int8.tflite').read_bytes(), c))
    mf = dest/'manifest.json'
    man = json.loads(mf.read_text()) if mf.exists() else {}
    man[name] = dict(h5=f'{name}.h5', h5_sha256=sha256(dest/f'{name}.h5'), int8=f'{name}_int8.tflite',
                     int8_sha256=sha256(dest/f'{name}_int8.tflite'), threshold=out['int8']['val_threshold'],
                     float_threshold=out['float']['val_threshold'],
                     input=dict(size=STUDENTS[name]['size'], color=STUDENTS[name]['color'], pixel_scale='1/255'),
                     made_by=f"bench/pretrain.py --student {name} --teachers {out['teachers']} --keep {out['keep']} --seed {out['seed']} --epochs {out['epochs']}",
                     init=f"MLPerf Tiny VWW reference (vww_96.h5), {out['keep']:.0%} of its channels (L1)" if out['init'] == 'reference' else 'random',
                     teachers=out['teacher_files'], data='capston2-person train (CC BY 4.0: "capston2" by siwookim, Roboflow Universe) '
                     'whole pictures, box-aware crops and box-free crops; Debian gnome/mate wallpapers; the built-in sample set',
                     params=out['params'], int8_bytes=out['int8_bytes'],
                     test=dict(float=out['float']['test'], int8=out['int8']['test']), seconds=out['seconds'],
                     peak_rss_mb=out['peak_rss_mb'])
    mf.write_text(json.dumps(man, indent=1))

if __name__ == '__main__': main()
