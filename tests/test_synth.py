"""hififace synth as a user runs it: the same bytes twice, the FacePairs layout with disjoint splits, ground truth that
matches the coefficients exactly, bad input refused with a message, and hififace train training on its output."""
import csv, hashlib, json, math, os, subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import BIN

ARGS = ['--identities', '5', '--per-identity', '3', '--size', '64', '--seed', '7', '--heldout', '2']


def env(threads=2):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1', HIFIFACE_WEIGHTS='/nonexistent')
    e.pop('WORLD_SIZE', None); e.pop('RANK', None)
    return e


def synth(out, *args):
    return subprocess.run([str(BIN / 'hififace-synth'), str(out), *args], env=env(), capture_output=True, text=True, timeout=900)


def digest(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth') / 'a'
    r = synth(out, *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'wrote 15 images of 3 training and 2 held-out identities' in r.stdout
    return out


def test_the_same_command_writes_the_same_bytes(data, tmp_path):
    r = synth(tmp_path / 'b', *ARGS)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '\r' not in r.stderr and '100%' in r.stderr.splitlines()[-1]   # progress into a log: whole lines, no redraws
    a, b = digest(data), digest(tmp_path / 'b')
    assert len(a) == 1 + 5 + 15 * 5                                    # manifest, identity.json, 5 files per image
    assert a == b
    r = synth(tmp_path / 'c', *ARGS[:-4], '--seed', '8', '--heldout', '2')
    c = digest(tmp_path / 'c')
    assert sorted(c) == sorted(a) and all(c[k] != a[k] for k in a if k.endswith('0000.png'))   # another world


def test_layout_splits_are_disjoint_and_facepairs_reads_them(data):
    from hififace.data import FacePairs
    m = json.loads((data / 'synth.json').read_text())
    assert m['complete'] and m['args'] == dict(identities=5, per_identity=3, size=64, seed=7, heldout=2, occluder_prob=0.3)
    train = sorted(p.name for p in (data / 'train').iterdir()); held = sorted(p.name for p in (data / 'heldout').iterdir())
    assert train == m['splits']['train'] == ['id00000', 'id00001', 'id00002'] and held == m['splits']['heldout']
    assert not set(train) & set(held)
    for split, n in (('train', 3), ('heldout', 2)):
        ds = FacePairs(data / split, size=64, verbose=False)
        assert (len(ds), ds.report.identities, ds.report.rejected) == (3 * n, n, {})   # masks and JSON are not taken for images
        assert ds[0]['I_t'].shape == (3, 64, 64)


def test_ground_truth_matches_the_coefficients_exactly(data):
    from hififace.align import five_from_68, similarity_transform, template_256
    from hififace.bfm import ParametricFaceModel, mini_face_model_path
    from hififace.sid import PARSING_CLASSES, face_region_mask
    fm = ParametricFaceModel(mini_face_model_path())
    kinds = set()
    for path in sorted(data.glob('*/*/0*.json')):
        gt = json.loads(path.read_text())
        c = torch.tensor(gt['coeffs'])[None]
        lm = fm.landmarks(c)[0].double().numpy()                       # the projection of the stored coefficients
        M = similarity_transform(five_from_68(lm), template_256(64))    # hififace prepare's alignment of them
        np.testing.assert_allclose(np.array(gt['align']), M, atol=1e-4)
        np.testing.assert_allclose(np.array(gt['landmarks']), lm @ M[:, :2].T + M[:, 2], atol=1e-3)
        five = five_from_68(np.array(gt['landmarks']))                  # on the template as well as five points can be:
        np.testing.assert_allclose(similarity_transform(five, template_256(64)), np.eye(2, 3), atol=1e-4)
        np.testing.assert_allclose(five.mean(0), template_256(64).mean(0), atol=1e-3)
        np.testing.assert_allclose(list(gt['pose_deg'].values()), np.degrees(gt['coeffs'][224:227]), atol=1e-3)
        name = path.name[:-len('.json')]
        parsing = np.asarray(Image.open(path.with_name(name + '.parsing.mask.png')))
        m_tar = np.asarray(Image.open(path.with_name(name + '.mask.png')))
        occ = np.asarray(Image.open(path.with_name(name + '.occluder.mask.png')))
        assert parsing.max() < len(PARSING_CLASSES) and set(np.unique(m_tar)) <= {0, 255} and set(np.unique(occ)) <= {0, 128, 255}
        ref = face_region_mask(torch.from_numpy(parsing.astype(np.int64))[None], 1)[0, 0].numpy()
        np.testing.assert_array_equal(m_tar > 0, ref > 0)               # M_tar: the face classes (at 64 px dilated by 1: none)
        assert (occ > 0).any() == (gt['occluder'] != 'none')
        kinds.add(gt['occluder'])
    assert len(kinds) >= 2


def test_bad_input_is_refused_with_a_message(data, tmp_path, capsys):
    from hififace.synth import synth_cli
    for args, msg in ((['--identities', '0'], '--identities must be at least 1'),
                      (['--per-identity', '-2'], '--per-identity must be at least 1'),
                      (['--size', '100'], '--size must be one of (64, 128, 256)'),
                      (['--identities', '3', '--heldout', '2'], 'needs at least 2'),
                      (['--heldout', '1.5'], 'whole number'),
                      (['--occluders', '2'], '--occluders must be a share in [0, 1]')):
        with pytest.raises(SystemExit) as e: synth_cli([str(tmp_path / 'x'), *args])
        assert e.value.code == 2 and msg in capsys.readouterr().err, args
    assert not (tmp_path / 'x').exists()
    r = synth(data, *ARGS)                                             # the installed command, on an existing output
    assert r.returncode == 2 and 'pass --overwrite' in r.stderr
    (tmp_path / 'mine').mkdir(); (tmp_path / 'mine' / 'thesis.tex').write_text('keep me')
    with pytest.raises(SystemExit) as e: synth_cli([str(tmp_path / 'mine'), *ARGS, '--overwrite'])
    assert e.value.code == 2 and 'not a hififace synth output' in capsys.readouterr().err
    assert (tmp_path / 'mine' / 'thesis.tex').read_text() == 'keep me'


def test_hififace_train_trains_on_the_output(tmp_path):
    "The SynthFaces world as HifiFace-mini trains in it: the mini priors (trained on SynthFaces), the mini face model, 64 px."
    out = tmp_path / 'synth64'
    r = synth(out, '--identities', '3', '--per-identity', '2', '--size', '64', '--seed', '0', '--heldout', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    cmd = [str(BIN / 'hififace-train'), '--data', str(out / 'train'), '--out', str(tmp_path / 'run'), '--steps', '2', '--set',
           'size=64', 'base=4', 'priors="mini"', 'bfm="mini"', 'loss_weights={lpips=0}', 'num_workers=0', 'batch_size=2',
           'log_every=1', 'sample_every=1000', 'ckpt_every=1000']
    r = subprocess.run(cmd, env=env(1), capture_output=True, text=True, timeout=1500)   # one thread: see test_train.env
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert 'FacePairs' in r.stdout and '4 images of 2 identities kept; rejected: none' in r.stdout
    assert 'MINI PRIORS trained on SynthFaces' in r.stdout
    with open(tmp_path / 'run' / 'log.csv') as f: rows = list(csv.DictReader(f))
    assert [int(row['step']) for row in rows] == [1, 2]
    assert all(math.isfinite(float(row['g_total'])) and math.isfinite(float(row['d_total'])) for row in rows)

