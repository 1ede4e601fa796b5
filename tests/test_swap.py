"Command-line face swapping (`hififace swap`): bad input gives one line, exit status 2, no traceback and no output file."
import json, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hififace.swap import swap_cli, synth_scene, write_scene


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
    from hififace.swap import synth_clip, write_clip
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
