"""interpolate_sid on hand-made SIDs (no networks): exact end points in both layouts, per-pair weights, the refusals;
the sweep with a backend that has no 3D network; the widget app driven through its widgets, with stand-in networks;
and the module imports without ipywidgets (a dev extra). Notebook 10 tests it all with HifiFace-mini."""
import datetime, io, subprocess, sys
from types import SimpleNamespace

import numpy as np

import pytest
import torch

from hififace.bfm import fuse_coeffs
from hififace.generator import GeneratorOutput
from hififace.interpolate import interpolate_sid, interpolate_upsilon, interpolation_sweep, plot_fig11, plot_sweep_means
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


class FakeG:
    "Stands in for a paper-layout generator: I_r is I_t shifted by a little of ψ_in and of υ_in, so every weight shows."
    def __init__(self, size=16): self.cfg = SimpleNamespace(size=size, n3d=False, sid_layout='paper')
    def __call__(self, I_t, v):
        I_r = (I_t + 0.1 * v[:, :3, None, None] + 2 * v[:, -3:, None, None]).clamp(-1, 1)
        B, S = len(I_t), I_t.shape[-1]
        return GeneratorOutput(I_r, I_r[..., ::4, ::4], torch.full((B, 1, S, S), .5), torch.full((B, 1, S // 4, S // 4), .5), I_r)


def fake_extractor(I_s, I_t):
    "A SID made from the pixels (deterministic, no networks)."
    c_s, c_t = I_s.flatten(1)[:, :257] * 3, I_t.flatten(1)[:, :257] * 3
    u_s, u_t = (torch.nn.functional.normalize(x.flatten(1)[:, -512:], dim=1) for x in (I_s, I_t))
    fuse = fuse_coeffs(c_s, c_t, 'paper')
    return SID(torch.cat([fuse, u_s], 1), fuse, c_s, c_t, u_s, u_t)


def faces(n=4, size=16):
    g = torch.Generator().manual_seed(1)
    return {f'face{i}': torch.rand(3, size, size, generator=g) * 2 - 1 for i in range(n)}


def test_sweep_with_recognition_only_backend():
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from hififace.evaluate import EvalBackend
    f = torch.stack(list(faces().values()))
    rec = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())
    sweep = interpolation_sweep(FakeG(), fake_extractor, EvalBackend('recognition only', recognizer=rec), f[:2], f[2:], steps=3)
    for row in ('shape', 'identity'):
        assert sweep[row]['shape_to_source'].shape == (3, 2) and sweep[row]['shape_to_source'].isnan().all()
        assert sweep[row]['shape_to_target'].isnan().all()
        assert sweep[row]['sim_to_source'].isfinite().all() and sweep[row]['sim_to_target'].isfinite().all()
    fig = plot_fig11(sweep, f[:2], f[2:])
    assert fig.axes[2].get_xlabel().splitlines()[0] == 'shape not measured'
    fig2 = plot_sweep_means(sweep)
    assert 'no 3D network' in fig2.axes[0].texts[0].get_text() and not fig2.axes[1].texts
    plt.close('all')


@pytest.fixture
def app():
    pytest.importorskip('ipywidgets')
    from hififace.interpolate import InterpolationApp
    return InterpolationApp(FakeG(), fake_extractor, faces(), scale=2)


def png(face):
    from PIL import Image
    buf = io.BytesIO(); Image.fromarray(((face + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()).save(buf, format='png')
    return buf.getvalue()


def as_upload(data, name):
    "What FileUpload.value holds after a browser sent one file (ipywidgets 8)."
    return ({'name': name, 'type': 'image/png', 'size': len(data), 'last_modified': datetime.datetime(2024, 1, 1), 'content': memoryview(data)},)


def test_upload_keeps_the_other_selection_and_takes_the_same_file_twice(app):
    app.target.value = 'face2'                            # not the first face
    file = as_upload(png(faces()['face3']), 'mine.png')
    app.upload_kind.value, app.upload_as.value = 'crop', 'source'
    app.upload.value = file
    assert (app.source.value, app.target.value) == ('upload 1: mine.png', 'face2')
    assert 'added mine.png as the source' in app.message.value and app.upload.value == ()
    app.upload_as.value = 'target'
    app.upload.value = file                                # the same file again: the browser sends the same value
    assert (app.source.value, app.target.value) == ('upload 1: mine.png', 'upload 1: mine.png')
    assert 'uploaded before' in app.message.value and 'now the target' in app.message.value
    assert list(app.target.options) == ['face0', 'face1', 'face2', 'face3', 'upload 1: mine.png']


def test_no_identity_weights_clear_the_image(app):
    shown = app.image.value
    app.ties['cd'].value = False
    app.sliders['c'].value = 0.; app.sliders['d'].value = 0.
    assert app.message.value == '<b>cannot render:</b> identity weights c and d are both 0: set at least one above 0'
    assert app.image.value != shown and app.output is None
    app.sliders['d'].value = .5
    assert app.message.value == '' and app.output is not None
    half = app.output.I_r
    app.sliders['d'].value = 1.                            # renormalised: only c : d counts
    torch.testing.assert_close(app.output.I_r, half)


def test_app_labels(app):
    assert [app.sliders[k].description for k in 'abcd'] == ['a · ψ_s (source shape)', 'b · ψ_t (target shape)',
                                                             'c · υ_s (source identity)', 'd · υ_t (target identity)']
    assert (app.upload_as.description, app.upload_kind.description) == ('upload as', 'kind')
    assert 'source' in app.caption.value and 'result' in app.caption.value
    assert '(1, 0, 1, 0) is the plain swap' in app.help.value and 'only their ratio counts' in app.help.value
