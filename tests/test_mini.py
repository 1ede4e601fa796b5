"""HifiFace-mini as a user handles it: hififace ship-mini on a finished run (export, manifest, quick check), a tampered
or foreign file, a run without checkpoints; and the 128 px configuration training a step. Tiny runs (64 px, base 4,
the mini priors) and few held-out pairs keep each test to seconds; notebook 08 checks the shipped generators."""
import json, os, re, subprocess

import pytest
import torch

from conftest import BIN, ROOT
from hififace.data import make_synthetic_dataset

MINI = ['size=64', 'base=4', "priors='mini'", "bfm='mini'", 'loss_weights={lpips=0}', 'num_workers=0', 'log_every=1',
        'sample_every=1000', 'seed=3', 'batch_size=2']


def env():
    e = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1', HIFIFACE_WEIGHTS='/nonexistent')
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): e.pop(k, None)
    return e


def run(*cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env(), cwd=ROOT, timeout=600)


@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
    "A 4-step run with checkpoints at steps 2 and 4, with the shipped models' architecture and averaged weights (configs/mini_64_*.toml)."
    d = tmp_path_factory.mktemp('mini')
    data = make_synthetic_dataset(d / 'data', n_identities=4, per_identity=3, size=64)
    r = run(BIN / 'hififace-train', '--data', data, '--out', d / 'run', '--steps', 4, '--set', *MINI, 'ckpt_every=2', 'keep_ckpts=5',
            'ema=0.999', 'bottleneck=8', 'low=32')
    assert r.returncode == 0, r.stderr[-2000:]
    return d / 'run'


@pytest.fixture(scope='module')
def shipped(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp('shipped')
    r = run(BIN / 'hififace-ship-mini', trained_run, '--name', 'tiny', '--config', 'configs/mini_64_full.toml',
            '--out', out, '--pairs', 6, 4)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'tiny.safetensors' in r.stdout and '6 held-out pairs' in r.stdout
    return out


def test_ship_writes_weights_log_progress_and_manifest(shipped, trained_run):
    from hififace.mini import load_mini
    from hififace.train import load_checkpoint
    from hififace.weights import read_manifest, sha256sum
    assert sorted(p.name for p in shipped.iterdir()) == ['MANIFEST.json', 'tiny.log.csv', 'tiny.progress.png', 'tiny.safetensors']
    rec = read_manifest(shipped)['files']['tiny.safetensors']
    assert rec['sha256'] == sha256sum(shipped / 'tiny.safetensors') and rec['bytes'] == (shipped / 'tiny.safetensors').stat().st_size
    assert rec['step'] == 4 and rec['progress']['steps'] == [2, 4] and rec['dtype'] == 'float16'
    assert rec['heldout']['full']['pairs'] == 6 and rec['metrics']['n_id_retrieval'] == 6 and rec['metrics_small']['n_id_retrieval'] == 4
    assert 'hififace-train --config configs/mini_64_full.toml' in rec['command'] and 'hififace-ship-mini' in rec['command']
    assert rec['training']['train_s'] > 0 and rec['config']['base'] == 4 and 'data' not in rec['config']
    # the curve: the shipped weights measured at each checkpoint on the table's pairs
    assert [(r['step'], r['weights'], r['n_id_retrieval']) for r in rec['curve']['rows']] == [(2, 'G_ema', 6), (4, 'G_ema', 6)]
    # the file holds the run's last averaged generator (the config's ema), in float16, and loads strictly into the run's architecture
    G = load_mini('tiny', shipped / 'tiny.safetensors')
    assert rec['weights'] == G.weights == 'G_ema'
    ref = load_checkpoint(trained_run / 'checkpoints' / 'step_00000004.safetensors')['G_ema']
    assert (G.cfg.base, G.cfg.bottleneck, G.cfg.low, G.trained_steps) == (4, 8, 32, 4) and set(G.state_dict()) == set(ref)
    for k, v in G.state_dict().items(): assert torch.equal(v, ref[k].half().to(v.dtype)), k
    assert not any(p.requires_grad for p in G.parameters()) and not G.training


def test_check_mini_reproduces_and_catches_a_changed_file(shipped, tmp_path):
    from hififace.mini import check_mini
    got = check_mini(shipped, names=['tiny'])
    assert set(got) == {'tiny'} and got['tiny']['n_id_retrieval'] == 4
    bad = tmp_path / 'bad'; bad.mkdir()
    for p in shipped.iterdir(): (bad / p.name).write_bytes(p.read_bytes())
    man = json.loads((bad / 'MANIFEST.json').read_text())
    man['files']['tiny.safetensors']['metrics_small']['pose_error'] += 1.0            # a manifest that lies
    (bad / 'MANIFEST.json').write_text(json.dumps(man))
    with pytest.raises(AssertionError, match='pose_error'): check_mini(bad, names=['tiny'])
    (bad / 'tiny.safetensors').write_bytes((shipped / 'tiny.safetensors').read_bytes()[:-2] + b'\0\0')   # another file
    with pytest.raises(AssertionError, match='sha256'): check_mini(bad, names=['tiny'])


def test_bad_input_says_what_is_wrong(tmp_path, trained_run):
    from hififace.mini import load_mini
    from hififace.priors import priors_dir
    (tmp_path / 'empty_run').mkdir()
    r = run(BIN / 'hififace-ship-mini', tmp_path / 'empty_run', '--name', 'x', '--config', 'c.toml', '--out', tmp_path / 'o')
    assert r.returncode == 2 and 'no checkpoint' in r.stderr and 'Traceback' not in r.stderr
    r = run(BIN / 'hififace-ship-mini', trained_run, '--name', 'x', '--config', 'c.toml', '--out', tmp_path / 'o', '--step', 3)
    assert r.returncode == 2 and 'no checkpoint of step 3' in r.stderr
    with pytest.raises(ValueError, match='not a HifiFace-mini generator'): load_mini('x', priors_dir() / 'mini_fid.safetensors')
    (tmp_path / 'junk.safetensors').write_text('not weights')
    with pytest.raises(ValueError, match='not a safetensors file'): load_mini('x', tmp_path / 'junk.safetensors')
    with pytest.raises(FileNotFoundError, match='hififace ship-mini'): load_mini('x', tmp_path / 'missing.safetensors')
    r = run(BIN / 'hififace-ship-mini', '--help')
    help_text = re.sub(r'-\s+', '-', ' '.join(r.stdout.split()))                 # undo argparse's line wrapping
    assert r.returncode == 0 and 'research, education and forgery-detection data' in help_text


def test_128_px_trains_a_step(tmp_path):
    "The 128 configuration (the 256 model's modules on a 128 image) trains with the mini priors."
    data = make_synthetic_dataset(tmp_path / 'data', n_identities=3, per_identity=2, size=128)
    r = run(BIN / 'hififace-train', '--data', data, '--out', tmp_path / 'run', '--steps', 1,
            '--set', *[s for s in MINI if not s.startswith('size')], 'size=128')
    assert r.returncode == 0, r.stderr[-2000:]
    rows = (tmp_path / 'run' / 'log.csv').read_text().splitlines()
    head, vals = rows[0].split(','), rows[1].split(',')
    logs = dict(zip(head, vals))
    assert logs['step'] == '1' and logs['skipped'] in ('0', 'False') and float(logs['g_total']) > 0
