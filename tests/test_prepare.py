"""hififace-prepare: the command, on a folder with good, bad and faceless photos, run twice."""
import json, subprocess

from matplotlib import cbook
from PIL import Image

from conftest import BIN


def test_prepare_cli_reports_and_resumes(tmp_path):
    src = tmp_path / 'src'; (src / 'hopper').mkdir(parents=True); (src / 'junk').mkdir()
    Image.open(cbook.get_sample_data('grace_hopper.jpg')).save(src / 'hopper' / '1.jpg')
    (src / 'junk' / 'x.jpg').write_bytes(b'\xff\xd8 broken jpeg')
    cmd = [str(BIN / 'hififace-prepare'), str(src), str(tmp_path / 'out')]
    env = {'HIFIFACE_WEIGHTS': str(tmp_path / 'no-weights'), 'PATH': '/usr/bin:/bin'}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '1 written' in r.stdout and '1 unreadable' in r.stdout
    assert 'RANDOMLY INITIALISED' in r.stdout                         # no parsing weights here: it says so
    assert (tmp_path / 'out' / 'hopper' / '1.png').is_file() and (tmp_path / 'out' / 'hopper' / '1.mask.png').is_file()
    r2 = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert '1 done before' in r2.stdout and '0 written' in r2.stdout
    rep = json.loads((tmp_path / 'out' / 'prepare_report.json').read_text())
    assert rep['unreadable'] == ['junk/x.jpg']
    r3 = subprocess.run([str(BIN / 'hififace-prepare'), str(tmp_path / 'nowhere'), str(tmp_path / 'o2')], capture_output=True, text=True, env=env)
    assert r3.returncode == 2 and 'no folder' in r3.stderr
