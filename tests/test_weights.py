"""Loading pretrained files: where they are looked for, the variants a user's download may be in."""
import pytest
import torch

from hififace.sid import BiSeNet, IResNet, ReconNet, ShapeAwareIdentityExtractor
from hififace.weights import build_pretrained, load_pretrained, weights_path


def test_weights_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('HIFIFACE_WEIGHTS', str(tmp_path))
    assert weights_path('arcface_r100') == tmp_path / 'ms1mv3_arcface_r100_fp16' / 'backbone.pth'


def test_ddp_prefixed_checkpoint_loads(tmp_path):
    ref = IResNet(50)
    torch.save({'module.' + k: v for k, v in ref.state_dict().items()}, tmp_path / 'b.pth')
    net = IResNet(50)
    load_pretrained('arcface_r50', net, tmp_path / 'b.pth')
    for k, v in ref.state_dict().items(): assert torch.equal(net.state_dict()[k], v)


def test_a_checkpoint_of_another_network_is_refused(tmp_path):
    torch.save(IResNet(50).state_dict(), tmp_path / 'backbone.pth')
    with pytest.raises(ValueError, match='396 tensors, ms1mv3_arcface_r100_fp16/backbone.pth has 771'):
        load_pretrained('arcface_r100', IResNet(100), tmp_path / 'backbone.pth')


def test_epoch_20_without_net_recon_is_refused(tmp_path):
    torch.save(ReconNet().state_dict(), tmp_path / 'epoch_20.pth')   # the bare state dict, not upstream's layout
    with pytest.raises(ValueError, match="no 'net_recon' entry"): load_pretrained('f3d', ReconNet(), tmp_path / 'epoch_20.pth')


def test_absent_files_fall_back_with_one_visible_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('HIFIFACE_WEIGHTS', str(tmp_path))
    net = build_pretrained('bisenet', BiSeNet())
    out = capsys.readouterr().out
    assert out.count('\n') == 1 and 'RANDOMLY INITIALISED' in out and '79999_iter.pth' in out
    with pytest.raises(FileNotFoundError): build_pretrained('bisenet', net, required=True)


def test_from_pretrained_loads_every_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('HIFIFACE_WEIGHTS', str(tmp_path))
    f3d, fid = ReconNet(), IResNet(100)
    for m in f3d.final_layers: torch.nn.init.normal_(m.weight, std=0.01)
    torch.save({'net_recon': f3d.state_dict()}, tmp_path / 'epoch_20.pth')
    (tmp_path / 'ms1mv3_arcface_r100_fp16').mkdir()
    torch.save(fid.state_dict(), tmp_path / 'ms1mv3_arcface_r100_fp16' / 'backbone.pth')
    sid = ShapeAwareIdentityExtractor.from_pretrained(required=True)
    assert capsys.readouterr().out == ''
    for k, v in f3d.state_dict().items(): assert torch.equal(sid.f3d.state_dict()[k], v)
    for k, v in fid.state_dict().items(): assert torch.equal(sid.fid.state_dict()[k], v)
