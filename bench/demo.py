"""The main job's benchmark (issue 9): `vww-kit demo` with the default recipe into a fresh folder, timed stage by
stage, and its outcome against the issue's goals (under 15 minutes on the 2-core machine; student int8 at most 1/3
of the teacher's bytes and at most 2/3 of its measured arena).

    python bench/demo.py [--out DIR] [--set section.key=value ...]

Prints the figures and writes bench/results/demo.json.
"""
import argparse, json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=None, help='Output folder (default: a fresh temporary one)')
    ap.add_argument('--set', action='append', default=[], metavar='SECTION.KEY=VALUE')
    ap.add_argument('--results', default=str(HERE/'results/demo.json'))
    a = ap.parse_args(argv)
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp())/'demo'
    if out.exists(): shutil.rmtree(out)
    cmd = [str(Path(sys.executable).parent/'vww-kit'), 'demo', '--out', str(out)] + sum((['--set', s] for s in a.set), [])
    t0 = time.time()
    r = subprocess.run(cmd, text=True, capture_output=True)
    wall = time.time() - t0
    print(r.stdout[-3000:])
    if r.returncode: print(r.stderr[-3000:]); sys.exit(r.returncode)
    rep = json.loads((out/'report.json').read_text())
    state = json.loads((out/'run_state.json').read_text())
    s = rep['summary']
    res = dict(wall_seconds=round(wall, 1), stage_seconds=state['seconds'], cpus=os.cpu_count(), machine=platform.machine(),
               overrides=a.set, summary=s, goals=dict(under_15_min=wall < 900, bytes_at_most_third=s['int8 bytes vs teacher'] <= 1/3,
                                                      arena_at_most_two_thirds=s['arena vs teacher'] <= 2/3))
    print(f"demo: {wall:.0f} s wall on {os.cpu_count()} CPUs; " + ', '.join(f"{k} {v:.0f} s" for k, v in state['seconds'].items()))
    print(f"student int8 {s['int8 bytes vs teacher']:.2f}x the teacher's bytes, arena {s['arena vs teacher']:.2f}x; "
          f"test accuracy student {s['student test accuracy']:.3f}, teacher {s['teacher test accuracy']:.3f}; "
          f"test AUC student {s['student test AUC']:.3f}, teacher {s['teacher test AUC']:.3f}")
    Path(a.results).parent.mkdir(parents=True, exist_ok=True); Path(a.results).write_text(json.dumps(res, indent=1))
    print(f"written {a.results}")

if __name__ == '__main__': main()
