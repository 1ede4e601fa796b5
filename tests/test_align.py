"""Face detection and alignment as a user meets it: both backends, bad files, no face, several faces, group photos,
the detection threshold (chosen in 02b and bench/detection_threshold.py) keeping faces and dropping non-faces."""
import numpy as np
import pytest
import skimage.data
import torch
from matplotlib import cbook

from hififace.align import (T1_FACES, DlibDetector, ImageLoadError, NoFaceError, TEMPLATE_256, align_face, as_rgb_uint8,
                            detect_and_align, get_detector, group_photo, landmark_face_mask, lfw_canvas, load_image,
                            negative_images)


@pytest.fixture(scope='module')
def dlib_det(): return get_detector('dlib')


@pytest.fixture(scope='module')
def photos():
    return as_rgb_uint8(cbook.get_sample_data('grace_hopper.jpg')), skimage.data.astronaut()


def test_face_alignment_backend_offline(tmp_path, monkeypatch, photos):
    "The face-alignment integration, with random networks saved where the package looks for its downloads."
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    ckpt = tmp_path / 'hub' / 'checkpoints'; ckpt.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(FAN(4).state_dict(), ckpt / '2DFAN4-11f355bf06.pth.tar')
    torch.save(s3fd().state_dict(), tmp_path / 's3fd.pth')
    det = get_detector('face_alignment', face_detector_kwargs={'path_to_detector': str(tmp_path / 's3fd.pth')})
    img = photos[0]
    box = np.array([180., 139., 366., 325.])
    faces = det(img, boxes=[box])                         # skip detection: random S3FD finds nothing meaningful
    assert len(faces) == 1
    lm = faces[0].landmarks
    assert lm.shape == (68, 2) and np.isfinite(lm).all()
    pad = box[2] - box[0]                                  # FAN reads a crop about twice the box around it
    assert (lm >= box[:2] - pad).all() and (lm <= box[2:] + pad).all()
    al = align_face(img, faces[0])
    assert al.image.shape == (3, 256, 256)


def test_unreadable_images_say_what_is_wrong(tmp_path):
    "as_rgb_uint8 reads files through load_image (tests/test_load_image.py has every case)."
    with pytest.raises(ImageLoadError, match='missing.jpg.: no such file'): as_rgb_uint8(tmp_path / 'missing.jpg')
    (tmp_path / 'notes.jpg').write_text('not a picture')
    with pytest.raises(ValueError, match="notes.jpg.: it is not an image"): as_rgb_uint8(tmp_path / 'notes.jpg')
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'): as_rgb_uint8(np.zeros((4, 4, 5)))


def test_grey_and_float_images_are_converted():
    grey = as_rgb_uint8(np.full((8, 8), 0.5))
    assert grey.shape == (8, 8, 3) and grey.dtype == np.uint8 and grey[0, 0, 0] == 128


def test_no_face(dlib_det):
    with pytest.raises(NoFaceError, match='no face found by the dlib detector'):
        detect_and_align(np.full((240, 320, 3), 90, np.uint8), dlib_det)


def test_several_faces_largest_first(dlib_det, photos):
    hopper, astro = photos
    small = hopper[::2, ::2]                                 # a smaller second face
    canvas = np.zeros((600, 512 + small.shape[1], 3), np.uint8)
    canvas[:512, :512] = astro; canvas[:small.shape[0], 512:] = small
    faces = dlib_det(canvas)
    assert len(faces) >= 2
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)
    largest = detect_and_align(canvas, dlib_det)
    second = detect_and_align(canvas, dlib_det, which=1)
    assert largest.face.box[0] < 512 <= second.face.box[0] or areas[1] != areas[0]
    with pytest.raises(ValueError, match='index below'): detect_and_align(canvas, dlib_det, which=len(faces))


def test_alignment_inverse_round_trip(dlib_det, photos):
    al = detect_and_align(photos[0], dlib_det)
    pts = TEMPLATE_256
    back = pts @ al.M_inv[:, :2].T + al.M_inv[:, 2]
    again = back @ al.M[:, :2].T + al.M[:, 2]
    np.testing.assert_allclose(again, pts, atol=1e-9)
    np.testing.assert_allclose(al.landmarks, al.face.landmarks @ al.M[:, :2].T + al.M[:, 2])


def test_512_crops(dlib_det, photos):
    al = detect_and_align(photos[1], dlib_det, size=512)
    assert al.image.shape == (3, 512, 512)


@pytest.mark.parametrize('size', [256, 512])
def test_landmark_mask_as_prepare_calls_it(dlib_det, photos, size):
    "`hififace prepare --mask landmarks` calls landmark_face_mask(aligned.landmarks, size, dilation) on detect_and_align's crop."
    for img in photos:
        al = detect_and_align(img, dlib_det, size)
        m = landmark_face_mask(al.landmarks, size, 5)
        assert m.shape == (1, 1, size, size) and set(m.unique().tolist()) == {0., 1.}
        inner = np.round(al.landmarks[27:]).astype(int)          # nose, eyes, mouth: strictly inside jaw and brows
        assert m[0, 0, inner[:, 1], inner[:, 0]].all()
        assert 0.3 < m.mean() < 0.45, 'the face covers about a third of the aligned crop'
        rows = np.nonzero(m[0, 0].any(1).numpy())[0]
        brow_top, chin = al.landmarks[17:27, 1].min(), al.landmarks[8, 1]
        assert rows.min() < brow_top - 0.1 * (chin - brow_top), 'the mask reaches over the forehead'
        assert rows.max() <= chin + 2 * size / 256 + 1, 'and stops at the chin (plus the dilation)'
        assert m[0, 0, :, :size // 8].sum() == 0 and m[0, 0, :, -size // 8:].sum() == 0, 'no ears or background at the sides'


def test_landmark_mask_refuses_bad_points():
    with pytest.raises(ValueError, match=r'\(68, 2\) or \(B, 68, 2\)'): landmark_face_mask(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r'\(68, 2\) or \(B, 68, 2\)'): landmark_face_mask(torch.zeros(2, 68, 3))
    with pytest.raises(ValueError, match='odd'): landmark_face_mask(np.full((68, 2), 100.), dilation=0)


def found(faces, boxes) -> list[int]:
    "How many detections have their centre inside each box."
    c = np.array([(f.box[:2] + f.box[2:]) / 2 for f in faces]).reshape(-1, 2)
    return [int(((c >= np.asarray(b)[:2]) & (c <= np.asarray(b)[2:])).all(1).sum()) for b in boxes]


def test_default_threshold_is_the_chosen_one(dlib_det):
    assert DlibDetector().min_score == dlib_det.min_score == 0.25


def test_composed_group_photo_every_face_found(dlib_det):
    img, boxes = group_photo()
    assert img.shape == (420, 1300, 3) and len(boxes) == 8
    faces = dlib_det(img)
    assert found(faces, boxes) == [1] * 8 and len(faces) == 8, [(f.box.tolist(), round(f.score, 2)) for f in faces]
    weakest = min(f.score for f in faces)
    assert 0.25 <= weakest < 0.5, 'the group photo holds a face the old min_score 0.5 lost'


def test_astronaut_badge_stays_rejected(dlib_det):
    faces = dlib_det(skimage.data.astronaut())
    assert len(faces) == 1 and found(faces, [[170, 70, 270, 170]]) == [1]          # the face, not the badge at (126, 335)
    badge = [s for s, b in dlib_det.candidates(skimage.data.astronaut()) if 120 <= (b[0] + b[2]) / 2 <= 220 and 330 <= (b[1] + b[3]) / 2 <= 430]
    assert badge and max(badge) < dlib_det.min_score                               # it is a window dlib scores, below the cut


def test_images_without_faces_stay_rejected(dlib_det):
    for name, img in negative_images():
        assert dlib_det(img) == [], name
    for i in range(100, 200, 3):                                                   # LFW background patches
        assert dlib_det(lfw_canvas(i)[0]) == [], i


def test_lfw_faces_mostly_found(dlib_det):
    "The blurry upscaled LFW faces: the bench finds 90 of 100 at 0.25 (82 at 0.5); every fourth of them here."
    hits = [found(dlib_det(img), [box])[0] >= 1 for img, box in map(lfw_canvas, range(0, 100, 4))]
    assert sum(hits) >= 21, sum(hits)


def test_insightface_group_photo(dlib_det):
    "insightface's t1.jpg (6 people), when bench/detection_threshold.py has fetched it: every face, nothing else."
    import os
    from pathlib import Path
    t1 = Path(os.environ.get('HIFIFACE_CACHE', Path.home() / '.cache' / 'hififace')) / 't1.jpg'
    if not t1.is_file(): pytest.skip(f'{t1} absent (not committed, licence unclear): `python bench/detection_threshold.py` fetches it')
    faces = dlib_det(load_image(t1))
    assert found(faces, T1_FACES) == [1] * 6 and len(faces) == 6, sorted(round(f.score, 2) for f in faces)
