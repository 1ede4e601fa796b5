"""hififace prepare: the command, on a folder with good, bad and faceless photos, run twice; refusal without
parsing weights; `--mask landmarks` offline; a mask made by another method is redone, never skipped."""
import json, subprocess

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image

from conftest import BIN


@pytest.fixture
def src(tmp_path):
    src = tmp_path / 'src'; (src / 'hopper').mkdir(parents=True); (src / 'junk').mkdir()
    Image.open(cbook.get_sample_data('grace_hopper.jpg')).save(src / 'hopper' / '1.jpg')
    (src / 'junk' / 'x.jpg').write_bytes(b'\xff\xd8 broken jpeg')
    return src


def prepare(src, dst, *args, weights):
    env = {'HIFIFACE_WEIGHTS': str(weights), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    return subprocess.run([str(BIN / 'hififace-prepare'), str(src), str(dst), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def mask_tag(path) -> str | None:
    with Image.open(path) as im: return im.text.get('hififace_mask')


def test_refuses_without_parsing_weights(tmp_path, src):
    r = prepare(src, tmp_path / 'out', weights=tmp_path / 'no-weights')
    assert r.returncode == 2, r.stdout + r.stderr
    assert '79999_iter.pth' in r.stderr and str(tmp_path / 'no-weights' / '79999_iter.pth') in r.stderr
    assert 'face-parsing.PyTorch' in r.stderr and '--mask landmarks' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path / 'out').exists(), 'a refused run writes nothing'
    r = prepare(tmp_path / 'nowhere', tmp_path / 'o2', weights=tmp_path / 'no-weights')
    assert r.returncode == 2 and 'no folder' in r.stderr
    r = prepare(src, tmp_path / 'o3', '--mask', 'landmarks', '--dilation', '4', weights=tmp_path / 'no-weights')
    assert r.returncode == 2 and 'positive odd' in r.stderr


def test_landmark_masks_offline_report_and_resume(tmp_path, src):
    out = tmp_path / 'out'
    r = prepare(src, out, '--mask', 'landmarks', weights=tmp_path / 'no-weights')
    assert r.returncode == 0, r.stderr[-2000:]
    assert '1 written' in r.stdout and '1 unreadable' in r.stdout and 'RANDOMLY INITIALISED' not in r.stdout + r.stderr
    assert (out / 'hopper' / '1.png').is_file() and mask_tag(out / 'hopper' / '1.mask.png') == 'landmarks'
    with Image.open(out / 'hopper' / '1.mask.png') as im: cover = (np.asarray(im) > 127).mean()
    assert 0.2 < cover < 0.7, cover                                       # a face region, not empty, not everything
    rep = json.loads((out / 'prepare_report.json').read_text())
    assert rep['mask'] == 'landmarks' and rep['mask_methods'] == {'hopper/1.jpg': 'landmarks'}
    assert rep['unreadable'] == ['junk/x.jpg: the JPEG data is truncated or damaged (14 bytes; Pillow: it cannot identify the format)']
    assert 'unreadable: junk/x.jpg: the JPEG data is truncated' in r.stdout          # the loader's reason, on the console too
    r2 = prepare(src, out, '--mask', 'landmarks', weights=tmp_path / 'no-weights')
    assert '1 done before' in r2.stdout and '0 written' in r2.stdout and '0 redone' in r2.stdout


def test_other_mask_method_redoes_the_file(tmp_path, src):
    import torch
    from hififace.sid import BiSeNet
    weights = tmp_path / 'weights'; weights.mkdir()
    torch.manual_seed(0); torch.save(BiSeNet().state_dict(), weights / '79999_iter.pth')   # stands in for the real file
    out = tmp_path / 'out'
    assert prepare(src, out, '--mask', 'landmarks', weights=weights).returncode == 0
    r = prepare(src, out, weights=weights)                                 # default: --mask parsing
    assert r.returncode == 0, r.stderr[-2000:]
    assert '0 written, 1 redone, 0 done before' in r.stdout
    assert mask_tag(out / 'hopper' / '1.mask.png') == 'parsing'
    rep = json.loads((out / 'prepare_report.json').read_text())
    assert rep['redone'] == ['hopper/1.jpg (mask by landmarks)'] and rep['mask_methods'] == {'hopper/1.jpg': 'parsing'}
    assert '1 done before' in prepare(src, out, weights=weights).stdout   # same method again: skipped
    Image.open(out / 'hopper' / '1.mask.png').copy().save(out / 'hopper' / '1.mask.png')   # an untagged (older) mask
    r = prepare(src, out, weights=weights)
    assert '1 redone' in r.stdout
    assert json.loads((out / 'prepare_report.json').read_text())['redone'] == ['hopper/1.jpg (mask by an unknown method)']
