"The pretrained students (issue 16): YOLO data, the shipped weights, the calibrated threshold, the verdict, the real test set"
import json, shutil, sys
from pathlib import Path
import numpy as np, pytest
from conftest import ROOT
from vww_kit.camera import InputSpec
from vww_kit.config import default_recipe, load_recipe
from vww_kit.contract import read_contract, with_contract, make_contract, contract_threshold
from vww_kit.export import EXAMPLES, example_model, sketch_plan, export_sketch
from vww_kit.models import STUDENTS, student_manifest, build_student, pretrained_student, Teacher
from vww_kit.yolo import yolo_set, yolo_views, box_crops, vww_label, read_yolo_labels

CAPSTON = ROOT.parent/'shared'/'data'/'capston2-person'
sys.path.insert(0, str(ROOT/'bench'))

def _capston():
    if not CAPSTON.is_dir(): pytest.skip(f"capston2-person photos not found at {CAPSTON} (../shared/data/capston2-person)")
    return CAPSTON

def test_yolo_reads_the_real_dataset_and_crops_respect_the_boxes():
    "capston2-person as Roboflow wrote it: every split, the VWW rule, negatives that touch no box"
    ims = yolo_set(_capston())
    assert len(ims) == 11484 and {i.split for i in ims} == {'train', 'val', 'test'}
    assert sum(i.split == 'test' for i in ims) == 1101
    small = [i for i in ims if vww_label(i) == 'no_person']
    assert len(small) == 222 and all(i.person_area < 0.005 for i in small)
    for im in ims[::500]:
        im2 = type(im)(im.path, im.split, (192, 192), im.boxes, im.source)
        for x0, y0, x1, y1, lab in box_crops(im2, 1, 2):
            inside = max((max(0, min(x1, b[2]*192) - max(x0, b[0]*192))*max(0, min(y1, b[3]*192) - max(y0, b[1]*192))
                          for b in im.boxes), default=0)
            assert (inside > 0) == (lab == 'person'), (im.path, x0, y0, x1, y1, lab)

def test_bad_yolo_labels_are_refused_by_file_and_line(tmp_path):
    (tmp_path/'train'/'images').mkdir(parents=True); (tmp_path/'train'/'labels').mkdir()
    import cv2
    cv2.imwrite(str(tmp_path/'train'/'images'/'a.jpg'), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match=r'a\.txt is missing'): yolo_set(tmp_path)
    (tmp_path/'data.yaml').write_text("nc: 1\nnames: ['person']\n")
    (tmp_path/'train'/'labels'/'a.txt').write_text('0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n')
    with pytest.raises(ValueError, match=r'line 2: class id 1 is unknown'): yolo_set(tmp_path)
    (tmp_path/'train'/'labels'/'a.txt').write_text('0 0.5 0.5 1.2 0.2\n')
    with pytest.raises(ValueError, match=r'outside \[0, 1\]'): yolo_set(tmp_path)

def test_cli_data_yolo_writes_image_folders(tmp_path, capsys):
    from vww_kit.cli import main
    import cv2
    root = tmp_path/'ds'
    for sp in ('train', 'valid'):
        (root/sp/'images').mkdir(parents=True); (root/sp/'labels').mkdir()
        for k in range(3):
            cv2.imwrite(str(root/sp/'images'/f'p{k}.jpg'), np.random.default_rng(k).integers(0, 255, (192, 192, 3), np.uint8))
            (root/sp/'labels'/f'p{k}.txt').write_text('0 0.2 0.3 0.2 0.4\n')
    assert main(['data', 'yolo', str(root), '--out', str(tmp_path/'vww')]) == 0
    out = capsys.readouterr().out
    assert 'image folders' in out and len(list((tmp_path/'vww'/'train'/'person').glob('*.jpg'))) >= 3
    assert len(list((tmp_path/'vww'/'val'/'no_person').glob('*.jpg'))) >= 1
    assert main(['data', 'yolo', str(root), '--out', str(tmp_path/'vww')]) == 2
    assert 'not empty' in capsys.readouterr().err

def test_a_recipe_reads_a_yolo_dataset_and_reports_accuracy_by_kind_of_picture(tmp_path):
    "[data] source = yolo: the run's frames are the VWW folders written once beside it; per-source rows name picture kinds"
    import cv2
    from vww_kit.config import load_recipe
    from vww_kit.pipeline import recipe_samples
    from vww_kit.run import per_source
    root = tmp_path/'ds'
    for sp in ('train', 'valid', 'test'):
        (root/sp/'images').mkdir(parents=True); (root/sp/'labels').mkdir()
        for k, name in enumerate(('000000123456_jpg', 'cam1_frame_0042', 'street')):
            cv2.imwrite(str(root/sp/'images'/f'{name}.jpg'), np.random.default_rng(k).integers(0, 255, (192, 192, 3), np.uint8))
            (root/sp/'labels'/f'{name}.txt').write_text('0 0.3 0.3 0.3 0.4\n' if k < 2 else '')
    r = load_recipe(None, {'data.source': 'yolo', 'data.path': str(root)})
    tr = recipe_samples(r, 'train', tmp_path/'run'/'vww_coco')
    assert (tmp_path/'run'/'vww_yolo'/'train'/'person').is_dir() and len(tr) >= 6
    assert sorted({s.label for s in tr}) == ['no_person', 'person']
    te = recipe_samples(r, 'test', tmp_path/'run'/'vww_coco')
    rows = per_source(te, [s.label == 'person' for s in te])
    assert {'coco picture', 'video picture', 'photo picture'} <= {x['source'] for x in rows}
    assert all(x['accuracy'] == 1.0 for x in rows) and sum(x['frames'] for x in rows) == len(te)

def test_the_default_student_is_pretrained_small_and_checked(monkeypatch, tmp_path):
    "build_student of the default recipe is the shipped model (sha256-checked), at most 1/3 of the MLPerf reference bytes"
    r = load_recipe(ROOT/'settings.ini')
    assert r.model.student in STUDENTS and STUDENTS[r.model.student].weights
    m = build_student(r)
    e = student_manifest(r.model.student)
    assert m.count_params() == e['params'] and m.input_shape == (None, r.input.size, r.input.size, 3)
    ref = pretrained_student(r.model.student)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), ref.get_weights()))
    fresh = build_student(load_recipe(ROOT/'settings.ini', {'model.pretrained': False}))
    assert fresh.count_params() == m.count_params() and not all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), m.get_weights()))
    assert example_model(r.model.student).stat().st_size <= 333_288//3
    import vww_kit.models as models
    bad = tmp_path/'pretrained'; shutil.copytree(models.PRETRAINED_DIR, bad)
    with open(bad/e['h5'], 'r+b') as f: f.seek(5000); f.write(b'\x00\x01\x02')
    monkeypatch.setattr(models, 'PRETRAINED_DIR', bad)
    with pytest.raises(ValueError, match='does not match its manifest'): pretrained_student(r.model.student)

@pytest.mark.parametrize('student', sorted({*EXAMPLES.values()}))
def test_the_shipped_int8_files_carry_their_contract_and_the_sketch_uses_its_threshold(student, tmp_path):
    data = example_model(student).read_bytes()
    c = read_contract(data)
    e = student_manifest(student)
    assert c['labels'] == ['no_person', 'person'] and c['input']['color'] == STUDENTS[student].color
    assert c['threshold'] == e['threshold'] and 0 < c['threshold'] < 1 and c['provenance']['verdict'] == 'ok'
    board = 'nano33-ble-sense' if STUDENTS[student].color == 'grayscale' else 'esp32-cam'
    s = sketch_plan(data, board, 'x', default_recipe())['settings']
    assert s.threshold == pytest.approx(c['threshold'])
    r = default_recipe(); r.export.threshold = 0.61
    assert sketch_plan(data, board, 'x', r)['settings'].threshold == 0.61

def test_export_asks_for_force_for_a_detector_at_chance(tmp_path, capsys):
    from vww_kit.cli import main
    data = example_model('vww-rgb96').read_bytes()
    bad = tmp_path/'chance.tflite'
    bad.write_bytes(with_contract(data, make_contract(threshold=0.5, verdict='chance')))
    args = ['export', str(bad), '--board', 'esp32-cam', '--out', str(tmp_path/'out')]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert 'no better than chance' in err and '--force' in err and not (tmp_path/'out').exists()
    assert main(args + ['--force']) == 0 and (tmp_path/'out'/'chance'/'chance.ino').exists()

@pytest.mark.parametrize('student', ['vww-rgb96', 'vww-gray64'])
def test_pretrained_students_detect_people_on_the_real_test_set(student):
    "The shipped int8 file, at the threshold it carries, on real photos with and without people from several sources"
    _capston()
    import realdata
    p = STUDENTS[student]
    spec = InputSpec(p.input_size, p.input_size, 1 if p.color == 'grayscale' else 3, 'int8', 1/255, -128)
    te = realdata.real_sets(spec, splits=('test',))['test']
    assert len(te) > 3000 and len(set(te.source[te.y == 0].tolist())) >= 3 and len(set(te.source[te.y == 1].tolist())) >= 3
    data = example_model(student).read_bytes()
    scores = Teacher(data, 1/255, 1).probs(te.x)[:, 1]
    rep = realdata.scores_report(scores, te, contract_threshold(data))
    want = 0.85 if student == 'vww-rgb96' else 0.8
    assert rep['balanced_accuracy'] >= want and rep['auc'] >= 0.9, rep
    assert rep['balanced_accuracy'] == pytest.approx(student_manifest(student)['test']['int8']['balanced_accuracy'], abs=0.002)
