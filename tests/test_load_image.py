"""hififace.align.load_image, the one loader behind hififace prepare and hififace swap: every bad input gets a one-line
ImageLoadError naming the file, the problem and what is expected; unusual but valid images are converted."""
import io, json, subprocess, sys

import numpy as np
import pytest
from PIL import Image

import hififace.align as A
from hififace.align import ImageLoadError, as_rgb_uint8, load_image

EXPECTED = 'expected a JPEG, PNG, BMP or WebP photo'
RGB = np.full((60, 40, 3), 200, np.uint8); RGB[:20, :20] = (220, 30, 30)    # asymmetric: a red square top-left


def noisy(h=200, w=300) -> np.ndarray: return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def encoded(fmt: str, a=None) -> bytes:
    b = io.BytesIO(); Image.fromarray(noisy() if a is None else a).save(b, fmt); return b.getvalue()


def refused(path, *words) -> str:
    "load_image's message for a bad file, checked to be one line naming the file and what is expected."
    with pytest.raises(ImageLoadError) as e: load_image(path)
    msg = str(e.value)
    assert '\n' not in msg and EXPECTED in msg and str(getattr(path, 'name', path)) in msg, msg
    for w in words: assert w in msg, (w, msg)
    assert isinstance(e.value, ValueError)                        # callers catching ValueError keep working
    return msg


# bad input: one test each
def test_missing_file(tmp_path): refused(tmp_path / 'missing.jpg', 'no such file')
def test_folder(tmp_path): refused(tmp_path, 'it is a folder')


def test_empty_file(tmp_path):
    (tmp_path / 'x.jpg').write_bytes(b''); refused(tmp_path / 'x.jpg', 'the file is empty (0 bytes)')


def test_empty_file_object():
    with pytest.raises(ImageLoadError, match=r'empty \(0 bytes\)'): load_image(io.BytesIO(b''))


def test_text_file_named_jpg(tmp_path):
    (tmp_path / 'notes.jpg').write_text('not a picture at all'); refused(tmp_path / 'notes.jpg', "it is not an image (it starts with 'not a picture")


def test_binary_junk(tmp_path):
    (tmp_path / 'x.png').write_bytes(bytes(range(7, 200))); refused(tmp_path / 'x.png', 'it is not an image')


def test_heic_says_convert(tmp_path):
    (tmp_path / 'phone.jpg').write_bytes(b'\x00\x00\x00\x18ftypheic' + bytes(100)); refused(tmp_path / 'phone.jpg', 'HEIC', 'convert it')


@pytest.mark.parametrize('fmt', ['JPEG', 'PNG', 'BMP', 'WEBP', 'GIF'])
def test_truncated_raises(tmp_path, fmt):
    "Truncated files raise: LOAD_TRUNCATED_IMAGES stays off, and load_image does not turn it on."
    data = encoded(fmt)
    (tmp_path / 'cut').write_bytes(data[:len(data) // 2])
    refused(tmp_path / 'cut', 'truncated or damaged')
    from PIL import ImageFile
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_header_only(tmp_path):
    (tmp_path / 'h.png').write_bytes(encoded('PNG')[:30]); refused(tmp_path / 'h.png', 'PNG data is truncated or damaged (30 bytes')


def test_too_large_to_decode(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((300, 400), np.uint8)).save(tmp_path / 'big.png')
    monkeypatch.setattr(A, 'MAX_DECODE_PIXELS', 100_000)
    e = pytest.raises(ImageLoadError, load_image, tmp_path / 'big.png', max_pixels=None)
    assert 'too large to decode (400x300, 0.12 Mpx, PNG; at most 0.1 Mpx are decoded' in str(e.value)
    pytest.raises(ImageLoadError, load_image, tmp_path / 'big.png', max_pixels=50_000)  # a PNG is decoded in full first
    Image.fromarray(noisy(300, 400)).save(tmp_path / 'big.jpg')
    assert load_image(tmp_path / 'big.jpg', max_pixels=50_000).shape == (150, 200, 3)   # a JPEG is decoded reduced: fine


def test_error_carries_name_and_reason(tmp_path):
    "Callers (hififace prepare's report) use the reason alone; the error survives pickling (worker processes)."
    import pickle
    with pytest.raises(ImageLoadError) as e: load_image(tmp_path / 'gone.png')
    assert e.value.name == str(tmp_path / 'gone.png') and e.value.reason == 'no such file'
    again = pickle.loads(pickle.dumps(e.value))
    assert str(again) == str(e.value) and again.reason == 'no such file'


def test_array_of_wrong_shape():
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'): as_rgb_uint8(np.zeros((4, 4, 5)))


# unusual but valid input: one test each
EXIF_TURN = {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud, 5: lambda a: a.transpose(1, 0, 2),
             6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation(tmp_path, orientation):
    "A JPEG stored as the camera saw it, with the EXIF tag saying how to turn it (the EXIF spec's 8 cases, in numpy)."
    exif = Image.Exif(); exif[0x0112] = orientation
    Image.fromarray(RGB).save(tmp_path / 'o.jpg', exif=exif, quality=95)
    r = load_image(tmp_path / 'o.jpg', info=True)
    want = EXIF_TURN[orientation](RGB)
    assert r.array.shape == want.shape and r.exif_rotated == (orientation != 1)
    assert np.abs(r.array.astype(int) - want).mean() < 3                     # JPEG-close to the turned image
    assert r.original_size == (want.shape[1], want.shape[0])


def test_grey(tmp_path):
    Image.fromarray(RGB[..., 1]).save(tmp_path / 'g.png')
    a = load_image(tmp_path / 'g.png'); assert a.shape == (60, 40, 3) and (a == RGB[..., 1:2]).all()


def test_one_bit(tmp_path):
    Image.fromarray(RGB[..., 1] > 100).save(tmp_path / 'b.png')
    a = load_image(tmp_path / 'b.png'); assert set(np.unique(a)) == {0, 255} and (a[..., 0] == np.where(RGB[..., 1] > 100, 255, 0)).all()


def test_palette(tmp_path):
    p = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), 'P'); p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.save(tmp_path / 'p.png')
    assert load_image(tmp_path / 'p.png')[:, :, :].tolist() == [[[255, 0, 0], [0, 0, 255]], [[0, 0, 255], [255, 0, 0]]]


def test_palette_with_transparency(tmp_path):
    p = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), 'P'); p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.save(tmp_path / 'p.gif', transparency=0)
    assert load_image(tmp_path / 'p.gif').tolist() == [[[128] * 3, [0, 0, 255]], [[0, 0, 255], [128] * 3]]


def test_rgba_over_mid_grey(tmp_path):
    a = np.zeros((4, 4, 4), np.uint8); a[..., 0] = 255; a[:, 2:, 3] = 255; a[0, 0, 3] = 64   # red; left half transparent
    Image.fromarray(a).save(tmp_path / 'a.png')
    got = load_image(tmp_path / 'a.png').astype(int)
    assert got[1, 1].tolist() == [128, 128, 128] and got[1, 3].tolist() == [255, 0, 0]
    assert np.abs(got[0, 0] - (np.array([255, 0, 0]) * 64 / 255 + 128 * (1 - 64 / 255))).max() <= 1   # partial alpha blends


def test_la(tmp_path):
    Image.fromarray(np.stack([np.full((4, 4), 20, np.uint8), np.array([[0, 255] * 2] * 4, np.uint8)], -1), 'LA').save(tmp_path / 'la.png')
    assert load_image(tmp_path / 'la.png')[0, :2, 0].tolist() == [128, 20]


def test_16_bit_grey_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 300).round().astype(np.uint16)[None].repeat(3, 0)
    Image.fromarray(ramp).save(tmp_path / 'g16.png')
    r = load_image(tmp_path / 'g16.png', info=True)
    assert r.mode == 'I;16' and (r.array[0, :, 0] == np.round(ramp[0] / 257)).all()
    assert r.array[0, 150, 0] == 128                                        # mid-grey stays mid-grey (clipping gives 255)


def test_32_bit_integer(tmp_path):
    Image.fromarray(np.array([[0, 32768, 65535]], np.int32), 'I').save(tmp_path / 'i.tif')
    assert load_image(tmp_path / 'i.tif')[0, :, 0].tolist() == [0, 128, 255]


def test_float(tmp_path):
    Image.fromarray(np.array([[0, 0.5, 1]], np.float32), 'F').save(tmp_path / 'f.tif')
    assert load_image(tmp_path / 'f.tif')[0, :, 0].tolist() == [0, 128, 255]


def test_cmyk_jpeg(tmp_path):
    Image.fromarray(RGB).convert('CMYK').save(tmp_path / 'c.jpg', quality=95)
    r = load_image(tmp_path / 'c.jpg', info=True)
    assert r.mode == 'CMYK' and np.abs(r.array.astype(int) - RGB).mean() < 4


@pytest.mark.parametrize('fmt,kw', [('GIF', {}), ('WEBP', {'lossless': True}), ('PNG', {})])
def test_animation_first_frame(tmp_path, fmt, kw):
    frames = [Image.new('RGB', (32, 24), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / 'anim', format=fmt, save_all=True, append_images=frames[1:], duration=100, **kw)
    r = load_image(tmp_path / 'anim', info=True)
    assert r.frames == 3 and (r.array == [255, 0, 0]).all()


def test_file_object_and_pil_image():
    data = encoded('PNG', RGB)
    assert (load_image(io.BytesIO(data)) == RGB).all() and (as_rgb_uint8(io.BytesIO(data)) == RGB).all()
    assert (as_rgb_uint8(Image.fromarray(RGB).convert('RGBA')) == RGB).all()


def test_jpeg_decoded_reduced(tmp_path):
    "Above max_pixels a JPEG is decoded at a reduced scale (draft): a whole factor, reported with the original size."
    Image.fromarray(noisy(400, 600)).save(tmp_path / 'n.jpg')
    r = load_image(tmp_path / 'n.jpg', max_pixels=60_000, info=True)
    assert r.array.shape == (200, 300, 3) and r.factor == 2 and r.scale == 0.5 and r.original_size == (600, 400)
    assert load_image(tmp_path / 'n.jpg').shape == (400, 600, 3)             # under the default limit: untouched


BIG = """
import json, sys, time
def hwm(): return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024   # MB, this process only
from hififace.align import load_image
base = hwm()
t = time.perf_counter(); r = load_image(sys.argv[1], info=True)
print(json.dumps(dict(shape=r.array.shape, factor=r.factor, original=r.original_size, seconds=time.perf_counter() - t,
                      base_mb=base, peak_mb=hwm())))
"""


def test_very_large_png_is_reduced(tmp_path):
    "12000 x 12000 (144 Mpx, above Pillow's decompression-bomb limit): returned reduced, in a fresh process (its peak RSS printed)."
    a = np.full((12000, 12000, 3), 90, np.uint8); a[5000:7000, 5000:7000] = (200, 50, 50)
    Image.fromarray(a).save(tmp_path / 'big.png', compress_level=1); del a
    r = subprocess.run([sys.executable, '-c', BIG, str(tmp_path / 'big.png')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    print(f"\n12000x12000 PNG -> {out['shape']} in {out['seconds']:.1f} s; peak RSS {out['peak_mb']:.0f} MB "
          f"(after imports {out['base_mb']:.0f} MB)")
    assert out['shape'] == [6000, 6000, 3] and out['factor'] == 2 and out['original'] == [12000, 12000]


def test_pillow_bomb_guard_lifted_only_inside(tmp_path, monkeypatch):
    "load_image opens past Pillow's global decompression-bomb limit; the limit is back in force for everyone else after."
    Image.fromarray(noisy(300, 400)).save(tmp_path / 'x.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 50_000)                     # 120 000 px is over twice this: Pillow refuses
    assert load_image(tmp_path / 'x.png').shape == (300, 400, 3)
    assert Image.MAX_IMAGE_PIXELS == 50_000
    with pytest.raises(Image.DecompressionBombError): Image.open(tmp_path / 'x.png')
