"The package as a user receives it: the wheel and the sdist build without setuptools warnings and carry every data file"
import os, re, subprocess, sys, tarfile, zipfile
from conftest import ROOT

DATA_DIRS = ('templates', 'native_c', 'static', 'pretrained')

def _data_files():
    "Every non-Python file the package needs at run time, as it sits in the repository"
    files = {'vww_kit/sample_labels.csv'}
    for d in DATA_DIRS: files |= {f'vww_kit/{d}/{p.name}' for p in (ROOT/'vww_kit'/d).iterdir() if p.is_file()}
    return files

def test_wheel_and_sdist_build_cleanly_and_carry_the_data_files(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}   # else setuptools says it skips byte-compiling
    r = subprocess.run([sys.executable, '-m', 'build', '--outdir', str(tmp_path), str(ROOT)], capture_output=True,
                       text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    said = [l for l in (r.stdout + r.stderr).splitlines()
            if re.search(r'(?i)warning|deprecat|absent from the `packages`', l)
            and not re.match(r"WARNING: Location '.*' is ignored", l)]     # this machine's pip index settings, not the build
    assert said == [], said
    want = _data_files()
    assert len(want) >= 20 and {'vww_kit/templates/sketch.ino', 'vww_kit/native_c/vww_kernels.c', 'vww_kit/static/webcam.js',
                                'vww_kit/pretrained/vww-rgb96_int8.tflite'} <= want
    whl, = tmp_path.glob('*.whl'); sdist, = tmp_path.glob('*.tar.gz')
    in_wheel = set(zipfile.ZipFile(whl).namelist())
    in_sdist = {n.split('/', 1)[1] for n in tarfile.open(sdist).getnames() if '/' in n}
    assert want - in_wheel == set() and want - in_sdist == set(), (want - in_wheel, want - in_sdist)
    for f in ('vww_kit/pretrained/vww-rgb96_int8.tflite', 'vww_kit/templates/sketch.ino'):   # the bytes, not just the names
        assert zipfile.ZipFile(whl).read(f) == (ROOT/f).read_bytes()
