import json, time, warnings
import numpy as np, pytest
from vww_kit.config import BOARDS
from vww_kit.camera import InputSpec
from vww_kit.profile import (TFLM_OPS, PERSON_DETECTION_MACS, read_tflite, read_graph, live_activations, layer_table,
                             to_int8_tflite, measure_arena, arena_measurement, board_fit, estimate_latency,
                             profile_model, format_profile, tflm_supports, schema_fb)

MLPERF_OPS = ['AVERAGE_POOL_2D', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'RESHAPE', 'SOFTMAX']

@pytest.fixture(scope='module')
def mlperf_profile():
    "Profile of the MLPerf int8 model, timed; None where the shared model is absent"
    from conftest import SHARED_MODELS
    path = SHARED_MODELS/'vww_96_int8.tflite'
    if not path.exists(): return None
    t = time.perf_counter()
    p = profile_model(path)
    return p, time.perf_counter() - t

def _keras(build):
    import tf_keras
    inp = tf_keras.Input((16, 16, 3))
    return tf_keras.Model(inp, build(tf_keras, inp))

@pytest.fixture(scope='module')
def gelu_tflite():
    "A small int8 model with GELU, a TFLite builtin TFLM has no kernel for"
    m = _keras(lambda k, x: k.layers.Dense(2)(k.layers.GlobalAveragePooling2D()(k.layers.Conv2D(4, 3, activation='gelu')(x))))
    return to_int8_tflite(m, n=2)


def test_mlperf_int8_profile_meets_the_published_figures(mlperf_dir, mlperf_profile):
    p, seconds = mlperf_profile
    assert abs(p['macs'] - 7.49e6) <= 0.01*7.49e6
    assert [o['op'] for o in p['ops']] == MLPERF_OPS and all(o['tflm'] for o in p['ops'])
    assert abs(p['arena_bytes'] - 103_680) <= 0.01*103_680, p['arena_bytes']  # README: ~103.7 KB, tflite-micro, 64-bit
    assert p['model_bytes'] == 333_288 == (mlperf_dir/'vww_96_int8.tflite').stat().st_size
    assert p['peak_activation_bytes'] == 48*48*8 + 48*48*16 < p['arena_bytes']
    assert p['fits']['esp32-cam']['fits'] and p['fits']['esp32-cam']['arena_in'] == 'PSRAM'
    assert seconds < 10, f"profiling took {seconds:.1f} s"

def test_profile_is_json_with_the_promised_keys(mlperf_dir, mlperf_profile):
    p = json.loads(json.dumps(mlperf_profile[0]))
    for k in ('params', 'macs', 'model_bytes', 'peak_activation_bytes', 'arena_bytes', 'ops', 'layers', 'fits'):
        assert k in p, k
    assert set(p['fits']) == set(BOARDS) and all(isinstance(f['fits'], bool) for f in p['fits'].values())
    assert len(p['layers']) == 31 and sum(r['macs'] for r in p['layers']) == p['macs']
    assert sum(r['params'] for r in p['layers']) == p['params']
    row = p['layers'][0]
    assert (row['op'], row['output_shape'], row['params'], row['macs']) == ('CONV_2D', [1, 48, 48, 8], 8*27 + 8, 48*48*8*27)
    assert row['activation_bytes'] == 48*48*8 and row['live_bytes'] == 96*96*3 + 48*48*8
    assert 'keras_params' not in p and '64-bit host' in p['arena_note']
    assert all(l['estimate'] for l in p['latency'].values())

def test_text_table_says_what_is_measured_and_what_is_estimated(mlperf_dir, mlperf_profile):
    txt = format_profile(mlperf_profile[0])
    assert '7,489,664' in txt and '103,680' in txt and '64-bit host' in txt and 'ESTIMATE' in txt
    assert all(b in txt for b in BOARDS)

def test_keras_model_and_its_int8_file_agree(mlperf_dir, mlperf_profile):
    "Keras counts batch norm (221,794); both report the deployed, folded count and the same MACs"
    k = profile_model(mlperf_dir/'vww_96.h5', boards='esp32-cam')
    p = mlperf_profile[0]
    assert k['keras_params'] == 221_794 and k['source'] == 'keras'
    assert (k['params'], k['macs']) == (p['params'], p['macs'])
    assert k['params'] < k['keras_params']
    assert abs(k['arena_bytes'] - p['arena_bytes']) <= 0.01*p['arena_bytes']

def test_mobilenet_224_does_not_fit_the_nano_and_says_by_how_much():
    import tf_keras
    m = tf_keras.applications.MobileNet(weights=None, alpha=1.0, input_shape=(224, 224, 3), classes=2)
    p = profile_model(m, boards='nano33-ble-sense')
    f = p['fits']['nano33-ble-sense']
    assert f['fits'] is False
    assert f['flash']['margin'] < -2_000_000 and f['sram']['margin'] < -1_000_000
    assert p['keras_params'] == m.count_params() and p['macs'] > 500e6 and p['arena_bytes'] > 1_000_000
    assert 'Flash is short by' in f['verdict'] and 'Internal RAM is short by' in f['verdict']
    assert 'tensor arena' in f['verdict'] and 'model' in f['verdict']

def test_truncated_and_foreign_files_are_refused_clearly(mlperf_dir, tmp_path):
    data = (mlperf_dir/'vww_96_int8.tflite').read_bytes()
    for cut in (len(data) - 1, len(data) - 200, len(data)//2, 100):
        with pytest.raises(ValueError, match='truncated or damaged'): read_tflite(data[:cut])
    bad = tmp_path/'cat.tflite'; bad.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(100))
    with pytest.raises(ValueError, match='not a TFLite model'): profile_model(bad)
    cut = tmp_path/'cut.tflite'; cut.write_bytes(data[:len(data)//3])
    with pytest.raises(ValueError, match='truncated or damaged'): profile_model(cut)
    with pytest.raises(FileNotFoundError, match='does not exist'): profile_model(tmp_path/'missing.tflite')
    with pytest.raises(FileNotFoundError, match='does not exist'): profile_model(tmp_path/'missing.h5')

def test_an_op_tflm_lacks_is_named_by_the_real_interpreter(gelu_tflite):
    assert 'GELU' in [o['op'] for o in read_graph(gelu_tflite)['ops']]
    with pytest.raises(ValueError, match='no kernel for the op GELU'): measure_arena(gelu_tflite)
    with pytest.raises(ValueError, match='no kernel for GELU'): profile_model(gelu_tflite)

def test_an_op_tflm_lacks_makes_every_board_refuse(gelu_tflite):
    p = profile_model(gelu_tflite, arena=False)
    assert p['unsupported_ops'] == ['GELU'] and p['arena_bytes'] is None
    assert not any(f['fits'] for f in p['fits'].values())
    assert all('no kernel for GELU' in f['verdict'] for f in p['fits'].values())

def test_op_table_matches_the_interpreter_on_real_models(gelu_tflite):
    names = {k for k in vars(schema_fb.BuiltinOperator) if not k.startswith('_')}
    assert TFLM_OPS <= names
    assert all(tflm_supports(o) for o in MLPERF_OPS) and not tflm_supports('GELU')

def test_tflm_abort_on_degenerate_scales_is_caught_and_explained():
    "A layer calibrated to all zeros makes TFLM abort the process; the measurement survives and says why"
    dead = lambda k, x: k.layers.Conv2D(4, 3, bias_initializer=k.initializers.Constant(-100.), activation='relu')(x)
    m = _keras(lambda k, x: k.layers.Activation('softmax')(k.layers.Dense(2)(k.layers.GlobalAveragePooling2D()(dead(k, x)))))
    data = to_int8_tflite(m, n=2)
    res = arena_measurement(data)
    assert res['arena_bytes'] > 0 and 'degenerate int8 scale' in res['warning']
    with pytest.warns(UserWarning, match='aborts on this model'): measure_arena(data)

def test_live_memory_keeps_tensors_needed_later():
    "A skip connection keeps its tensor alive across the ops in between"
    t = lambda n: dict(name=str(n), shape=[1, n], dtype='INT8', const=False, variable=False, bytes=n)
    g = dict(tensors=[t(1), t(10), t(100), t(1000)], inputs=[0], outputs=[3],
             ops=[dict(op='A', inputs=[0], outputs=[1]), dict(op='B', inputs=[1], outputs=[2]),
                  dict(op='ADD', inputs=[1, 2], outputs=[3])])
    assert live_activations(g) == [1 + 10, 10 + 100, 10 + 100 + 1000]

def test_board_fit_places_arena_in_psram_or_sram():
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    cam = board_fit('esp32-cam', 300_000, 500_000, spec)
    assert cam['fits'] and cam['arena_in'] == 'PSRAM' and cam['psram']['need'] == 500_000 + 96*96*2*2
    nano = board_fit('nano33-ble-sense', 300_000, 500_000, spec)
    assert not nano['fits'] and nano['sram']['margin'] == 202_144 - 500_000 - 160*120*2
    assert 'Internal RAM is short by' in nano['verdict'] and 'tensor arena' in nano['verdict']
    gray = board_fit('nano33-ble-sense', 300_000, 100_000, InputSpec(96, 96, 1))
    assert gray['fits'] and gray['frame_buffer_bytes'] == 160*120 and gray['pixel_format'] == 'grayscale'
    big = board_fit('esp32-cam', 4_000_000, 100_000, spec)
    assert not big['fits'] and 'Flash is short by' in big['verdict']

def test_latency_is_an_estimate_calibrated_on_published_timings():
    e = estimate_latency(PERSON_DETECTION_MACS, 'esp32-cam')
    assert e['estimate'] and e['kernels'] == 'ESP-NN' and 'esp-tflite-micro' in e['source']
    assert abs(e['ms_optimized'] - 380) < 1 and abs(e['ms_reference'] - 4084) < 1
    s3 = estimate_latency(PERSON_DETECTION_MACS, 'esp32-s3-eye')
    assert abs(s3['ms_optimized'] - 54) < 1 and abs(s3['ms_reference'] - 2300) < 1
    assert estimate_latency(PERSON_DETECTION_MACS, 'nano33-ble-sense')['basis'] == 'assumed'
    # the person_detection model is the MLPerf one with a 1-channel first convolution
    assert PERSON_DETECTION_MACS == 7_489_664 - 48*48*8*3*3*2

def test_the_memory_plot_keeps_its_scale_and_says_when_a_model_does_not_fit():
    "A 4 MB PSRAM room is said in words, not drawn as a line that squashes 35 kB bars flat; a model that does not fit says so"
    import matplotlib; matplotlib.use('Agg')
    from vww_kit.profile import plot_memory
    p = dict(layers=[dict(live_bytes=v, op='CONV_2D') for v in (20_000, 35_000, 10_000)], peak_layer=1, arena_bytes=40_000,
             fits={'esp32-cam': dict(fits=True, frame_buffer_bytes=0), 'nano33-ble-sense': dict(fits=False, frame_buffer_bytes=0)})
    ax = plot_memory(p, board='esp32-cam')
    assert ax.get_ylim()[1] < 100 and any('in PSRAM' in t.get_text() for t in ax.texts)
    ax = plot_memory(p, board='nano33-ble-sense')
    assert 'does not fit on nano33-ble-sense' in [t.get_text() for t in ax.texts]
    assert 'does not fit' not in ' '.join(t.get_text() for t in plot_memory(p, board='esp32-cam').texts)
