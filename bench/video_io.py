"""Frames per second of hififace.media's video I/O with an identity fn: decoding alone (`read_frames`), and the whole
`process_video` (decode + H.264 encode + mux with audio copy + provenance tags), plus the LandmarkSmoother's cost.
The test videos are made at run time in a temporary folder.

    .venv/bin/python bench/video_io.py [--frames 120] [--sizes 256x256 640x360] [--repeats 3]
"""
import argparse, statistics, tempfile, time
from pathlib import Path

import numpy as np

from hififace.align import DetectedFace, LandmarkSmoother
from hififace.media import make_test_video, process_video, read_frames, video_encoder


def median(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--frames', type=int, default=120)
    ap.add_argument('--sizes', nargs='+', default=['256x256', '640x360'])
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args()
    print(f'encoder: {" ".join(video_encoder())}; {a.frames} frames at 30 fps with AAC audio; median of {a.repeats}')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in a.sizes:
            w, h = map(int, size.split('x'))
            src = make_test_video(tmp / f'{size}.mp4', n=a.frames, width=w, height=h, fps=30)
            t_dec = median(lambda: sum(1 for _ in read_frames(src)), a.repeats)
            t_all = median(lambda: process_video(src, tmp / f'{size}_out.mp4', lambda f, i: f, progress=False), a.repeats)
            print(f'{size:>9}: decode {a.frames / t_dec:6.0f} frames/s | process_video (identity fn) '
                  f'{a.frames / t_all:5.0f} frames/s = {t_all / a.frames * 1e3:5.1f} ms per frame')
    rng = np.random.default_rng(0); shape = rng.uniform(-60, 60, (68, 2))
    faces = [[DetectedFace(box=np.r_[c - 60, c + 60], landmarks=shape + c + rng.normal(0, 1.5, (68, 2)))
              for c in (np.array([200. + i, 200.]), np.array([500. - i, 220.]))] for i in range(300)]
    def smooth():
        sm = LandmarkSmoother()
        for fs in faces: sm(fs)
    t = median(smooth, a.repeats)
    print(f'LandmarkSmoother: {t / 300 * 1e3:.2f} ms per frame with 2 faces')


if __name__ == '__main__':
    main()
