"""Merge result files of bench/ab_mini.py into one (each variant keeps the command that made it):

    .venv/bin/python bench/merge_ab.py data/mini/recipe_ab.json runs/ab/ab1.json runs/ab/ab2.json
"""
import json, sys
from pathlib import Path
out = dict(about='HifiFace-mini recipe A/Bs at equal CPU time (issue 21, nbs/08_mini.ipynb): each variant trained alone with '
                 '2 threads on SynthFaces (hififace synth /tmp/synth64 --identities 2000 --per-identity 8 --size 64 --seed 1 '
                 '--heldout 0), measured on the manifest\'s 200 held-out pairs at every checkpoint, averaged (G_ema) and raw (G)',
           variants={})
for f in sys.argv[2:]:
    d = json.loads(Path(f).read_text())
    for name, v in d['variants'].items():
        out['variants'][name] = dict(v, command=d['command'].replace(' --no-train', ''), machine=d['machine'], config=d['config'])
Path(sys.argv[1]).write_text(json.dumps(out, indent=1) + '\n')
print(sys.argv[1], Path(sys.argv[1]).stat().st_size, 'bytes', list(out['variants']))
