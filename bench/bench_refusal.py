"""How long `hififace-train` takes to refuse the paper's config when its pretrained files are missing (a benchmark,
not a test: tests/test_train.py checks that the refusal comes before any network is built, this measures it).

    .venv/bin/python bench/bench_refusal.py [--repeat 3]

Two numbers: the whole command as a user runs it (interpreter start, imports, config, the check, the message), and
`Trainer(cfg)` alone in an already-started process (the config check and the file look-ups).
"""
import argparse, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

from hififace.data import MissingPretrained, make_synthetic_dataset
from hififace.train import Trainer, TrainConfig

ROOT = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    data = make_synthetic_dataset(tmp / 'data', n_identities=2, per_identity=2, size=64)
    env = dict(os.environ, HIFIFACE_WEIGHTS=str(tmp / 'no-weights'), TORCH_HOME=str(tmp / 'torch-home'), OMP_NUM_THREADS='1')
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): env.pop(k, None)
    config = ROOT / 'configs' / 'paper_256.toml'
    cli = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        r = subprocess.run([str(Path(sys.executable).parent / 'hififace-train'), '--config', str(config), '--data', str(data),
                            '--out', str(tmp / f'run{i}')], env=env, capture_output=True, text=True)
        cli.append(time.perf_counter() - t0)
        assert r.returncode == 2 and 'epoch_20.pth' in r.stderr, r.stdout + r.stderr
    os.environ.update(HIFIFACE_WEIGHTS=env['HIFIFACE_WEIGHTS'], TORCH_HOME=env['TORCH_HOME'])
    cfg = TrainConfig.load(config, [f'data="{data}"', f'out="{tmp / "run"}"'])
    inproc = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        try: Trainer(cfg); raise SystemExit('expected a refusal')
        except MissingPretrained: inproc.append(time.perf_counter() - t0)
    print(f'refusal of configs/paper_256.toml without its files: hififace-train {statistics.median(cli):.2f} s '
          f'(median of {len(cli)}: {", ".join(f"{s:.2f}" for s in cli)}); Trainer(cfg) in process '
          f'{1000 * statistics.median(inproc):.1f} ms (median of {len(inproc)})')
