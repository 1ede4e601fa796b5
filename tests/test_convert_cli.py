"""`hififace convert-bfm`: the real command, on BFM09-structured files made from the mini model."""
import subprocess

import numpy as np

from conftest import BIN
from hififace.bfm import BFM09_FILES, read_face_model_file, write_bfm09_sources

CLI = str(BIN / 'hififace-convert-bfm')


def test_cli_converts_back_to_the_model(tmp_path, mini_arrays):
    write_bfm09_sources(mini_arrays, tmp_path / 'src', seed=3)
    out = tmp_path / 'out' / 'BFM_model_front.mat'
    r = subprocess.run([CLI, str(tmp_path / 'src'), '-o', str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"{mini_arrays['meanshape'].size // 3} vertices" in r.stdout
    back = read_face_model_file(out)
    np.testing.assert_allclose(back['idBase'], mini_arrays['idBase'], atol=1e-6)
    np.testing.assert_allclose(back['meanshape'], mini_arrays['meanshape'], atol=1e-6)
    np.testing.assert_array_equal(back['tri'], mini_arrays['tri'])
    assert not list(out.parent.glob('*.tmp')), 'the atomic write left a temporary file'


def test_cli_names_missing_files_and_where_to_get_them(tmp_path):
    (tmp_path / BFM09_FILES['std_exp']).write_text('1 2 3')
    r = subprocess.run([CLI, str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    for name in ('01_MorphableModel.mat', 'Exp_Pca.bin', 'facemodel_info.mat'): assert name in r.stderr
    assert 'std_exp.txt' not in r.stderr.split('missing in')[1].split('\n')[0]   # present, so not listed as missing
    assert 'faces.dmi.unibas.ch' in r.stderr and 'Deep3DFaceRecon_pytorch' in r.stderr
    assert not (tmp_path / 'BFM_model_front.mat').exists()


def test_cli_rejects_a_corrupt_expression_file(tmp_path, mini_arrays):
    write_bfm09_sources(mini_arrays, tmp_path)
    (tmp_path / 'Exp_Pca.bin').write_bytes(b'\x00' * 10)
    r = subprocess.run([CLI, str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and 'not an Exp_Pca.bin file' in r.stderr


def test_cli_help_states_intended_uses():
    r = subprocess.run([CLI, '--help'], capture_output=True, text=True)
    assert r.returncode == 0
    assert 'research, education' in r.stdout and 'forgery-detection' in r.stdout
