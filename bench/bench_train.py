"""Seconds per training step (G + D) and peak memory, on the synthetic dataset, CPU or GPU.

    .venv/bin/python bench/bench_train.py [--base 4] [--batch 2] [--steps 4] [--set key=value ...]

Offline stand-ins as in the tests, opted in explicitly: random F_3d and F_id (priors='random'), the mini face
model for L_shape (bfm='mini'), LPIPS with a random VGG (lpips_pretrained=false). The compute per step is the
same as with the real files (F_id is the same IResNet; L_shape reads only the 68 keypoints of the face model).
"""
import argparse, resource, statistics, tempfile
from pathlib import Path

import torch

from hififace.data import make_synthetic_dataset
from hififace.train import Trainer, TrainConfig

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--base', type=int, default=4); ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--steps', type=int, default=4); ap.add_argument('--set', nargs='*', default=[])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    data = make_synthetic_dataset(tmp / 'data', n_identities=4, per_identity=max(3, args.batch))
    cfg = TrainConfig.load(None, [f'base={args.base}', f'batch_size={args.batch}', "priors='random'", "bfm='mini'",
                                  'lpips_pretrained=false', 'num_workers=0',
                                  'log_every=1', 'sample_every=100000', 'ckpt_every=100000', f'data="{data}"',
                                  f'out="{tmp / "run"}"'] + args.set)
    t = Trainer(cfg, progress=False)
    hist = t.fit(args.steps + 1)                        # the first step warms up
    times = [1 / h['img_per_s'] * args.batch for h in hist[1:]]
    peak = (torch.cuda.max_memory_allocated() / 2**20) if t.device.type == 'cuda' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'device={t.device} threads={torch.get_num_threads()} base={args.base} batch={args.batch} arcface={cfg.arcface}: '
          f'{statistics.median(times):.2f} s/step (median of {len(times)}), '
          f'{args.batch / statistics.median(times):.2f} images/s, peak {"GPU" if t.device.type == "cuda" else "RSS"} {peak:.0f} MiB')
