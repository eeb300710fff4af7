"""The webcam widget in a real browser: JupyterLab 4 and Jupyter Notebook 7 + headless Chromium with a fake camera
fed by sample frames.

Chromium's fake camera (`--use-file-for-fake-video-capture`) plays a .y4m video that this test builds out of real
sample frames: person, empty street, person, empty street. A notebook that makes the webcam widget runs in
JupyterLab and in Notebook 7 (each test runs once per front end, each with a server of its own); the test reads,
again and again, the label the page shows together with the board input the page shows beside it, finds which
segment of the video that input came from, and checks that the label is that segment's.
Then it closes the widget and checks that the camera was released.

Needs Debian's `chromium` (apt), Playwright for Python (pip, no browser download: the system Chromium is driven),
`jupyterlab` and `notebook` 7 (the `dev` extra).
"""
import os, re, secrets, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import numpy as np, cv2, pytest

CHROMIUM = '/usr/bin/chromium'
W, H, FPS, SEG = 320, 240, 10, 30   # fake camera: 320x240, 10 fps, 3 s segments

SHOTS = os.environ.get('VWW_KIT_SCREENSHOTS')   # a folder: each widget test saves a picture of its widget after use

def _shot(page, jupyter, name):
    "Save the first cell's output (the widget) as SHOTS/name.png, from JupyterLab only"
    if not SHOTS or jupyter['kind'] != 'lab': return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({'width': size['width'], 'height': 2400})   # the whole widget in view, not cut by the panel
    page.add_style_tag(content='.Toastify { display: none !important; }')   # JupyterLab's "news?" prompt
    page.wait_for_timeout(500)
    page.locator('.jp-Cell .jp-OutputArea').first.screenshot(path=str(Path(SHOTS)/f"{name}.png"))
    page.set_viewport_size(size)

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _camera_frame(rgb):
    "A sample frame as a 320x240 camera picture: scaled to the height, centred, sides mirrored (the board crops them)"
    h, w = rgb.shape[:2]
    img = cv2.resize(rgb, (max(1, round(w*H/h)), H), interpolation=cv2.INTER_AREA)
    if img.shape[1] >= W: x = (img.shape[1] - W)//2; return np.ascontiguousarray(img[:, x:x + W])
    pad = W - img.shape[1]
    return cv2.copyMakeBorder(img, 0, 0, pad//2, pad - pad//2, cv2.BORDER_REFLECT)

def _i420_roundtrip(rgb):
    "What the browser gets from the .y4m: 4:2:0 chroma"
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), cv2.COLOR_YUV2RGB_I420)

def _jpeg_roundtrip(rgb, q=85):
    return cv2.imdecode(cv2.imencode('.jpg', rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_COLOR)[..., ::-1]

def _segments(sim):
    "Four 3 s segments of real sample frames (person, empty, person, empty) the model gets right with a margin"
    from vww_kit.data import sample_set, read_frame
    pick = [('bikes-3-cyclist', 'person', range(105, 137)), ('bikes-1-lane', 'no_person', range(0, 30)),
            ('carphone', 'person', range(0, 56)), ('bikes-3-cyclist', 'no_person', range(84, 101))]
    segs = []
    for scene, label, idx in pick:
        frames = []
        for s in sample_set():
            if s.scene == scene and s.label == label and s.index in idx:
                f = _i420_roundtrip(_camera_frame(read_frame(s)))
                sim.reset(); score = sim.step(_jpeg_roundtrip(f), 0).score
                if (score > 0.75) if label == 'person' else (score < 0.25): frames.append(f)
        assert len(frames) >= 5, f"Too few sample frames of {scene} ({label}) that the model gets right with a margin"
        segs.append((label, [frames[i] for i in np.linspace(0, len(frames) - 1, SEG).round().astype(int)]))
    return segs

def _write_y4m(path, frames):
    with open(path, 'wb') as f:
        f.write(f'YUV4MPEG2 W{W} H{H} F{FPS}:1 Ip A1:1 C420jpeg\n'.encode())
        for rgb in frames: f.write(b'FRAME\n' + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())

NOTEBOOK_CELLS = [
    "from vww_kit.simulate import Simulator, SimulatorWidget\n"
    "sim = Simulator({model!r}, 'esp32-cam', threshold=0.5, n=1, m=1)\n"
    "w = SimulatorWidget(sim, fps=8, dataset_dir='collected')\n"
    "w",
    "w.close()",
]

def _write_notebook(path, cells):
    "A notebook of code `cells` for the server's python3 kernel"
    import nbformat
    from nbformat.v4 import new_notebook, new_code_cell
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata = {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}}
    nbformat.write(nb, path)

def _notebook(path, model): _write_notebook(path, [c.format(model=str(model)) for c in NOTEBOOK_CELLS])

def _shared_notebook(path, cells, jupyter):
    "A notebook of `cells` with SHARED standing for the MLPerf model folder"
    _write_notebook(path, [c.replace('SHARED', repr(str(jupyter['model'].parent))) for c in cells])

# The front ends, and what differs between them: the server's module and its options, the page that opens a
# notebook, and the name of the application that page runs. Both are JupyterLab applications that put themselves
# on `window.jupyterapp` with --expose-app-in-browser, and in both `shell.currentWidget` is the notebook panel
# (Notebook 7's shell has one main-area widget), so waiting for the kernel and running a cell are the same code.
FRONT_ENDS = {
    # a workspace of its own, reset: otherwise JupyterLab restores the previous test's tabs, and re-rendering
    # them can drop this notebook's output while the test reads it
    'lab': dict(module='jupyterlab', app='JupyterLab', page='/lab/workspaces/{stem}/tree/{name}?reset'),
    # one notebook a page, nothing restored
    'notebook7': dict(module='notebook', app='Jupyter Notebook', page='/notebooks/{name}'),
}
# The notebook server loads JupyterLab's server extension too: the same options keep both off the network.
SERVER_OPTIONS = ['--expose-app-in-browser', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
                  '--LabApp.news_url=None']

def _start_server(kind, root, port, token):
    env = {**os.environ, 'PATH': os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]),
           'JUPYTER_RUNTIME_DIR': str(root/'.runtime'), 'JUPYTER_CONFIG_DIR': str(root/'.config'),
           'JUPYTERLAB_SETTINGS_DIR': str(root/'.settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(root/'.workspaces'),
           'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', FRONT_ENDS[kind]['module'], '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.allow_root=True',
           *SERVER_OPTIONS]
    log = open(root/'server.log', 'wb')
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None: break
        try:
            with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2) as r:
                if r.status == 200: return proc
        except OSError: time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"The {FRONT_ENDS[kind]['app']} server did not start in 60 s:\n"
                         f"{(root/'server.log').read_text()[-3000:]}")

READ_PAGE = """() => {
  const label = document.querySelector('.vww-label'), view = document.querySelector('.vww-view');
  if (!label || label.dataset.seq === undefined || !view || view.dataset.seq !== label.dataset.seq || !view.naturalWidth) return null;
  const c = document.createElement('canvas'); c.width = view.naturalWidth; c.height = view.naturalHeight;
  c.getContext('2d').drawImage(view, 0, 0);
  return {seq: +label.dataset.seq, label: label.textContent, view: c.toDataURL('image/png')};
}"""

def _decode_data_url(url):
    import base64
    return cv2.imdecode(np.frombuffer(base64.b64decode(url.split(',', 1)[1]), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]

@pytest.fixture(scope='module', params=list(FRONT_ENDS))
def jupyter(request, tmp_path_factory):
    "A JupyterLab or Notebook 7 server on a free port with a token, serving a fresh folder; skips without Chromium"
    kind = request.param
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: the real-browser widget tests need Debian's `chromium` "
                    f"package (apt-get install chromium).")
    from conftest import SHARED_MODELS
    if not (SHARED_MODELS/'vww_96_int8.tflite').exists():
        pytest.skip(f"MLPerf VWW reference model not found at {SHARED_MODELS} (../shared/models/mlperf-tiny-vww)")
    if kind == 'notebook7':
        try: from notebook import __version__ as nb_version
        except ImportError: pytest.skip("The `notebook` package (7.x, in the `dev` extra) is not installed")
        assert nb_version.split('.')[0] == '7', f"Notebook 7 is needed for this front end, found notebook {nb_version}"
    root = tmp_path_factory.mktemp(kind)
    port, token = _free_port(), secrets.token_hex(16)
    proc = _start_server(kind, root, port, token)
    yield dict(kind=kind, root=root, url=f'http://127.0.0.1:{port}', token=token,
               model=SHARED_MODELS/'vww_96_int8.tflite')
    proc.terminate()
    try: proc.wait(15)
    except subprocess.TimeoutExpired: proc.kill()

def _open_notebook(browser, jupyter, name):
    "Open `name` in the server's front end, wait for its kernel, run its first cell"
    fe = FRONT_ENDS[jupyter['kind']]
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    url = jupyter['url'] + fe['page'].format(stem=Path(name).stem, name=name)
    page.goto(f"{url}{'&' if '?' in url else '?'}token={jupyter['token']}", timeout=60_000)
    page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                           " const k = w && w.sessionContext && w.sessionContext.session &&"
                           " w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                           timeout=90_000, polling=500)
    app = page.evaluate("() => [window.jupyterapp.name, window.jupyterapp.version]")
    assert app[0] == fe['app'], f"Expected the {fe['app']} front end, the page runs {app}"
    _run_cell(page, 0)
    return page

def _run_cell(page, i):
    page.evaluate(f"() => {{ const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = {i};"
                  f" return window.jupyterapp.commands.execute('notebook:run-cell'); }}")

def _wait_for_decision(page):
    try: page.wait_for_function(READ_PAGE, timeout=60_000, polling=200)
    except Exception:
        text = page.evaluate("() => (document.querySelector('.jp-Notebook') || document.body).innerText")
        raise AssertionError(f"The widget showed no decision within 60 s. Page:\n{text[-2000:]}") from None

def test_label_follows_the_fake_camera(jupyter):
    from playwright.sync_api import sync_playwright
    from vww_kit.simulate import Simulator
    from vww_kit.camera import board_view
    root, model = jupyter['root'], jupyter['model']
    sim = Simulator(model, 'esp32-cam', threshold=0.5, n=1, m=1)
    segs = _segments(sim)
    frames = [f for _, fs in segs for f in fs]
    truth = [lb for lb, fs in segs for _ in fs]
    seg_of = [k for k, (_, fs) in enumerate(segs) for _ in fs]
    _write_y4m(root/'camera.y4m', frames)
    refs = np.stack([board_view(f, 'esp32-cam', sim.spec) for f in frames]).astype(np.int16)
    _notebook(root/'webcam.ipynb', model)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
            f'--use-file-for-fake-video-capture={root/"camera.y4m"}'])
        page = _open_notebook(browser, jupyter, 'webcam.ipynb')
        _wait_for_decision(page)
        assert page.evaluate("() => globalThis.__vww_kit_tracks.live") == 1  # the camera is on
        seen, t_end = {}, time.time() + 26  # two loops of the 12 s video
        while time.time() < t_end:
            r = page.evaluate(READ_PAGE)
            if r and r['seq'] not in seen: seen[r['seq']] = r
            page.wait_for_timeout(120)
        _shot(page, jupyter, 'webcam_simulator')
        _run_cell(page, 1)  # w.close() in the kernel: the browser must stop the camera
        page.wait_for_function("() => globalThis.__vww_kit_tracks.live === 0", timeout=20_000, polling=200)
        browser.close()
    assert len(seen) >= 30, f"Only {len(seen)} decisions were shown in 26 s; expected at least 30 (8 frames a second sent)"
    hits, segs_seen, dists = 0, set(), []
    for r in seen.values():
        v = _decode_data_url(r['view']).astype(np.int16)
        d = np.abs(refs - v).mean(axis=(1, 2, 3))
        k = int(d.argmin()); dists.append(float(d[k]))
        segs_seen.add(seg_of[k])
        hits += r['label'].replace(' ', '_') == truth[k]
    print(f"{len(seen)} decisions shown; label = segment in {hits}; segments seen {sorted(segs_seen)}; "
          f"median distance to the nearest fake-camera frame {np.median(dists):.2f}")
    assert np.median(dists) < 12, f"The board inputs shown do not match the fake camera's frames (median distance {np.median(dists):.1f})"
    assert segs_seen == {0, 1, 2, 3}, f"Not every segment of the video reached the page: {sorted(segs_seen)}"
    labels = {r['label'] for r in seen.values()}
    assert labels == {'person', 'no person'}, f"The page showed only {labels}"
    assert hits/len(seen) >= 0.9, f"The label matched the video segment in {hits} of {len(seen)} decisions"

def test_no_camera_offers_the_sample_video(jupyter):
    "A browser without a camera (or without permission) says so, and the sample video button plays through the model"
    from playwright.sync_api import sync_playwright
    _notebook(jupyter['root']/'nocamera.ipynb', jupyter['model'])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)  # no fake camera: none at all
        page = _open_notebook(browser, jupyter, 'nocamera.ipynb')
        page.wait_for_selector('.vww-sample:not([hidden])', timeout=60_000)
        msg = page.inner_text('.vww-message')
        print(f'no camera: the widget says {msg!r}')
        assert re.search(r'No camera found|Camera permission denied|cannot use a camera', msg), msg
        page.click('.vww-sample')
        _wait_for_decision(page)
        page.wait_for_function("() => +document.querySelector('.vww-label').dataset.seq >= 10", timeout=30_000)
        assert page.evaluate("() => globalThis.__vww_kit_tracks.live") == 0
        _run_cell(page, 1)
        browser.close()

DISTILL_CELLS = [
    "from vww_kit.models import pretrained, build_model\n"
    "from vww_kit.distill import DistillWidget\n"
    "from vww_kit.data import sample_set\n"
    "from vww_kit.pipeline import board_views\n"
    "from vww_kit.camera import InputSpec\n"
    "spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)\n"
    "v = {s: board_views(sample_set(s), 'esp32-cam', spec, 'cache', progress=False) for s in ('train', 'val', 'test')}\n"
    "t = pretrained('mlperf-vww', path=SHARED, download=False)\n"
    "w = DistillWidget(t, v['train'], v['val'], v['test'], students={'tiny': lambda: build_model('mobilenet_v1', 96, 'rgb', 0.1)})\n"
    "w.epochs.value = 3\n"
    "w",
]

def test_distill_widget_start_draws_live_curves_and_stop_says_so(jupyter):
    "Click Start: a curve image appears in the widget while it trains (drawn from the training thread); click Stop: it says it is stopping"
    from playwright.sync_api import sync_playwright
    _shared_notebook(jupyter['root']/'distill.ipynb', DISTILL_CELLS, jupyter)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = _open_notebook(browser, jupyter, 'distill.ipynb')
        page.wait_for_selector('.jp-OutputArea button:has-text("Start")', timeout=120_000)
        assert page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea img')].filter(i => i.naturalWidth).length") == 0
        page.click('.jp-OutputArea button:has-text("Start")')
        try:   # the first epoch ends: its curve image shows in the widget
            page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea img')].some(i => i.naturalWidth > 300)",
                                   timeout=180_000, polling=500)
        except Exception:
            text = page.evaluate("() => (document.querySelector('.jp-Notebook') || document.body).innerText")
            raise AssertionError(f"No curve image in the widget within 180 s of Start. Page:\n{text[-2000:]}") from None
        page.click('.jp-OutputArea button:has-text("Stop")')
        page.wait_for_function("() => /stopping|stopped/.test(document.querySelector('.jp-OutputArea').innerText)",
                               timeout=3_000, polling=100)
        _shot(page, jupyter, 'distill_widget')
        browser.close()

def test_save_frame_without_a_frame_says_so(jupyter):
    "Before any frame: no broken-image icons, and 'Save frame' shows why nothing was saved (the error used to stay in the kernel)"
    from playwright.sync_api import sync_playwright
    _notebook(jupyter['root']/'save.ipynb', jupyter['model'])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)  # no camera: no frame will come
        page = _open_notebook(browser, jupyter, 'save.ipynb')
        page.wait_for_selector('.vww-save-person', timeout=60_000)
        assert page.evaluate("() => [...document.querySelectorAll('.vww-frame, .vww-view')].every(i => i.hidden)")
        page.click('.vww-save-person')
        page.wait_for_function("() => /No frame to save yet/.test(document.querySelector('.vww-message').innerText)",
                               timeout=10_000, polling=100)
        assert page.inner_text('.vww-saved').startswith('saved: 0 person, 0 no_person')
        _shot(page, jupyter, 'webcam_no_frame')
        _run_cell(page, 1)
        browser.close()

VIEWER_CELLS = [
    "from vww_kit.quantize import quantization_error, QuantizationErrorViewer\n"
    "from vww_kit.data import sample_set\n"
    "from vww_kit.pipeline import board_views\n"
    "from vww_kit.camera import InputSpec\n"
    "x = board_views(sample_set('test')[:16], 'esp32-cam', InputSpec(96, 96, 3, 'int8', 1/255, -128), progress=False)[0]\n"
    "v = QuantizationErrorViewer(quantization_error(SHARED + '/vww_96_float.tflite', SHARED + '/vww_96_int8.tflite', x, n=8))\n"
    "v",
]

def test_quantization_viewer_histograms_name_the_op_picked(jupyter):
    "Pick an op in the dropdown: the histograms' title names that op, and the histogram picture changes with it"
    from playwright.sync_api import sync_playwright
    _shared_notebook(jupyter['root']/'viewer.ipynb', VIEWER_CELLS, jupyter)
    title = "() => { const t = document.querySelector('.vww-hist-title'); return t ? t.innerText : null; }"
    hist_src = "() => { const i = [...document.querySelectorAll('.jp-OutputArea img')]; return i.length ? i[i.length - 1].src : null; }"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = _open_notebook(browser, jupyter, 'viewer.ipynb')
        page.wait_for_selector('.jp-OutputArea select', timeout=120_000)
        page.wait_for_function(title, timeout=30_000)
        before, src0 = page.evaluate(title), page.evaluate(hist_src)
        options = page.eval_on_selector('.jp-OutputArea select', 'e => [...e.options].map(o => o.text)')
        pick = options[3]
        page.select_option('.jp-OutputArea select', label=pick)
        op = ' '.join(re.sub(r'\s*\([^)]*dB\)$', '', pick).split())   # "26 CONV_2D conv2d_13+... (41.2 dB)" -> the op's label (ipywidgets shows spaces as nbsp)
        try: page.wait_for_function(f"() => ({title})() && ({title})().replace(/\\s+/g, ' ').includes({op!r})",
                                    timeout=15_000, polling=100)
        except Exception: raise AssertionError(f"Picked {op!r}; the histograms' title reads {page.evaluate(title)!r}") from None
        assert page.evaluate(title) != before and page.evaluate(hist_src) != src0
        page.wait_for_timeout(500)
        _shot(page, jupyter, 'quantization_viewer')
        browser.close()

SLIDER_CELLS = [
    "from vww_kit.models import pretrained\n"
    "from vww_kit.prune import PruningSliders\n"
    "from vww_kit.data import sample_set\n"
    "from vww_kit.pipeline import board_views\n"
    "from vww_kit.camera import InputSpec\n"
    "v = board_views(sample_set('val')[::3], 'esp32-cam', InputSpec(96, 96, 3, 'int8', 1/255, -128), progress=False)\n"
    "w = PruningSliders(pretrained('mlperf-vww', path=SHARED, download=False).model, val=v, boards=['esp32-cam', 'cortex-m4'])\n"
    "w",
]

def test_pruning_slider_move_changes_the_table(jupyter):
    "Click a layer's slider track, as a user does: the table's 'this setting' column shows the smaller model"
    from playwright.sync_api import sync_playwright
    _shared_notebook(jupyter['root']/'sliders.ipynb', SLIDER_CELLS, jupyter)
    table = "() => { const t = document.querySelector('.vww-prune-table'); return t ? t.innerText : null; }"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = _open_notebook(browser, jupyter, 'sliders.ipynb')
        page.wait_for_selector('.vww-prune-table', timeout=180_000)
        before = page.evaluate(table)
        rows = lambda text: {r.split('\t')[0].strip(): [c.strip() for c in r.split('\t')[1:]] for r in text.splitlines() if '\t' in r}
        assert rows(before)['parameters'][0] == rows(before)['parameters'][1], before   # all sliders at 1.0: no change yet
        track = page.locator('.jp-OutputArea .noUi-base').nth(1)   # the first layer's slider (0 is 'keep, all')
        track.scroll_into_view_if_needed()
        box = track.bounding_box()
        page.mouse.click(box['x'] + 0.45*box['width'], box['y'] + box['height']/2)   # about half the channels
        t0 = time.time()
        try: page.wait_for_function(f"() => ({table})() !== {before!r}", timeout=20_000, polling=50)
        except Exception:
            raise AssertionError(f"The table did not change within 20 s of moving a slider. It reads:\n{page.evaluate(table)}") from None
        after = rows(page.evaluate(table))
        print(f"table changed {time.time() - t0:.2f} s after the click")
        base, now = (int(v.replace(',', '')) for v in after['parameters'][:2])
        assert now < base and after['parameters'][2].startswith('-'), after
        page.click('.jp-OutputArea button:has-text("Sensitivity scan")')   # runs in the background: Stop is on meanwhile
        page.wait_for_function("() => /scan done/.test(document.querySelector('.jp-OutputArea').innerText)",
                               timeout=180_000, polling=500)
        assert page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea img')].some(i => i.naturalWidth > 300)")
        _shot(page, jupyter, 'pruning_sliders')
        browser.close()
