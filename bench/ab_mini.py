"""A/B runs of HifiFace-mini recipes (issue 21): each variant trained alone, then its held-out numbers at every checkpoint.

    .venv/bin/python bench/ab_mini.py --data /tmp/synth64/train --out runs/ab --results runs/ab/ab1.json \\
        --variant ema 2900 "ema=0.999" --variant jitter 2900 "ema=0.999 id_jitter=0.05" [--threads 2] [--every 725]

Each variant is `hififace train --config configs/mini_64_full.toml` with its overrides, for its steps (choose them so that
the variants get equal CPU time: steps = budget / s per step, bench/profile_step.py), one run at a time with --threads
threads; a variant whose run folder already holds its last step is not trained again, and an interrupted one resumes.
Then every checkpoint's averaged and raw generator (G_ema, G) is measured on the manifest's 200 held-out pairs
(`hififace.mini.checkpoint_curve`), and everything goes to --results (JSON): overrides, steps, training time, the curve.
Run it alone on the machine: the training times are wall times. bench/merge_ab.py gathers result files into
data/mini/recipe_ab.json (notebook 08).
"""
import argparse, json, os, shlex, subprocess, sys, time
from pathlib import Path

import torch

from hififace.evaluate import synth_benchmark
from hififace.mini import FULL_PAIRS, checkpoint_curve, run_seconds
from hififace.train import checkpoint_config
from hififace.weights import machine_record

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True); ap.add_argument('--out', required=True); ap.add_argument('--results', required=True)
    ap.add_argument('--config', default='configs/mini_64_full.toml'); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--every', type=int, default=725, help='checkpoint (and measure) every this many steps')
    ap.add_argument('--variant', nargs=3, action='append', required=True, metavar=('NAME', 'STEPS', 'OVERRIDES'))
    ap.add_argument('--no-train', action='store_true', help='only measure the runs that exist')
    a = ap.parse_args()
    exe = Path(sys.executable).parent / 'hififace'
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    for name, steps, over in a.variant:
        run = Path(a.out) / name
        if a.no_train or (run / 'checkpoints' / f'step_{int(steps):08d}.safetensors').is_file(): continue
        cmd = [str(exe), 'train', '--config', a.config, '--data', a.data, '--out', str(run), '--steps', steps, '--resume',
               '--set', *shlex.split(over), f'ckpt_every={a.every}', f'sample_every={a.every}', 'keep_ckpts=1000']
        print('$', shlex.join(cmd), flush=True)
        subprocess.run(cmd, env=env, check=True)
    torch.set_num_threads(a.threads)
    bench, out = synth_benchmark(FULL_PAIRS, 64), {}
    for name, steps, over in a.variant:
        run = Path(a.out) / name
        if not (run / 'checkpoints').is_dir(): continue
        t0 = time.perf_counter()
        curve = checkpoint_curve(run, bench)
        cfg = checkpoint_config(max((run / 'checkpoints').glob('step_*.safetensors')))
        train_s = run_seconds(run / 'log.csv', cfg['batch_size'])
        out[name] = dict(overrides=over, steps=int(steps), train_s=round(train_s, 1), s_per_step=round(train_s / int(steps), 3),
                         threads=a.threads, curve=curve, measure_s=round(time.perf_counter() - t0, 1),
                         train_config={k: v for k, v in cfg.items() if k not in ('data', 'out')})   # what the run was, whatever --config says later
        last = {r['weights']: r for r in curve if r['step'] == int(steps)}
        print(f"{name:10s} {over:40s} {train_s / 60:5.1f} min  " + '  '.join(
            f"{w}: ID {r['id_retrieval']:.1f} % pose {r['pose_error']:.2f} shape {r['shape_error']:.2f} face {r['face_mae']:.2f} "
            f"occ/ideal {r['occluder_ideal_error']:.2f}" for w, r in last.items()), flush=True)
        Path(a.results).parent.mkdir(parents=True, exist_ok=True)
        Path(a.results).write_text(json.dumps(dict(command=' '.join(map(shlex.quote, sys.argv)), machine=machine_record(),
                                                   config=a.config, data=a.data, variants=out), indent=1) + '\n')
