import json
import numpy as np, pytest, tf_keras
from vww_kit.data import sample_set
from vww_kit.camera import InputSpec
from vww_kit.pipeline import board_views
from vww_kit.models import build_model, mobilenet_v1, Teacher
from vww_kit.distill import distill, accuracy, Distiller

@pytest.fixture(scope='module')
def views32():
    spec = InputSpec(32, 32, 3, 'int8', 1/255, -128)
    return (board_views(sample_set('train')[::4], 'esp32-cam', spec, progress=False),
            board_views(sample_set('val')[::2], 'esp32-cam', spec, progress=False))

class Interrupt(tf_keras.callbacks.Callback):
    "Stops training the way Ctrl-C does, as epoch `at` (0-based) begins"
    def __init__(self, at): super().__init__(); self.at = at
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at: raise KeyboardInterrupt

def test_interrupted_run_resumes_from_its_last_epoch(views32, tmp_path):
    (xt, yt), val = views32
    teacher = Teacher(build_model('mobilenet_v1', 32, 'rgb', 0.25))
    seen = []
    class Epochs(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None): seen.append(epoch)
    with pytest.raises(KeyboardInterrupt):
        distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, teacher, epochs=4, verbose=0,
                patience=0, work_dir=tmp_path, callbacks=[Epochs(), Interrupt(2)])
    assert seen == [0, 1, 2] and (tmp_path/'backup').exists()
    seen.clear()
    r = distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, teacher, epochs=4, verbose=0,
                patience=0, work_dir=tmp_path, callbacks=[Epochs()])
    assert seen == [2, 3]                                   # the first two epochs are not run again
    assert json.loads((tmp_path/'history.json').read_text()) == r.history

def test_early_stopping_restores_the_best_epoch(views32):
    (xt, yt), (xv, yv) = views32
    s = build_model('mobilenet_v1', 32, 'rgb', 0.1)
    r = distill(s, (xt, yt), (xv, yv), epochs=15, patience=2, learning_rate=3e-3, verbose=0)
    h = r.history['val_accuracy']
    assert len(h) < 15, f'early stopping never triggered: {h}'
    assert accuracy(s, xv, yv) == pytest.approx(max(h), abs=1e-6)   # the weights of the best epoch, not the last

def test_bad_inputs_are_refused(views32):
    (xt, yt), val = views32
    with pytest.raises(ValueError, match='need a teacher'):
        distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, None), val, None, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r'shape \(32, 32, 3\) but the student takes \(64, 64, 3\)'):
        distill(build_model('mobilenet_v1', 64, 'rgb', 0.1), (xt, yt), val, None, epochs=1, verbose=0)
    with pytest.raises(ValueError, match='outputs 3 values'):
        Distiller(mobilenet_v1(32, 3, 0.1, classes=3), Teacher(build_model('mobilenet_v1', 32, 'rgb', 0.25)))
    # a teacher whose output does not match the two-class student: a 3-class one, and one with a spatial output
    with pytest.raises(ValueError, match=r"teacher 'teacher' outputs shape \(3,\).*student's \(2,\)"):
        Distiller(mobilenet_v1(32, 3, 0.1), Teacher(mobilenet_v1(32, 3, 0.25, classes=3)))
    import tf_keras
    inp = tf_keras.Input((32, 32, 3)); seg = tf_keras.Model(inp, tf_keras.layers.Conv2D(2, 1, activation='softmax')(inp))
    with pytest.raises(ValueError, match=r'outputs shape \(32, 32, 2\)'):
        distill(mobilenet_v1(32, 3, 0.1), (xt, yt), val, Teacher(seg), epochs=1, verbose=0)

def test_cosine_schedule_decays_the_learning_rate_and_a_bad_name_is_refused(views32):
    (xt, yt), val = views32
    r = distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, epochs=4, learning_rate=1e-3, patience=0, verbose=0)
    np.testing.assert_allclose(r.history['lr'], [1e-3*0.5*(1 + np.cos(np.pi*e/4)) for e in range(4)], rtol=1e-5)
    r = distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, epochs=2, patience=0, schedule='constant', verbose=0)
    assert 'lr' not in r.history
    with pytest.raises(ValueError, match="schedule='step'"):
        distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, epochs=1, schedule='step', verbose=0)

def test_a_cached_teacher_labels_the_very_crops_the_student_trains_on(views32, tmp_path, monkeypatch):
    "consistent=2: the .tflite teacher's targets belong to augmented copies, and those copies reach the student unchanged"
    import vww_kit.distill as D
    from vww_kit.profile import to_int8_tflite
    (xt, yt), val = views32
    L = tf_keras.layers   # a teacher whose opinion follows the brightness of what it sees, so that crops differ
    tm = tf_keras.Sequential([tf_keras.Input((32, 32, 3)), L.GlobalAveragePooling2D(),
                              L.Dense(2, 'softmax', kernel_initializer=tf_keras.initializers.Constant([[-4., 4.]]*3),
                                      bias_initializer=tf_keras.initializers.Constant([6., -6.]))])
    tq = Teacher(to_int8_tflite(tm, xt[:64]/255.0))
    fed = {}
    real_ds = D._ds
    def spy(x, y, tp, batch_size, training, seed, spec, mixup=0.0, augmented=True):
        if training: fed.update(x=x, y=y, tp=tp, augmented=augmented)
        return real_ds(x, y, tp, batch_size, training, seed, spec, mixup, augmented)
    monkeypatch.setattr(D, '_ds', spy)
    distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), val, tq, epochs=1, verbose=0, consistent=2, seed=3)
    copies = D.augmented_views(xt, 2, seed=3)
    assert fed['augmented'] is False and len(fed['x']) == 3*len(xt)
    assert np.array_equal(fed['x'], np.concatenate([xt, copies])) and np.array_equal(fed['y'], np.tile(yt, 3))
    assert np.allclose(fed['tp'], D.teacher_probs(tq, fed['x']))           # the teacher saw each copy itself
    assert not np.allclose(fed['tp'][len(xt):2*len(xt)], fed['tp'][:len(xt)])   # ... and it tells them apart
    with pytest.raises(ValueError, match='consistent= is for a cached teacher'):
        distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, yt), teacher=Teacher(build_model('mobilenet_v1', 32, 'rgb', 0.25)),
                epochs=1, verbose=0, consistent=2)

def test_a_pool_of_labelled_and_unlabelled_frames_trains_with_the_teacher_labelling_the_rest(views32):
    "Label -1 (a Pool's unlabelled video frames): the teacher's probabilities are the target there, even for the label loss"
    from vww_kit.distill import _ds
    (xt, yt), val = views32
    y = yt.copy(); y[::2] = -1
    spec = InputSpec(32, 32, 3, 'float32', 1.0, 0, pixel_scale=1/255)
    _, lab = next(iter(_ds(xt[:8], y[:8], None, 8, False, 0, spec)))
    assert np.array_equal(lab.numpy().sum(1), (y[:8] >= 0).astype(np.float32))   # unlabelled rows carry no label
    with pytest.raises(ValueError, match='unlabelled .label -1'):
        distill(build_model('mobilenet_v1', 32, 'rgb', 0.1), (xt, y), epochs=1, verbose=0)
    L = tf_keras.layers
    def constant(person):   # a teacher that says "person" (or "no person") at 0.97 on everything
        b = [0., 3.5] if person else [3.5, 0.]
        return Teacher(tf_keras.Sequential([tf_keras.Input((32, 32, 3)), L.GlobalAveragePooling2D(),
                                            L.Dense(2, 'softmax', kernel_initializer='zeros', bias_initializer=tf_keras.initializers.Constant(b))]))
    unl, says = np.full(len(xt), -1), {}
    for person in (True, False):
        s = build_model('mobilenet_v1', 32, 'rgb', 0.1)
        distill(s, (xt, unl), teacher=constant(person), alpha=1.0, epochs=8, learning_rate=3e-3, patience=0, verbose=0, seed=0)
        says[person] = float(s.predict(xt.astype(np.float32)/255, verbose=0)[:, 1].mean())
    # labels-only loss (alpha 1) on frames that have none: the teacher's opinion is the label, so each student learns its own
    assert says[True] > says[False] + 0.3, says
