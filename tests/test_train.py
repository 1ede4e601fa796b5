"""hififace train as a user runs it: torchrun with 2 processes (steps not a multiple of ckpt_every, SIGTERM, two nodes
without a shared filesystem), SIGKILL and resume, SIGTERM, refusals (missing pretrained files or mini priors, another
model's checkpoint), bad configs, TensorBoard's events against log.csv (and training without the tensorboard
package). Most train the smallest model with the mini priors; one step runs the real layout."""
import csv, json, os, signal, socket, subprocess, time
from pathlib import Path

import pytest

from conftest import BIN, ROOT
from hififace.data import make_synthetic_dataset

# The pretrained files are absent here: tests opt in explicitly to what stands in for them. Most train the smallest
# generator (64 px, base 4) with the mini priors of hififace.priors as F_3d and F_id (tiny networks, shipped in
# data/priors), the mini face model, and no LPIPS: a CPU step costs a fraction of a second.
MINI = ['size=64', 'base=4', "priors='mini'", "bfm='mini'"]
SMALL = [*MINI, 'loss_weights={lpips=0}', 'num_workers=0', 'log_every=1', 'sample_every=1000', 'seed=3']
# where only the loop's control flow is under test: without L_shape and L_cyc a CPU step costs about half
CHEAP = SMALL + ['loss_weights={shape=0, cyc=0, lpips=0}']
# the real networks' layout, randomly initialised (ResNet-50 F_3d at 224 px, IResNet-50 F_id at 112 px, a random VGG-16
# for LPIPS): over ten times the cost of a step with the mini priors, so one test runs them for one step
RANDOM = ['size=64', 'base=4', "priors='random'", 'arcface="arcface_r50"', "bfm='mini'", 'lpips_pretrained=false',
          'num_workers=0', 'log_every=1', 'sample_every=1000', 'seed=3']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp('data'), n_identities=4, per_identity=3, size=64)


@pytest.fixture(scope='module')
def torch_home(tmp_path_factory):
    return tmp_path_factory.mktemp('torch_home')                 # no VGG-16 in torch.hub's cache


def env(threads=1, torch_home='/nonexistent-torch-home'):
    """One thread by default: these networks are tiny, and two OpenMP threads on a busy 2-core machine spin-wait for each
    other (measured: 2 to 20 s per step instead of 0.3 to 0.5 s)."""
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1', HIFIFACE_WEIGHTS='/nonexistent',
             TORCH_HOME=str(torch_home))
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): e.pop(k, None)
    return e


def train_cmd(data, out, *extra, steps=6, batch=2, ckpt_every=2, small=SMALL):
    return [str(BIN / 'hififace-train'), '--data', str(data), '--out', str(out), '--steps', str(steps),
            '--set', *small, f'batch_size={batch}', f'ckpt_every={ckpt_every}', *extra]


def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def torchrun(*args) -> list[str]:
    return [str(BIN / 'torchrun'), *args, '--no-python']


def stop(p: subprocess.Popen):
    "End a launcher that hangs: SIGTERM (torchrun passes it on, then kills its workers), then SIGKILL."
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try: p.wait(60)
        except subprocess.TimeoutExpired: p.kill(); p.wait()


def finish(p: subprocess.Popen, timeout: float) -> str:
    "Wait for a launched run; a hang fails the test (and is cleaned up) instead of blocking forever."
    try: return p.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        stop(p); pytest.fail(f'no exit within {timeout} s: hung\n' + (p.stdout.read() if p.stdout else '')[-3000:])


def launch(cmd, cwd=None, **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=kw.pop('env', env(1)), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_log(out) -> dict[int, dict]:
    "The last row logged for each step (a resumed run logs the steps after its checkpoint again)."
    with open(Path(out) / 'log.csv') as f: return {int(r['step']): r for r in csv.DictReader(f)}


def read_tb(out):
    "What TensorBoard shows of a run folder (its own reader, purges applied): {tag: [(step, value)]} and the images."
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(Path(out) / 'tb'), size_guidance={'scalars': 0, 'images': 0}).Reload()
    images = ea.Images('samples') if 'samples' in ea.Tags()['images'] else []
    return {t: [(e.step, e.value) for e in ea.Scalars(t)] for t in ea.Tags()['scalars']}, images


def assert_tb_matches_log(out):
    "Every log.csv column but `step` is a TensorBoard scalar with log.csv's steps and values (float32); the images come back."
    import numpy as np
    from hififace.train import tb_tag
    log, (scalars, images) = read_log(out), read_tb(out)
    columns = next(iter(log.values())).keys() - {'step'}
    assert sorted(scalars) == sorted(tb_tag(k) for k in columns), sorted(scalars)
    assert {'loss/g_total', 'loss/d_total', 'monitor/id_sim_source', 'lr/lr_g', 'speed/img_per_s'} <= set(scalars)
    for k in columns: assert scalars[tb_tag(k)] == [(s, float(np.float32(float(log[s][k])))) for s in sorted(log)], k
    return images


def tb_files(out) -> list[Path]: return sorted((Path(out) / 'tb').glob('events.out.tfevents.*'))


def ckpt_steps(out) -> list[int]:
    return sorted(int(p.stem.split('_')[1]) for p in (Path(out) / 'checkpoints').glob('step_*.safetensors'))


def test_two_processes_keep_identical_replicas(tmp_path, data):
    "3 steps with ckpt_every=2: the end of the run is not a checkpoint step, so the last save is decided at the end."
    p = launch(torchrun('--nproc_per_node', '2', '--master_port', str(free_port())) +
               train_cmd(data, tmp_path / 'ddp', steps=3, batch=4, ckpt_every=2))
    text = finish(p, 600)
    assert p.returncode == 0, text[-3000:]
    summary = json.loads((tmp_path / 'ddp' / 'summary.json').read_text())
    assert summary == dict(step=3, world_size=2, replicas_identical=True)
    log = read_log(tmp_path / 'ddp')
    assert sorted(log) == [1, 2, 3] and all(row['skipped'] == '0' for row in log.values())
    assert ckpt_steps(tmp_path / 'ddp') == [2, 3]
    assert len(tb_files(tmp_path / 'ddp')) == 1                          # TensorBoard: rank 0 only, as log.csv
    assert [i.step for i in assert_tb_matches_log(tmp_path / 'ddp')] == [3]


def test_two_processes_stop_cleanly_on_sigterm(tmp_path, data):
    "SIGTERM to torchrun reaches both workers (and their DataLoader workers): both stop at the same step and save."
    out = tmp_path / 'term'
    p = launch(torchrun('--nproc_per_node', '2', '--master_port', str(free_port())) +
               train_cmd(data, out, 'num_workers=1', steps=2000, batch=4, ckpt_every=1000, small=CHEAP))
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and not ((out / 'log.csv').is_file() and read_log(out)): time.sleep(0.2)
    assert p.poll() is None, p.stdout.read()[-3000:]
    p.send_signal(signal.SIGTERM)
    text = finish(p, 120)                                        # torchrun SIGKILLs workers that take over 30 s
    summary = json.loads((out / 'summary.json').read_text())           # written after fit() returned on both ranks
    step = summary['step']
    assert summary['replicas_identical'] and 1 <= step < 1000 and ckpt_steps(out) == [step], text[-3000:]
    assert 'stopping at step' in text, text[-3000:]
    assert 'DataLoader worker' not in text and 'ChildFailedError' not in text, text[-3000:]   # no worker died
    # the one traceback allowed is torchrun's own report that it was signalled (it re-raises after its workers ended)
    assert text.count('Traceback (most recent call last)') == text.count('SignalException: Process'), text[-3000:]


def test_two_nodes_without_a_shared_filesystem(tmp_path, data):
    """Two 'nodes' (torchrun --nnodes 2 on this machine), each with its own run folder: rank 1 never sees rank 0's
    checkpoints. The run ends on a checkpoint step; before the fix rank 1 saved again alone and waited forever."""
    port = free_port()
    nodes = []
    for rank in (0, 1):
        (tmp_path / f'node{rank}').mkdir()
        nodes.append(launch(torchrun('--nnodes', '2', '--nproc_per_node', '1', '--node_rank', str(rank),
                                     '--master_addr', '127.0.0.1', '--master_port', str(port)) +
                            train_cmd(data, 'run', steps=4, batch=4, ckpt_every=2, small=CHEAP), cwd=tmp_path / f'node{rank}'))
    try:
        texts = [finish(p, 600) for p in nodes]
    finally:
        for p in nodes: stop(p)
    assert [p.returncode for p in nodes] == [0, 0], texts[0][-2000:] + texts[1][-2000:]
    assert ckpt_steps(tmp_path / 'node0' / 'run') == [2, 4]
    assert not (tmp_path / 'node1' / 'run' / 'checkpoints').exists()    # only rank 0 writes
    assert not (tmp_path / 'node1' / 'run' / 'tb').exists() and len(tb_files(tmp_path / 'node0' / 'run')) == 1


def same_state(a, b, where='') -> list[str]:
    "Where two checkpoint states differ, bit for bit (tensors, arrays, numbers, nested dicts and lists)."
    import numpy as np, torch
    if isinstance(a, torch.Tensor):
        return [] if isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b) else [where]
    if isinstance(a, np.ndarray): return [] if isinstance(b, np.ndarray) and np.array_equal(a, b) else [where]
    if isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b): return [where]
        return [d for k in a for d in same_state(a[k], b[k], f'{where}/{k}')]
    if isinstance(a, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b): return [where]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same_state(x, y, f'{where}/{i}')]
    return [] if a == b else [where]


def test_sigkill_then_resume_follows_the_uninterrupted_run(tmp_path, data):
    """Killed at step >= 3 and resumed from its last checkpoint, a run ends bit for bit where the uninterrupted one does.
    TensorBoard shows both as log.csv (read with the last row per step): the resumed run's events, in a file of its own,
    replace what the killed one logged after its checkpoint (purge_step)."""
    from hififace.train import load_checkpoint
    steps = 8
    ref = subprocess.run(train_cmd(data, tmp_path / 'ref', steps=steps), env=env(), capture_output=True, text=True, timeout=600)
    assert ref.returncode == 0, ref.stderr[-3000:]
    assert "priors='mini'" in ref.stdout and 'MINI PRIORS' in ref.stdout       # the notice, once
    run = tmp_path / 'run'
    p = subprocess.Popen(train_cmd(data, run, steps=steps), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:                      # wait until step 3 is logged: a checkpoint at 2 exists
        if (run / 'log.csv').is_file() and max(read_log(run), default=0) >= 3: break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    killed_at = max(read_log(run))
    assert killed_at < steps, 'the run should have been killed before it finished'
    last = ckpt_steps(run)[-1]
    assert killed_at - last <= 2, 'at most the steps since the last checkpoint are lost'
    r = subprocess.run(train_cmd(data, run, '--resume', steps=steps), env=env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f'at step {last}' in r.stdout
    a, b = read_log(tmp_path / 'ref'), read_log(run)
    assert sorted(a) == sorted(b) == list(range(1, steps + 1))
    for s in a:                                        # every logged number, as written (repr of the float): bit for bit
        assert {k: v for k, v in a[s].items() if k != 'img_per_s'} == {k: v for k, v in b[s].items() if k != 'img_per_s'}, s
    assert ckpt_steps(tmp_path / 'ref')[-1] == ckpt_steps(run)[-1] == steps
    assert [i.step for i in assert_tb_matches_log(tmp_path / 'ref')] == [i.step for i in assert_tb_matches_log(run)] == [steps]
    assert len(tb_files(tmp_path / 'ref')) == 1 and len(tb_files(run)) == 2       # the resumed process adds its own file
    A, B = (load_checkpoint(Path(d) / 'checkpoints' / f'step_{steps:08d}.safetensors') for d in (tmp_path / 'ref', run))
    assert A['config']['out'] != B['config']['out']    # the one thing that differs
    A.pop('config'); B.pop('config')
    assert sorted(A) == ['D', 'G', 'opt_d', 'opt_g', 'rng', 'scaler_d', 'scaler_g', 'step']
    assert same_state(A, B) == []                      # both networks, both optimisers, the scalers, every RNG


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path, data):
    out = tmp_path / 'term'
    p = subprocess.Popen(train_cmd(data, out, steps=1000, ckpt_every=1000), env=env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not ((out / 'log.csv').is_file() and read_log(out)): time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    text = finish(p, 300)
    assert p.returncode == 0, text[-3000:]
    step = json.loads((out / 'summary.json').read_text())['step']
    assert 1 <= step < 1000 and ckpt_steps(out) == [step]
    assert 'stopping at step' in text


def test_refuses_without_pretrained_files(tmp_path, data, torch_home):
    "The paper's config on a machine without the files: one message naming each, exit 2, nothing written."
    out = tmp_path / 'run'
    r = subprocess.run([str(BIN / 'hififace-train'), '--config', str(ROOT / 'configs' / 'paper_256.toml'), '--data', str(data),
                        '--out', str(out)], env=env(torch_home=torch_home), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    for name in ('epoch_20.pth', 'ms1mv3_arcface_r100_fp16/backbone.pth', 'BFM_model_front.mat', 'hififace convert-bfm',
                 str(torch_home / 'hub' / 'checkpoints' / 'vgg16-397923af.pth'),
                 'https://download.pytorch.org/models/vgg16-397923af.pth', "priors='random'"):
        assert name in r.stderr, (name, r.stderr)
    assert 'Traceback' not in r.stderr and 'RANDOMLY' not in r.stdout + r.stderr
    assert not out.exists(), 'a refused run writes nothing'
    # n3d and no L_shape: F_3d and the BFM are not needed; still F_id
    r = subprocess.run(train_cmd(data, out, 'n3d=true', small=['size=64', 'base=4', 'lpips_pretrained=false']),
                       env=env(torch_home=torch_home), capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'arcface_r100' in r.stderr and 'epoch_20.pth' not in r.stderr and 'BFM' not in r.stderr
    assert not out.exists()


def test_refusal_comes_before_anything_heavy_is_built(tmp_path, data, torch_home, monkeypatch, capsys):
    """In process, with every network, the dataset and the process group replaced by a trap: the paper's config without
    its files is refused (exit 2) without building any of them. (How long the refusal takes: bench/bench_refusal.py.)"""
    import hififace.train as T
    built = []
    def trap(name):
        def f(*a, **k): built.append(name); raise AssertionError(f'{name} built before the refusal')
        return f
    for name in ('Generator', 'Discriminator', 'FacePairs', 'IResNet', 'ReconNet', 'LPIPS', 'ParametricFaceModel',
                 'build_pretrained'):
        monkeypatch.setattr(T, name, trap(name))
    monkeypatch.setattr(T.dist, 'init_process_group', trap('init_process_group'))
    monkeypatch.setattr(T, 'fetch_vgg16', trap('fetch_vgg16'))         # more than VGG-16 is missing: no download tried
    monkeypatch.setenv('HIFIFACE_WEIGHTS', '/nonexistent'); monkeypatch.setenv('TORCH_HOME', str(torch_home))
    for k in ('WORLD_SIZE', 'RANK', 'LOCAL_RANK'): monkeypatch.delenv(k, raising=False)
    out = tmp_path / 'run'
    with pytest.raises(SystemExit) as e:
        T.train_cli(['--config', str(ROOT / 'configs' / 'paper_256.toml'), '--data', str(data), '--out', str(out)])
    assert e.value.code == 2 and built == []
    err = capsys.readouterr().err
    assert 'epoch_20.pth' in err and 'ms1mv3_arcface_r100_fp16/backbone.pth' in err, err
    assert not out.exists()


def test_refuses_without_the_mini_priors(tmp_path, data):
    "priors='mini' where data/priors is missing ($HIFIFACE_PRIORS: an empty folder): the same refusal, naming both files."
    e = env()
    e['HIFIFACE_PRIORS'] = str(tmp_path / 'no_priors')
    (tmp_path / 'no_priors').mkdir()
    r = subprocess.run(train_cmd(data, tmp_path / 'run'), env=e, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    for name in (tmp_path / 'no_priors' / 'mini_f3d.safetensors', tmp_path / 'no_priors' / 'mini_fid.safetensors',
                 'hififace train-prior f3d', 'hififace train-prior fid'):
        assert str(name) in r.stderr, (name, r.stderr)
    assert 'arcface' not in r.stderr and 'epoch_20.pth' not in r.stderr       # the real priors play no part
    assert 'Traceback' not in r.stderr and 'MINI PRIORS' not in r.stdout
    assert not (tmp_path / 'run').exists() and os.listdir(tmp_path / 'no_priors') == []


def test_offline_vgg_download_becomes_the_refusal(tmp_path, data, torch_home):
    "Only LPIPS's VGG-16 missing: the trainer tries to fetch it; offline (a dead proxy stands for it) that is a refusal."
    e = env(torch_home=torch_home)
    e.update(https_proxy='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9', no_proxy='', NO_PROXY='')
    r = subprocess.run(train_cmd(data, tmp_path / 'run', small=MINI), env=e, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr                      # LPIPS is on (weight 5) with the pretrained VGG-16
    assert 'vgg16-397923af.pth' in r.stderr and 'failed (URLError' in r.stderr and 'Traceback' not in r.stderr
    assert 'mini_f3d' not in r.stderr                                  # the shipped priors are there
    assert not (tmp_path / 'run').exists() and not list(torch_home.rglob('*.pth'))


def test_resume_with_another_model_refuses(tmp_path, data):
    "The first run, one step, stands for a machine without the tensorboard package: it trains and says so once."
    out = tmp_path / 'run'
    fake = tmp_path / 'no_tensorboard' / 'tensorboard'                # a tensorboard that cannot be imported, first on the path
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("raise ModuleNotFoundError(\"No module named 'tensorboard'\", name='tensorboard')\n")
    r = subprocess.run(train_cmd(data, out, steps=1, small=CHEAP), env=dict(env(), PYTHONPATH=str(fake.parent)),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('TensorBoard logs are off') == 1 and 'pip install tensorboard' in r.stdout, r.stdout
    assert 'Traceback' not in r.stderr and not (out / 'tb').exists() and ckpt_steps(out) == [1]
    before = sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob('*'))
    r = subprocess.run(train_cmd(data, out, 'base=8', 'n3d=true', '--resume', steps=4, small=CHEAP), env=env(), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 2, r.stdout + r.stderr
    assert 'base: 4 in the checkpoint vs 8 now' in r.stderr and 'n3d: false in the checkpoint vs true now' in r.stderr
    assert 'Traceback' not in r.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in out.rglob('*')) == before, 'nothing written'


def test_bad_configs_say_what_is_wrong(tmp_path, data, monkeypatch, capsys):
    "In-process (train_cli, as the installed command calls it) to spare a Python start per case; --help as installed."
    from hififace.train import train_cli
    monkeypatch.setenv('HIFIFACE_WEIGHTS', '/nonexistent')
    def run(*args):
        with pytest.raises(SystemExit) as e: train_cli(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, e.value.code, out.out, out.err)
    r = run('--data', str(data), '--set', 'batchsize=8')
    assert r.returncode == 2 and "unknown config keys ['batchsize']" in r.stderr
    r = run('--config', str(tmp_path / 'missing.toml'), '--data', str(data))
    assert r.returncode == 2 and 'no config file' in r.stderr
    r = run('--set', 'base=4')
    assert r.returncode == 2 and 'no dataset' in r.stderr
    r = run('--data', str(data), '--set', "priors='tiny'")
    assert r.returncode == 2 and "priors must be one of ['real', 'mini', 'random']" in r.stderr
    r = run('--data', str(data), '--set', "priors='mini'")
    assert r.returncode == 2 and "priors='mini' needs bfm='mini'" in r.stderr and 'Traceback' not in r.stderr
    r = run('--data', str(tmp_path / 'nowhere'), '--set', *SMALL)
    assert r.returncode == 2 and 'no dataset folder' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path / 'nowhere').exists()
    r = subprocess.run([str(BIN / 'hififace-train'), '--help'], env=env(), capture_output=True, text=True)
    assert r.returncode == 0 and 'research, education' in r.stdout and 'torchrun' in r.stdout


def test_paper_configs_load():
    from hififace.train import TrainConfig
    for name, size, batch in (('paper_256', 256, 32), ('paper_512', 512, 16)):
        cfg = TrainConfig.load(ROOT / 'configs' / f'{name}.toml')
        assert (cfg.size, cfg.batch_size, cfg.steps, cfg.beta1, cfg.beta2, cfg.lr_g) == (size, batch, 200_000, 0., 0.99, 1e-4)
        assert (cfg.priors, cfg.bfm, cfg.lpips_pretrained) == ('real', '', True)   # the real networks, never stand-ins


def test_gradient_clipping_is_applied(tmp_path, data, monkeypatch):
    "One step on the real networks' layout (priors='random', LPIPS on a random VGG-16): the one test that runs them."
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
    cfg = TrainConfig.load(None, RANDOM + ['batch_size=2', 'grad_clip=0.001', f'data="{data}"', f'out="{tmp_path / "clip"}"'])
    trainer = Trainer(cfg, progress=False)
    assert (type(trainer.extractor.f3d).__name__, type(trainer.extractor.fid).__name__) == ('ReconNet', 'IResNet')
    assert trainer.objective.lpips is not None and trainer.objective.w.lpips > 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                                           # as env(): faster on a busy machine (13 s vs 42 s)
    try: hist = trainer.fit(1)
    finally: torch.set_num_threads(threads)
    assert len(norms) == 2                                             # G and D
    assert hist[0]['same_pairs'] > 0 and hist[0]['lpips'] > 0           # LPIPS measured the step's same-identity pairs
    for before, after in norms: assert before > 0.001 and after == pytest.approx(0.001, rel=1e-3)
