"""A Colab-shaped install check.

1. A fresh venv gets what a Colab runtime already has (`tests/colab-runtime.txt`: numpy 2, TensorFlow 2.20, Keras 3,
   ipywidgets 7, opencv 4.12, ...).
2. `pip install --dry-run --report` of this project must change none of the packages already there; then the real
   `pip install` (not editable: the wheel a user gets) is checked the same way against `pip freeze`.
3. The notebooks' first cells run in that venv: every cell of `nbs/index.ipynb` before its first slow cell, and the
   first exported cell (the imports) of every other notebook.
4. `import vww_kit` after `tf.keras` has already resolved to Keras 3 stops with the documented ImportError.

Usage: python tools/colab_check.py [VENV_DIR]   (default: a new temporary folder). Exit status 0 when all holds.
"""
import json, os, re, subprocess, sys, tempfile, textwrap, venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT/'tests'/'colab-runtime.txt'

def _run(cmd, **kw):
    print('$', ' '.join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], text=True, **kw)

def _pip(py, *args): return _run([py, '-m', 'pip', '-qq', '--disable-pip-version-check', *args], check=True)

def _freeze(py)->dict:
    out = _run([py, '-m', 'pip', 'list', '--format', 'json', '--disable-pip-version-check'], capture_output=True, check=True).stdout
    return {re.sub(r'[-_.]+', '-', p['name']).lower(): p['version'] for p in json.loads(out)}

def _first_cells()->list:
    "(notebook, cell source) pairs: index.ipynb up to its first slow cell, and each other notebook's first exported cell"
    cells = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        code = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        if nb.name == 'index.ipynb':
            for src in code:
                if '#| slow' in src: break
                cells.append((nb.name, src))
        else:
            cells += [(nb.name, next(s for s in code if s.lstrip().startswith('#| export')))]
    return cells

RUNNER = r'''
import json, sys, traceback
cells = json.load(open(sys.argv[1]))
ns = {'__name__': '__main__'}
for i, (nb, src) in enumerate(cells):
    try: exec(compile(src, f'{nb} (first cells, #{i})', 'exec'), ns)
    except Exception:
        traceback.print_exc(); print(f'FAILED: {nb}', flush=True); sys.exit(1)
import vww_kit, numpy, tensorflow
print(f'ran {len(cells)} cells; vww_kit from {vww_kit.__file__}; numpy {numpy.__version__}, tensorflow {tensorflow.__version__}, '
      f'tf.keras = {vww_kit.keras_status()}')
'''

def main(where=None)->int:
    d = (Path(where) if where else Path(tempfile.mkdtemp(prefix='vww-colab-'))).resolve()
    py = d/'bin'/'python'
    if not py.exists(): venv.create(d, with_pip=True)
    _pip(py, 'install', '-r', RUNTIME)
    before = _freeze(py)
    runtime = {re.sub(r'[-_.]+', '-', l.split('==')[0]).lower(): l.split('==')[1].strip()
               for l in RUNTIME.read_text().splitlines() if '==' in l and not l.startswith('#')}
    assert all(before.get(k) == v for k, v in runtime.items()), {k: before.get(k) for k in runtime}
    print('runtime:', ', '.join(f'{k} {v}' for k, v in runtime.items()), flush=True)
    rep = d/'dry_run.json'
    _pip(py, 'install', '--dry-run', '--report', rep, ROOT)
    plan = {re.sub(r'[-_.]+', '-', i['metadata']['name']).lower(): i['metadata']['version'] for i in json.loads(rep.read_text())['install']}
    changed = {k: (before[k], v) for k, v in plan.items() if k in before}
    if changed:
        print(f'FAIL: pip install would change what the runtime has: {changed}'); return 1
    print(f'dry run: installs {len(plan)} packages ({", ".join(sorted(plan))}), changes none of the {len(before)} already there', flush=True)
    _pip(py, 'install', ROOT)
    after = _freeze(py)
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    if changed:
        print(f'FAIL: pip install changed {changed}'); return 1
    cells = d/'cells.json'; cells.write_text(json.dumps(_first_cells()))
    env = {k: v for k, v in os.environ.items() if k not in ('TF_USE_LEGACY_KERAS', 'VWW_KIT_VERBOSE', 'PYTHONPATH')}
    r = _run([py, '-c', RUNNER, cells], cwd=ROOT/'nbs', env=env, capture_output=True, timeout=1200)
    print(r.stdout[-3000:], r.stderr[-3000:], flush=True)
    if r.returncode or 'site-packages' not in r.stdout: print('FAIL: the first cells'); return 1
    r = _run([py, '-c', 'import tensorflow as tf\ntf.keras.layers.Dense(2)\nimport vww_kit'], cwd=d, env=env,
             capture_output=True, timeout=600)
    last = (r.stderr.strip().splitlines() or [''])[-1]
    if r.returncode == 0 or not last.startswith('ImportError: `tf.keras` is already Keras 3') or 'Restart the Python kernel' not in last:
        print(f'FAIL: import vww_kit after Keras 3 won: rc {r.returncode}, {r.stderr[-2000:]}'); return 1
    print('Keras 3 first:', last[:160] + '...')
    print('colab check: OK')
    return 0

if __name__ == '__main__': sys.exit(main(*sys.argv[1:2]))
