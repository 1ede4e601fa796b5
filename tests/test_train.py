"""hififace-train as a user runs it: torchrun with 2 processes, SIGKILL and resume, SIGTERM, bad configs."""
import csv, json, os, signal, subprocess, time
from pathlib import Path

import pytest

from conftest import BIN, ROOT
from hififace.data import make_synthetic_dataset

SMALL = ['base=4', 'arcface="arcface_r50"', 'lpips_pretrained=false', 'num_workers=0', 'log_every=1',
         'sample_every=1000', 'seed=3']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp('data'), n_identities=4, per_identity=3)


def env(threads=2):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1', HIFIFACE_WEIGHTS='/nonexistent')
    e.pop('WORLD_SIZE', None); e.pop('RANK', None)
    return e


def train_cmd(data, out, *extra, steps=6, batch=2, ckpt_every=2):
    return [str(BIN / 'hififace-train'), '--data', str(data), '--out', str(out), '--steps', str(steps),
            '--set', *SMALL, f'batch_size={batch}', f'ckpt_every={ckpt_every}', *extra]


def read_log(out) -> dict[int, dict]:
    "The last row logged for each step (a resumed run logs the steps after its checkpoint again)."
    with open(Path(out) / 'log.csv') as f: return {int(r['step']): r for r in csv.DictReader(f)}


def test_two_processes_keep_identical_replicas(tmp_path, data):
    cmd = [str(BIN / 'torchrun'), '--nproc_per_node', '2', '--master_port', '29617', '--no-python'] + \
          train_cmd(data, tmp_path / 'ddp', steps=3, batch=4, ckpt_every=3)
    r = subprocess.run(cmd, env=env(1), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads((tmp_path / 'ddp' / 'summary.json').read_text())
    assert summary == dict(step=3, world_size=2, replicas_identical=True)
    log = read_log(tmp_path / 'ddp')
    assert sorted(log) == [1, 2, 3] and all(row['skipped'] == '0' for row in log.values())


def test_sigkill_then_resume_follows_the_uninterrupted_run(tmp_path, data):
    ref = subprocess.run(train_cmd(data, tmp_path / 'ref'), env=env(), capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-3000:]
    run = tmp_path / 'run'
    p = subprocess.Popen(train_cmd(data, run), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:                      # wait until step 3 is logged: a checkpoint at 2 exists
        if (run / 'log.csv').is_file() and max(read_log(run), default=0) >= 3: break
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL); p.wait()
    killed_at = max(read_log(run))
    assert killed_at < 6, 'the run should have been killed before it finished'
    ckpts = sorted((run / 'checkpoints').glob('step_*.safetensors'))
    last = int(ckpts[-1].stem.split('_')[1])
    assert killed_at - last <= 2, 'at most the steps since the last checkpoint are lost'
    r = subprocess.run(train_cmd(data, run, '--resume'), env=env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'at step {last}' in r.stdout
    a, b = read_log(tmp_path / 'ref'), read_log(run)
    assert sorted(a) == sorted(b) == list(range(1, 7))
    for s in range(1, 7):
        for k in ('g_total', 'd_total', 'id', 'seg', 'rec', 'cyc', 'adv', 'r1'):
            assert float(a[s][k]) == pytest.approx(float(b[s][k]), rel=1e-5, abs=1e-7), (s, k)


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path, data):
    out = tmp_path / 'term'
    p = subprocess.Popen(train_cmd(data, out, steps=50, ckpt_every=100), env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not ((out / 'log.csv').is_file() and read_log(out)): time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    text, _ = p.communicate(timeout=300)
    assert p.returncode == 0, text[-3000:]
    step = json.loads((out / 'summary.json').read_text())['step']
    assert 1 <= step < 50 and (out / 'checkpoints' / f'step_{step:08d}.safetensors').is_file()
    assert 'stopping at step' in text


def test_bad_configs_say_what_is_wrong(tmp_path, data):
    def run(*args): return subprocess.run([str(BIN / 'hififace-train'), *args], env=env(), capture_output=True, text=True)
    r = run('--data', str(data), '--set', 'batchsize=8')
    assert r.returncode == 2 and "unknown config keys ['batchsize']" in r.stderr
    r = run('--config', str(tmp_path / 'missing.toml'), '--data', str(data))
    assert r.returncode == 2 and 'no config file' in r.stderr
    r = run('--set', 'base=4')
    assert r.returncode == 2 and 'no dataset' in r.stderr
    r = run('--help')
    assert 'research, education' in r.stdout and 'torchrun' in r.stdout


def test_paper_configs_load():
    from hififace.train import TrainConfig
    for name, size, batch in (('paper_256', 256, 32), ('paper_512', 512, 16)):
        cfg = TrainConfig.load(ROOT / 'configs' / f'{name}.toml')
        assert (cfg.size, cfg.batch_size, cfg.steps, cfg.beta1, cfg.beta2, cfg.lr_g) == (size, batch, 200_000, 0., 0.99, 1e-4)


def test_gradient_clipping_is_applied(tmp_path, data, monkeypatch):
    import torch
    from hififace.train import Trainer, TrainConfig
    monkeypatch.setenv('HIFIFACE_WEIGHTS', str(tmp_path / 'none'))
    norms = []
    real_clip = torch.nn.utils.clip_grad_norm_
    def spy(params, max_norm, *a, **k):
        params = list(params); total = real_clip(params, max_norm, *a, **k)
        norms.append((float(total), float(torch.norm(torch.stack([p.grad.norm() for p in params if p.grad is not None])))))
        return total
    monkeypatch.setattr(torch.nn.utils, 'clip_grad_norm_', spy)
    cfg = TrainConfig.load(None, SMALL + ['batch_size=2', 'grad_clip=0.001', f'data="{data}"', f'out="{tmp_path / "clip"}"'])
    Trainer(cfg, progress=False).fit(1)
    assert len(norms) == 2                                             # G and D
    for before, after in norms: assert before > 0.001 and after == pytest.approx(0.001, rel=1e-3)
