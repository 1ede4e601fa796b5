"""Bad face-model files and bad tensors fail early, with messages that say what was expected."""
import numpy as np
import pytest
import torch
from scipy.io import savemat

from hififace.bfm import ParametricFaceModel, fuse_coeffs, mini_face_model_path, save_face_model_file


def test_not_a_mat_file(tmp_path):
    p = tmp_path / 'BFM_model_front.mat'
    p.write_bytes(b'this is not matlab')
    with pytest.raises(ValueError, match='not a readable MATLAB'): ParametricFaceModel(p)


def test_missing_file_explains_how_to_build_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='hififace convert-bfm') as e: ParametricFaceModel(tmp_path / 'none.mat')
    assert 'faces.dmi.unibas.ch' in str(e.value) and 'mini_face_model_path' in str(e.value)


def test_inconsistent_shapes(tmp_path, mini_arrays):
    bad = dict(mini_arrays, exBase=mini_arrays['exBase'][:, :63])
    save_face_model_file(tmp_path / 'm.mat', bad)
    with pytest.raises(ValueError, match='inconsistent shapes'): ParametricFaceModel(tmp_path / 'm.mat')


def test_zero_based_indices_are_caught(tmp_path, mini_arrays):
    save_face_model_file(tmp_path / 'm.mat', dict(mini_arrays, tri=mini_arrays['tri'] - 1))
    with pytest.raises(ValueError, match='1-based'): ParametricFaceModel(tmp_path / 'm.mat')


def test_column_vector_mean_is_accepted(tmp_path, mini_arrays):
    "SPEC writes meanshape as [3N, 1], upstream's converter as [1, 3N]: both load the same."
    a = {k: v for k, v in mini_arrays.items()}
    a['meanshape'] = a['meanshape'].reshape(-1, 1); a['meantex'] = a['meantex'].reshape(-1, 1)
    savemat(str(tmp_path / 'm.mat'), {k: (v.astype(np.int32) if v.dtype == np.int64 else v) for k, v in a.items()})
    c = torch.randn(2, 257) * 0.3
    torch.testing.assert_close(ParametricFaceModel(tmp_path / 'm.mat').landmarks(c), ParametricFaceModel(mini_face_model_path()).landmarks(c))


def test_wrong_tensor_shapes_name_the_expected_shape():
    fm = ParametricFaceModel(mini_face_model_path())
    with pytest.raises(ValueError, match=r'\(B, 257\)'): fm.landmarks(torch.zeros(257))
    with pytest.raises(ValueError, match=r'\(B, 257\)'): fm(torch.zeros(3, 200))
    with pytest.raises(ValueError, match='same batch size'): fuse_coeffs(torch.zeros(2, 257), torch.zeros(3, 257))


def test_double_precision_and_device_moves():
    fm = ParametricFaceModel(mini_face_model_path())
    c = torch.randn(3, 257) * 0.5
    lm32 = fm.landmarks(c)
    lm64 = fm.double().landmarks(c.double())
    assert lm64.dtype == torch.float64
    torch.testing.assert_close(lm64.float(), lm32, atol=1e-3, rtol=0)


@pytest.mark.parametrize('amp', [torch.bfloat16, torch.float16])
def test_autocast_and_half_coefficients_give_the_float32_geometry(amp):
    "Under autocast, or fed half-precision coefficients, the 3DMM still computes in float32: equal results and gradients."
    fm = ParametricFaceModel(mini_face_model_path())
    c = torch.randn(8, 257) * 0.5
    c32 = c.clone().requires_grad_()
    lm32 = fm.landmarks(c32); lm32.square().mean().backward()
    ca = c.clone().requires_grad_()
    with torch.autocast('cpu', dtype=amp):
        lm = fm.landmarks(ca)
        full = fm(c[:2])
    lm.float().square().mean().backward()
    assert lm.dtype == torch.float32 and torch.equal(lm, lm32) and torch.equal(ca.grad, c32.grad)
    for k, v in fm(c[:2]).items(): assert full[k].dtype == v.dtype and torch.equal(full[k], v), k
    ch = c.to(amp).requires_grad_()
    lmh = fm.landmarks(ch)
    assert lmh.dtype == torch.float32 and torch.equal(lmh, fm.landmarks(ch.detach().float()))
    lmh.sum().backward()
    assert ch.grad.dtype == amp
