"""How far the shipped HifiFace-mini numbers move under other math-library code paths (the basis of MINI_TOLERANCE).

Runs `check_mini`'s measurement (50 held-out pairs per generator) in a fresh process per code path and prints, for
each metric, the largest deviation from the manifest's `metrics_small`:

    .venv/bin/python bench/mini_paths.py
"""
import json, os, subprocess, sys

PATHS = {'default (1 thread)': {'OMP_NUM_THREADS': '1'},
         '2 threads': {'OMP_NUM_THREADS': '2'},
         'MKL_CBWR=COMPATIBLE, avx2': {'OMP_NUM_THREADS': '1', 'MKL_CBWR': 'COMPATIBLE', 'ATEN_CPU_CAPABILITY': 'avx2',
                                       'ONEDNN_MAX_CPU_ISA': 'AVX2'},
         "ATen's scalar path": {'OMP_NUM_THREADS': '1', 'ATEN_CPU_CAPABILITY': 'default'}}
CHILD = r'''
import json, torch
from hififace.evaluate import mini_backend, synth_benchmark
from hififace.mini import MINI_NAMES, load_mini, mini_dir, mini_scores
from hififace.priors import mini_extractor
from hififace.weights import read_manifest
torch.set_num_threads(int(__import__('os').environ['OMP_NUM_THREADS']))
man, backend, out = read_manifest(mini_dir()), mini_backend(), {}
for n in MINI_NAMES:
    r = man['files'][f'{n}.safetensors']; G = load_mini(n)
    got = mini_scores(G, synth_benchmark(r['heldout']['small']['pairs'], G.cfg.size), mini_extractor(G.cfg.sid_layout), backend).summary()
    out[n] = {k: abs(got[k] - v) for k, v in r['metrics_small'].items() if not k.startswith('n_') and v == v}
print(json.dumps(out))
'''

if __name__ == '__main__':
    for name, env in PATHS.items():
        r = subprocess.run([sys.executable, '-c', CHILD], env=dict(os.environ, **env), capture_output=True, text=True, check=True)
        dev = json.loads(r.stdout.strip().splitlines()[-1])
        worst = {k: max(d[k] for d in dev.values()) for k in next(iter(dev.values()))}
        print(f"{name:28s} retrieval {worst.pop('id_retrieval'):.1f} points; largest other deviation "
              f"{max(worst.values()):.1e} ({max(worst, key=worst.get)}); pose {worst['pose_error']:.1e} deg")
