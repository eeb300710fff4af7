import os
import configparser, subprocess, sys, textwrap
import pytest
from vww_kit.config import load_recipe, default_recipe, write_recipe, board, BOARDS
from conftest import ROOT

def test_settings_ini_is_the_default_recipe():
    assert load_recipe(ROOT/'settings.ini') == default_recipe()

def test_board_ids():
    assert list(BOARDS) == ['esp32-cam', 'xiao-esp32s3-sense', 'esp32-s3-eye', 'nano33-ble-sense', 'cortex-m4']
    b = board('nano33-ble-sense')
    assert b.sram_bytes == 256*1024 and b.flash_bytes == 1024**2 and b.psram_bytes == 0
    assert all(b.sources for b in BOARDS.values())
    with pytest.raises(ValueError, match="Unknown board 'esp32'.*esp32-cam"): board('esp32')

@pytest.mark.parametrize('section,key,value,match', [
    ('input', 'size', 'ninety-six', r"input.size = 'ninety-six'.*an integer from 32 to 320"),
    ('input', 'size', '1000', r"input.size = '1000'"),
    ('input', 'color', 'sepia', r"input.color = 'sepia'.*one of rgb, grayscale"),
    ('board', 'board', 'esp8266', r"board.board = 'esp8266'.*one of esp32-cam"),
    ('distill', 'alpha', '1.5', r"distill.alpha = '1.5'.*from 0.0 to 1.0"),
    ('export', 'overwrite', 'maybe', r"export.overwrite = 'maybe'.*true or false"),
    ('input', 'colour', 'rgb', r"Unknown recipe key input.colour .*Keys of \[input\]: size, color, crop"),
    ('inputs', 'size', '96', r"Unknown recipe section \[inputs\]"),
])
def test_bad_settings_value_names_key_value_and_allowed(tmp_path, section, key, value, match):
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini')
    if not cp.has_section(section): cp.add_section(section)
    cp.set(section, key, value)
    p = tmp_path/'settings.ini'
    with open(p, 'w') as f: cp.write(f)
    with pytest.raises(ValueError, match=match): load_recipe(p)

def test_missing_recipe_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'): load_recipe(tmp_path/'nope.ini')

def test_overrides_and_roundtrip(tmp_path):
    r = load_recipe(ROOT/'settings.ini', {'input.size': 64, 'input.color': 'grayscale', 'export.overwrite': 'yes'})
    assert (r.input.size, r.input.color, r.export.overwrite) == (64, 'grayscale', True)
    assert load_recipe(write_recipe(r, tmp_path/'r.ini')) == r

def _py(code, **env):
    "Run `code` in a fresh Python, as a user would start one: without the TF_USE_LEGACY_KERAS this process set"
    e = {k: v for k, v in os.environ.items() if k not in ('TF_USE_LEGACY_KERAS', 'VWW_KIT_VERBOSE', 'TF_CPP_MIN_LOG_LEVEL')}
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          env={**e, **env})

def test_import_sets_legacy_keras_and_builds_tf_keras_model():
    r = _py("""
        import os
        os.environ.pop('TF_USE_LEGACY_KERAS', None)
        import vww_kit
        import tensorflow as tf, tf_keras
        assert os.environ['TF_USE_LEGACY_KERAS'] == '1'
        assert vww_kit.keras_status() == 'tf_keras', tf.keras.__name__
        m = tf.keras.Sequential([tf.keras.Input((96, 96, 3)), tf.keras.layers.Conv2D(8, 3, strides=2),
                                 tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(2, activation='softmax')])
        assert vww_kit.check_tf_keras(m) is m
        print(m.count_params())
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith('242')

def test_keras3_model_is_rejected_with_the_documented_error():
    import keras  # Keras 3: the package TensorFlow ships as its default Keras
    from vww_kit import check_tf_keras
    m = keras.Sequential([keras.Input((96, 96, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r'Keras 3 model.*tf_keras.*Restart the Python kernel'): check_tf_keras(m)
    with pytest.raises(ValueError, match='Expected a tf_keras model'): check_tf_keras(object())

def test_keras3_first_is_fine_until_tf_keras_is_used():
    "Colab imports Keras 3 and TensorFlow early: vww_kit still gets tf_keras, because TF resolves tf.keras lazily"
    r = _py("""
        import keras, tensorflow as tf
        import vww_kit
        print(vww_kit.keras_status())
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith('tf_keras')

def test_import_after_tf_keras_resolved_to_keras3_stops_with_the_documented_error():
    r = _py("""
        import tensorflow as tf
        tf.keras.layers.Dense(2)      # tf.keras is now Keras 3 for this process
        import vww_kit
    """)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: `tf.keras` is already Keras 3') and 'Restart the Python kernel' in last, r.stderr[-2000:]

_WORK = """
    import vww_kit          # first, as documented: from here on TensorFlow's C++ lines are filtered
    import numpy as np, tf_keras
    from vww_kit.distill import distill
    from vww_kit.profile import to_int8_tflite
    from vww_kit.models import build_model
    m = build_model('mobilenet_v1', 32, 'rgb', 0.25, name='s')
    x, y = np.random.default_rng(0).integers(0, 255, (64, 32, 32, 3), dtype=np.uint8), np.arange(64) % 2
    distill(m, (x, y), (x[:16], y[:16]), None, epochs=2, batch_size=16, patience=0)
    m.save('MODEL')
    print(len(to_int8_tflite(m, x[:8]/255, n=8)))
"""

def test_console_is_quiet_with_progress_and_verbose_brings_the_logs_back(tmp_path):
    "TensorFlow's C++ lines (absl, cuInit, PredictCost, the converter's echo) and Keras' HDF5 notice are filtered; the bars stay"
    from vww_kit.console import is_noise
    code = _WORK.replace('MODEL', str(tmp_path/'m.h5'))
    q = _py(code)
    assert q.returncode == 0, q.stderr[-3000:]
    lines = q.stderr.splitlines()
    assert [l for l in lines if is_noise(l.encode())] == [] and 'HDF5' not in q.stderr, q.stderr[-3000:]
    assert any(l.startswith('distill: 100%') and '8/8 [' in l for l in lines), q.stderr   # 2 epochs x 4 batches
    assert any(l.startswith('calibration: 100%') and '8/8' in l for l in lines), q.stderr
    assert '\r' not in q.stderr                                  # a pipe gets whole lines
    v = _py(code, VWW_KIT_VERBOSE='1')
    assert v.returncode == 0 and any(is_noise(l.encode()) for l in v.stderr.splitlines()), v.stderr[-3000:]
    assert 'HDF5' in v.stderr

def test_the_stderr_filter_passes_errors_and_partial_lines_through():
    "A real error line, a traceback and a bar without its newline get through the filter, in order"
    r = _py("""
        import os, sys, time, vww_kit
        os.write(2, b'I0000 00:00:1796312977.059556   25575 cudart_stub.cc:31] Could not find cuda drivers\\n')
        os.write(2, b'E0000 00:00:1796312980.3   25575 model_builder.cc:12] Op RESIZE_BILINEAR is not supported\\n')
        os.write(2, b'partial 50%'); time.sleep(0.3); os.write(2, b' and the rest\\n')
        raise SystemExit('bye')
    """)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ['E0000 00:00:1796312980.3   25575 model_builder.cc:12] Op RESIZE_BILINEAR is not supported',
                                     'partial 50% and the rest', 'bye'], r.stderr

def test_threshold_is_auto_or_a_number():
    "[export] threshold: 'auto' (the model's calibrated threshold) or a number in [0, 1]; anything else names the key"
    from vww_kit.config import load_recipe
    assert load_recipe(None, {'export.threshold': 'auto'}).export.threshold == 'auto'
    assert load_recipe(None, {'export.threshold': 'AUTO'}).export.threshold == 'auto'
    assert load_recipe(None, {'export.threshold': '0.7'}).export.threshold == 0.7
    for bad in ('maybe', '1.5', '-0.1'):
        with pytest.raises(ValueError, match=r"export.threshold = .* expected auto or a number from 0.0 to 1.0"):
            load_recipe(None, {'export.threshold': bad})

def _kernel_stderr(code, **env):
    "Run `code` in a fresh Jupyter kernel (ipykernel, which forwards file descriptor 2 into the notebook); its stderr texts"
    from jupyter_client.manager import start_new_kernel
    e = {k: v for k, v in os.environ.items()   # PYTEST_CURRENT_TEST would stop ipykernel from forwarding descriptor 2
         if k not in ('TF_USE_LEGACY_KERAS', 'VWW_KIT_VERBOSE', 'TF_CPP_MIN_LOG_LEVEL', 'PYTEST_CURRENT_TEST')}
    km, kc = start_new_kernel(kernel_name='python3', env={**e, **env})
    msgs = []
    try: reply = kc.execute_interactive(textwrap.dedent(code), output_hook=msgs.append, timeout=600)
    finally: kc.stop_channels(); km.shutdown_kernel(now=True)
    assert reply['content']['status'] == 'ok', reply['content']
    out = ''.join(m['content']['text'] for m in msgs if m['msg_type'] == 'stream' and m['content']['name'] == 'stdout')
    return out, [m['content']['text'] for m in msgs if m['msg_type'] == 'stream' and m['content']['name'] == 'stderr']

def test_a_notebook_gets_no_pink_box_from_tensorflow():
    "In Jupyter (or Colab), importing vww_kit, TensorFlow and converting a model writes nothing to the cell's stderr"
    code = """
        import vww_kit
        import tensorflow as tf
        from vww_kit.profile import to_int8_tflite
        m = tf.keras.Sequential([tf.keras.Input((32, 32, 3)), tf.keras.layers.Conv2D(4, 3), tf.keras.layers.GlobalAveragePooling2D(),
                                 tf.keras.layers.Dense(2, activation='softmax')])
        print(len(to_int8_tflite(m)))
        import time; time.sleep(2)     # ipykernel reads descriptor 2 in a thread: let it forward what it got
    """
    out, err = _kernel_stderr(code)
    assert int(out.split()[-1]) > 1000 and err == [], err
    out, err = _kernel_stderr(code, VWW_KIT_VERBOSE='1')      # the same cell with the logs on: the box the filter keeps away
    assert any('fully_quantize' in t or 'I0000' in t or 'cuInit' in t for t in err), err
