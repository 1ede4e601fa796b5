"""The mini priors: the shipped files load strictly and reproduce their metrics, plug into HifiFace unchanged, and train."""
import json
import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from hififace.align import crop_112, crop_224
from hififace.bfm import ParametricFaceModel, mini_face_model_path
from hififace.priors import (F3D_KINDS, PRIOR_FILES, PRIOR_KINDS, PRIOR_TARGETS, PRIOR_TOLERANCE, SMALL_HELDOUT, PriorConfig,
                             build_prior, evaluator_embedding, heldout_batch, load_prior, mini_evaluator, mini_extractor,
                             mini_parser, prior_config, prior_metrics, priors_dir,
                             train_prior, train_prior_cli)
from hififace.synth import MINI_WORLD_SEED
from hififace.sid import FaceParser, ShapeAwareIdentityExtractor, face_region_mask
from hififace.weights import compare_metrics, read_manifest, sha256sum


@pytest.fixture(scope='module')
def manifest():
    return read_manifest(priors_dir())


@pytest.fixture(scope='module')
def small64():
    return heldout_batch(64, **SMALL_HELDOUT)


@pytest.mark.parametrize('kind', PRIOR_KINDS)
def test_shipped_file_matches_manifest_and_loads_strictly(kind, manifest):
    rec = manifest['files'][PRIOR_FILES[kind]]
    path = priors_dir() / PRIOR_FILES[kind]
    assert sha256sum(path) == rec['sha256'] and path.stat().st_size == rec['bytes']
    net = load_prior(kind)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == rec['parameters']
    stored = load_file(str(path))
    assert set(stored) == set(net.state_dict())                          # strict: the same keys, nothing extra
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    threads = '' if rec['training']['threads'] == 1 else f" --threads {rec['training']['threads']}"   # the run's thread count
    assert rec['command'] == f'.venv/bin/hififace-train-prior {kind} --out data/priors{threads}'


def test_shipped_priors_are_small(manifest):
    assert sum(r['bytes'] for r in manifest['files'].values()) < 10e6
    assert set(manifest['files']) == set(PRIOR_FILES.values())


def test_synthfaces_still_draws_the_world_the_priors_were_measured_in(manifest):
    from hififace.synth import check_synth_reference, synth_reference_sha256
    assert {r['heldout']['small']['synth_reference'] for r in manifest['files'].values()} == {synth_reference_sha256()}
    diff = check_synth_reference()           # within the contract of 07a (bit-exact on the machine that stored it)
    assert diff['labels'] <= 1e-4 and diff['landmarks_px'] <= 1e-3


def test_a_changed_world_is_caught(monkeypatch):
    import hififace.synth as synth
    monkeypatch.setattr(synth, 'YAW_RANGE', synth.YAW_RANGE - 1)
    with pytest.raises(AssertionError, match='no longer draws its reference images'): synth.check_synth_reference()


@pytest.mark.parametrize('kind', PRIOR_KINDS)
def test_shipped_metrics_reproduce_on_the_small_heldout_set(kind, manifest, small64):
    rec = manifest['files'][PRIOR_FILES[kind]]
    cfg = PriorConfig(**rec['config'])
    assert cfg.size == 64
    batch = small64 if cfg.data_seed == MINI_WORLD_SEED else heldout_batch(64, **SMALL_HELDOUT, data_seed=cfg.data_seed)   # its own world
    got = prior_metrics(kind, load_prior(kind), batch)
    checked = {k: t for k, t in PRIOR_TOLERANCE.items() if k in got}
    assert checked
    assert compare_metrics(got, rec['metrics_small'], checked) == []


@pytest.mark.parametrize('kind', PRIOR_KINDS)
def test_shipped_priors_are_trained(kind, small64):
    "Far from what an untrained network of the same kind gets on the same images."
    metric, op, goal = PRIOR_TARGETS[kind]
    torch.manual_seed(0)
    trained = prior_metrics(kind, load_prior(kind), small64)[metric]
    if kind in F3D_KINDS:
        net = build_prior(prior_config(kind))
        net.coef_mean.copy_(small64['coeffs'].mean(0))                  # the best constant guess: the mean face
        untrained = prior_metrics(kind, net, small64)[metric]
        assert trained < 0.5 * untrained, (trained, untrained)
    else:
        untrained = prior_metrics(kind, build_prior(prior_config(kind)), small64)[metric]
        assert trained > untrained + 0.05, (trained, untrained)


def test_a_file_with_a_missing_key_is_refused(tmp_path):
    src = priors_dir() / PRIOR_FILES['fid']
    sd = load_file(str(src))
    from safetensors import safe_open
    with safe_open(str(src), 'pt') as f: meta = f.metadata()
    sd.pop('fc.weight')
    save_file(sd, str(tmp_path / 'bad.safetensors'), metadata=meta)
    with pytest.raises(ValueError, match=r'strict load') as e: load_prior('fid', tmp_path / 'bad.safetensors')
    assert 'Missing key(s) in state_dict: "fc.weight"' in str(e.value)
    with pytest.raises(ValueError, match="holds a 'fid' prior, not 'f3d'"): load_prior('f3d', src)
    with pytest.raises(FileNotFoundError, match='hififace train-prior evaluator'): load_prior('evaluator', tmp_path / 'no.safetensors')


def test_mini_extractor_is_the_shape_aware_identity_extractor(small64):
    ex = mini_extractor('paper')
    assert isinstance(ex, ShapeAwareIdentityExtractor)
    I = small64['image'][:4]
    sid = ex(I, I.flip(0))
    assert sid.v_sid.shape == (4, 662) and mini_extractor('full').dim == 769
    torch.testing.assert_close(sid.c_s, ex.f3d(crop_224((I + 1) / 2)))
    torch.testing.assert_close(sid.upsilon_s, F.normalize(ex.fid(crop_112(I)), dim=-1))
    # the same identity is closer than another identity (images 0-3 are identity 0, 4-7 identity 1)
    u = ex.identity(small64['image'][:8])
    assert (u[0] @ u[1:4].T).min() > (u[0] @ u[4:8].T).max()


def test_mini_extractor_inside_hififace_objective():
    from hififace.discriminator import Discriminator
    from hififace.generator import Generator, HifiFaceConfig
    from hififace.losses import HifiFaceObjective
    torch.manual_seed(0)
    ex, fm = mini_extractor(), ParametricFaceModel(mini_face_model_path())
    G, D = Generator(HifiFaceConfig(base=4)), Discriminator(HifiFaceConfig(base=4))
    pair = heldout_batch(256, identities=2, per_identity=1)
    D.requires_grad_(False)
    total, terms, _ = HifiFaceObjective(ex, fm).generator_loss(G, D, pair['image'][:1], pair['image'][1:],
                                                               pair['M_tar'][1:], torch.tensor([False]))
    total.backward()
    assert math.isfinite(total.item()) and terms['shape'] > 0 and terms['id'] > 0
    assert [n for n, p in G.named_parameters() if p.grad is None] == []
    assert [n for n, p in ex.named_parameters() if p.grad is not None] == []


def test_mini_parser_is_a_face_parser(small64):
    parser = mini_parser()
    assert isinstance(parser, FaceParser)
    out = parser.net(torch.zeros(1, 3, 512, 512))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 19, 512, 512)   # BiSeNet's contract
    img = small64['image'][:8]
    m = parser.face_mask(img, dilation=1)
    gt = face_region_mask(small64['parsing'][:8].long(), 1)
    assert m.shape == gt.shape == (8, 1, 64, 64)
    assert ((m > 0) & (gt > 0)).sum() / ((m > 0) | (gt > 0)).sum() > 0.9
    assert parser.face_mask(F.interpolate(img, 256, mode='bilinear')).shape == (8, 1, 256, 256)   # any size


def test_evaluator_embedding(small64):
    e = evaluator_embedding(mini_evaluator(), small64['image'][:8])
    torch.testing.assert_close(e.norm(dim=1), torch.ones(8))
    assert (e[0] @ e[1:4].T).min() > (e[0] @ e[4:8].T).max()


@pytest.mark.parametrize('kind', PRIOR_KINDS)
def test_two_training_steps(kind):
    cfg = prior_config(kind, identities=3, per_identity=2, steps=2, batch_size=4, eval_every=2)
    before = build_prior(cfg).state_dict()
    net, hist = train_prior(kind, cfg, progress=False, eval_batch=heldout_batch(64, identities=2, per_identity=2))
    assert len(hist['loss']) == 2 and all(math.isfinite(v) for v in hist['loss'])
    assert hist['eval_step'] == [2] and hist['config']['kind'] == kind
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.endswith('weight') for k in changed)


def test_cli_writes_a_loadable_file_and_manifest(tmp_path):
    assert train_prior_cli(['fid', '--out', str(tmp_path), '--steps', '2', '--identities', '3', '--per-identity', '2',
                            '--batch-size', '4', '--heldout', '3', '2', '--quiet']) is None   # a console script's exit status 0
    man = json.loads((tmp_path / 'MANIFEST.json').read_text())
    entry = man['files']['mini_fid.safetensors']
    assert entry['command'] == f'.venv/bin/hififace-train-prior fid --out {tmp_path}'
    assert (tmp_path / 'mini_fid.safetensors').stat().st_mode & 0o044 == 0o044                 # readable by all, as umask allows
    assert entry['sha256'] == sha256sum(tmp_path / 'mini_fid.safetensors')
    assert entry['config']['steps'] == 2 and entry['metrics']['genuine_pairs'] == 3
    load_prior('fid', tmp_path / 'mini_fid.safetensors')
    hist = json.loads((tmp_path / 'mini_fid.history.json').read_text())
    assert len(hist['loss']) == 2


def test_without_real_weights_the_notebooks_get_the_mini_priors_and_one_line(tmp_path, monkeypatch, capsys):
    from hififace.priors import MiniIResNet, MiniParsingNet, MiniReconNet, extractor_or_mini, parser_or_mini
    monkeypatch.setenv('HIFIFACE_WEIGHTS', str(tmp_path))
    ex = extractor_or_mini('full')
    assert isinstance(ex.f3d, MiniReconNet) and isinstance(ex.fid, MiniIResNet) and ex.dim == 769
    assert isinstance(parser_or_mini().net, MiniParsingNet)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all('mini' in line and 'SynthFaces' in line for line in out)
