#!/usr/bin/env python
"""Execute every notebook of `nbs/` headless, in order, and write the executed copies.

For each `nbs/NN_name.ipynb` this writes `OUT/NN_name.ipynb` (with outputs) and `OUT/NN_name.html`
(pictures embedded; open it in any browser). Cells whose first line is an nbdev test flag
(`#| cuda`, `#| slow`) are shown but not run unless the flag is passed with --flags, as nbdev_test does.
In the HTML copies, as on nbdev's pages, `#| hide` cells are left out and `#| echo: false` cells show only
their output.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

import nbformat
from traitlets.config import Config
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from tqdm.auto import tqdm
from hififace.weights import progress_bar   # a live bar on a terminal, whole lines in a log

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ('cuda', 'slow')


def cell_flag(cell):
    "The nbdev test flag a code cell carries on its first line, if any."
    first = cell.source.lstrip().split('\n', 1)[0].replace(' ', '')
    return next((f for f in FLAGS if first == f'#|{f}'), None)


def directives(cell) -> set[str]:
    "The nbdev directives of a code cell's leading `#|` lines, e.g. {'hide', 'echo: false'}."
    out = set()
    for line in cell.source.lstrip().splitlines():
        if not line.startswith('#|'): break
        out.add(' '.join(line[2:].split()).lower())
    return out


def tag_for_html(nb):
    "Tag `#| hide` cells for removal and `#| echo: false` cells for input removal (nbconvert's TagRemovePreprocessor)."
    for cell in nb.cells:
        if cell.cell_type != 'code': continue
        d, tags = directives(cell), cell.metadata.setdefault('tags', [])
        if 'hide' in d: tags.append('remove_cell')
        elif 'echo: false' in d or 'echo:false' in d: tags.append('remove_input')


def to_html(nb) -> str:
    exporter = HTMLExporter()
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={'remove_cell'},
                                                         remove_input_tags={'remove_input'}), enabled=True)
    html, _ = exporter.from_notebook_node(nb)
    return html


def execute(nb_path, out_dir, flags, timeout):
    nb = nbformat.read(nb_path, as_version=4)
    skipped = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == 'code' and (f := cell_flag(cell)) and f not in flags:
            note = f'# not run here: this cell needs the `{f}` flag (make notebooks FLAGS="{f}")\n'
            nb.cells[i] = nbformat.v4.new_raw_cell(note + cell.source)
            skipped.append(i)
    # IPC (Unix sockets) rather than the default TCP on localhost: the kernel then has no unencrypted network port,
    # and does not print ipykernel's warning about one for every notebook
    # (an absolute socket path: the kernel runs in the notebook's folder, the client here)
    with tempfile.TemporaryDirectory(prefix='hififace-kernel-') as sockets:
        ipc = Config({'KernelManager': {'transport': 'ipc', 'ip': os.path.join(sockets, 'kernel')}})
        client = NotebookClient(nb, timeout=timeout, kernel_name='python3', config=ipc,   # it starts and stops the kernel
                                resources={'metadata': {'path': str(nb_path.parent)}})
        client.execute()
    out_ipynb = out_dir / nb_path.name
    nbformat.write(nb, out_ipynb)
    tag_for_html(nb)
    html = to_html(nb)
    (out_dir / nb_path.with_suffix('.html').name).write_text(html, encoding='utf-8')
    return len(skipped)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='build/notebooks', help='folder for the executed copies')
    ap.add_argument('--flags', default='', help='test flags whose cells should run too, e.g. "cuda slow"')
    ap.add_argument('--timeout', type=int, default=1800, help='seconds allowed per cell')
    ap.add_argument('notebooks', nargs='*', help='notebooks to run (default: all of nbs/, in order)')
    args = ap.parse_args()
    out_dir = (ROOT / args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    nbs = [Path(p).resolve() for p in args.notebooks] or sorted(
        p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    flags = set(args.flags.split())
    failed = []
    for nb in progress_bar(nbs, desc='notebooks', unit='nb'):
        t0 = time.time()
        try:
            n_skipped = execute(nb, out_dir, flags, args.timeout)
        except Exception as e:  # report the notebook that broke, run the others, fail at the end
            failed.append(nb.name)
            tqdm.write(f'FAILED {nb.name}: {type(e).__name__}: {str(e)[-2000:]}')
            continue
        tqdm.write(f'ran {nb.name} in {time.time() - t0:.1f} s' + (f' ({n_skipped} flagged cells not run)' if n_skipped else ''))
    print(f'\nExecuted copies with their pictures: {out_dir}/*.html (open in a browser) and *.ipynb')
    print('To work with the notebooks interactively:  .venv/bin/jupyter lab nbs/   (or: make lab)')
    if failed:
        sys.exit(f'{len(failed)} notebook(s) failed: {", ".join(failed)}')


if __name__ == '__main__':
    main()
