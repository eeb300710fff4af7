"""README.md from nbs/index.ipynb (the tour is the README's source), without Quarto.

    python tools/readme.py [--check]

Markdown cells are copied as they are (links to ../ become links from the repository root), code cells become
```python blocks without their `#|` directives. `--check` exits 1 if README.md is not what the notebook gives.
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def readme(nb=ROOT/'nbs'/'index.ipynb')->str:
    parts = []
    for c in json.loads(Path(nb).read_text())['cells']:
        src = ''.join(c['source']).strip('\n')
        if c['cell_type'] == 'markdown': parts.append(re.sub(r'\]\(\.\./', '](', src))
        elif c['cell_type'] == 'code':
            code = '\n'.join(l for l in src.split('\n') if not l.startswith('#|')).strip('\n')
            if code: parts.append(f"```python\n{code}\n```")
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, out = readme(), ROOT/'README.md'
    if '--check' in sys.argv[1:]:
        if out.read_text() != text: sys.exit("README.md is not what nbs/index.ipynb gives: run `python tools/readme.py`.")
    else: out.write_text(text)
