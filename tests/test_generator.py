"""The convenience path (I_s, I_t) -> extractor -> generator, and config mismatches caught early."""
import pytest
import torch

from hififace.generator import Generator, HifiFaceConfig
from hififace.sid import IResNet, ReconNet, ShapeAwareIdentityExtractor


@pytest.fixture(scope='module')
def extractor():
    torch.manual_seed(0)
    return ShapeAwareIdentityExtractor(ReconNet(), IResNet(50))


@pytest.mark.parametrize('n3d', [False, True])
def test_swap_through_the_extractor(extractor, n3d):
    g = Generator(HifiFaceConfig(base=4, n3d=n3d)).eval()
    I_s, I_t = torch.rand(2, 1, 3, 256, 256) * 2 - 1
    with torch.no_grad(): out, sid = g.swap(I_s, I_t, extractor)
    assert out.I_r.shape == (1, 3, 256, 256)
    assert sid.v_sid.shape == (1, 662)
    with torch.no_grad(): again = g(I_t, sid.upsilon_s if n3d else sid.v_sid)
    assert torch.equal(again.I_r, out.I_r)                 # swap is exactly extractor + generator


def test_layout_mismatch_is_refused(extractor):
    g = Generator(HifiFaceConfig(base=4, sid_layout='full'))
    with pytest.raises(ValueError, match="extractor layout 'paper'"):
        g.swap(torch.zeros(1, 3, 256, 256), torch.zeros(1, 3, 256, 256), extractor)


def test_generator_state_dict_round_trip_with_safetensors(tmp_path):
    from safetensors.torch import load_file, save_file
    g = Generator(HifiFaceConfig(base=4))
    save_file(g.state_dict(), tmp_path / 'g.safetensors')
    h = Generator(HifiFaceConfig(base=4)); h.load_state_dict(load_file(tmp_path / 'g.safetensors'), strict=True)
    x, v = torch.rand(1, 3, 256, 256) * 2 - 1, torch.randn(1, 662)
    with torch.no_grad(): assert torch.equal(g.eval()(x, v).I_r, h.eval()(x, v).I_r)


@pytest.mark.parametrize('cfg', [HifiFaceConfig(), HifiFaceConfig(base=4), HifiFaceConfig(base=4, size=512)],
                         ids=['256-base64', '256-base4', '512-base4'])
def test_fresh_masks_are_exactly_one_half(cfg):
    """A fresh generator starts with M_low = M_r = 0.5 everywhere, for any input, and with I_out away from ±1."""
    torch.manual_seed(0)
    g = Generator(cfg).eval()
    S = cfg.size
    I_t = torch.cat([torch.rand(1, 3, S, S) * 2 - 1, torch.full((1, 3, S, S), 0.9)])   # noise, and a flat bright image
    with torch.no_grad(): out = g(I_t, torch.randn(2, cfg.sid_dim) * 10)
    assert torch.equal(out.M_r, torch.full_like(out.M_r, 0.5))
    assert torch.equal(out.M_low, torch.full_like(out.M_low, 0.5))
    limit = 1e-3 if cfg.base == 64 else 0.02          # 4-channel toy widths have heavier tails (0.9 % at 512, flat image)
    assert (out.I_out.abs() > 0.99).float().mean() < limit, 'tanh of I_out starts saturated'
    assert (out.I_low.abs() > 0.99).float().mean() < limit, 'tanh of I_low starts saturated'
    assert out.I_out.std() > 0.05, 'I_out is not flat either: the image heads are scaled, not zeroed'


def test_fresh_mask_heads_receive_gradients():
    torch.manual_seed(0)
    g = Generator(HifiFaceConfig(base=4)).train()
    out = g(torch.rand(2, 3, 256, 256) * 2 - 1, torch.randn(2, 662))
    M_tar = torch.zeros(2, 1, 256, 256); M_tar[..., 64:200, 72:184] = 1.
    ((out.M_r - M_tar).abs().mean() + (out.M_low - torch.nn.functional.interpolate(M_tar, size=64)).abs().mean()).backward()
    for head in (g.sff.mask_low, g.sff.to_mask):
        assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0
        assert head.bias.grad is not None and head.bias.grad.abs().sum() > 0
    opt = torch.optim.SGD([p for h in (g.sff.mask_low, g.sff.to_mask) for p in h.parameters()], lr=1.)
    opt.step()
    with torch.no_grad(): again = g(torch.rand(2, 3, 256, 256) * 2 - 1, torch.randn(2, 662))
    assert not torch.equal(again.M_r, torch.full_like(again.M_r, 0.5)), 'one step moves M_r off 0.5'


# The full trace of the paper's model, written from SPEC §4's channel plan: (module, symbol, shape without the batch).
TRACE_256 = [
    ('input', 'I_t', (3, 256, 256)), ('encoder.stem', '', (64, 256, 256)),
    ('encoder.to_z.0', '', (128, 128, 128)), ('encoder.to_z.1', 'z_enc', (256, 64, 64)),
    ('encoder.to_bottleneck.0', '', (512, 32, 32)), ('encoder.to_bottleneck.1', '', (512, 16, 16)),
    ('encoder.to_bottleneck.2', '', (512, 8, 8)), ('encoder.to_bottleneck.3', '', (512, 8, 8)),
    ('encoder.to_bottleneck.4', 'bottleneck', (512, 8, 8)),
    ('decoder.blocks.0', '', (512, 8, 8)), ('decoder.blocks.1', '', (512, 8, 8)), ('decoder.blocks.2', '', (512, 16, 16)),
    ('decoder.blocks.3', '', (512, 32, 32)), ('decoder.blocks.4', 'z_dec', (256, 64, 64)),
    ('sff.mask_low', 'M_low', (1, 64, 64)), ('sff.sigma', 'σ(z_enc)', (256, 64, 64)), ('sff (blend)', 'z_fuse', (256, 64, 64)),
    ('sff.adain.0', '', (256, 64, 64)), ('sff.adain.1', 'z_low', (256, 64, 64)), ('sff.to_low', 'I_low', (3, 64, 64)),
    ('sff.f_up.0', '', (128, 128, 128)), ('sff.f_up.1', 'F_up(z_low)', (64, 256, 256)),
    ('sff.to_out', 'I_out', (3, 256, 256)), ('sff.to_mask', 'M_r', (1, 256, 256)), ('output', 'I_r', (3, 256, 256))]


def _trace(cfg, batch=2):
    from hififace.generator import shape_trace
    with torch.device('meta'):
        g = Generator(cfg)
        trace = shape_trace(g, torch.zeros(batch, 3, cfg.size, cfg.size), torch.zeros(batch, cfg.sid_dim))
    assert all(shape[0] == batch for _, _, shape in trace)
    assert not any(h for m in g.modules() for h in (m._forward_hooks, m._forward_pre_hooks)), 'hooks are removed'
    return [(name, symbol, shape[1:]) for name, symbol, shape in trace]


def test_shape_trace_of_the_paper_model():
    assert _trace(HifiFaceConfig()) == TRACE_256


def test_shape_trace_at_512():
    # Ours-512: one more down block before z_enc (stem at 512, 64 -> 64 @256) and one more up block in F_up (-> 512)
    expected = ([('input', 'I_t', (3, 512, 512)), ('encoder.stem', '', (64, 512, 512)), ('encoder.to_z.0', '', (64, 256, 256)),
                 ('encoder.to_z.1', '', (128, 128, 128)), ('encoder.to_z.2', 'z_enc', (256, 64, 64))]
                + TRACE_256[4:21] + [('sff.f_up.1', '', (64, 256, 256)), ('sff.f_up.2', 'F_up(z_low)', (64, 512, 512)),
                                     ('sff.to_out', 'I_out', (3, 512, 512)), ('sff.to_mask', 'M_r', (1, 512, 512)),
                                     ('output', 'I_r', (3, 512, 512))])
    assert _trace(HifiFaceConfig(size=512), batch=1) == expected


def test_shape_trace_follows_the_variant():
    names = [name for name, _, _ in _trace(HifiFaceConfig(base=4, sff='bare'))]
    assert 'sff.sigma' not in names and 'sff (blend)' in names       # no σ(z_enc) without feature-level fusion
