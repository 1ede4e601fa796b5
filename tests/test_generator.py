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
