from dataclasses import replace
import numpy as np, cv2, pytest
from vww_kit.config import BOARDS
from vww_kit.data import sample_set, read_frame
from vww_kit.camera import (InputSpec, board_camera, board_view, sensor_capture, sketch_preprocess, box_resize,
                            capture_size, input_lut, rgb565_to_rgb, rgb_to_rgb565, to_model_input)

SPEC = InputSpec(96, 96, 3, 'int8', 1/255, -128)
FRAMES = [read_frame(s) for s in sample_set('test')[::20]]

@pytest.mark.parametrize('bid', list(BOARDS))
@pytest.mark.parametrize('color', ['rgb', 'grayscale'])
def test_every_board_and_color_gives_the_model_shape(bid, color):
    spec = replace(SPEC, channels=1 if color == 'grayscale' else 3)
    for f in FRAMES:
        x = board_camera(f, bid, spec)
        assert x.shape == spec.shape and x.dtype == np.int8
        assert np.array_equal(x.astype(int), board_view(f, bid, spec).astype(int) - 128)

def test_input_spec_read_from_the_mlperf_model(mlperf_dir):
    s = InputSpec.from_model(mlperf_dir/'vww_96_int8.tflite')
    assert (s.height, s.width, s.channels, s.dtype, s.zero_point) == (96, 96, 3, 'int8', -128)
    assert abs(s.scale - 1/255) < 1e-9
    f = InputSpec.from_model(mlperf_dir/'vww_96_float.tflite')
    assert f.dtype == 'float32' and f.shape == (96, 96, 3)

def test_mlperf_teacher_finds_people_in_the_sample_test_split(mlperf_dir):
    "The labels and the camera emulation agree with an independently trained model: well above chance"
    from ai_edge_litert.interpreter import Interpreter
    p = str(mlperf_dir/'vww_96_int8.tflite')
    spec = InputSpec.from_model(p)
    it = Interpreter(p); it.allocate_tensors()
    i, o = it.get_input_details()[0]['index'], it.get_output_details()[0]['index']
    ok = {'cameraman': [], 'bikes-3-cyclist': [], 'bikes-1-lane': [], 'hubble': []}
    for s in sample_set('test'):
        if s.scene not in ok: continue
        it.set_tensor(i, board_camera(read_frame(s), 'esp32-cam', spec)[None]); it.invoke()
        ok[s.scene].append(int(it.get_tensor(o)[0].argmax()) == s.y)
    acc = {k: np.mean(v) for k, v in ok.items()}
    assert min(acc.values()) >= 0.8, acc

def test_int8_table_is_the_tflite_formula():
    spec = InputSpec(96, 96, 1, 'int8', 0.02, 3)
    lut = input_lut(spec)
    p = np.arange(256)
    assert np.array_equal(lut, np.clip(np.round(p/255/0.02) + 3, -128, 127).astype(np.int8))
    assert input_lut(SPEC)[0] == -128 and input_lut(SPEC)[255] == 127
    fl = InputSpec(96, 96, 3, 'float32', 1.0, 0)
    assert to_model_input(np.array([0, 255], np.uint8), fl).tolist() == pytest.approx([0.0, 1.0])

def test_bgr_frames_give_the_same_tensor():
    f = FRAMES[0]
    assert np.array_equal(board_camera(f[..., ::-1].copy(), 'esp32-cam', SPEC, 'bgr'), board_camera(f, 'esp32-cam', SPEC))

def test_rgb565_roundtrip_and_capture_sizes():
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    back = rgb565_to_rgb(rgb_to_rgb565(rgb))
    assert np.abs(back.astype(int) - rgb).max() <= 7 and np.array_equal(rgb565_to_rgb(rgb_to_rgb565(back)), back)
    assert capture_size(BOARDS['esp32-cam'], SPEC) == (96, 96)
    assert capture_size(BOARDS['esp32-cam'], replace(SPEC, height=128, width=128)) == (176, 144)
    assert capture_size(BOARDS['esp32-cam'], replace(SPEC, height=200, width=200)) == (240, 240)
    assert capture_size(BOARDS['nano33-ble-sense'], SPEC) == (160, 120)
    raw = sensor_capture(FRAMES[0], 'nano33-ble-sense', SPEC)
    assert raw.shape == (120, 160) and raw.dtype == np.uint16
    assert sensor_capture(FRAMES[0], 'esp32-cam', replace(SPEC, channels=1)).dtype == np.uint8

def test_box_resize_is_the_block_mean():
    img = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    half = box_resize(img, 60, 80)
    mean = img.reshape(60, 2, 80, 2, 3).astype(int).sum((1, 3))
    assert np.array_equal(half, ((mean + 2)//4).astype(np.uint8))
    # on a real picture, non-integer ratios stay close to OpenCV's (fractional-weight) area filter
    f = cv2.resize(FRAMES[0], (160, 120), interpolation=cv2.INTER_AREA)
    d = np.abs(box_resize(f, 96, 96).astype(int) - cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA))
    assert d.mean() < 3, d.mean()
    assert np.array_equal(box_resize(np.full((120, 120), 200, np.uint8), 96, 96), np.full((96, 96), 200, np.uint8))

@pytest.mark.parametrize('frame,match', [
    (np.zeros((120, 160, 3), np.float32), 'Expected a uint8 image array'),
    (np.zeros((120, 160, 4), np.uint8), 'Drop the alpha channel'),
    (np.zeros((120,), np.uint8), r'Expected an image of shape \(height, width, 3\)'),
    ([[0, 1], [2, 3]], 'Expected a uint8 image array'),
])
def test_wrong_shape_or_color_mode_is_a_clear_error(frame, match):
    with pytest.raises(ValueError, match=match): board_camera(frame, 'esp32-cam', SPEC)

def test_grayscale_frames_and_channel_order_errors():
    g = cv2.cvtColor(FRAMES[0], cv2.COLOR_RGB2GRAY)
    assert board_camera(g, 'esp32-cam', SPEC).shape == (96, 96, 3)
    with pytest.raises(ValueError, match="channel_order must be 'rgb' or 'bgr'"): board_camera(FRAMES[0], 'esp32-cam', SPEC, 'rbg')
    with pytest.raises(ValueError, match='Choose a smaller input size'): board_camera(FRAMES[0], 'esp32-cam', replace(SPEC, height=300, width=300))

def test_spec_from_keras_model_and_bad_models(tmp_path):
    import tf_keras
    m = tf_keras.Sequential([tf_keras.Input((64, 64, 1)), tf_keras.layers.Flatten(), tf_keras.layers.Dense(2)])
    s = InputSpec.from_model(m)
    assert (s.shape, s.dtype) == ((64, 64, 1), 'float32')
    bad = tmp_path/'bad.tflite'; bad.write_bytes(b'TFL3 truncated')
    with pytest.raises(ValueError, match='Not a readable TFLite model'): InputSpec.from_model(bad)
    v = tf_keras.Sequential([tf_keras.Input((10,)), tf_keras.layers.Dense(2)])
    with pytest.raises(ValueError, match='is not an image'): InputSpec.from_model(v)

def test_pixel_scale_for_teachers_trained_on_raw_pixels():
    raw = InputSpec(96, 96, 3, 'float32', 1.0, 0, pixel_scale=1.0)
    assert input_lut(raw)[200] == 200.0
    q = InputSpec(96, 96, 3, 'int8', 1.0, -128, pixel_scale=1.0)
    assert input_lut(q)[200] == 72
