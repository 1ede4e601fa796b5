import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope='session')
def mini_arrays():
    from hififace.bfm import mini_face_model_path, read_face_model_file
    return read_face_model_file(mini_face_model_path())
