"""hififace.files and hififace.media as the swap tools use them: the provenance mark in images and videos, atomic writes,
video in and out with the source's audio, clear errors for files that are not videos; and hififace.align's steady landmarks."""
import json, os, subprocess

import numpy as np
import pytest
from PIL import Image

from hififace.align import DetectedFace, LandmarkSmoother, OneEuroFilter
from hififace.files import PROVENANCE, MediaError, save_image, visible_label
from hififace.media import (ffmpeg_exe, make_test_video, process_video, read_frames, read_provenance,
                            moving_shapes as frames_of, video_info)


def files(folder):
    return sorted(p.name for p in folder.iterdir())


def ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), '-nostdin', '-v', 'error', '-y', *map(str, args)], check=True, capture_output=True)


def pcm(path):
    "The first audio stream, decoded to 16-bit mono 44.1 kHz."
    r = subprocess.run([ffmpeg_exe(), '-v', 'error', '-i', str(path), '-map', '0:a:0', '-f', 's16le', '-ac', '1',
                        '-ar', '44100', '-'], capture_output=True, check=True)
    return np.frombuffer(r.stdout, np.int16)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    return make_test_video(tmp_path_factory.mktemp('src') / 'in.mp4')          # 24 frames, 64x48, 24 fps, 1 s tone


# images

@pytest.mark.parametrize('suffix', ['.png', '.jpg', '.jpeg', '.webp'])
def test_image_provenance_round_trip(tmp_path, suffix):
    img = frames_of(1, 80, 60)[0]
    p = save_image(img, tmp_path / f'swap{suffix}', extra={'source': 'me.jpg', 'untrained': True})
    rec = read_provenance(p)
    assert rec['synthetic'] is True and rec['tool'] == 'hififace' and rec['description'] == PROVENANCE
    assert rec['source'] == 'me.jpg' and rec['untrained'] is True
    with Image.open(p) as im:                                                  # what other programs see
        if suffix == '.png':
            assert im.text['Software'] == 'hififace' and im.text['Description'] == PROVENANCE
            assert json.loads(im.text['hififace']) == rec
            assert (np.asarray(im) == img).all()
        else:
            exif = im.getexif()
            assert exif[0x010E] == PROVENANCE and exif[0x0131].startswith('hififace')
            assert np.abs(np.asarray(im.convert('RGB')).astype(int) - img).mean() < 6
        xmp = im.info.get('xmp') or im.info['XML:com.adobe.xmp'].encode()
        assert b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/' in xmp
    assert files(tmp_path) == [f'swap{suffix}']


def test_files_without_a_mark(tmp_path):
    img = frames_of(1, 32, 32)[0]
    for name in ('a.png', 'a.jpg'): Image.fromarray(img).save(tmp_path / name)
    assert read_provenance(tmp_path / 'a.png') is None and read_provenance(tmp_path / 'a.jpg') is None


def test_unsupported_suffix_names_the_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r'\.png, \.jpg, \.jpeg, \.webp'):
        save_image(frames_of(1, 32, 32)[0], tmp_path / 'a.bmp')
    with pytest.raises(ValueError, match=r'\.mp4, \.mov, \.mkv'):
        process_video('in.mp4', tmp_path / 'out.avi', lambda f, i: f)
    assert files(tmp_path) == []


def test_a_failing_encoder_leaves_no_file(tmp_path, monkeypatch):
    img = frames_of(1, 32, 32)[0]
    save_image(img, tmp_path / 'old.png')
    before = (tmp_path / 'old.png').read_bytes()
    def half_a_file(self, fp, *args, **kw):
        with open(fp, 'wb') as f: f.write(b'\x89PNG half')
        raise OSError('no space left on device')
    monkeypatch.setattr(Image.Image, 'save', half_a_file)
    for name in ('new.png', 'new.jpg', 'old.png'):
        with pytest.raises(OSError, match='no space left'):
            save_image(img, tmp_path / name)
    assert files(tmp_path) == ['old.png'] and (tmp_path / 'old.png').read_bytes() == before


def test_visible_label_changes_only_a_corner():
    for value in (0, 128, 255):
        img = np.full((360, 640, 3), value, np.uint8)
        lab = visible_label(img)
        ys, xs = np.nonzero((lab != img).any(-1))
        assert ys.min() >= 360 - 40 and xs.min() >= 640 // 2                 # only the bottom-right corner changes
        box = lab[ys.min():, xs.min():]
        assert box.max() >= 230 and box.min() <= 70                          # white text on a dark box
        if value: assert ys.max() == 359 and xs.max() == 639                # the box reaches the corner
    assert (visible_label(img, corner='top-left')[-40:] == img[-40:]).all()


# video

def test_video_info(video):
    info = video_info(video)
    assert (info.width, info.height, info.fps, info.n_frames, info.has_audio) == (64, 48, 24., 24, True)
    assert abs(info.duration - 1) < 0.05


def test_video_round_trip_keeps_frames_audio_and_marks_it(video, tmp_path):
    stats = process_video(video, tmp_path / 'out.mp4', lambda f, i: 255 - f, progress=False,
                          extra={'source': 'me.jpg', 'target': video.name})
    assert stats['frames'] == 24 and stats['audio'] == 'copied' and stats['fps'] > 0
    out = np.stack(list(read_frames(tmp_path / 'out.mp4')))
    assert out.shape == (24, 48, 64, 3)
    assert np.abs(out.astype(int) - (255 - frames_of())).mean() < 8          # inverted, within codec error
    info = video_info(tmp_path / 'out.mp4')
    assert info.has_audio and abs(info.duration - 1) < 0.05
    a_in, a_out = pcm(video), pcm(tmp_path / 'out.mp4')
    assert abs(len(a_out) / 44100 - 1) < 0.05 and (a_in == a_out).all()
    rec = read_provenance(tmp_path / 'out.mp4')
    assert rec['synthetic'] is True and rec['target'] == 'in.mp4' and rec['source'] == 'me.jpg'
    assert read_provenance(video) is None
    assert files(tmp_path) == ['out.mp4']
    # the container tags as ffmpeg shows them to any user
    r = subprocess.run([ffmpeg_exe(), '-hide_banner', '-i', str(tmp_path / 'out.mp4')], capture_output=True, text=True)
    assert f'comment         : {PROVENANCE}' in r.stderr


def test_audio_that_mp4_does_not_take_is_reencoded(video, tmp_path):
    ffmpeg('-i', video, '-map', '0', '-c:v', 'copy', '-c:a', 'pcm_s16le', tmp_path / 'pcm.mkv')
    stats = process_video(tmp_path / 'pcm.mkv', tmp_path / 'out.mp4', lambda f, i: f, progress=False)
    assert stats['audio'] == 'aac' and video_info(tmp_path / 'out.mp4').audio_codec == 'aac'
    assert abs(len(pcm(tmp_path / 'out.mp4')) / 44100 - 1) < 0.05
    stats = process_video(tmp_path / 'pcm.mkv', tmp_path / 'out.mkv', lambda f, i: f, progress=False)
    assert stats['audio'] == 'copied' and (pcm(tmp_path / 'out.mkv') == pcm(tmp_path / 'pcm.mkv')).all()


def test_no_audio_odd_size_label_and_mov(tmp_path):
    src = make_test_video(tmp_path / 'odd.mp4', n=5, width=65, height=33, audio=False)
    seen = []
    stats = process_video(src, tmp_path / 'out.mov', lambda f, i: seen.append(i) or f, label=True, progress=False)
    assert seen == list(range(5)) and stats['audio'] is None and (stats['width'], stats['height']) == (66, 34)
    info = video_info(tmp_path / 'out.mov')
    assert (info.width, info.height, info.has_audio) == (66, 34, False)
    assert read_provenance(tmp_path / 'out.mov')['synthetic'] is True


def test_rotated_phone_video_comes_out_upright(video, tmp_path):
    ffmpeg('-display_rotation', '90', '-i', video, '-c', 'copy', tmp_path / 'rot.mp4')
    info = video_info(tmp_path / 'rot.mp4')
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    assert next(read_frames(tmp_path / 'rot.mp4')).shape == (64, 48, 3)
    process_video(tmp_path / 'rot.mp4', tmp_path / 'out.mp4', lambda f, i: f, progress=False)
    out = video_info(tmp_path / 'out.mp4')
    assert (out.width, out.height, out.rotation) == (48, 64, 0)


@pytest.fixture
def bad_files(video, tmp_path):
    (tmp_path / 'empty.mp4').write_bytes(b'')
    (tmp_path / 'text.mp4').write_text('this is not a video\n')
    (tmp_path / 'cut.mp4').write_bytes(video.read_bytes()[:3000])
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=24', '-frames:v', '0', tmp_path / 'noframes.mp4')
    ffmpeg('-f', 'lavfi', '-i', 'sine=duration=0.2', tmp_path / 'tone.wav')
    return tmp_path


@pytest.mark.parametrize('name, message', [
    ('missing.mp4', 'no video file at'), ('empty.mp4', r'is empty \(0 bytes\)'), ('text.mp4', 'Invalid data found'),
    ('cut.mp4', 'cannot read .* as a video'), ('noframes.mp4', 'has no video frames'), ('tone.wav', 'only audio')])
def test_bad_videos_give_one_line_and_no_output(bad_files, name, message):
    before = files(bad_files)
    for call in (lambda: video_info(bad_files / name),
                 lambda: process_video(bad_files / name, bad_files / 'out.mp4', lambda f, i: f, progress=False)):
        with pytest.raises(MediaError, match=message) as e:
            call()
        assert isinstance(e.value, ValueError) and '\n' not in str(e.value) and name in str(e.value)
    assert files(bad_files) == before


@pytest.mark.parametrize('error', [KeyboardInterrupt, RuntimeError])
def test_interrupted_video_leaves_nothing(video, tmp_path, error):
    (tmp_path / 'out.mp4').write_bytes(b'an older result')
    def fn(frame, i):
        if i == 12: raise error('stop')
        return frame
    with pytest.raises(error):
        process_video(video, tmp_path / 'out.mp4', fn, progress=False)
    assert files(tmp_path) == ['out.mp4'] and (tmp_path / 'out.mp4').read_bytes() == b'an older result'


def test_fn_must_return_a_frame_like_its_input(video, tmp_path):
    with pytest.raises(ValueError, match=r'\(48, 64, 3\) uint8 frame like its input, got float64'):
        process_video(video, tmp_path / 'out.mp4', lambda f, i: f / 255., progress=False)
    assert files(tmp_path) == []


@pytest.mark.parametrize('suffix', ['.mkv', '.mp4'])
def test_a_cut_off_video_is_reported_and_not_half_written(tmp_path, suffix):
    # the header is complete but the data breaks off (a cut download): decoding runs dry part-way
    src = make_test_video(tmp_path / f'long{suffix}', n=48, audio=False)
    if suffix == '.mp4':                                                    # moov first, as process_video writes it
        process_video(src, tmp_path / f'fs{suffix}', lambda f, i: f, progress=False); src = tmp_path / f'fs{suffix}'
    data = src.read_bytes()
    (tmp_path / f'half{suffix}').write_bytes(data[:len(data) // 2])
    assert video_info(tmp_path / f'half{suffix}').n_frames == 48
    got = []
    with pytest.raises(MediaError, match=r'is damaged or incomplete: ffmpeg decoded \d+ of about 48 frames'):
        for f in read_frames(tmp_path / f'half{suffix}'): got.append(f)
    assert 0 < len(got) < 48
    with pytest.raises(MediaError, match='damaged or incomplete'):
        process_video(tmp_path / f'half{suffix}', tmp_path / 'out.mp4', lambda f, i: f, progress=False)
    assert not (tmp_path / 'out.mp4').exists()


# landmarks

RNG = np.random.default_rng(0)
SHAPE = RNG.uniform(-60, 60, (68, 2))                                       # a 120 px face


def detect(c, shape=SHAPE, noise=1.5):
    return DetectedFace(box=np.r_[c - 60, c + 60] + RNG.normal(0, noise, 4),
                        landmarks=shape + c + RNG.normal(0, noise, (68, 2)), score=0.9)


def follow(path, fps=30):
    sm = LandmarkSmoother(fps=fps); raw, out = [], []
    for c in path:
        f = detect(c); raw.append(f.landmarks); s = sm([f]); out.append(s[0].landmarks)
        assert s[0].box.shape == (4,) and s[0].landmarks.shape == (68, 2) and s[0].score == 0.9
    return np.array(raw), np.array(out), SHAPE + path[:, None]


def test_smoother_removes_jitter_on_a_moving_face():
    t = np.arange(150) / 30
    path = np.stack([320 + 80 * np.sin(2 * np.pi * 0.3 * t), 240 + 40 * np.sin(2 * np.pi * 0.2 * t)], -1)
    raw, sm, true = follow(path)
    jitter = lambda a: np.diff(a[30:], 2, axis=0).std()                     # std of the second difference
    assert jitter(sm) < jitter(raw) / 4
    err = lambda a: np.linalg.norm(a[30:] - true[30:], axis=-1).mean()
    assert err(sm) < 0.7 * err(raw)


def test_lag_on_steady_motion_is_small():
    t = np.arange(120) / 30
    raw, sm, true = follow(np.stack([100 + 100 * t, 240 + 0 * t], -1))      # 100 px/s
    lag = (true - sm)[60:, :, 0].mean()
    assert 0 < lag < 2                                                      # px: under 20 ms at this speed


def test_still_face_converges():
    raw, sm, true = follow(np.tile([[320., 240.]], (90, 1)))
    err = np.linalg.norm(sm[60:] - true[60:], axis=-1).mean()
    assert err < np.linalg.norm(raw[60:] - true[60:], axis=-1).mean() / 2.5 and err < 0.8


def test_crossing_faces_keep_their_tracks():
    sm = LandmarkSmoother(fps=30); tracks = {0: set(), 1: set()}
    for i in range(60):
        faces = [detect(np.array([100 + 6 * i, 240.])), detect(np.array([460 - 6 * i, 240.]), shape=SHAPE * 0.8)]
        order = [1, 0] if i % 3 else [0, 1]
        out = sm([faces[k] for k in order])
        for k, tid, o in zip(order, sm.track_ids, out):
            tracks[k].add(tid)
            assert np.abs(o.landmarks.mean(0) - faces[k].landmarks.mean(0)).max() < 10
    assert len(tracks[0]) == 1 and len(tracks[1]) == 1 and tracks[0] != tracks[1]


def test_tracks_end_when_faces_disappear():
    sm = LandmarkSmoother(fps=30, max_missed=0)
    for i in range(5): sm([detect(np.array([200. + i, 200.]))])
    assert sm.track_ids == [0] and sm([]) == [] and sm.tracks == {}
    f = detect(np.array([205., 200.]))
    assert np.allclose(sm([f])[0].landmarks, f.landmarks) and sm.track_ids == [1]
    far = [detect(np.array([205., 200.])), detect(np.array([600., 200.]))]  # a second face far away: a new track
    sm(far); assert sm.track_ids == [1, 2]


def test_a_frame_or_two_without_the_face_keeps_its_track():
    "A detector miss does not restart smoothing: the track survives max_missed frames, then ends."
    t = np.arange(90) / 30
    path = np.stack([320 + 60 * np.sin(2 * np.pi * 0.3 * t), 240 + 0 * t], -1)
    gaps = {40, 60, 61}                                                      # one miss, then two in a row
    for max_missed, same_track in ((2, True), (0, False)):
        sm, ids, errs = LandmarkSmoother(fps=30, max_missed=max_missed), set(), []
        for i, c in enumerate(path):
            out = sm([] if i in gaps else [detect(c)], t[i])
            if out: ids.add(sm.track_ids[0])
            if i in (41, 62): errs.append(np.linalg.norm(out[0].landmarks - (SHAPE + c), axis=-1).mean())
        assert (len(ids) == 1) == same_track, (max_missed, ids)
        if same_track: assert max(errs) < 1.5                                   # still smoothed right after the gaps
    sm = LandmarkSmoother(fps=30)
    sm([detect(path[0])])
    for _ in range(3): sm([])
    assert sm.tracks == {}                                                    # three misses: more than max_missed


def test_one_euro_filter_follows_a_step_and_ignores_noise():
    f = OneEuroFilter(min_cutoff=1., beta=0.)
    x = [f(np.array([[0., 0.]]), i / 30) for i in range(30)]
    y = [f(np.array([[10., 0.]]), 1 + i / 30) for i in range(60)]
    assert abs(y[-1][0, 0] - 10) < 0.1 and 0 < y[0][0, 0] < 3              # a low-pass: converges, no overshoot
    assert all(a[0, 0] <= b[0, 0] + 1e-9 for a, b in zip(y, y[1:]))
