import csv, warnings
from collections import Counter, defaultdict
import numpy as np, cv2, pytest
from vww_kit.data import sample_set, folder_set, read_frame, read_image, package_file, class_balance, SAMPLE_CSV, LABELS, Sample

def test_sample_set_size_and_sources():
    ss = sample_set()
    distinct = Counter(s.label for s in {(s.source, s.index): s for s in ss}.values())
    assert distinct['person'] >= 250 and distinct['no_person'] >= 250, distinct
    assert len({s.source.split(':')[0] for s in ss}) >= 3          # packages
    assert len({s.source for s in ss if s.label == 'no_person'}) >= 5  # more than one kind of negative scene
    assert len({s.scene for s in ss if s.label == 'no_person'}) >= 10

def test_split_has_no_scene_overlap_and_no_neighbouring_frames():
    ss = sample_set()
    splits_of_scene = defaultdict(set)
    for s in ss: splits_of_scene[s.scene].add(s.split)
    assert all(len(v) == 1 for v in splits_of_scene.values()), {k: v for k, v in splits_of_scene.items() if len(v) > 1}
    by_video = defaultdict(list)
    for s in ss:
        if s.source.endswith('.mp4'): by_video[s.source].append((s.index, s.split))
    for src, fr in by_video.items():
        fr.sort()
        assert len({i for i, _ in fr}) == len(fr), f'{src}: a frame is labelled twice'
        for (i, a), (j, b) in zip(fr, fr[1:]):
            if a != b: assert j - i > 3, f'{src}: frames {i} ({a}) and {j} ({b}) straddle splits'
    bal = class_balance(ss)
    assert set(bal) == {'train', 'val', 'test'} and all(min(c.values()) >= 25 for c in bal.values()), bal

def test_every_labelled_frame_reads_as_rgb_uint8():
    rows = list(csv.DictReader(open(SAMPLE_CSV)))
    assert {r['label'] for r in rows} == set(LABELS)
    for s in sample_set():
        f = read_frame(s)
        assert f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3 and min(f.shape[:2]) >= 25, (s, f.shape)
    # the wide bikes shots are cut to 4:3 windows that hold the person
    s = next(s for s in sample_set() if s.scene == 'bikes-3-cyclist' and s.label == 'person')
    assert read_frame(s).shape == (272, 363, 3)

def test_package_file_errors():
    with pytest.raises(FileNotFoundError, match="Package 'no_such_pkg_xyz' is not installed"): package_file('no_such_pkg_xyz:a.png')

def _folder(tmp_path, n=3):
    src = cv2.imread(str(package_file('skimage:data/astronaut.png')))
    for lb in LABELS:
        (tmp_path/lb).mkdir()
        for i in range(n): cv2.imwrite(str(tmp_path/lb/f'{i}.jpg'), np.roll(src, 40*i, 1))
    return tmp_path

def test_folder_set_skips_and_counts_unreadable_files(tmp_path):
    d = _folder(tmp_path)
    (d/'person'/'truncated.jpg').write_bytes((d/'person'/'0.jpg').read_bytes()[:200])
    (d/'no_person'/'notes.txt').write_text('not an image')
    with pytest.warns(UserWarning, match=r'Skipped 2 unreadable or non-image file\(s\).*truncated.jpg'):
        ss = folder_set(d)
    assert Counter(s.label for s in ss) == {'person': 3, 'no_person': 3}
    assert {s.split for s in ss} <= {'train', 'val', 'test'}

def test_corrupt_image_is_a_clear_error(tmp_path):
    p = tmp_path/'bad.png'; p.write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    with pytest.raises(ValueError, match='Cannot decode the image .*bad.png.*corrupt'): read_image(p)

def test_empty_or_missing_class_folder_is_an_error(tmp_path):
    d = _folder(tmp_path)
    for p in (d/'no_person').iterdir(): p.unlink()
    with pytest.raises(ValueError, match='no_person is empty'): folder_set(d)
    (d/'no_person').rmdir()
    with pytest.raises(ValueError, match='no_person is missing'): folder_set(d)
    with pytest.raises(FileNotFoundError, match='does not exist'): folder_set(d/'nope')

def test_folder_with_split_subfolders(tmp_path):
    for sp in ('train', 'val'): _folder(tmp_path/sp if (tmp_path/sp).mkdir() is None else None, n=2)
    ss = folder_set(tmp_path)
    assert Counter((s.split, s.label) for s in ss) == {('train', 'person'): 2, ('train', 'no_person'): 2,
                                                       ('val', 'person'): 2, ('val', 'no_person'): 2}

def test_folder_with_coco_style_split_names(tmp_path):
    for sp in ('train2017', 'val2017'): (tmp_path/sp).mkdir(); _folder(tmp_path/sp, n=2)
    assert Counter(s.split for s in folder_set(tmp_path)) == {'train': 4, 'val': 4}
