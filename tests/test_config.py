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

def _py(code):
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300)

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

def test_warns_when_keras3_was_imported_first():
    r = _py("""
        import warnings, keras
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            import vww_kit
        print('|'.join(str(x.message) for x in w))
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Keras 3 was imported before vww_kit' in r.stdout

def test_threshold_is_auto_or_a_number():
    "[export] threshold: 'auto' (the model's calibrated threshold) or a number in [0, 1]; anything else names the key"
    from vww_kit.config import load_recipe
    assert load_recipe(None, {'export.threshold': 'auto'}).export.threshold == 'auto'
    assert load_recipe(None, {'export.threshold': 'AUTO'}).export.threshold == 'auto'
    assert load_recipe(None, {'export.threshold': '0.7'}).export.threshold == 0.7
    for bad in ('maybe', '1.5', '-0.1'):
        with pytest.raises(ValueError, match=r"export.threshold = .* expected auto or a number from 0.0 to 1.0"):
            load_recipe(None, {'export.threshold': bad})
