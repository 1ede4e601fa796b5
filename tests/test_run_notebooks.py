"""The main job's notebook runner: executes in order, writes HTML with pictures, skips flagged cells."""
import subprocess, sys

import nbformat

from conftest import ROOT


def _nb(path, cells):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata = {'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}}
    nbformat.write(nb, path)


def test_runner_writes_copies_and_skips_flagged_cells(tmp_path):
    _nb(tmp_path / 'a.ipynb', [
        'import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]); plt.show()',
        '#| cuda\nraise RuntimeError("a cuda cell must not run without the flag")',
        'print("after the flagged cell")',
        'from ipykernel.kernelapp import IPKernelApp\nprint("kernel transport:", IPKernelApp.instance().transport)'])
    r = subprocess.run([sys.executable, str(ROOT / 'scripts/run_notebooks.py'), '--out', str(tmp_path / 'out'),
                        str(tmp_path / 'a.ipynb')], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    html = (tmp_path / 'out' / 'a.html').read_text()
    assert 'data:image/png;base64' in html and 'after the flagged cell' in html
    # the kernel talks over Unix sockets, so ipykernel prints no warning about unencrypted TCP (nor any other)
    assert 'kernel transport: ipc' in html and 'WARNING' not in r.stdout + r.stderr
    done = nbformat.read(tmp_path / 'out' / 'a.ipynb', as_version=4)
    assert done.cells[1].cell_type == 'raw' and 'needs the `cuda` flag' in done.cells[1].source


def test_runner_fails_on_a_broken_notebook(tmp_path):
    _nb(tmp_path / 'bad.ipynb', ['1 / 0'])
    r = subprocess.run([sys.executable, str(ROOT / 'scripts/run_notebooks.py'), '--out', str(tmp_path / 'out'),
                        str(tmp_path / 'bad.ipynb')], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and 'bad.ipynb' in r.stdout + r.stderr


def test_html_hides_what_nbdev_hides(tmp_path):
    _nb(tmp_path / 'h.ipynb', [
        '#| hide\nsecret_setup = "HIDDEN_CELL_SOURCE"; print("HIDDEN_CELL_OUTPUT")',
        '#| echo: false\nfigure_code = "ECHO_FALSE_SOURCE"; print("ECHO_FALSE_OUTPUT")',
        'print("VISIBLE_OUTPUT")'])
    r = subprocess.run([sys.executable, str(ROOT / 'scripts/run_notebooks.py'), '--out', str(tmp_path / 'out'),
                        str(tmp_path / 'h.ipynb')], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    html = (tmp_path / 'out' / 'h.html').read_text()
    assert 'HIDDEN_CELL_SOURCE' not in html and 'HIDDEN_CELL_OUTPUT' not in html      # #| hide: the whole cell
    assert 'ECHO_FALSE_SOURCE' not in html and 'ECHO_FALSE_OUTPUT' in html            # echo: false: output only
    assert 'VISIBLE_OUTPUT' in html
