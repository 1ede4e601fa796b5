"""Images per second of SynthFaces at 64, 128 and 256 px: `render` in one process, `SynthBatches` in a DataLoader with
worker processes (how a training loop draws batches), and `write_synth` (hififace-synth) writing a dataset.

    OMP_NUM_THREADS=2 .venv/bin/python bench/bench_synth.py [--sizes 64 128 256] [--batch 64] [--reps 6] [--workers 2] [--write 320]

Batches draw random identities of a 1000-identity bank and random image seeds, as training does; 'first touch' batches
meet their identities for the first time (their albedo and spot map are built), later ones find them cached. The load
average is printed: on a shared machine every number moves with it.
"""
import argparse, os, shutil, statistics, tempfile, time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from hififace.synth import SynthBatches, SynthFaces, write_synth


def render_rate(size: int, batch: int, reps: int, bank: int = 1000) -> tuple[float, float, float]:
    "One process: median images/s of batches meeting new identities, then of the same identities again; CPU ms per image."
    sf = SynthFaces(bank, size, seed=0)
    rng = np.random.default_rng(0)
    draws = [(rng.choice(bank, batch, replace=False), rng.integers(0, 10 ** 6, batch)) for _ in range(reps)]
    sf.render(np.arange(8), np.arange(8))                              # warm-up
    first, cached, cpu = [], [], []
    for ids, seeds in draws:
        t0 = time.perf_counter(); sf.render(ids, seeds); first.append(batch / (time.perf_counter() - t0))
    for ids, seeds in draws:
        t0, c0 = time.perf_counter(), time.process_time(); sf.render(ids, seeds + 1)
        cached.append(batch / (time.perf_counter() - t0)); cpu.append((time.process_time() - c0) / batch * 1e3)
    return statistics.median(first), statistics.median(cached), statistics.median(cpu)


def loader_rate(size: int, batch: int, reps: int, workers: int, bank: int = 1000) -> float:
    "SynthBatches through a DataLoader with `workers` processes: images/s after the first batch of each worker."
    dl = DataLoader(SynthBatches(SynthFaces(bank, size, seed=0), batch, length=(reps + 1) * workers), batch_size=None,
                    num_workers=workers, prefetch_factor=2)
    it = iter(dl)
    for _ in range(workers): next(it)                                  # workers started, first batches done
    t0 = time.perf_counter(); n = 0
    for b in it: n += len(b['image'])
    return n / (time.perf_counter() - t0)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sizes', type=int, nargs='+', default=[64, 128, 256])
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--reps', type=int, default=6)
    ap.add_argument('--workers', type=int, default=2, help='DataLoader workers and write_synth processes')
    ap.add_argument('--write', type=int, default=320, help='images written per size by write_synth (0: skip)')
    args = ap.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, load average '
          f'{os.getloadavg()[0]:.2f}; batch {args.batch}, {args.workers} workers')
    for size in args.sizes:
        first, cached, cpu = render_rate(size, args.batch, args.reps)
        line = (f'{size:3d} px  render (1 process): {first:4.0f} img/s first touch, {cached:4.0f} img/s cached, '
                f'{cpu:5.2f} CPU ms/img;  DataLoader x{args.workers}: {loader_rate(size, args.batch, args.reps, args.workers):4.0f} img/s')
        if args.write:
            out = Path(tempfile.mkdtemp()) / 'synth'
            n_id = max(2, args.write // 10)
            t0 = time.perf_counter(); write_synth(out, n_id, 10, size, seed=0, heldout=0, workers=args.workers, progress=False)
            dt = time.perf_counter() - t0
            files = [p for p in out.rglob('*') if p.is_file()]
            per_image = sum(p.stat().st_size for p in files) / (n_id * 10)
            crop = statistics.mean(p.stat().st_size for p in files if p.name.endswith('.png') and p.name.count('.') == 1)
            line += f';  write x{args.workers}: {n_id * 10 / dt:4.0f} img/s, {per_image / 1e3:5.1f} kB/img ({crop / 1e3:.1f} kB crop)'
            shutil.rmtree(out.parent)
        print(line, flush=True)
    print(f'load average after: {os.getloadavg()[0]:.2f}')
