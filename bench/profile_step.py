"""Where a HifiFace-mini training step spends its time (issue 21: profile one step before choosing what to speed up).

    .venv/bin/python bench/profile_step.py [--config configs/mini_64_full.toml] [--steps 20] [--threads 2] [--batch 8] [--set KEY=VALUE ...]

Trains `--steps` steps of the config on a small SynthFaces set written to a temporary folder (64 px, the mini priors,
as the shipped runs) and times, per step: data loading, the forward passes of G (main and cycle), D, the frozen F_3d and
F_id (inside L_sid and v_sid), the face model's landmarks, and the rest (backward passes and optimiser steps); then the
D step alone with and without R1. Run it alone on the machine: the numbers are wall times.
"""
import argparse, statistics, tempfile, time
from collections import defaultdict
from pathlib import Path

import torch

from hififace.synth import write_synth
from hififace.train import Trainer, TrainConfig


def timed(obj, name, acc, attr='__call__'):
    "Wrap obj.attr so that its wall time adds up in acc[name]."
    f = getattr(obj, attr)
    def g(*a, **k):
        t0 = time.perf_counter(); r = f(*a, **k); acc[name] += time.perf_counter() - t0; return r
    setattr(obj, attr, g)


def forward_timer(module, name, acc):
    "Forward pre/post hooks: module's forward wall time adds up in acc[name]."
    module.register_forward_pre_hook(lambda m, i: acc.__setitem__('_' + name, time.perf_counter()))
    module.register_forward_hook(lambda m, i, o: acc.__setitem__(name, acc[name] + time.perf_counter() - acc['_' + name]))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--config', default='configs/mini_64_full.toml'); ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--batch', type=int, default=None)
    ap.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help='config overrides, as hififace train --set')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp())
    write_synth(tmp / 'synth', n_identities=40, per_identity=4, size=64, seed=1, heldout=0, progress=False)
    over = [f'data="{tmp / "synth" / "train"}"', f'out="{tmp / "run"}"', 'num_workers=0', 'sample_every=100000',
            'ckpt_every=100000', 'log_every=1', 'tensorboard=false'] + ([f'batch_size={a.batch}'] if a.batch else []) + a.set
    cfg = TrainConfig.load(a.config, over)
    t = Trainer(cfg, progress=False)
    acc = defaultdict(float)
    forward_timer(t.G, 'G forward (main + cycle)', acc); forward_timer(t.D, 'D forward (G step + D step)', acc)
    ex = t.objective.extractor
    forward_timer(ex.f3d, 'F_3d forward', acc); forward_timer(ex.fid, 'F_id forward', acc)
    timed(t.objective.face_model, 'face model landmarks', acc, 'landmarks')
    timed(t, 'train_step (all)', acc, 'train_step')
    t.fit(2)                                                      # warm-up, not counted
    acc.clear()
    t0 = time.perf_counter(); t.fit(2 + a.steps); total = time.perf_counter() - t0
    per = {k: v / a.steps for k, v in acc.items() if not k.startswith('_')}
    step = per.pop('train_step (all)')
    print(f'{a.config} {" ".join(a.set)}, batch {cfg.batch_size}, {torch.get_num_threads()} threads, {a.steps} steps: {total / a.steps:.3f} s/step '
          f'in fit (data loading {total / a.steps - step:.3f} s), train_step {step:.3f} s')
    for k, v in sorted(per.items(), key=lambda kv: -kv[1]): print(f'  {k:34s} {v:.3f} s  {100 * v / step:5.1f} %')
    print(f"  {'the rest: backward passes, optimisers':34s} {step - sum(per.values()):.3f} s  {100 * (step - sum(per.values())) / step:5.1f} %   "
          f'(forward timers overlap where F_3d/F_id run inside G\'s loss, not inside G)')
    batch, out = t._last
    real = batch['I_t'][:cfg.batch_size]
    for r1 in (1., 0.):                                           # the D step alone, with and without R1
        t.objective.w.r1 = r1; times = []
        for _ in range(5):
            s = time.perf_counter(); d, _ = t.objective.discriminator_loss(t.D, real, out.I_r.detach()); d.backward(); times.append(time.perf_counter() - s)
        print(f'  D step (loss + backward) with r1 = {r1:g}: {statistics.median(times):.3f} s')
