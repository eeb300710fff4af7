"Visual Wake Words from COCO: labels, dataset writing and a download served from 127.0.0.1 (no internet)"
import functools, http.server, json, os, re, threading, zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vww_kit.coco import (vww_labels, coco_splits, build_vww, parse_vww_example, coco_zips, download_coco)
from vww_kit.data import LABELS

W, H = 200, 150  # 30,000 px: 0.4% = 120 px (10x12), 0.5% = 150 px (10x15), 0.6% = 180 px (12x15)
CATS = [{'id': 1, 'name': 'person'}, {'id': 18, 'name': 'dog'}]

def write_split(root, split, images, cats=CATS):
    "Write {file_name: [(category_id, (x, y, w, h), area, iscrowd)]} as a COCO split under `root`"
    rng = np.random.default_rng(1)
    (root/split).mkdir(parents=True, exist_ok=True); (root/'annotations').mkdir(exist_ok=True)
    js = {'images': [], 'annotations': [], 'categories': cats}
    for i, (fn, objs) in enumerate(images.items(), 1):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root/split/fn, quality=90)
        js['images'].append({'id': i, 'file_name': fn, 'width': W, 'height': H})
        for j, (cat, box, area, crowd) in enumerate(objs):
            js['annotations'].append({'id': 100*i+j, 'image_id': i, 'category_id': cat, 'bbox': list(box),
                                      'area': area, 'iscrowd': crowd})
    (root/'annotations'/f'instances_{split}.json').write_text(json.dumps(js))

VAL = {'p04.jpg': [(1, (5, 5, 10, 12), 120, 0)],      # only person: 0.4% of the image
       'p06.jpg': [(1, (5, 5, 12, 15), 180, 0)],      # only person: 0.6%
       'p05.jpg': [(1, (5, 5, 10, 15), 150, 0)],      # exactly 0.5%: "at least" counts it
       'crowd.jpg': [(1, (0, 0, 100, 50), 4000, 1)],  # iscrowd person region: counts, as in the reference
       'dog.jpg': [(18, (0, 0, 100, 100), 9000, 0)],
       'empty.jpg': []}
TRAIN = {'a.jpg': [(1, (0, 0, 50, 100), 4000, 0)], 'b.jpg': [(18, (0, 0, 50, 50), 2000, 0), (1, (9, 9, 5, 5), 25, 0)]}
VAL_LABELS = ['no_person', 'person', 'person', 'person', 'no_person', 'no_person']

@pytest.fixture
def coco(tmp_path):
    root = tmp_path/'coco'
    write_split(root, 'val2017', VAL); write_split(root, 'train2017', TRAIN)
    return root

def labels(rows): return [r['label'] for r in rows]

# --- labels

def test_04_and_06_percent(coco):
    rows = vww_labels(coco/'annotations'/'instances_val2017.json')
    by = {r['file_name']: r for r in rows}
    assert by['p04.jpg']['label'] == 'no_person' and by['p04.jpg']['person_area'] == pytest.approx(0.004)
    assert by['p06.jpg']['label'] == 'person' and by['p06.jpg']['person_area'] == pytest.approx(0.006)
    assert labels(rows) == VAL_LABELS
    assert set(rows[0]) == {'image_id', 'file_name', 'width', 'height', 'label', 'person_area'}

def test_threshold_and_measure(coco):
    ann = coco/'annotations'/'instances_val2017.json'
    assert labels(vww_labels(ann, min_person_area=0.007)) == ['no_person', 'no_person', 'no_person', 'person', 'no_person', 'no_person']
    assert labels(vww_labels(ann, min_person_area=0.0)) == ['person']*4 + ['no_person']*2
    # mask area below the threshold, box above it: only measure='bbox' calls it person
    write_split(coco, 'val2014', {'thin.jpg': [(1, (0, 0, 12, 15), 100, 0)]})
    thin = coco/'annotations'/'instances_val2014.json'
    assert labels(vww_labels(thin)) == ['no_person']
    assert labels(vww_labels(thin, measure='bbox')) == ['person']
    with pytest.raises(ValueError, match='fraction of the image area'): vww_labels(ann, min_person_area=50)
    with pytest.raises(ValueError, match="'area' \\(VWW\\) or 'bbox'"): vww_labels(ann, measure='mask')

def test_missing_json(tmp_path, coco):
    with pytest.raises(FileNotFoundError, match=r'instances_val2017\.json does not exist.*annotations/instances_train2017\.json'):
        vww_labels(tmp_path/'nowhere'/'annotations'/'instances_val2017.json')
    (coco/'annotations'/'instances_train2017.json').unlink()
    with pytest.raises(FileNotFoundError, match=r'instances_train2017\.json is missing.*train2017/\*\.jpg'):
        build_vww(coco, tmp_path/'out', splits=('train2017', 'val2017'), progress=False)
    assert not (tmp_path/'out').exists()
    with pytest.raises(FileNotFoundError, match=r'annotations/instances_train2017\.json'):
        build_vww(tmp_path/'empty_root', tmp_path/'out', progress=False)

def test_no_person_category(tmp_path):
    write_split(tmp_path, 'val2017', {'x.jpg': [(18, (0, 0, 9, 9), 81, 0)]}, cats=CATS[1:])
    with pytest.raises(ValueError, match="no 'person' category"):
        vww_labels(tmp_path/'annotations'/'instances_val2017.json')

def test_splits_auto(tmp_path, coco):
    assert coco_splits(coco) == ['train2017', 'val2017']
    old = tmp_path/'old'
    write_split(old, 'val2014', VAL)
    assert coco_splits(old) == ['val2014']
    assert build_vww(old, tmp_path/'o14', progress=False) == {'val2014': {'no_person': 3, 'person': 3}}

# --- writing

def test_folders(tmp_path, coco):
    out = tmp_path/'vww'
    res = build_vww(coco, out, progress=False)
    assert res == {'train2017': {'no_person': 1, 'person': 1}, 'val2017': {'no_person': 3, 'person': 3}}
    assert sorted(p.name for p in (out/'val2017'/'person').iterdir()) == ['crowd.jpg', 'p05.jpg', 'p06.jpg']
    assert sorted(p.name for p in (out/'val2017'/'no_person').iterdir()) == ['dog.jpg', 'empty.jpg', 'p04.jpg']
    assert (out/'val2017'/'person'/'p06.jpg').samefile(coco/'val2017'/'p06.jpg')  # hard link, no second copy
    lines = (out/'val2017'/'labels.csv').read_text().splitlines()
    assert lines[0] == 'image_id,file_name,width,height,label,person_area' and lines[1] == '1,p04.jpg,200,150,no_person,0.004'
    build_vww(coco, tmp_path/'copies', ['val2017'], link=False, progress=False)
    assert not (tmp_path/'copies'/'val2017'/'person'/'p06.jpg').samefile(coco/'val2017'/'p06.jpg')

def test_non_empty_out(tmp_path, coco):
    out = tmp_path/'vww'; out.mkdir()
    (out/'keep.txt').write_text('mine')
    with pytest.raises(ValueError, match='is not empty.*nothing was written or removed.*overwrite=True'):
        build_vww(coco, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ['keep.txt']
    assert build_vww(coco, out, ['val2017'], limit=2, overwrite=True, progress=False) == {'val2017': {'no_person': 1, 'person': 1}}
    assert build_vww(coco, out, ['val2017'], overwrite=True, progress=False)['val2017']['person'] == 3
    assert (out/'keep.txt').read_text() == 'mine'
    with pytest.raises(ValueError, match='would hold or replace COCO data'):
        build_vww(coco, coco, overwrite=True, progress=False)
    assert len(list((coco/'val2017').iterdir())) == len(VAL)

def test_missing_image(tmp_path, coco):
    (coco/'val2017'/'dog.jpg').unlink()
    with pytest.raises(FileNotFoundError, match=r'val2017/dog\.jpg.*nothing was written.*instances_val2017\.json'):
        build_vww(coco, tmp_path/'vww', progress=False)
    assert not (tmp_path/'vww').exists()

def test_tfrecord(tmp_path, coco):
    import tensorflow as tf
    out = tmp_path/'rec'
    build_vww(coco, out, fmt='tfrecord', shard_size=4, progress=False)
    shards = sorted((out/'val2017').glob('*.tfrecord'))
    assert [p.name for p in shards] == ['val2017-00000-of-00002.tfrecord', 'val2017-00001-of-00002.tfrecord']
    exs = [parse_vww_example(x) for x in tf.data.TFRecordDataset([str(p) for p in shards])]
    assert [int(e['image/class/label']) for e in exs] == [LABELS.index(l) for l in VAL_LABELS]
    assert [e['image/class/text'].numpy().decode() for e in exs] == VAL_LABELS
    assert [e['image/source_id'].numpy().decode() for e in exs] == [str(i) for i in range(1, 7)]
    assert exs[1]['image/encoded'].numpy() == (coco/'val2017'/'p06.jpg').read_bytes()
    assert tuple(tf.io.decode_jpeg(exs[0]['image/encoded']).shape) == (H, W, 3)
    assert (out/'val2017'/'labels.csv').exists() and len(list((out/'train2017').glob('*.tfrecord'))) == 1

def test_bad_arguments(tmp_path, coco):
    with pytest.raises(ValueError, match="'folders' or 'tfrecord'"): build_vww(coco, tmp_path/'o', fmt='png')
    with pytest.raises(ValueError, match='shard_size=0'): build_vww(coco, tmp_path/'o', fmt='tfrecord', shard_size=0)
    with pytest.raises(ValueError, match='year=2015'): coco_zips(2015)
    with pytest.raises(ValueError, match="'train' and/or 'val'"): coco_zips(2017, ['test'])

# --- download, from a server on 127.0.0.1 only

class Handler(http.server.SimpleHTTPRequestHandler):
    "Static files with single `bytes=N-` range requests; records what it was asked"
    ranges = True
    seen = []
    def log_message(self, *a): pass
    def do_GET(self):
        rng = self.headers.get('Range')
        type(self).seen.append((self.path, rng))
        p = Path(self.directory)/self.path.lstrip('/')
        if not (rng and self.ranges and p.is_file()): return super().do_GET()
        start, data = int(re.match(r'bytes=(\d+)-', rng)[1]), p.read_bytes()
        if start >= len(data):
            self.send_response(416); self.send_header('Content-Range', f'bytes */{len(data)}'); self.end_headers(); return
        self.send_response(206)
        self.send_header('Content-Range', f'bytes {start}-{len(data)-1}/{len(data)}')
        self.send_header('Content-Length', str(len(data)-start)); self.end_headers()
        self.wfile.write(data[start:])

@contextmanager
def serve(folder, ranges=True, seconds=30):
    "Serve `folder` on 127.0.0.1 from a daemon thread that is shut down on exit or after `seconds` at most"
    h = type('H', (Handler,), {'ranges': ranges, 'seen': []})
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(h, directory=str(folder)))
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    stop = threading.Timer(seconds, srv.shutdown); stop.daemon = True; stop.start()
    try: yield f'http://127.0.0.1:{srv.server_port}', h.seen
    finally:
        stop.cancel(); srv.shutdown(); srv.server_close(); t.join(5)

@pytest.fixture
def site(tmp_path, coco, monkeypatch):
    "The fixture COCO zipped in the official server layout"
    monkeypatch.setenv('no_proxy', '127.0.0.1'); monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    site = tmp_path/'site'
    def zip_dir(dst, *dirs):
        dst.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dst, 'w') as z:
            for d in dirs:
                for p in sorted(d.rglob('*')): z.write(p, p.relative_to(coco))
    zip_dir(site/'annotations'/'annotations_trainval2017.zip', coco/'annotations')
    for s in ('train2017', 'val2017'): zip_dir(site/'zips'/f'{s}.zip', coco/s)
    return site

def same_tree(a, b): return sorted(str(p.relative_to(a)) for p in a.rglob('*')) == sorted(str(p.relative_to(b)) for p in b.rglob('*'))

def test_download(tmp_path, coco, site):
    root = tmp_path/'dl'
    with serve(site) as (url, seen):
        assert download_coco(root, base_url=url + '/', progress=False) == root
    assert [p for p, _ in seen] == ['/annotations/annotations_trainval2017.zip', '/zips/train2017.zip', '/zips/val2017.zip']
    assert same_tree(root, coco)
    assert (root/'val2017'/'p06.jpg').read_bytes() == (coco/'val2017'/'p06.jpg').read_bytes()
    assert not any(p.name.startswith('.') for p in root.iterdir())  # no zips, parts or unpacking folders left
    assert build_vww(root, tmp_path/'vww', progress=False)['val2017'] == {'no_person': 3, 'person': 3}
    download_coco(root, base_url='http://127.0.0.1:9', progress=False)  # all there: asks no server

def test_download_resumes(tmp_path, site):
    full = (site/'zips'/'val2017.zip').read_bytes()
    for ranges in (True, False):  # a server that honours ranges resumes; one that ignores them restarts
        root = tmp_path/f'r{ranges}'
        (root/'zips').mkdir(parents=True)
        (root/'zips'/'val2017.zip.part').write_bytes(full[:len(full)//2])
        with serve(site, ranges) as (url, seen):
            download_coco(root, splits=['val'], base_url=url, keep_zips=True, progress=False)
        assert (root/'zips'/'val2017.zip').read_bytes() == full
        assert ('/zips/val2017.zip', f'bytes={len(full)//2}-') in seen
        assert sorted(p.name for p in (root/'val2017').iterdir()) == sorted(VAL)
        assert (root/'annotations'/'instances_val2017.json').exists()

def test_download_errors(tmp_path, site):
    with serve(site) as (url, _):
        with pytest.raises(ConnectionError, match=r'annotations_trainval2014\.zip failed: HTTP 404'):
            download_coco(tmp_path/'c14', year=2014, base_url=url, progress=False)
    with serve(tmp_path/'nothing_here') as (url, _): pass  # a port that no longer answers
    with pytest.raises(ConnectionError, match='Check the connection'):
        download_coco(tmp_path/'c', splits=['val'], base_url=url, progress=False, timeout=5)
    (site/'zips'/'val2017.zip').write_bytes(b'PK not a zip')
    with serve(site) as (url, _):
        with pytest.raises(ValueError, match='not a valid zip file'):
            download_coco(tmp_path/'bad', splits=['val'], base_url=url, progress=False)
    assert not (tmp_path/'bad'/'zips'/'val2017.zip').exists() and not (tmp_path/'bad'/'val2017').exists()

def test_download_stale_part(tmp_path, site):
    "A .part as long as the file (a run stopped before the rename) gets HTTP 416 and is fetched anew"
    root = tmp_path/'s'; (root/'zips').mkdir(parents=True)
    full = (site/'zips'/'val2017.zip').read_bytes()
    (root/'zips'/'val2017.zip.part').write_bytes(full)
    with serve(site) as (url, seen):
        download_coco(root, splits=['val'], base_url=url, progress=False)
    assert [s for s in seen if s[0] == '/zips/val2017.zip'] == [('/zips/val2017.zip', f'bytes={len(full)}-'), ('/zips/val2017.zip', None)]
    assert sorted(p.name for p in (root/'val2017').iterdir()) == sorted(VAL)

# --- the recipe's coco source and the CLI

def test_recipe_coco_source_builds_once_then_reads_folders(tmp_path, coco):
    from vww_kit.config import load_recipe
    from vww_kit.pipeline import recipe_samples
    r = load_recipe(None, {'data.source': 'coco', 'data.path': str(coco), 'export.out': str(tmp_path/'out')})
    ss = recipe_samples(r)
    assert sorted((s.split, s.label) for s in ss).count(('val', 'person')) == 3
    assert {s.split for s in ss} == {'train', 'val'} and (tmp_path/'out'/'vww_coco'/'val2017'/'labels.csv').exists()
    assert len(recipe_samples(r, 'val')) == len(VAL)  # second call reads the built folders
    with pytest.raises(ValueError, match=r'\[data\] source = coco needs \[data\] path'):
        recipe_samples(load_recipe(None, {'data.source': 'coco'}))

def test_cli_data_coco(tmp_path, coco, capsys):
    from vww_kit.cli import main
    assert main(['data', 'coco', str(coco), '--out', str(tmp_path/'vww')]) == 0
    assert 'person' in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path/'vww'/'val2017'/'person').iterdir()) == ['crowd.jpg', 'p05.jpg', 'p06.jpg']
    assert main(['data', 'coco', str(tmp_path/'nowhere'), '--out', str(tmp_path/'v2')]) == 2
    assert 'nowhere' in capsys.readouterr().err
