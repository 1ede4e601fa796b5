"""`hififace COMMAND`, the installed command: the list of commands and the intended use, each tool's own help and errors
under its command name, the old `hififace-*` aliases, and one real run."""
import os, subprocess, sys
from importlib.metadata import entry_points

import pytest

from conftest import BIN
from hififace.cli import ALIASES, COMMANDS, command_function, main

EXE = str(BIN / 'hififace')


def sh(*args, exe=EXE, **kw) -> subprocess.CompletedProcess:
    "The installed command in a new process, laid out for an 80-column terminal."
    env = dict(os.environ, COLUMNS='80', OMP_NUM_THREADS='1', HIFIFACE_WEIGHTS='/nonexistent')
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, timeout=300, **kw)


def in_process(fn, args, capsys) -> tuple[int, str, str]:
    "fn(args) in this process: (exit status, stdout, stderr)."
    try: fn(list(args)); code = 0
    except SystemExit as e: code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_the_commands_and_the_intended_use():
    from hififace.files import INTENDED_USE
    p = sh('--help')
    assert p.returncode == 0 and p.stderr == '', p.stderr
    for name, (_, _, what) in COMMANDS.items(): assert f'\n    {name} ' in p.stdout and what in p.stdout, name
    assert len(COMMANDS) == 7 and INTENDED_USE in ' '.join(p.stdout.split())
    assert 'hififace-synth' in p.stdout                                  # the aliases are mentioned


def test_help_imports_no_torch():
    code = ("import sys\nfrom hififace.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\n"
            "print([m for m in ('torch', 'numpy', 'hififace.media') if m in sys.modules], file=sys.stderr)")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr.strip() == '[]', p.stderr


def test_no_command_and_an_unknown_command_exit_2():
    p = sh()
    assert p.returncode == 2 and p.stdout == '' and p.stderr.startswith('usage: hififace')
    assert all(f'\n    {name} ' in p.stderr for name in COMMANDS)
    for args in (['synt'], ['--bogus']):
        p = sh(*args)
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and p.stderr.startswith('hififace: error: '), p.stderr
        assert "see 'hififace --help'" in p.stderr and 'Traceback' not in p.stderr


def test_each_commands_help_is_the_tools_own(capsys):
    "hififace NAME --help is the alias's help word for word, with `hififace NAME` as its name (in this process: quick)."
    for name in COMMANDS:
        code, out, err = in_process(main, [name, '--help'], capsys)
        assert code == 0 and out.startswith(f'usage: hififace {name} '), (name, out[:200], err)
        _, alias_out, _ = in_process(command_function(name), ['--help'], capsys)
        assert out == alias_out.replace(f'usage: hififace-{name} ', f'usage: hififace {name} '), name
    assert '--per-identity' in in_process(main, ['synth', '--help'], capsys)[1]


def test_synth_help_and_a_bad_option_from_the_installed_command(tmp_path):
    p = sh('synth', '--help')
    assert p.returncode == 0 and p.stdout.startswith('usage: hififace synth ') and '--per-identity' in p.stdout
    p = sh('synth', 'SYNTH', '--bogus', cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == '' and 'Traceback' not in p.stderr
    errors = [l for l in p.stderr.splitlines() if 'error' in l]
    assert errors == ['hififace synth: error: unrecognized arguments: --bogus'], p.stderr   # after the tool's usage, as before
    assert not (tmp_path / 'SYNTH').exists()


def test_a_tools_own_error_is_one_line(tmp_path, capsys):
    code, out, err = in_process(main, ['swap', '--source', tmp_path / 'none.png', '--target', tmp_path / 'none.png',
                                       '--out', tmp_path / 'o.png', '--random-weights'], capsys)
    assert code == 2 and err == f"hififace swap: error: --source '{tmp_path / 'none.png'}' is not a file\n", err


def test_the_old_names_are_aliases():
    installed = {e.name: e.value for e in entry_points(group='console_scripts') if e.name.startswith('hififace')}
    assert installed.pop('hififace') == 'hififace.cli:main'
    assert installed == {alias: ':'.join(COMMANDS[c][:2]) for alias, c in ALIASES.items()}
    p = sh('--help', exe=str(BIN / 'hififace-synth'))
    assert p.returncode == 0 and p.stdout.startswith('usage: hififace-synth ') and '--per-identity' in p.stdout


def test_synth_end_to_end(tmp_path):
    out = tmp_path / 'synth'
    p = sh('synth', out, '--identities', 3, '--per-identity', 1, '--size', 64, '--heldout', 1, '--workers', 1)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith('hififace synth: wrote 3 images of 2 training and 1 held-out identities'), p.stdout
    assert len(list((out / 'train').glob('*/0000.png'))) == 2 and len(list((out / 'heldout').glob('*/0000.png'))) == 1
    assert (out / 'synth.json').is_file()
