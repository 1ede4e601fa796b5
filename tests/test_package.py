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


def hififace_imports() -> dict[str, set[str]]:
    "Every hififace module -> the hififace modules it imports anywhere in its file (top level or in a function)."
    import ast
    pkg = ROOT / 'hififace'
    mods = {p.stem for p in pkg.glob('*.py')} - {'__init__', '_modidx'}
    graph = {}
    for m in sorted(mods):
        deps = set()
        for node in ast.walk(ast.parse((pkg / f'{m}.py').read_text(encoding='utf-8'))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1: name = node.module or ''
                elif node.level == 0 and (node.module or '').startswith('hififace.'): name = node.module[len('hififace.'):]
                elif node.level == 0 and node.module == 'hififace': name = ''
                else: continue
                names = [name.split('.')[0]] if name else [a.name for a in node.names]   # `from . import x` / `from hififace import x`
                deps |= {n for n in names if n in mods}
            elif isinstance(node, ast.Import):
                deps |= {a.name.split('.')[1] for a in node.names if a.name.startswith('hififace.')} & mods
        graph[m] = deps - {m}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    "One cycle of `graph` as [a, b, ..., a], or None."
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 'open': return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = 'done'; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c
    return None


def test_find_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': set()}) is None
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']


def test_no_import_cycle():
    "The house has floors: no hififace module imports one that imports it back, not even inside a function."
    graph = hififace_imports()
    assert 'files' not in graph or not graph['files'], graph.get('files')   # the ground floor imports no other module
    cycle = find_cycle(graph)
    assert cycle is None, 'import cycle: ' + ' -> '.join(cycle)
