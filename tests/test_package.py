"""The package installs, imports from anywhere, and its settings hold what the README promises."""
import configparser, subprocess, sys

from conftest import ROOT


def test_import_from_any_folder(tmp_path):
    r = subprocess.run([sys.executable, '-c', 'import hififace, hififace.bfm; print(hififace.__version__, hififace.__file__)'],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    version, path = r.stdout.split()
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    assert version == cfg['DEFAULT']['version']
    assert path.startswith(str(ROOT / 'hififace'))   # the editable install points at the repository


def test_settings_flags_and_pins():
    cfg = configparser.ConfigParser(); cfg.read(ROOT / 'settings.ini')
    assert {'cuda', 'slow'} <= set(cfg['DEFAULT']['tst_flags'].split())
    pins = (ROOT / 'constraints.txt').read_text().split()
    for pin in ('torch==2.13.0', 'torchvision==0.28.0', 'nbdev==2.4.14', 'execnb<0.2', 'fastcore<2', 'ghapi<2'):
        assert pin in pins, pin
    assert 'import pkg_resources' not in (ROOT / 'setup.py').read_text()   # gone with setuptools >= 81


def test_licensed_files_are_ignored():
    r = subprocess.run(['git', 'check-ignore', 'BFM_model_front.mat', 'data/01_MorphableModel.mat', 'weights/x.pth'],
                       cwd=ROOT, capture_output=True, text=True)
    assert len(r.stdout.split()) == 3, r.stdout
