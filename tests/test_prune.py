import argparse, json
import numpy as np, pytest
import tf_keras
from vww_kit.camera import InputSpec, to_model_input
from vww_kit.data import sample_set
from vww_kit.pipeline import board_views
from vww_kit.models import mobilenet_v1, mobilenet_v2, pretrained
from vww_kit.distill import distill, accuracy
from vww_kit.profile import to_int8_tflite, measure_arena, profile_model
from vww_kit.prune import (channel_groups, channel_scores, kept_counts, channel_plan, apply_channel_plan, prune_channels,
                           zero_channels, copy_model, default_skip, magnitude_layers, layer_sparsities, sparsify,
                           weight_sparsity, prune_magnitude, CostModel, prune, sensitivity, model_figures,
                           PruningSliders, add_prune_args, prune_command, sensitivity, sensitivity_plan, plan_weights)

FIGURES = ('params', 'macs', 'model_bytes', 'peak_activation_bytes', 'arena_bytes')
SPEC32 = InputSpec(32, 32, 3, 'int8', 1/255, -128)

@pytest.fixture(scope='module')
def views32():
    "Board views of the sample set at 32x32: train, val, test"
    return [board_views(sample_set(s), 'esp32-cam', SPEC32, progress=False) for s in ('train', 'val', 'test')]

@pytest.fixture(scope='module')
def net32(views32):
    "A small MobileNetV1 trained a few epochs: its biases differ, as a trained model's do"
    m = mobilenet_v1(32, 3, 0.25)
    distill(m, views32[0], epochs=3, verbose=0, patience=0)
    return m

@pytest.fixture(scope='module')
def costs32(net32, views32):
    return CostModel(net32, views32[1][0][:8].astype(np.float32)/255)

def _x(n=8, size=32, seed=0): return np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)


def test_channel_groups_follow_the_mobilenet_blocks():
    g = channel_groups(mobilenet_v1(32, 3, 0.25))
    assert [x.name for x in g if x.prunable] == ['stem_conv'] + [f'block{i}_pw' for i in range(1, 14)]
    assert g[1].members == ('block1_pw_bn', 'block1_pw_relu', 'block2_dw', 'block2_dw_bn', 'block2_dw_relu')
    assert g[1].consumers == (('block2_pw', 1),) and g[1].bns == ('block1_pw_bn',)
    assert not g[-1].prunable and 'model output' in g[-1].why
    v2 = {x.name: x for x in channel_groups(mobilenet_v2(32, 3, 0.35, last_channels=64))}
    assert v2['block4_project'].producers == ('block4_project', 'block5_project', 'block6_project')
    assert 'block5_add' in v2['block4_project'].members and 'block6_add' in v2['block4_project'].members
    assert 'block5_project' not in v2  # one group, named by its first producer

def test_a_flattened_map_prunes_every_position_of_a_channel():
    inp = tf_keras.Input((8, 8, 3))
    x = tf_keras.layers.Conv2D(6, 3, strides=2, padding='same', name='conv')(inp)
    x = tf_keras.layers.Flatten(name='flat')(tf_keras.layers.BatchNormalization(name='bn')(x))
    m = tf_keras.Model(inp, tf_keras.layers.Dense(2, name='out')(x))
    g = channel_groups(m)[0]
    assert g.consumers == (('out', 16),)
    plan = {'conv': np.array([0, 2, 5])}
    p = apply_channel_plan(m, plan)
    assert p.get_layer('out').kernel.shape == (16*3, 2)
    np.testing.assert_allclose(p.predict(_x(4, 8), verbose=0), zero_channels(m, plan).predict(_x(4, 8), verbose=0), atol=1e-5)

@pytest.mark.parametrize('build', [lambda: mobilenet_v1(32, 3, 0.25), lambda: mobilenet_v2(32, 3, 0.35, last_channels=64)])
def test_the_pruned_model_computes_what_the_masked_original_computes(build):
    "Removing channels == zeroing the inputs they feed: the weights were copied to the right places"
    m = build()
    rng = np.random.default_rng(1)  # non-trivial batch-norm statistics, so that every copied vector matters
    for l in m.layers:
        if isinstance(l, tf_keras.layers.BatchNormalization):
            l.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if i in (0, 3) else
                           rng.normal(0, 0.1, w.shape).astype(np.float32) for i, w in enumerate(l.get_weights())])
    keep = {g.name: float(rng.choice([0.25, 0.5, 0.75])) for g in channel_groups(m) if g.prunable}
    plan = channel_plan(m, keep)
    pruned = apply_channel_plan(m, plan)
    assert pruned.count_params() < m.count_params() and pruned.name == m.name
    np.testing.assert_allclose(pruned.predict(_x(), verbose=0), zero_channels(m, plan).predict(_x(), verbose=0), atol=1e-5)

def test_criteria_rank_channels_and_counts_round(net32, views32):
    plans = {c: channel_plan(net32, 0.5, c, data=views32[1][0][:16]) for c in ('l1', 'l2', 'bn', 'activation')}
    assert all(len(p['block5_pw']) == 32 for p in plans.values())
    assert not np.array_equal(plans['l1']['block13_pw'], plans['activation']['block13_pw'])
    by_hand = np.sort(np.argsort(-np.abs(net32.get_layer('block5_pw').kernel.numpy()).sum((0, 1, 2)))[:32])
    np.testing.assert_array_equal(plans['l1']['block5_pw'], by_hand)
    own = channel_plan(net32, 0.5, criterion=lambda model, g: -np.arange(g.channels))  # keeps the first half
    np.testing.assert_array_equal(own['stem_conv'], np.arange(4))
    assert kept_counts(net32, 0.3, divisor=8)['block13_pw'] == 80
    assert kept_counts(net32, 0.01, min_channels=4)['stem_conv'] == 4
    assert kept_counts(net32, 0.5, skip=['block3_dw'])['block2_pw'] == 32  # skipping a member keeps its group whole

def test_asking_for_the_impossible_is_refused_clearly(net32):
    v2 = mobilenet_v2(32, 3, 0.35, last_channels=64)
    with pytest.raises(ValueError, match=r'keep=0 for every layer would remove every channel \(100% sparsity\)'):
        prune_channels(net32, 0.0)
    with pytest.raises(ValueError, match='keep=-0.5 for block3_pw is negative'): prune_channels(net32, {'block3_pw': -0.5})
    with pytest.raises(ValueError, match='more channels than the layer has'): prune_channels(net32, 1.5)
    with pytest.raises(ValueError, match=r"Layer 'block99_pw' in keep does not exist.*can be pruned: stem_conv"):
        prune_channels(net32, {'block99_pw': 0.5})
    with pytest.raises(ValueError, match="carries those of 'block2_pw'"): prune_channels(net32, {'block3_dw': 0.5})
    with pytest.raises(ValueError, match="classifier' cannot be pruned: it makes the model output"):
        prune_channels(net32, {'classifier': 0.5})
    with pytest.raises(ValueError, match="Layer 'nope' in skip does not exist"): prune_channels(net32, 0.5, skip=['nope'])
    with pytest.raises(ValueError, match='must keep the same share'): prune_channels(v2, {'block4_project': 0.5, 'block6_project': 0.7})
    with pytest.raises(ValueError, match="Unknown pruning criterion 'taylor'"): prune_channels(net32, 0.5, 'taylor')
    with pytest.raises(ValueError, match='needs frames: pass data='): prune_channels(net32, 0.5, 'activation')
    with pytest.raises(ValueError, match='keeps no channel'): apply_channel_plan(net32, {'block3_pw': []})
    with pytest.raises(ValueError, match=r'sparsity=1.0 for every layer would set every weight to zero \(100% sparsity'):
        prune_magnitude(net32, 1.0)
    with pytest.raises(ValueError, match='100% sparsity'): sparsify(net32, {'block3_pw': 1.0})
    with pytest.raises(ValueError, match='sparsity=-0.2 for every layer is negative'): prune(net32, 'magnitude', sparsity=-0.2)
    with pytest.raises(ValueError, match="Layer 'conv_9' in sparsity does not exist"): layer_sparsities(net32, {'conv_9': 0.5})
    with pytest.raises(ValueError, match='TF-MOT does not prune depthwise'): layer_sparsities(net32, {'block3_dw': 0.5})
    with pytest.raises(ValueError, match="Unknown pruning method 'random'"): prune(net32, 'random')
    with pytest.raises(ValueError, match="schedule='cubic'"): prune_magnitude(net32, 0.5, schedule='cubic')
    with pytest.raises(ValueError, match='not both'): CostModel.predict(None, keep=0.5, sparsity=0.5)

def test_layers_it_cannot_prune_through_keep_their_channels_and_say_why():
    inp = tf_keras.Input((16, 16, 3))
    a = tf_keras.layers.Conv2D(8, 3, name='a')(inp)
    b = tf_keras.layers.Conv2D(8, 3, name='b')(inp)
    c = tf_keras.layers.Conv2D(16, 1, name='c')(tf_keras.layers.Concatenate(name='cat')([a, b]))
    x = tf_keras.layers.GlobalAveragePooling2D(name='gap')(tf_keras.layers.ReLU(name='r')(c))
    m = tf_keras.Model(inp, tf_keras.layers.Dense(2, name='out')(x))
    g = {x.name: x for x in channel_groups(m)}
    assert not g['a'].prunable and 'cat (Concatenate) is a layer vww_kit does not prune through' in g['a'].why
    assert g['c'].prunable and g['c'].consumers == (('out', 1),)
    p = prune_channels(m, 0.5)
    assert p.get_layer('c').filters == 8 and p.get_layer('a').filters == 8
    with pytest.raises(ValueError, match="'a' cannot be pruned: cat"): prune_channels(m, {'a': 0.5})
    class Sub(tf_keras.Model):
        def call(self, x): return x
    with pytest.raises(ValueError, match='subclassed model'): channel_groups(Sub())

def test_structured_pruning_to_half_shrinks_the_int8_file_and_the_arena_and_runs_in_tflm(mlperf_dir):
    "The MLPerf teacher at 50% channels: full int8, smaller file and measured arena, and tflite-micro runs it"
    from tflite_micro.python.tflite_micro import runtime
    teacher = pretrained(path=mlperf_dir, download=False).model
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    x, y = board_views(sample_set('test')[:24], 'esp32-cam', spec, progress=False)
    pruned = prune_channels(teacher, 0.5)
    assert pruned.get_layer('conv2d_13').filters == 128 and pruned.count_params() < 0.3*teacher.count_params()
    rep = x[:16].astype(np.float32)/255
    before, after = to_int8_tflite(teacher, rep), to_int8_tflite(pruned, rep)
    arena_before, arena_after = measure_arena(before), measure_arena(after)
    print(f"int8 bytes {len(before):,} -> {len(after):,}; TFLM arena {arena_before:,} -> {arena_after:,}")
    assert len(after) < 0.45*len(before) and arena_after < 0.8*arena_before
    p = profile_model(after, boards='esp32-cam', arena=False)
    assert {o['op'] for o in p['ops']} <= {'CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'FULLY_CONNECTED', 'RESHAPE', 'SOFTMAX'}
    it = runtime.Interpreter.from_bytes(after, arena_size=arena_after + 4096)
    d = it.get_input_details(0)
    assert d['dtype'] == np.int8 and tuple(d['shape']) == (1, 96, 96, 3)
    outs = []
    for v in x[:4]:
        it.set_input(to_model_input(v, spec)[None], 0); it.invoke(); outs.append(it.get_output(0)[0])
    outs = np.array(outs)
    assert outs.dtype == np.int8 and outs.shape == (4, 2)
    # the int8 model follows the float pruned model it came from
    s, z = it.get_output_details(0)['quantization_parameters']['scales'][0], it.get_output_details(0)['quantization_parameters']['zero_points'][0]
    np.testing.assert_allclose((outs.astype(np.float32) - z)*s, pruned.predict(x[:4].astype(np.float32)/255, verbose=0), atol=0.1)

def test_cost_model_predicts_the_profilers_figures_of_the_pruned_model(net32, costs32):
    assert costs32.mode == 'template', costs32.note
    setting = {'stem_conv': 0.75, 'block3_pw': 0.25, 'block7_pw': 0.5, 'block13_pw': 0.4}
    pred = costs32.predict(keep=setting)
    prof = profile_model(prune_channels(net32, setting), boards=list(pred['fits']))
    assert [pred[k] for k in FIGURES] == [prof[k] for k in FIGURES]
    assert pred['fits'] == prof['fits']
    assert pred['model_bytes'] < costs32.base_figures['model_bytes']

def _inverted_residuals():
    "Two MobileNetV2 blocks whose Adds join the stem and both projections into one channel group"
    L = tf_keras.layers
    inp = tf_keras.Input((32, 32, 3))
    x = L.ReLU(6.)(L.BatchNormalization()(L.Conv2D(16, 3, strides=2, padding='same', use_bias=False, name='stem_conv')(inp)))
    for b in (1, 2):
        y = L.ReLU(6.)(L.BatchNormalization()(L.Conv2D(48, 1, use_bias=False, name=f'block{b}_expand')(x)))
        y = L.ReLU(6.)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding='same', use_bias=False, name=f'block{b}_dw')(y)))
        x = L.Add(name=f'block{b}_add')([x, L.BatchNormalization()(L.Conv2D(16, 1, use_bias=False, name=f'block{b}_project')(y))])
    x = L.ReLU(6.)(L.BatchNormalization()(L.Conv2D(64, 1, use_bias=False, name='last_conv')(x)))
    return tf_keras.Model(inp, L.Dense(2, activation='softmax', name='classifier')(L.GlobalAveragePooling2D()(x)))

def test_cost_model_is_exact_with_residual_groups(views32):
    m = _inverted_residuals()
    assert channel_groups(m)[0].producers == ('stem_conv', 'block1_project', 'block2_project')
    distill(m, (views32[0][0][::4], views32[0][1][::4]), epochs=1, verbose=0, patience=0)  # biases differ once trained
    c = CostModel(m, boards='esp32-cam')
    assert c.mode == 'template', c.note
    setting = {'stem_conv': 0.5, 'block2_expand': 0.25, 'last_conv': 0.75}
    pred = c.predict(keep=setting)
    prof = profile_model(prune_channels(m, setting), boards='esp32-cam')
    assert [pred[k] for k in FIGURES] == [prof[k] for k in FIGURES]

def test_widget_predictions_equal_the_profile_of_the_model_apply_produces(net32, views32, costs32):
    train, val, test = views32
    w = PruningSliders(net32, train, val, test, costs=costs32, epochs=1)
    assert w.method.value == 'channels' and set(w.sliders) == {g.name for g in costs32.groups}
    w.global_slider.value = 0.5
    assert set(w.setting().values()) == {0.5} and w.predicted['setting']['block13_pw'] == 128
    w.sliders['block12_pw'].value = 0.75
    assert w.predicted['setting']['block12_pw'] == 192
    assert w.predicted['params'] < costs32.base_figures['params'] and 'fits' in w.table.value
    w.apply(blocking=True)
    assert w.status.value == 'done', w.status.value
    prof = profile_model(w.result['model'], boards=list(w.predicted['fits']))
    assert [w.predicted[k] for k in FIGURES] == [prof[k] for k in FIGURES]
    assert [w.result['after'][k] for k in FIGURES] == [prof[k] for k in FIGURES]
    assert w.predicted['fits'] == prof['fits']  # the board-fit verdicts the sliders showed hold for the applied model
    # the zipped size depends on the weight values, which fine-tuning changes: predicted from the untrained cut, close
    assert abs(w.predicted['zipped_bytes'] - w.result['after']['zipped_bytes']) <= 0.05*w.result['after']['zipped_bytes']
    assert 0 <= w.result['after']['accuracy'] <= 1 and w.result['before']['accuracy'] == round(accuracy(net32, *test), 4)

def test_widget_tells_the_truth_about_magnitude_pruning(net32, views32, costs32):
    w = PruningSliders(net32, *views32, method='magnitude', costs=costs32, epochs=1)
    assert set(w.sliders) == set(magnitude_layers(net32)) and 'stem_conv' not in w.sliders
    w.global_slider.value = 0.8
    base = costs32.base_figures
    assert [w.predicted[k] for k in FIGURES] == [base[k] for k in FIGURES]  # TFLM gains nothing
    assert w.predicted['zipped_bytes'] < 0.8*base['zipped_bytes'] and 'only the zipped file' in w.table.value
    w.apply(blocking=True)
    prof = profile_model(w.result['model'], boards=[])
    assert [w.predicted[k] for k in FIGURES] == [prof[k] for k in FIGURES]
    sp = weight_sparsity(w.result['model'])
    assert abs(sp['block9_pw'] - 0.8) < 0.01 and sp['stem_conv'] == 0 and sp['classifier'] == 0
    assert w.result['after']['zipped_bytes'] < w.result['before']['zipped_bytes']

@pytest.mark.parametrize('schedule', ['constant', 'polynomial'])
def test_magnitude_fine_tuning_reaches_the_target_and_leaves_the_model_alone(net32, views32, schedule):
    before = [w.copy() for w in net32.get_weights()]
    r = prune(net32, 'magnitude', sparsity={'block5_pw': 0.6, 'block12_pw': 0.9}, train=views32[0], epochs=1, schedule=schedule)
    sp = weight_sparsity(r.model)
    assert abs(sp['block5_pw'] - 0.6) < 0.01 and abs(sp['block12_pw'] - 0.9) < 0.01 and sp['block6_pw'] == 0
    assert [l.name for l in r.model.layers] == [l.name for l in net32.layers]
    assert all(np.array_equal(a, b) for a, b in zip(before, net32.get_weights())) and net32.trainable

def test_channel_fine_tuning_with_the_unpruned_teacher(net32, views32):
    before = [w.copy() for w in net32.get_weights()]
    r = prune(net32, 'structured', keep=0.5, train=views32[0], val=views32[1], epochs=1)
    assert r.method == 'channels' and r.setting['block13_pw'] == 128 and len(r.history['loss']) == 1
    assert 'teacher_agreement' in r.history
    assert all(np.array_equal(a, b) for a, b in zip(before, net32.get_weights())) and net32.trainable

def test_sensitivity_scan_measures_each_layer_without_training(net32, views32):
    x, y = views32[1]
    s = sensitivity(net32, x, y, levels=(1.0, 0.25), layers=['stem_conv', 'block13_pw'])
    assert s['base'] == accuracy(net32, x, y) and list(s['layers']) == ['stem_conv', 'block13_pw']
    assert s['layers']['stem_conv'][0] == s['base']  # keeping every channel changes nothing
    plan = channel_plan(net32, {'block13_pw': 0.25})
    assert s['layers']['block13_pw'][1] == accuracy(apply_channel_plan(net32, plan), x, y)
    m = sensitivity(net32, x, y, 'magnitude', levels=(0.5,))
    assert set(m['layers']) == set(magnitude_layers(net32))

def test_a_sensitivity_plan_spares_the_layer_that_collapses_and_keeps_the_share_asked(net32, views32):
    "The plan from a scan: a layer whose accuracy collapses keeps its channels; the rest give up enough weights to reach keep"
    scan = sensitivity(net32, *views32[1], 'channels', metric='auc')
    assert scan['metric'] == 'auc' and 0.0 <= scan['base'] <= 1.0 and len(scan['layers']) == 14
    big = min(scan['layers'], key=lambda n: plan_weights(net32, {n: 0.25}))   # the layer the plan would cut first if all were alike
    fake = dict(scan, base=0.9, layers={n: ([0.5, 0.5, 0.5] if n == big else [0.9, 0.9, 0.89]) for n in scan['layers']})
    plan = sensitivity_plan(net32, fake, 0.6)
    assert big not in plan and 0.59 < plan_weights(net32, plan) <= 0.6, plan
    real = sensitivity_plan(net32, scan, 0.5)
    assert set(real) <= set(scan['layers']) and all(min(scan['levels']) <= v < 1 for v in real.values())
    assert sum(v not in scan['levels'] for v in real.values()) <= 1, real   # only the last step stops between levels
    share = plan_weights(net32, real)
    assert 0.49 < share <= 0.5
    kernels = lambda m: sum(l.get_weights()[0].size for l in m.layers if l.get_weights() and len(l.get_weights()[0].shape) > 1)
    pruned = prune(net32, 'channels', keep=real).model
    assert abs(kernels(pruned)/kernels(net32) - share) < 0.03        # what the plan promised is what the model holds
    with pytest.raises(ValueError, match="metric='f1'"): sensitivity(net32, *views32[1], metric='f1')

def test_prune_command_writes_the_model_its_int8_file_and_a_report(net32, tmp_path):
    net32.save(tmp_path/'net.h5')
    p = add_prune_args(argparse.ArgumentParser())
    a = p.parse_args([str(tmp_path/'net.h5'), '--method', 'channels', '--keep', '0.5', '--epochs', '0',
                      '--out', str(tmp_path/'out')])
    assert prune_command(a) == 0
    assert sorted(f.name for f in (tmp_path/'out').iterdir()) == ['model.h5', 'model_int8.tflite', 'prune_report.json']
    rep = json.loads((tmp_path/'out'/'prune_report.json').read_text())
    assert rep['after']['model_bytes'] == (tmp_path/'out'/'model_int8.tflite').stat().st_size < rep['before']['model_bytes']
    with pytest.raises(ValueError, match='exists and is not empty'): prune_command(a)
    with pytest.raises(FileNotFoundError, match='does not exist'):
        prune_command(p.parse_args([str(tmp_path/'none.h5'), '--out', str(tmp_path/'o2')]))
    (tmp_path/'m.tflite').write_bytes(b'x')
    with pytest.raises(ValueError, match='pruning needs the Keras model'):
        prune_command(p.parse_args([str(tmp_path/'m.tflite'), '--out', str(tmp_path/'o3')]))
    with pytest.raises(ValueError, match='100% sparsity'):
        prune_command(p.parse_args([str(tmp_path/'net.h5'), '--method', 'magnitude', '--sparsity', '1', '--epochs', '0',
                                    '--out', str(tmp_path/'o4')]))

def test_a_student_cut_from_a_teacher_takes_student_inputs(mlperf_dir):
    "A teacher trained on raw 0-255 pixels (as MLTK's copy of the MLPerf model): its cut takes pixel / 255 like every student"
    from vww_kit.models import pretrained, Teacher
    from vww_kit.prune import student_from_teacher, copy_model
    ref = pretrained(path=mlperf_dir, download=False)          # MLCommons' file takes pixel / 255
    raw = copy_model(ref.model)                                 # the same network made to take 0-255 pixels
    stem = raw.layers[1]; w = stem.get_weights(); w[0] = w[0]/255; stem.set_weights(w)
    t = Teacher(raw, pixel_scale=1.0, name='raw pixels')
    v = board_views(sample_set('test'), 'esp32-cam', InputSpec(96, 96, 3, 'int8', 1/255, -128), progress=False)[0][:24]
    np.testing.assert_allclose(t.probs(v), ref.probs(v), atol=1e-4)
    whole = student_from_teacher(t, keep=1.0)                   # every channel: the teacher itself, on pixel / 255
    np.testing.assert_allclose(whole.predict(v/255., verbose=0), t.probs(v), atol=1e-4)
    half = student_from_teacher(t, keep=0.5)
    assert half.count_params() < 0.35*t.model.count_params()
    assert all(l.momentum == 0.9 for l in half.layers if isinstance(l, tf_keras.layers.BatchNormalization))
    np.testing.assert_array_equal(raw.layers[1].get_weights()[0], w[0])   # the teacher is left as it was
    with pytest.raises(ValueError, match='only from a Keras teacher'):
        student_from_teacher(pretrained(path=mlperf_dir, kind='tflite', download=False), 0.5)
