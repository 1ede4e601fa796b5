"Command-line face swapping (`hififace swap`): bad input gives one line, exit status 2, no traceback and no output file."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hififace.swap import swap_cli
from hififace.synth import synth_scene, write_scene


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    d = tmp_path_factory.mktemp('scenes')
    src = write_scene(d / 'src.png', *synth_scene([4010], 1))
    tgt = write_scene(d / 'tgt.png', *synth_scene([4021, 4034], 2))
    return d, src, tgt


def run_cli(args, capsys) -> tuple[int, str, str]:
    "swap_cli in this process: (exit status, stdout, stderr)."
    try: swap_cli([str(a) for a in args]); code = 0
    except SystemExit as e: code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_refused(args, out: Path, capsys, *words):
    code, _, err = run_cli(args, capsys)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('hififace swap: error: '), err
    assert 'Traceback' not in err
    for w in words: assert w.lower() in err.lower(), (w, err)
    assert not out.exists(), f'{out} was written'
    assert not list(out.parent.glob(f'.{out.name}*')) and not list(out.parent.glob(f'{out.name}.*tmp*')), 'a temporary file was left'


def mini_args(src, tgt, out, *more): return ['--source', src, '--target', tgt, '--out', out, '--weights', 'mini', '--quiet', *more]


def test_mini_swap_writes_a_marked_image(scenes, capsys):
    from hififace.media import read_provenance
    d, src, tgt = scenes
    out = d / 'out.png'
    code, so, err = run_cli(mini_args(src, tgt, out, '--face', 'all'), capsys)
    assert code == 0, err
    assert '2 face(s) swapped' in so
    img, orig = np.asarray(Image.open(out).convert('RGB')), np.asarray(Image.open(tgt).convert('RGB'))
    assert img.shape == orig.shape and (img != orig).any()
    mark = read_provenance(out)
    assert mark['synthetic'] and mark['untrained'] is False and mark['source'] == 'src.png'


@pytest.mark.parametrize('case', ['missing', 'empty', 'truncated', 'text', 'directory'])
def test_bad_target_files(scenes, tmp_path, capsys, case):
    _, src, tgt = scenes
    bad = tmp_path / 'bad.png'
    if case == 'empty': bad.write_bytes(b'')
    if case == 'truncated': bad.write_bytes(tgt.read_bytes()[:len(tgt.read_bytes()) // 2])
    if case == 'text': bad.write_text('this is not an image\n')
    if case == 'directory': bad.mkdir()
    words = {'missing': ['not a file'], 'directory': ['not a file'], 'empty': ['empty'], 'truncated': ['bad.png'], 'text': ['bad.png']}[case]
    assert_refused(mini_args(src, bad, tmp_path / 'out.png'), tmp_path / 'out.png', capsys, *words)


def test_bad_source_and_options(scenes, tmp_path, capsys):
    d, src, tgt = scenes
    out = tmp_path / 'out.png'
    (tmp_path / 'empty.jpg').write_bytes(b'')
    assert_refused(mini_args(tmp_path / 'empty.jpg', tgt, out), out, capsys, 'empty')
    assert_refused(mini_args(src, tgt, tmp_path / 'out.gif'), tmp_path / 'out.gif', capsys, '.png')
    assert_refused(mini_args(src, tgt, tmp_path / 'no' / 'out.png'), tmp_path / 'no' / 'out.png', capsys, 'does not exist')
    assert_refused(mini_args(src, tgt, out, '--face', '5'), out, capsys, 'index 5', '2 face')
    assert_refused(mini_args(src, tgt, out, '--face', 'abc'), out, capsys, "'largest', 'all' or a face index")
    code, _, err = run_cli(mini_args(src, tgt, tgt), capsys)          # never overwrite the target
    assert code == 2 and 'overwrite' in err


def test_no_face_and_face_too_small(scenes, tmp_path, capsys):
    _, src, _ = scenes
    flat = tmp_path / 'flat.png'
    Image.fromarray(np.full((200, 300, 3), 128, np.uint8)).save(flat)
    assert_refused(mini_args(src, flat, tmp_path / 'o.png'), tmp_path / 'o.png', capsys, 'no face')
    tiny = write_scene(tmp_path / 'tiny.png', *synth_scene([4021], 2, scale=0.3, height=120))
    assert_refused(mini_args(src, tiny, tmp_path / 'o.png'), tmp_path / 'o.png', capsys, 'px wide')


def test_missing_weights_lists_files(scenes, tmp_path, capsys):
    _, src, tgt = scenes
    out = tmp_path / 'o.png'
    code, _, err = run_cli(['--source', src, '--target', tgt, '--out', out, '--weights', tmp_path], capsys)
    assert code == 2 and 'Traceback' not in err and not out.exists()
    for f in ('hififace_256.safetensors', 'epoch_20.pth', 'backbone.pth', '--random-weights'): assert f in err


def test_console_script_help_and_random_weights(tmp_path):
    "The installed command: help states the intended uses; a real photo with random weights is swapped and marked untrained."
    from matplotlib import cbook
    from hififace.media import read_provenance
    exe = Path(sys.executable).with_name('hififace')
    h = subprocess.run([exe, 'swap', '--help'], capture_output=True, text=True)
    assert h.returncode == 0 and 'research, education' in h.stdout and 'forgery-detection' in h.stdout
    hopper = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    out = tmp_path / 'hopper_swapped.jpg'
    p = subprocess.run([exe, 'swap', '--source', hopper, '--target', hopper, '--out', out, '--random-weights', '--quiet'],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert 'UNTRAINED' in p.stdout
    mark = read_provenance(out)
    assert mark['synthetic'] and mark['untrained'] is True


def test_video_swap_and_bad_videos(scenes, tmp_path, capsys):
    "A SynthFaces clip is swapped frame by frame (audio kept, mark in the container); bad videos are refused cleanly."
    from hififace.media import make_test_video, read_provenance, video_info
    from hififace.synth import synth_clip, write_clip
    _, src, _ = scenes
    frames, truth = synth_clip(frames=16, faceless=2)
    clip = write_clip(tmp_path / 'clip.mp4', frames, truth)
    out = tmp_path / 'out.mp4'
    from hififace.media import ffmpeg_exe
    with_audio = tmp_path / 'clip_audio.mp4'                          # the same clip with a 440 Hz tone
    subprocess.run([ffmpeg_exe(), '-v', 'error', '-i', clip, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1',
                    '-c:v', 'copy', '-c:a', 'aac', '-shortest', with_audio], check=True)
    with_audio.with_suffix('.json').write_text(clip.with_suffix('.json').read_text())
    code, so, err = run_cli(mini_args(src, with_audio, out), capsys)
    assert code == 0, err
    assert '12 of 16 frames swapped' in so
    info = video_info(out)
    assert info.n_frames == 16 and info.has_audio and read_provenance(out)['synthetic']
    # a clip with audio and no face at all: refused after reading it, nothing written
    shapes = make_test_video(tmp_path / 'shapes.mp4', n=12, width=64, height=48, audio=True)
    assert_refused(mini_args(src, shapes, tmp_path / 'o1.mp4'), tmp_path / 'o1.mp4', capsys, 'no face', '12 frames')
    (tmp_path / 'text.mp4').write_text('not a video\n')
    assert_refused(mini_args(src, tmp_path / 'text.mp4', tmp_path / 'o2.mp4'), tmp_path / 'o2.mp4', capsys, 'text.mp4')
    (tmp_path / 'empty.mp4').write_bytes(b'')
    assert_refused(mini_args(src, tmp_path / 'empty.mp4', tmp_path / 'o3.mp4'), tmp_path / 'o3.mp4', capsys, 'empty')
    assert_refused(mini_args(src, clip, tmp_path / 'o4.png'), tmp_path / 'o4.png', capsys, '.mp4')   # a video target needs a video out


def test_reference_picks_the_face_of_that_person(scenes, tmp_path, capsys):
    "--reference: of two target faces, only the one most like the person in the reference photo is swapped."
    d, src, tgt = scenes
    ref = write_scene(tmp_path / 'ref.png', *synth_scene([4034], 5))         # another picture of the right-hand person
    out = tmp_path / 'out.png'
    code, so, err = run_cli(mini_args(src, tgt, out, '--reference', ref), capsys)
    assert code == 0, err
    img, orig = np.asarray(Image.open(out).convert('RGB')), np.asarray(Image.open(tgt).convert('RGB'))
    changed = (img != orig).any(-1)
    half = orig.shape[1] // 2
    assert changed[:, half:].sum() > 1000 and changed[:, :half].sum() == 0


def test_a_real_weights_folder_loads_strictly_and_swaps(tmp_path):
    "The path users take: generator + F_3d + F_id (+ BiSeNet) files in --weights DIR, each loaded strictly, then a photo swap."
    import dataclasses, json as _json
    import torch
    from matplotlib import cbook
    from safetensors.torch import save_file
    from hififace.generator import Generator
    from hififace.media import read_provenance
    from hififace.sid import BiSeNet, IResNet, ReconNet
    from hififace.swap import Swapper
    from hififace.train import TrainConfig
    torch.manual_seed(0)
    cfg = TrainConfig(size=256, base=8)                                  # a narrow generator: the layout is what is tested
    G = Generator(cfg.model())
    meta = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ('data', 'out')}
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, str(tmp_path / 'hififace_256.safetensors'),
              metadata={'hififace_mini': _json.dumps(dict(name='test', step=0, config=meta))})
    f3d, fid, bis = ReconNet(), IResNet(100), BiSeNet()
    torch.save({'net_recon': f3d.state_dict()}, tmp_path / 'epoch_20.pth')
    (tmp_path / 'ms1mv3_arcface_r100_fp16').mkdir()
    torch.save(fid.state_dict(), tmp_path / 'ms1mv3_arcface_r100_fp16' / 'backbone.pth')
    torch.save(bis.state_dict(), tmp_path / '79999_iter.pth')
    sw = Swapper.pretrained(tmp_path)
    assert sw.untrained is False and sw.parser is not None and 'hififace_256.safetensors' in sw.name
    for mine, ref in ((sw.G, G), (sw.extractor.f3d, f3d), (sw.extractor.fid, fid), (sw.parser.net, bis)):
        for k, v in ref.state_dict().items(): assert torch.equal(mine.state_dict()[k], v), k
    from hififace.swap import swap_image_file
    hopper = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    out = tmp_path / 'out.png'
    sw.blend = 'blend-t'                                               # M_tar from the BiSeNet file
    res = swap_image_file(sw, hopper, hopper, out)                     # what `hififace swap --weights DIR` runs
    assert len(res.faces) == 1
    mark = read_provenance(out)
    assert mark['untrained'] is False and mark['blend'] == 'blend-t' and 'hififace_256.safetensors' in mark['weights']


def test_missing_generator_message_gives_commands_that_work(tmp_path, monkeypatch):
    """The refusal's way to a generator works as written: its export_generator call on a training checkpoint puts the file
    where the swapper looks, and its hififace train command is accepted (it stops at the missing pretrained files)."""
    import dataclasses, os, re
    import torch
    from conftest import BIN, ROOT
    from hififace import swap
    from hififace.generator import Generator
    from hififace.priors import mini_extractor
    from hififace.train import TrainConfig, save_checkpoint
    weights = tmp_path / "my weights"                                  # a space in the path: the call must quote it
    (what, where, how), *_ = swap.missing_swap_files(weights)
    assert where == weights / 'hififace_256.safetensors'
    call = re.search(r'`([^`]*export_generator\(load_checkpoint\(CHECKPOINT[^`]*)`', how).group(1)
    torch.manual_seed(0)
    cfg = TrainConfig(size=256, base=8)
    G = Generator(cfg.model())
    ckpt = tmp_path / 'run' / 'checkpoints' / 'step_00000001.safetensors'     # what Trainer.save writes (the parts export reads)
    save_checkpoint(ckpt, dict(step=1, G=G.state_dict(), config=dataclasses.asdict(cfg)))
    exec(call.replace('CHECKPOINT', repr(str(ckpt))), {})              # the call exactly as the message gives it
    assert where.is_file()
    assert [p.name for _, p, _ in swap.missing_swap_files(weights)] == ['epoch_20.pth', 'backbone.pth']
    for _, p, _ in swap.missing_swap_files(weights): p.parent.mkdir(parents=True, exist_ok=True); p.touch()
    monkeypatch.setattr(swap, '_load_extractor', lambda d, layout: mini_extractor(layout))   # F_3d, F_id: not what is tested
    sw = swap.Swapper.pretrained(weights)
    assert 'hififace_256.safetensors' in sw.name
    for k, v in G.state_dict().items(): assert torch.equal(sw.G.state_dict()[k], v.half().float() if v.is_floating_point() else v), k
    train = re.search(r'(hififace train [^;]*);', how).group(1).split()  # the training command, run from the repository
    empty = tmp_path / 'no_weights'; empty.mkdir()
    args = [{'DATA': str(tmp_path / 'data'), 'RUN': str(tmp_path / 'train_run')}.get(a, a) for a in train[1:]]
    p = subprocess.run([BIN / train[0], *args], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, HIFIFACE_WEIGHTS=str(empty), TORCH_HOME=str(empty)))
    assert p.returncode == 2 and 'usage:' not in p.stderr and 'pretrained files that are missing' in p.stderr, p.stderr


def test_a_generator_file_that_does_not_fit_is_a_user_error(scenes, tmp_path, capsys):
    "A weights folder whose generator file is not one (or is another size) is refused in one line, naming the file."
    from hififace.swap import Swapper, SwapError, missing_swap_files
    _, src, tgt = scenes
    for _, p, _ in missing_swap_files(tmp_path): p.parent.mkdir(parents=True, exist_ok=True); p.write_bytes(b'not weights')
    out = tmp_path / 'o.png'
    assert_refused(['--source', src, '--target', tgt, '--out', out, '--weights', tmp_path, '--quiet'], out, capsys, 'hififace_256.safetensors')
    from hififace.mini import mini_dir
    import shutil
    shutil.copy(mini_dir() / 'full.safetensors', tmp_path / 'hififace_256.safetensors')       # a 64 px generator
    with pytest.raises(SwapError, match='64 px generator'): Swapper.pretrained(tmp_path)


def test_ground_truth_landmarks_are_documented_and_announced(scenes, tmp_path, capsys):
    "--help says that NAME.json is read; a swap says which faces came from one, unless --quiet."
    from hififace.swap import _known_faces, swap_parser
    d, src, tgt = scenes
    h = ' '.join(swap_parser().format_help().split())
    assert 'NAME.json' in h and 'instead of the detector' in h and "'landmarks'" in h and 'move it away' in h
    code, so, err = run_cli(mini_args(src, tgt, tmp_path / 'o.png')[:-1], capsys)          # without --quiet
    assert code == 0, err
    assert f"source: landmarks of 1 face(s) read from '{src.with_suffix('.json')}'" in so
    assert f"target: landmarks of 2 face(s) read from '{tgt.with_suffix('.json')}'" in so
    code, so, err = run_cli(mini_args(src, tgt, tmp_path / 'o2.png'), capsys)
    assert code == 0 and 'landmarks of' not in so
    clip = tmp_path / 'clip.mp4'                                        # a video's per-frame landmarks: only the JSON is read
    clip.with_suffix('.json').write_text(json.dumps({'frames': [{'faces': []}, {'faces': json.loads(tgt.with_suffix('.json').read_text())['faces']}]}))
    said = []
    truth = _known_faces(clip, 'target', said.append, video=True)
    assert [len(f) for f in truth] == [0, 2] and said == [f"target: landmarks of 2 frames read from '{clip.with_suffix('.json')}' (ground truth beside it), not detected"]


LM = [[float(x), float(y)] for x, y in zip(range(68), range(68))]
BAD_LANDMARKS = {                       # case: (NAME.json text, words the refusal must say)
    'not json':       ('{"faces": [', 'cannot be read as JSON'),
    'not an object':  (json.dumps([LM]), 'not an object'),
    'wrong keys':     (json.dumps({'points': LM}), "neither 'faces' nor 'landmarks'"),
    'faces not list': (json.dumps({'faces': {'landmarks': LM}}), "'faces' is a dict, not a list"),
    'no landmarks':   (json.dumps({'faces': [{'box': [0, 0, 9, 9]}]}), "face 0 has no 'landmarks'"),
    'wrong shape':    (json.dumps({'faces': [{'landmarks': LM[:5]}]}), 'shape (5, 2), not 68 (x, y) points'),
    'not numbers':    (json.dumps({'faces': [{'landmarks': [['a', 'b']] * 68}]}), 'not a list of numbers'),
    'ragged':         (json.dumps({'faces': [{'landmarks': LM[:67] + [[1.]]}]}), 'not a list of numbers'),
    'nan':            (json.dumps({'faces': [{'landmarks': LM[:67] + [[float('nan'), 1.]]}]}), 'not finite'),
    'infinity':       ('{"landmarks": ' + json.dumps(LM[:67])[:-1] + ', [Infinity, 1.0]]}', 'not finite'),
    'bad score':      (json.dumps({'faces': [{'landmarks': LM, 'score': 'high'}]}), "score of face 0, 'high', is not a finite number"),
}


@pytest.mark.parametrize('case', list(BAD_LANDMARKS))
def test_malformed_landmarks_file_says_what_is_wrong(tmp_path, case):
    "Each kind of malformed NAME.json: a LandmarksFileError naming the file and the fault, the expected layout and how to go on."
    from hififace.align import LandmarksFileError, faces_from_json
    text, words = BAD_LANDMARKS[case]
    (tmp_path / 'tgt.json').write_text(text)
    with pytest.raises(LandmarksFileError) as e: faces_from_json(tmp_path / 'tgt.png')
    for w in (str(tmp_path / 'tgt.json'), words, "Expected {'faces': [{'landmarks'", 'move it away'): assert w in str(e.value), (w, str(e.value))


@pytest.mark.parametrize('case', ['not json', 'wrong keys', 'wrong shape', 'nan'])
def test_malformed_landmarks_file_is_refused(scenes, tmp_path, capsys, case):
    "The command refuses a malformed NAME.json beside the target in one line, exit status 2, and writes nothing."
    _, src, tgt = scenes
    t = tmp_path / 'tgt.png'
    t.write_bytes(tgt.read_bytes())
    text, words = BAD_LANDMARKS[case]
    t.with_suffix('.json').write_text(text)
    assert_refused(mini_args(src, t, tmp_path / 'o.png'), tmp_path / 'o.png', capsys, str(t.with_suffix('.json')), words,
                   "Expected {'faces': [{'landmarks'", 'move it away')


def test_malformed_landmarks_beside_a_source_or_a_video(scenes, tmp_path, capsys):
    from hififace.synth import synth_clip, write_clip
    _, src, tgt = scenes
    s = tmp_path / 'src.png'
    s.write_bytes(src.read_bytes()); s.with_suffix('.json').write_text('{"faces": [{"landmarks": [[1, 2]]}]}')
    assert_refused(mini_args(s, tgt, tmp_path / 'o.png'), tmp_path / 'o.png', capsys, 'src.json', 'shape (1, 2)')
    frames, truth = synth_clip(frames=4, faceless=1)
    clip = write_clip(tmp_path / 'clip.mp4', frames)
    clip.with_suffix('.json').write_text(json.dumps({'frames': [{'faces': [{'landmarks': LM}]}, {'faces': [{'landmarks': LM[:3]}]}]}))
    assert_refused(mini_args(src, clip, tmp_path / 'o.mp4'), tmp_path / 'o.mp4', capsys, 'clip.json', 'in frame 1, face 0', "Expected {'frames'")
    clip.with_suffix('.json').write_text(json.dumps({'faces': []}))        # a photo's layout beside a video
    assert_refused(mini_args(src, clip, tmp_path / 'o.mp4'), tmp_path / 'o.mp4', capsys, "no list 'frames'")


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(scenes, tmp_path, capsys, monkeypatch):
    "Only the errors a user causes become one line and status 2; a ValueError from inside torch is a bug: it propagates."
    import os
    import torch
    from hififace.data import MissingPretrained
    from hififace.swap import USER_ERRORS
    d, src, tgt = scenes
    out = tmp_path / 'o.png'
    assert all(issubclass(e, ValueError) for e in USER_ERRORS if e is not MissingPretrained)   # old `except ValueError` still works
    assert_refused(mini_args(src, tgt, out, '--mini-model', 'huge'), out, capsys, 'huge.safetensors')
    assert_refused(mini_args(src, tgt, out, '--device', 'nonsense'), out, capsys, '--device', "'nonsense'")
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda p, mode, **k: False if Path(p) == tmp_path else real_access(p, mode, **k))
    assert_refused(mini_args(src, tgt, out), out, capsys, 'cannot write into the folder of --out')
    monkeypatch.undo()
    def bug(*a, **k): raise ValueError('injected: an internal error')
    monkeypatch.setattr(torch.nn.functional, 'conv2d', bug)             # deep inside the networks
    with pytest.raises(ValueError, match='injected'): swap_cli([str(a) for a in mini_args(src, tgt, out)])
    assert not out.exists()


def test_a_bug_prints_its_traceback_from_the_command(scenes, tmp_path):
    "The installed entry point, with a ValueError injected inside torch: a traceback and status 1, not a one-line 'error'."
    _, src, tgt = scenes
    code = ("import sys, torch.nn.functional as F\n"
            "def bug(*a, **k): raise ValueError('injected: an internal error')\n"
            "F.conv2d = bug\n"
            "from hififace.cli import main\n"
            "main(sys.argv[1:])\n")
    p = subprocess.run([sys.executable, '-c', code, 'swap', *map(str, mini_args(src, tgt, tmp_path / 'o.png'))], capture_output=True, text=True)
    assert p.returncode == 1 and 'Traceback (most recent call last)' in p.stderr and 'ValueError: injected' in p.stderr, p.stderr
    assert 'hififace swap: error' not in p.stderr and not (tmp_path / 'o.png').exists()
