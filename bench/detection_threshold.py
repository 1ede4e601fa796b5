"""Choose DlibDetector's min_score on evidence: HOG scores of faces and non-faces, counts at candidate thresholds.

Faces: the 100 LFW faces of `skimage.data.lfw_subset()` (25x25, upscaled to 100 px on a flat canvas), the faces of
the composed `group_photo()` (Grace Hopper, Eileen Collins, six LFW faces) and, when it is available, insightface's
group photo t1.jpg (6 people). Non-faces: the 100 LFW background patches, every detection in 20 scikit-image and
matplotlib sample images without faces (each at 0.5x, 1x and 2x), and every detection off the face in the two portraits
(the astronaut's badge among them).

t1.jpg ships in the source distribution of insightface 2.1 on PyPI (its licence is unclear: it is never committed).
This script puts it in ~/.cache/hififace/t1.jpg ($HIFIFACE_CACHE overrides the folder): it extracts it from
insightface-2.1.tar.gz found in that folder or given with --sdist, or else runs
`pip download insightface==2.1 --no-deps --no-binary :all:` into it (needs the package registry; --no-fetch skips).

    python bench/detection_threshold.py [--sdist PATH] [--no-fetch]
"""
import argparse, os, subprocess, sys, tarfile, time
from pathlib import Path

import numpy as np
from PIL import Image

from hififace.align import (T1_FACES, DlibDetector, group_photo, lfw_canvas, load_image, negative_images)

CANDIDATES = [-0.25, 0., 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]


def cache_dir() -> Path: return Path(os.environ.get('HIFIFACE_CACHE', Path.home() / '.cache' / 'hififace'))


def fetch_t1(sdist: str | None, fetch: bool) -> Path | None:
    "t1.jpg in the cache folder, extracted from insightface 2.1's source distribution if needed."
    out = cache_dir() / 't1.jpg'
    if out.is_file(): return out
    tgz = Path(sdist) if sdist else cache_dir() / 'insightface-2.1.tar.gz'
    if not tgz.is_file() and fetch:
        cache_dir().mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, '-m', 'pip', 'download', 'insightface==2.1', '--no-deps', '--no-binary', ':all:',
                            '-d', str(cache_dir())], capture_output=True, text=True)
        if r.returncode: print(f'pip download failed ({r.stderr.strip().splitlines()[-1:]}); going on without t1.jpg')
    if not tgz.is_file(): return None
    with tarfile.open(tgz) as t:
        member = t.getmember('insightface-2.1/insightface/data/images/t1.jpg')
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(t.extractfile(member).read())
    return out


def inside(box, pts) -> np.ndarray:
    "Which points (n, 2) lie inside box (x0, y0, x1, y1)."
    pts = np.asarray(pts, float).reshape(-1, 2)
    return (pts[:, 0] >= box[0]) & (pts[:, 0] <= box[2]) & (pts[:, 1] >= box[1]) & (pts[:, 1] <= box[3])


def face_scores(det, image, truth) -> tuple[list[float], list[float]]:
    "Best score of a candidate whose centre lies in each true face box (-inf if none), and the scores of all other candidates."
    cands = det.candidates(image)
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for _, b in cands]).reshape(-1, 2)
    used = np.zeros(len(cands), bool)
    best = []
    for t in truth:
        hit = inside(t, centres)
        used |= hit
        best.append(max([s for (s, _), h in zip(cands, hit) if h], default=-np.inf))
    return best, [s for (s, _), u in zip(cands, used) if not u]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sdist', help='path of insightface-2.1.tar.gz (else the cache folder, else pip download)')
    ap.add_argument('--no-fetch', action='store_true', help='never run pip download')
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    det = DlibDetector()
    lfw_face, lfw_bg, photo_face, neg = [], [], {}, {}          # neg: name -> scores of every non-face window
    for i in range(200):
        img, box = lfw_canvas(i)
        best, other = face_scores(det, img, [box])
        if i < 100: lfw_face += best; neg.setdefault('LFW face canvases, off the face', []).extend(other)
        else: lfw_bg += [s for s, _ in det.candidates(img)]
    neg['LFW background patches'] = lfw_bg
    gp, boxes = group_photo()
    best, other = face_scores(det, gp, boxes)
    photo_face.update({f'group_photo face {k}': s for k, s in enumerate(best)}); neg['group_photo off the faces'] = other
    import skimage.data
    from matplotlib import cbook
    for name, img, truth in [('astronaut', skimage.data.astronaut(), [[170, 70, 270, 170]]),
                             ('grace_hopper', load_image(cbook.get_sample_data('grace_hopper.jpg')), [[175, 135, 370, 330]])]:
        best, other = face_scores(det, img, truth)
        photo_face[name] = best[0]; neg[f'{name} off the face'] = other
    for name, img in negative_images():
        for s in (0.5, 1., 2.):
            if max(img.shape[:2]) * s > 2000: continue
            im = img if s == 1 else np.asarray(Image.fromarray(img).resize((round(img.shape[1] * s), round(img.shape[0] * s)), Image.Resampling.LANCZOS))
            neg.setdefault(name, []).extend(s for s, _ in det.candidates(im))
    t1 = fetch_t1(args.sdist, not args.no_fetch)
    t1_scores = None
    if t1 is not None:
        t1_scores, other = face_scores(det, load_image(t1), T1_FACES)
        photo_face.update({f't1.jpg face {k}': s for k, s in enumerate(t1_scores)}); neg['t1.jpg off the faces'] = other
    print(f'scores computed in {time.perf_counter() - t0:.1f} s (dlib HOG, upsample {det.upsample}; candidates down to -1)\n')

    f = np.array(lfw_face); nall = np.concatenate([np.array(v, float) for v in neg.values()])
    pct = lambda a: ' '.join(f'{q}%:{np.percentile(a, q):6.2f}' for q in (0, 5, 10, 25, 50))
    print(f'LFW faces (100): found at any score > -1: {np.isfinite(f).sum()}; percentiles of those {pct(f[np.isfinite(f)])}')
    print('real-photo faces: ' + ', '.join(f'{k} {v:.2f}' for k, v in photo_face.items()))
    print(f'non-face candidates ({len(nall)}, scores > -1): top 10 ' + ' '.join(f'{s:.2f}' for s in np.sort(nall)[::-1][:10]))
    for k, v in neg.items():
        if v: print(f'  {k:34s} {len(v):3d} candidates, best {max(v):6.2f}')
    print(f'\n{"threshold":>9} | {"LFW faces found":>15} | {"real-photo faces found":>22} | {"non-face detections":>19}')
    for t in CANDIDATES:
        print(f'{t:9.2f} | {(f >= t).sum():11d}/100 | {sum(v >= t for v in photo_face.values()):18d}/{len(photo_face):<3d} | {(nall >= t).sum():19d}')
    s_neg, s_face = nall.max(), min(photo_face.values())
    chosen = round((s_neg + s_face) / 2 / 0.05) * 0.05 if s_neg < s_face else None
    print(f'\nbest non-face {s_neg:.2f}, weakest real-photo face {s_face:.2f}: ' +
          (f'min_score = {chosen:.2f} (the midpoint, to 0.05): {(f >= chosen).sum()}/100 LFW faces, '
           f'{sum(v >= chosen for v in photo_face.values())}/{len(photo_face)} photo faces, {(nall >= chosen).sum()} non-faces'
           if chosen is not None else 'they overlap: no threshold separates them'))
    print(f'DlibDetector default now: {DlibDetector.__init__.__defaults__[1]}')
    if t1_scores is not None:
        print('t1.jpg per-face scores: ' + ', '.join(f'{s:.2f}' for s in t1_scores) +
              f'; found with min_score 0.5: {sum(s >= 0.5 for s in t1_scores)}/6, with the default: '
              f'{len(DlibDetector()(load_image(t1)))} faces')


if __name__ == '__main__': main()
