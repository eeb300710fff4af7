import argparse, json
import numpy as np, pytest
import vww_kit
from vww_kit.camera import InputSpec, input_lut
from vww_kit.data import sample_set
from vww_kit.pipeline import board_views
from vww_kit.profile import read_graph
from vww_kit.quantize import (representative_views, quantize, float_tflite, model_inputs, run_tflite, accuracy_table,
                              quantize_aware, qat, float_twin, weight_sparsity, int8_sparsity, compare_runtimes, tflm_outputs,
                              quantization_error, sqnr_db, dequantize, QuantizationErrorViewer, layer_summary,
                              add_quantize_args, quantize_command, float_ops)

SPEC96 = InputSpec(96, 96, 3, 'int8', 1/255, -128)

@pytest.fixture(scope='module')
def views(tmp_path_factory):
    "Board views (ESP32-CAM, 96x96 RGB) of the sample set's splits: ~600 real frames"
    cache = tmp_path_factory.mktemp('views')
    return {s: board_views(sample_set(s), 'esp32-cam', SPEC96, cache, progress=False) for s in ('train', 'val', 'test')}

@pytest.fixture(scope='module')
def all_views(views): return np.concatenate([views[s][0] for s in ('train', 'val', 'test')])

@pytest.fixture(scope='module')
def float_model():
    "The MLPerf VWW float Keras model (skips where the shared folder is absent)"
    from conftest import SHARED_MODELS
    if not (SHARED_MODELS/'vww_96.h5').exists():
        pytest.skip(f"MLPerf VWW reference model not found at {SHARED_MODELS} (../shared/models/mlperf-tiny-vww)")
    import tf_keras
    return tf_keras.models.load_model(SHARED_MODELS/'vww_96.h5', compile=False)

@pytest.fixture(scope='module')
def ptq(float_model, views):
    "Our int8 file: PTQ of the MLPerf float model, calibrated on 100 training board views"
    return quantize(float_model, representative_views(*views['train'], n=100))

def _tiny(fn, name):
    import tf_keras
    L = tf_keras.layers
    inp = tf_keras.Input((16, 16, 3)); x = L.Conv2D(4, 3, name='conv')(inp); x = L.Lambda(fn, name=name)(x)
    return tf_keras.Model(inp, L.Dense(2, activation='softmax')(L.GlobalAveragePooling2D()(x)))

RND16 = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)


def test_representative_views_are_balanced_fixed_and_sized(views):
    x, y = views['train']
    cal = representative_views(x, y, n=100)
    assert cal.shape == (100, 96, 96, 3) and cal.dtype == np.uint8
    assert np.array_equal(cal, representative_views(x, y, n=100))
    assert representative_views(y, y, n=100).mean() == 0.5  # labels drawn: half people
    assert len(representative_views(x, y, n=10_000)) == len(x)
    with pytest.raises(ValueError, match='No views to calibrate on'): representative_views(x[:0])

def test_ptq_makes_full_int8_with_the_boards_input_table(ptq, float_model, views):
    g = read_graph(ptq)
    T = g['tensors']
    assert [T[g['inputs'][0]]['dtype'], T[g['outputs'][0]]['dtype']] == ['INT8', 'INT8']
    assert float_ops(ptq) == []
    spec = InputSpec.from_model(ptq)
    assert np.array_equal(input_lut(spec), np.arange(256) - 128)  # int8 input = pixel - 128, as the sketch does
    acc = accuracy_table({'float': float_model, 'ptq': ptq}, *views['test'])
    assert acc['ptq']['agreement'] >= 0.98, acc
    assert abs(acc['ptq']['accuracy'] - acc['float']['accuracy']) <= 0.02, acc

def test_calibration_count_is_honoured(float_model, views, monkeypatch):
    import tensorflow as tf
    seen = []
    orig = tf.lite.TFLiteConverter.convert
    def spy(self):
        seen.append(sum(1 for _ in self.representative_dataset())); return orig(self)
    monkeypatch.setattr(tf.lite.TFLiteConverter, 'convert', spy)
    quantize(float_model, views['train'][0][:40], n=12)
    assert seen == [12]

def test_mlperf_int8_litert_and_tflite_micro_agree_bit_for_bit(all_views):
    "595 of the 596 sample-set frames are bit-identical; on the other, the two runtimes round one FULLY_CONNECTED tie apart"
    from conftest import SHARED_MODELS
    from vww_kit.quantize import fc_by_hand
    path = SHARED_MODELS/'vww_96_int8.tflite'
    if not path.exists(): pytest.skip(f"MLPerf VWW int8 model not found at {path}")
    r = compare_runtimes(path, all_views)
    o = r['outputs'][0]
    assert r['inputs'] == len(all_views) >= 200 and o['different'] <= 1 and o['equal'] >= len(all_views) - 1, r
    assert r['bit_exact'] == (o['different'] == 0) and len(r['first_difference']) == o['different'], r
    for f, i in zip(r['first_difference'], o['differing_inputs']):
        assert f['op'] == 'FULLY_CONNECTED' and f['max_abs_diff'] == 1, r
        h = fc_by_hand(path, all_views[i])  # redo that op's integer arithmetic: each runtime's rounding, by hand
        assert h['tflm'] == h['double'] and h['litert'] == h['single'] and h['tflm'] != h['litert'], h

def test_our_ptq_file_agrees_bit_for_bit_on_real_frames(ptq, all_views):
    "Every sample frame bit-identical but for FULLY_CONNECTED rounding ties (at most 1% of frames; which ones depends on the calibration views): each difference starts one step apart at that op"
    r = compare_runtimes(ptq, all_views, trace=len(all_views))
    o = r['outputs'][0]
    assert r['inputs'] == len(all_views) >= 200 and o['different'] <= 0.01*len(all_views), r['outputs']
    assert len(r['first_difference']) == o['different'], r
    assert all(f['op'] == 'FULLY_CONNECTED' and f['max_abs_diff'] == 1 for f in r['first_difference']), r

@pytest.mark.parametrize('name', ['vww-rgb96', 'vww-gray64'])
def test_models_trained_here_agree_bit_for_bit(name, tmp_path):
    "The pretrained int8 students behind the example sketches (cut from the MLPerf model, with its FULLY_CONNECTED head): litert and tflite-micro agree on every op of every sample frame but that head, where under 2% of frames round one value a step apart (as the MLPerf model does on 1 frame); tflite-micro is the board's runtime and the simulator's"
    from vww_kit.export import example_model
    path = example_model(name)
    spec = InputSpec.from_model(path)
    board = 'nano33-ble-sense' if spec.channels == 1 else 'esp32-cam'
    x = np.concatenate([board_views(sample_set(s), board, spec, tmp_path, progress=False)[0] for s in ('train', 'val', 'test')])
    r = compare_runtimes(path, x, trace=len(x))
    o = r['outputs'][0]
    assert r['inputs'] == len(x) >= 200 and o['different'] <= 0.02*len(x), r['outputs']
    assert [(f['op'], f['max_abs_diff']) for f in r['first_difference']] == [('FULLY_CONNECTED', 1)], r['first_difference']
    assert r['first_difference'][0]['inputs'] == o['different'], r

def test_a_difference_is_counted_and_traced_to_its_first_op(ptq, views):
    "litert's default XNNPACK kernels round differently from tflite-micro; the report says where it starts"
    r = compare_runtimes(ptq, views['test'][0][:40], kernels='xnnpack', trace=2)
    o = r['outputs'][0]
    assert not r['bit_exact'] and o['equal'] + o['different'] == 40 and o['max_abs_diff'] > 0
    assert r['first_difference'] and r['first_difference'][0]['op'] in {op['op'] for op in read_graph(ptq)['ops']}

def test_tflm_outputs_match_raw_litert_outputs(ptq, views):
    x = model_inputs(ptq, views['test'][0][:5])
    assert np.array_equal(tflm_outputs(ptq, x)[0], run_tflite(ptq, x, dequantize=False))

def test_sqnr_of_a_layer_is_that_of_the_real_tensors(float_model, ptq, views):
    "Record of the first op against a direct computation: Keras float activations, int8 tensor from the interpreter"
    import tf_keras
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    x = views['test'][0][:16]
    recs = quantization_error(float_model, ptq, x)
    assert len(recs) == len(read_graph(ptq)['ops'])
    first = recs[0]
    cut = tf_keras.Model(float_model.input, float_model.get_layer(first['layer'].split('+')[-1]).output)
    f = cut.predict(x.astype(np.float32)/255, verbose=0).astype(np.float64)
    it = Interpreter(model_content=ptq, experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    t = read_graph(ptq)['ops'][0]['outputs'][0]
    s, z = it.get_tensor_details()[t]['quantization']
    q = []
    for xi in model_inputs(ptq, x):
        it.set_tensor(it.get_input_details()[0]['index'], xi[None]); it.invoke(); q.append(it.get_tensor(t)[0].copy())
    d = s*(np.stack(q).astype(np.float64) - z)
    direct = 10*np.log10(np.sum(f**2)/np.sum((d - f)**2))
    assert abs(first['sqnr_db'] - direct) < 0.1, (first['sqnr_db'], direct)
    assert (first['scale'], first['zero_point']) == (pytest.approx(s), z)
    assert sum(first['hist']['float']) == f.size == sum(first['hist']['int8'])
    w = first['weights']
    assert w['per_channel'] and 30 < w['sqnr_db'] < 60 and 10 < first['sqnr_db'] < 60

def test_sqnr_and_dequantize_by_hand():
    assert sqnr_db([1.0, -1.0], [1.0, -1.0]) == float('inf')
    assert abs(sqnr_db(np.ones(100), np.ones(100)*1.1) - 20) < 1e-9
    q = np.array([[[-128, 0], [127, 10]]], np.int8)  # per channel on the last axis
    d = dequantize(q, dict(scales=np.array([0.5, 2.0]), zero_points=np.array([0, 10]), quantized_dimension=2))
    assert np.allclose(d, [[[-64, -20], [63.5, 0]]])

def test_widget_lists_worst_first_and_follows_the_dropdown(float_model, ptq, views):
    recs = quantization_error(float_model, ptq, views['test'][0][:8])
    v = QuantizationErrorViewer(recs)
    order = [i for _, i in v.layer.options]
    assert [r['sqnr_db'] for r in sorted(recs, key=lambda r: order.index(r['index']))] == sorted(r['sqnr_db'] for r in recs)
    assert v.selected['sqnr_db'] == min(r['sqnr_db'] for r in recs)
    png = v.histograms.value
    v.layer.value = recs[0]['index']
    assert v.selected is recs[0] and recs[0]['label'] in v.info.value and 'zero point' in v.info.value
    assert v.histograms.value != png and v.histograms.value[:4] == b'\x89PNG' and v.overview.value[:4] == b'\x89PNG'
    assert layer_summary(recs[0]) in v.info.value
    with pytest.raises(ValueError, match='No quantization error records'): QuantizationErrorViewer([])

def test_layer_without_int8_kernel_is_named():
    import tensorflow as tf
    with pytest.raises(ValueError, match=r'Layer my_erf \(Erf\) has no TFLite int8 kernel'):
        quantize(_tiny(tf.math.erf, 'my_erf'), RND16)

def test_layer_left_in_float_by_the_converter_is_named():
    "CUMSUM converts silently as DEQUANTIZE -> float CUMSUM -> QUANTIZE even with TFLITE_BUILTINS_INT8 only"
    import tensorflow as tf
    with pytest.raises(ValueError, match=r'Layer running_sum stays in float .*CUMSUM'):
        quantize(_tiny(lambda x: tf.math.cumsum(x, 1), 'running_sum'), RND16)

def test_representative_views_of_the_wrong_shape_are_refused():
    m = _tiny(lambda x: x, 'same')
    with pytest.raises(ValueError, match=r'have shape \(32, 32, 3\) each but the model takes \(16, 16, 3\)'):
        quantize(m, np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r'have shape \(16, 16\) each but the model takes \(16, 16, 3\)'):
        quantize(m, np.zeros((4, 16, 16), np.uint8))
    with pytest.raises(ValueError, match='are int32: pass uint8 board views'):
        quantize(m, np.zeros((4, 16, 16, 3), np.int32))
    with pytest.raises(ValueError, match=r'Inputs have shape \(32, 32, 3\) but the model takes \(16, 16, 3\)'):
        run_tflite(quantize(m, RND16), np.zeros((2, 32, 32, 3), np.uint8))

def test_qat_of_a_pruned_model_keeps_its_zeros_and_converts_to_int8(views):
    from vww_kit.models import mobilenet_v1
    m = mobilenet_v1(32, 3, 0.25)
    for l in m.layers:
        w = l.get_weights()
        if w and w[0].ndim > 1: w[0] = np.where(np.abs(w[0]) < np.median(np.abs(w[0])), 0, w[0]); l.set_weights(w)
    assert abs(weight_sparsity(m) - 0.5) < 0.01
    x, y = np.ascontiguousarray(views['train'][0][:64, ::3, ::3]), views['train'][1][:64]
    q = qat(m, x, y, epochs=1, learning_rate=1e-3)  # sparse: the prune-preserving scheme is chosen
    assert any('QuantizeWrapper' in type(l).__name__ for l in q.layers) and len(q.history.history['loss']) == 1
    data = quantize(q, x[:8])
    sp = int8_sparsity(data)
    assert sp['CONV_2D'] > 0.49 and sp['FULLY_CONNECTED'] > 0.49, sp
    assert float_ops(data) == [] and InputSpec.from_model(data).dtype == 'int8'
    r = compare_runtimes(data, x)  # our QAT file against the board runtime
    assert r['bit_exact'] or all(f['op'] == 'FULLY_CONNECTED' for f in r['first_difference']), r
    twin = float_twin(q, m)  # the float model with QAT's weights: the reference for the QAT file's error
    trained = {v.name: v.numpy() for l in q.layers for v in l.weights}
    assert all(np.array_equal(w.numpy(), trained[w.name]) for w in twin.weights)
    assert not all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), m.get_weights()))  # QAT trained them
    recs = quantization_error(twin, data, x[:8])
    n_float = len(read_graph(float_tflite(twin))['ops'])
    assert len(recs) == n_float and all(np.isfinite(r['sqnr_db']) for r in recs)  # paired op for op

def test_quantize_aware_names_a_layer_tfmot_cannot_wrap():
    import tensorflow as tf
    with pytest.raises(ValueError, match='cannot make layer .*quantization-aware'):
        quantize_aware(_tiny(tf.math.erf, 'my_erf'))

def _shallow(size=32):
    "A three-layer image model: untrained, its activations do not vanish"
    import tf_keras
    L = tf_keras.layers
    inp = tf_keras.Input((size, size, 3))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(8, 3, strides=2, padding='same')(inp)))
    x = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding='same')(x)))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 1)(x)))
    return tf_keras.Model(inp, L.Dense(2, activation='softmax')(L.GlobalAveragePooling2D()(x)))

def test_untrained_deep_model_with_vanishing_activations_is_refused_before_it_crashes(views):
    from vww_kit.models import mobilenet_v1
    x = np.ascontiguousarray(views['train'][0][:16, ::3, ::3])
    with pytest.raises(ValueError, match=r'activations of layer .* were \(almost\) all zero'):
        quantize(mobilenet_v1(32, 3, 0.25), x)

def test_cli_writes_the_int8_file_and_prints_the_report(tmp_path, capsys):
    _shallow(32).save(tmp_path/'small.h5')
    p = add_quantize_args(argparse.ArgumentParser())
    a = p.parse_args([str(tmp_path/'small.h5'), '--out', str(tmp_path/'out'/'m.tflite'), '--calibration', '16',
                      '--qat', '0', '--set', f'export.out={tmp_path/"work"}', '--json'])
    assert quantize_command(a) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep['calibration_views'] == 16 and rep['mode'] == 'ptq' and set(rep['accuracy']) == {'float', 'int8 PTQ'}
    assert rep['runtimes']['reference']['inputs'] == len(sample_set('test'))
    assert InputSpec.from_model(tmp_path/'out'/'m.tflite').shape == (32, 32, 3)
    a = p.parse_args([str(tmp_path/'small.h5'), '--calibration', '8', '--qat', '0', '--set', f'export.out={tmp_path/"work"}'])
    assert quantize_command(a) == 0 and (tmp_path/'small_int8.tflite').exists()
    out = capsys.readouterr().out
    assert 'int8 PTQ' in out and 'tflite-micro' in out and 'SQNR' in out and 'Wrote' in out

def test_cli_errors_say_what_to_do(tmp_path):
    p = add_quantize_args(argparse.ArgumentParser())
    with pytest.raises(FileNotFoundError, match='does not exist'): quantize_command(p.parse_args([str(tmp_path/'no.h5')]))
    (tmp_path/'m.tflite').write_bytes(b'x')
    with pytest.raises(ValueError, match='already a .tflite'): quantize_command(p.parse_args([str(tmp_path/'m.tflite')]))
    (tmp_path/'bad.h5').write_bytes(b'not hdf5')
    with pytest.raises(ValueError, match='Could not load'): quantize_command(p.parse_args([str(tmp_path/'bad.h5')]))
    with pytest.raises(ValueError, match='section.key=value'):
        quantize_command(p.parse_args([str(tmp_path/'bad.h5'), '--set', 'oops']))

def test_self_distilled_qat_learns_from_the_float_model_and_leaves_it_alone(views):
    "qat(teacher=True): the float model teaches its fake-quantized copy; the float model's weights do not move"
    from vww_kit.models import mobilenet_v1
    m = mobilenet_v1(32, 3, 0.25)
    before = [w.copy() for w in m.get_weights()]
    x, y = np.ascontiguousarray(views['train'][0][:64, ::3, ::3]), views['train'][1][:64]
    q = qat(m, x, y, epochs=2, learning_rate=1e-3, teacher=True)
    h = q.history.history
    assert len(h['loss']) == 2 and len(h['teacher_agreement']) == 2 and h['loss'][1] < h['loss'][0]
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    twin = float_twin(q, m)
    assert not all(np.array_equal(a, b) for a, b in zip(twin.get_weights(), m.get_weights()))
    data = quantize(q, x[:8])
    assert float_ops(data) == [] and InputSpec.from_model(data).dtype == 'int8'

def test_the_sqnr_chart_draws_weight_bars_from_the_run_summary():
    "quantize.json flattens each op's weight SQNR (weight_sqnr_db); the report's chart draws it, and names the ops in full words"
    import matplotlib; matplotlib.use('Agg')
    from vww_kit.quantize import plot_sqnr
    recs = [dict(index=0, op='CONV_2D', sqnr_db=30.0, weight_sqnr_db=45.0), dict(index=1, op='DEPTHWISE_CONV_2D', sqnr_db=25.0, weight_sqnr_db=None),
            dict(index=2, op='AVERAGE_POOL_2D', sqnr_db=40.0), dict(index=3, op='FULLY_CONNECTED', sqnr_db=33.0, weights=dict(sqnr_db=50.0))]
    ax = plot_sqnr(recs)
    w = [b.get_height() for b in ax.containers[1]]
    assert w[0] == 45.0 and np.isnan(w[1]) and np.isnan(w[2]) and w[3] == 50.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ['0 conv', '1 dwconv', '2 avgpool', '3 dense']
