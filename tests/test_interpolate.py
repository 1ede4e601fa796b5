"""interpolate_sid on hand-made SIDs (no networks): exact end points in both layouts, per-pair weights, the refusals;
and the module imports without ipywidgets (a dev extra). Notebook 10 tests it with HifiFace-mini and the widget app."""
import subprocess, sys

import pytest
import torch

from hififace.bfm import fuse_coeffs
from hififace.interpolate import interpolate_sid, interpolate_upsilon
from hififace.sid import SID


def make_sid(B=3, layout='paper', seed=0):
    g = torch.Generator().manual_seed(seed)
    c_s, c_t = torch.randn(B, 257, generator=g), torch.randn(B, 257, generator=g)
    u_s, u_t = (torch.nn.functional.normalize(torch.randn(B, 512, generator=g), dim=1) for _ in range(2))
    fuse = fuse_coeffs(c_s, c_t, layout)
    return SID(torch.cat([fuse, u_s], 1), fuse, c_s, c_t, u_s, u_t)


@pytest.mark.parametrize('layout', ['paper', 'full'])
def test_end_points_are_exact(layout):
    sid = make_sid(layout=layout)
    assert torch.equal(interpolate_sid(sid, 1, 0, 1, 0), sid.v_sid)
    own = torch.cat([fuse_coeffs(sid.c_t, sid.c_t, layout), sid.upsilon_t], 1)   # what the extractor gives for (I_t, I_t)
    assert torch.equal(interpolate_sid(sid, 0, 1, 0, 1), own)
    w = torch.tensor([1., 0., 1.])
    assert torch.equal(interpolate_sid(sid, w, 1 - w, w, 1 - w)[[0, 2]], sid.v_sid[[0, 2]])
    assert torch.equal(interpolate_sid(sid, w, 1 - w, w, 1 - w)[1], own[1])


def test_mix_and_renormalisation():
    sid = make_sid()
    v = interpolate_sid(sid, .25, .75, .5, .5)
    torch.testing.assert_close(v[:, :80], .25 * sid.psi_s + .75 * sid.psi_t)
    u = sid.upsilon_s + sid.upsilon_t
    torch.testing.assert_close(v[:, 150:], u / u.norm(dim=1, keepdim=True))
    torch.testing.assert_close(interpolate_upsilon(sid, .5, .5, renormalize=False), u / 2)


def test_refusals():
    sid = make_sid()
    with pytest.raises(TypeError, match='hififace.sid.SID'): interpolate_sid(sid.v_sid)
    with pytest.raises(ValueError, match='d must be finite'): interpolate_sid(sid, d=float('inf'))
    with pytest.raises(ValueError, match=r'shape \(B,\) = \(3,\)'): interpolate_sid(sid, a=torch.ones(2, 3))
    with pytest.raises(ValueError, match='cannot be renormalised'): interpolate_sid(sid, c=0., d=0.)
    with pytest.raises(ValueError, match="layout must be one of"): interpolate_sid(sid, layout='wide')


def test_imports_without_ipywidgets():
    code = 'import sys, hififace.interpolate; assert "ipywidgets" not in sys.modules, "imported ipywidgets"'
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
