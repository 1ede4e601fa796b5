#!/usr/bin/env python
"""Run every check of the project and end with one line `N passed, N failed`.

1. nbdev sync: `nbdev_export` and `nbdev_clean` must change no file (tracked or untracked),
   i.e. `hififace/` matches the notebooks and the notebooks are committed clean.
2. `nbdev_test` on each notebook of `nbs/` (one count per notebook).
3. `pytest tests` (one count per test).
"""
import argparse, hashlib, os, subprocess, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tree_snapshot():
    "Hash of every file git tracks or would track (untracked, not ignored)."
    out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                         cwd=ROOT, capture_output=True, check=True).stdout
    snap = {}
    for name in filter(None, out.decode().split('\0')):
        p = ROOT / name
        snap[name] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return snap


def check_sync():
    before = tree_snapshot()
    for cmd in ('nbdev_export', 'nbdev_clean'):
        r = subprocess.run([str(BIN / cmd)], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: print(r.stdout + r.stderr); return False
    after = tree_snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        print('nbdev_export / nbdev_clean changed these files (run both and commit the result):')
        for c in changed: print('   ', c)
    return not changed


def run_notebooks(flags, only=None):
    nbs = sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    if only: nbs = [p for p in nbs if any(p.name.startswith(o) for o in only)]
    results = []
    for nb in nbs:
        t0 = time.time()
        cmd = [str(BIN / 'nbdev_test'), '--path', str(nb)] + (['--flags', flags] if flags else [])
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        ok = r.returncode == 0
        print(f"{'PASS' if ok else 'FAIL'}  {nb.relative_to(ROOT)}  ({time.time() - t0:.1f} s)", flush=True)
        if not ok: print(r.stdout[-6000:] + r.stderr[-6000:])
        results.append(ok)
    return results


def run_pytest(extra):
    xml = ROOT / 'build' / 'pytest.xml'
    xml.parent.mkdir(exist_ok=True)
    if xml.exists(): xml.unlink()
    paths = [a for a in extra if (ROOT / a.split('::')[0]).exists()]           # test files; the rest are pytest options
    options = [a for a in extra if a not in paths]
    r = subprocess.run([str(BIN / 'python'), '-m', 'pytest', *(paths or ['tests']), '-q', f'--junitxml={xml}'] + options, cwd=ROOT)
    if not xml.exists(): return 0, 1, 0  # pytest could not even start: count it as one failure
    suites = ET.parse(xml).getroot()
    suites = [suites] if suites.tag == 'testsuite' else list(suites)
    n = sum(int(s.get('tests', 0)) for s in suites)
    failed = sum(int(s.get('failures', 0)) + int(s.get('errors', 0)) for s in suites)
    skipped = sum(int(s.get('skipped', 0)) for s in suites)
    if r.returncode not in (0, 1, 5): failed = max(failed, 1)  # interrupted / internal / usage error
    return n - failed - skipped, failed, skipped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--flags', default=os.environ.get('HIFIFACE_TEST_FLAGS', ''),
                    help='extra nbdev test flags to run, e.g. "cuda slow" on a GPU machine')
    ap.add_argument('--skip-sync', action='store_true', help='skip the nbdev_export/nbdev_clean check')
    ap.add_argument('--notebooks', nargs='+', metavar='PREFIX', help='only the notebooks whose names start with these (e.g. 07a 08)')
    ap.add_argument('pytest_args', nargs='*', help='test files (default: tests) and extra options passed to pytest (after --)')
    args = ap.parse_args()
    t0 = time.time()
    passed = failed = skipped = 0
    if not args.skip_sync:
        ok = check_sync()
        print(f"{'PASS' if ok else 'FAIL'}  nbdev sync (nbdev_export + nbdev_clean leave no diff)", flush=True)
        passed, failed = passed + ok, failed + (not ok)
    nb = run_notebooks(args.flags, args.notebooks)
    passed, failed = passed + sum(nb), failed + len(nb) - sum(nb)
    p, f, s = run_pytest(args.pytest_args)
    passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f'wall time {time.time() - t0:.0f} s; counted: nbdev sync check, {len(nb)} notebooks, pytest tests')
    print(f'{passed} passed, {failed} failed' + (f', {skipped} skipped' if skipped else ''))
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == '__main__':
    main()
