import argparse, csv, time
from pathlib import Path
import numpy as np, cv2, pytest
from vww_kit.contract import read_contract
from vww_kit.camera import InputSpec, board_camera, board_view
from vww_kit.data import sample_set, read_frame
from vww_kit.simulate import (Simulator, Smoother, Record, VideoSource, FolderSource, CameraSource, open_source,
                              sample_video, input_view, annotate, replay, add_simulate_args, simulate_command,
                              SimulatorWidget, decode_jpeg, model_macs)

def _jpeg(rgb, q=90): return cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()

@pytest.fixture(scope='module')
def frames():
    "Real frames: every 10th frame of the sample video and a few stills"
    vid = [f for i, (f, _) in enumerate(sample_video()) if i % 10 == 0]
    return vid + [read_frame(s) for s in sample_set('val')[::20]]

@pytest.fixture(scope='module')
def students():
    "Small int8 students calibrated on real board views: vww-tiny (96x96 RGB) and vww-micro (64x64 grayscale)"
    from vww_kit.models import mobilenet_v1, STUDENTS
    from vww_kit.profile import to_int8_tflite
    res = {}
    for name in ('vww-tiny', 'vww-micro'):
        p = STUDENTS[name]; c = 1 if p.color == 'grayscale' else 3
        spec = InputSpec(p.input_size, p.input_size, c, 'float32', 1.0, 0)
        rep = np.stack([board_view(read_frame(s), 'esp32-cam', spec) for s in sample_set('train')[::25]])/255
        m = mobilenet_v1(p.input_size, c, p.width)
        for _ in range(30): m(rep, training=True)  # batch-norm statistics of real frames: no layer fades to zero
        res[name] = to_int8_tflite(m, rep.astype(np.float32))
    return res

@pytest.fixture
def mlperf(mlperf_dir): return (mlperf_dir/'vww_96_int8.tflite').read_bytes()

def _tflm(data):
    from tflite_micro.python.tflite_micro import runtime
    return runtime.Interpreter.from_bytes(data)

# --- the board's tensor and the board's outputs

@pytest.mark.parametrize('name,board', [('vww-tiny', 'esp32-cam'), ('vww-tiny', 'xiao-esp32s3-sense'),
                                        ('vww-micro', 'nano33-ble-sense')])
def test_preprocess_is_board_camera(students, frames, name, board):
    sim = Simulator(students[name], board)
    for f in frames:
        x = board_camera(f, board, sim.spec)
        np.testing.assert_array_equal(sim.preprocess(f), x)
        rec = sim.step(f, 0)
        np.testing.assert_array_equal(rec.input, x)
        assert rec.input.dtype == np.int8 and rec.input.shape == sim.spec.shape

def test_preprocess_is_board_camera_mlperf(mlperf, frames):
    sim = Simulator(mlperf, 'esp32-cam')
    for f in frames: np.testing.assert_array_equal(sim.step(f, 0).input, board_camera(f, 'esp32-cam', sim.spec))

@pytest.mark.parametrize('which', ['mlperf', 'vww-tiny', 'vww-micro'])
def test_outputs_equal_tflite_micro(request, which, frames):
    data = request.getfixturevalue('mlperf') if which == 'mlperf' else request.getfixturevalue('students')[which]
    board = 'nano33-ble-sense' if which == 'vww-micro' else 'esp32-cam'
    sim, it = Simulator(data, board, n=1, m=1), _tflm(data)
    d = it.get_output_details(0)['quantization_parameters']
    scale, zp = float(d['scales'][0]), int(d['zero_points'][0])
    for f in frames:
        rec = sim.step(f, 0)
        it.set_input(board_camera(f, board, sim.spec)[None], 0); it.invoke()
        out = it.get_output(0).reshape(-1)
        assert rec.raw == tuple(int(v) for v in out)
        assert rec.score == pytest.approx((int(out[1]) - zp)*scale)
        assert rec.person == (rec.score >= sim.threshold) and rec.detected == rec.person  # 1 of 1
    assert sim.threshold == ((read_contract(data) or {}).get('threshold') or 0.5)   # threshold = auto: the file's, else 0.5

def test_litert_runtime_is_close(mlperf, frames):
    a, b = Simulator(mlperf, 'esp32-cam', runtime='tflm'), Simulator(mlperf, 'esp32-cam', runtime='litert')
    diffs = [np.abs(np.subtract(a.step(f, 0).raw, b.step(f, 0).raw)).max() for f in frames]
    assert max(diffs) <= 8 and np.mean(diffs) < 2

def test_mlperf_sees_people(mlperf):
    "The cyclist of bikes.mp4 is a person, the empty lane is not"
    sim = Simulator(mlperf, 'esp32-cam', n=1, m=1, threshold=0.5)
    fr = [f for f, _ in sample_video()]
    assert np.mean([sim.step(f, 0).detected for f in fr[105:135]]) > 0.9
    assert np.mean([sim.step(f, 0).detected for f in fr[0:30]]) < 0.1

def test_input_view_is_board_view(mlperf, students, frames):
    for data, board in ((mlperf, 'esp32-cam'), (students['vww-micro'], 'nano33-ble-sense')):
        sim = Simulator(data, board)
        for f in frames[:5]:
            v = board_view(f, board, sim.spec)
            np.testing.assert_array_equal(input_view(sim.preprocess(f), sim.spec), np.broadcast_to(v, (*v.shape[:2], 3)))

# --- smoothing and the board's pace

def test_smoother():
    s = Smoother(0.5, 2, 3)
    assert [s(v) for v in (0.9, 0.8, 0.1, 0.2, 0.7, 0.9)] == [(False, 1), (True, 2), (True, 2), (False, 1), (False, 1), (True, 2)]
    with pytest.raises(ValueError, match='n <= m'): Smoother(0.5, 3, 2)
    with pytest.raises(ValueError, match='between 0 and 1'): Smoother(1.5)

def test_threshold_from_recipe(students, tmp_path, monkeypatch):
    from vww_kit.config import load_recipe
    assert load_recipe().export.threshold == 'auto'      # the model's calibrated threshold; these carry none: 0.5
    assert Simulator(students['vww-tiny'], 'esp32-cam').threshold == 0.5
    from vww_kit.export import example_model
    from vww_kit.contract import contract_threshold
    shipped = example_model('vww-rgb96').read_bytes()
    assert Simulator(shipped, 'esp32-cam').threshold == contract_threshold(shipped) != 0.5
    assert Simulator(students['vww-tiny'], recipe=load_recipe(overrides={'export.threshold': 0.7})).threshold == 0.7

def test_board_rate(students, frames):
    sim = Simulator(students['vww-tiny'], 'esp32-cam', board_rate=True)
    period = sim.board_ms/1000
    recs = [sim.step(frames[0], i/25) for i in range(60)]
    ran = [r.t for r in recs if r.ran]
    assert all(b - a >= period - 1e-9 for a, b in zip(ran, ran[1:]))
    every = int(np.ceil(period*25 - 1e-9))  # the board takes the first frame that comes after it is done
    assert len(ran) == -(-60//every) and all(round((b - a)*25) == every for a, b in zip(ran, ran[1:]))
    held = [r for r in recs if not r.ran]
    assert held and all(r.invoke_ms == 0 for r in held)
    assert sim.board_ms == pytest.approx(model_macs(sim.data)*sim.latency['cycles_per_mac']/240e6*1e3, rel=0.01)

# --- clear errors

def test_unreadable_video(tmp_path):
    bad = tmp_path/'clip.mp4'; bad.write_bytes(b'\x00\x00\x00\x18ftypmp42' + bytes(2000))
    with pytest.raises(ValueError, match='Cannot read the video .*clip.mp4.*Convert it to H.264'): VideoSource(bad)
    with pytest.raises(ValueError, match='Cannot read the video'): open_source(bad)
    with pytest.raises(FileNotFoundError, match='does not exist'): open_source(tmp_path/'nope.mp4')

def test_folder_with_a_non_image(tmp_path, frames):
    cv2.imwrite(str(tmp_path/'a.jpg'), frames[0][..., ::-1])
    (tmp_path/'readme.md').write_text('# notes')
    with pytest.raises(ValueError, match=r'1 file\(s\) that are not images: readme.md.*Move them out'): FolderSource(tmp_path)
    (tmp_path/'readme.md').unlink(); (tmp_path/'b.png').write_bytes(b'not really a png')
    src = FolderSource(tmp_path)
    with pytest.raises(ValueError, match='Cannot decode the image .*b.png'): list(src)
    empty = tmp_path/'empty'; empty.mkdir()
    with pytest.raises(ValueError, match='has no images'): FolderSource(empty)

def test_wrong_input_shape(students):
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    big = to_int8_tflite(tf_keras.Sequential([tf_keras.Input((480, 480, 3)), tf_keras.layers.Conv2D(2, 3, 16),
                                              tf_keras.layers.GlobalAveragePooling2D(), tf_keras.layers.Softmax()]), n=1)
    with pytest.raises(ValueError, match=r"takes 480x480x3 input, which AI-Thinker ESP32-CAM's camera cannot give"):
        Simulator(big, 'esp32-cam')
    flat = to_int8_tflite(tf_keras.Sequential([tf_keras.Input((10,)), tf_keras.layers.Dense(2)]), n=1)
    with pytest.raises(ValueError, match=r'input shape \(10,\) is not an image'): Simulator(flat)
    many = to_int8_tflite(tf_keras.Sequential([tf_keras.Input((32, 32, 3)), tf_keras.layers.GlobalAveragePooling2D(),
                                               tf_keras.layers.Dense(5)]), n=1)
    with pytest.raises(ValueError, match='has 5 outputs'): Simulator(many)
    sim = Simulator(students['vww-tiny'], 'esp32-cam')
    with pytest.raises(ValueError, match=r'the model takes \(96, 96, 3\)'): sim.invoke(np.zeros((64, 64, 1), np.int8))
    with pytest.raises(ValueError, match='Expected an image of shape'): sim.step(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError, match="Unknown runtime 'tvm'"): Simulator(students['vww-tiny'], runtime='tvm')
    with pytest.raises(ValueError, match='not a TFLite model'): Simulator(b'{"json": 1}')

def test_model_tflm_would_abort_on():
    "An untrained MobileNet calibrates to ~0 scales; TFLM aborts the process on them, so the simulator refuses it"
    from vww_kit.models import mobilenet_v1
    from vww_kit.profile import to_int8_tflite
    with pytest.raises(ValueError, match='degenerate int8 scale below 1e-06.*calibrate a trained model'):
        Simulator(to_int8_tflite(mobilenet_v1(96, 3, 0.1), n=2), 'esp32-cam')

def test_missing_camera():
    with pytest.raises(ValueError, match='No camera at index 97.*sample video'): CameraSource(97)
    with pytest.raises(ValueError, match='No camera at index 97'): open_source(97)

# --- replay and the command line

def test_replay_video_and_csv(students, tmp_path):
    sim = Simulator(students['vww-tiny'], 'esp32-cam')
    res = replay(sim, 'sample', tmp_path/'out.mp4', tmp_path/'out.csv', max_frames=30)
    assert res['frames'] == res['inferences'] == 30 and res['source'] == 'bikes.mp4'
    v = VideoSource(tmp_path/'out.mp4')
    assert v.frame_count == 30 and v.fps == 25 and v.shape[1] == 480
    rows = list(csv.DictReader(open(tmp_path/'out.csv')))
    assert len(rows) == 30 and rows[3]['index'] == '3' and float(rows[3]['t']) == pytest.approx(3/25)
    assert {'score', 'raw', 'detected', 'votes', 'ran', 'invoke_ms', 'board_ms'} <= set(rows[0])
    res = replay(sim, 'sample', tmp_path/'out.gif', max_frames=4, width=200)
    assert (tmp_path/'out.gif').read_bytes()[:3] == b'GIF'
    with pytest.raises(ValueError, match='use a .mp4, .avi or .gif'): replay(sim, 'sample', tmp_path/'out.webm', max_frames=2)

def test_replay_labelled_folder(mlperf, tmp_path):
    fr = [f for f, _ in sample_video()]
    for lb, idx in (('person', (110, 120, 130)), ('no_person', (5, 15, 25))):
        (tmp_path/'set'/lb).mkdir(parents=True)
        for i in idx: cv2.imwrite(str(tmp_path/'set'/lb/f'{i:03d}.png'), fr[i][..., ::-1])
    res = replay(Simulator(mlperf, 'esp32-cam', n=1, m=1, threshold=0.5), tmp_path/'set', csv_path=tmp_path/'f.csv')
    assert (res['frames'], res['labelled'], res['wrong']) == (6, 6, 0)
    rows = list(csv.DictReader(open(tmp_path/'f.csv')))
    assert [r['truth'] for r in rows] == ['no_person']*3 + ['person']*3

def test_cli(students, tmp_path, capsys):
    m = tmp_path/'student.tflite'; m.write_bytes(students['vww-tiny'])
    a = add_simulate_args(argparse.ArgumentParser()).parse_args(
        [str(m), '--source', 'sample', '--max-frames', '12', '--out', str(tmp_path/'s.mp4'), '--board', 'esp32-s3-eye',
         '--n', '1', '--m', '1', '--runtime', 'litert'])
    assert simulate_command(a) == 0
    out = capsys.readouterr().out
    assert '12 frames, 12 inferences' in out and 'esp32-s3-eye' in out and 'litert' in out
    assert len(open(tmp_path/'s.csv').readlines()) == 13
    a = add_simulate_args(argparse.ArgumentParser()).parse_args([str(m), '--source', str(tmp_path/'nope'), '--out', 'none'])
    with pytest.raises(FileNotFoundError, match='does not exist'): simulate_command(a)

# --- the widget, headless

def test_widget_headless(mlperf, tmp_path):
    fr = [f for f, _ in sample_video()]
    w = SimulatorWidget(Simulator(mlperf, 'esp32-cam', n=1, m=1, threshold=0.5), dataset_dir=tmp_path/'collected')
    assert w.source == 'webcam' and w.record == {} and w.threshold == 0.5
    w._on_msg(w, {'type': 'frame', 't': 1.0}, [_jpeg(fr[110])])
    assert w.record['label'] == 'person' and w.record['seq'] == 0 and w.record['input'] == '96x96 rgb'
    assert w.record['board'] == 'esp32-cam' and w.record['board_ms'] > 0 and w.record['host_ms'] > 0
    np.testing.assert_array_equal(decode_jpeg(w.view), input_view(w.last_record.input, w.sim.spec))
    assert decode_jpeg(w.frame).shape == (272, 640, 3)
    w._on_msg(w, {'type': 'frame', 't': 1.1}, [_jpeg(fr[10])])
    assert w.record['label'] == 'no_person' and len(w.history) == 2 and w.history[0] > 0.5 > w.history[1]
    w._on_msg(w, {'type': 'save', 'label': 'person'}, [])  # a wrong decision, saved as what it really is
    assert w.saved == {'person': 1, 'no_person': 0}
    saved = list((tmp_path/'collected'/'person').glob('*.jpg'))
    assert len(saved) == 1 and cv2.imread(str(saved[0])).shape == (272, 640, 3)
    with pytest.raises(ValueError, match="Label 'cat'"): w.save('cat')
    w.threshold, w.m, w.n = 0.8, 5, 3
    assert (w.sim.threshold, w.sim.smoother.n, w.sim.smoother.m) == (0.8, 3, 5)
    w.board_rate = True; assert w.sim.board_rate
    assert w.push_jpeg(b'garbage') is None and 'did not decode' in w.message
    w.close()

def test_widget_plays_a_source(students, tmp_path):
    w = SimulatorWidget(Simulator(students['vww-tiny'], 'esp32-cam'), source='sample', dataset_dir=tmp_path)
    assert w.source == 'bikes.mp4'  # the browser stops its camera when the source is not 'webcam'
    deadline = time.time() + 20
    while time.time() < deadline and w.record.get('seq', -1) < 5: time.sleep(0.05)
    assert w.record['seq'] >= 5 and len(w.history) >= 5
    w.close()
    assert w._thread is None
    seq = w.record['seq']; time.sleep(0.3); assert w.record['seq'] == seq

def test_widget_frames_tap(students):
    import threading
    w = SimulatorWidget(Simulator(students['vww-tiny'], 'esp32-cam'))
    got = []
    th = threading.Thread(target=lambda: got.extend(w.frames(timeout=1.0)))
    th.start(); time.sleep(0.2)
    for i in range(3): w.push_jpeg(_jpeg(np.full((48, 64, 3), 40*i, np.uint8)), t=i); time.sleep(0.1)
    th.join(5)
    assert [t for _, t in got] == [0, 1, 2] and got[0][0].shape == (48, 64, 3)
    w.close()
