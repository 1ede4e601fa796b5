"""End-to-end swap timing on this machine (a benchmark, not a test): one photo, load to write, and video frames/s.

    OMP_NUM_THREADS=2 .venv/bin/python bench/swap_timing.py [--repeat 3]

Photo: Grace Hopper's portrait (matplotlib's sample data, 512x600) swapped with itself at the paper's 256 with random
weights (dlib detection), and a SynthFaces scene with the trained HifiFace-mini. Each stage is timed as `hififace swap`
runs it: load, detect, align, extract (F_3d/F_id), generate, paste back, write (with the provenance mark). Video: a
SynthFaces clip (mini) and a real-face clip (random weights, dlib on every frame), frames/s including decode and encode.
"""
import argparse, statistics, tempfile, time
from pathlib import Path

import numpy as np
import torch
from matplotlib import cbook

from hififace.align import load_image
from hififace.files import save_image
from hififace.align import faces_from_json
from hififace.swap import Swapper, swap_record, swap_video_file
from hififace.synth import synth_clip, synth_scene, write_clip, write_scene


def photo(sw: Swapper, src, tgt, out) -> dict:
    t = {}; t0 = time.perf_counter()
    s_img, t_img = load_image(src), load_image(tgt)
    t['load'] = time.perf_counter() - t0; t0 = time.perf_counter()
    ident = sw.identity(s_img, faces_from_json(src))
    t['source identity'] = time.perf_counter() - t0
    r = sw.swap(t_img, ident, faces=faces_from_json(tgt))
    t.update(r.seconds); t0 = time.perf_counter()
    save_image(r.image, out, extra=swap_record(sw, src, tgt))
    t['write'] = time.perf_counter() - t0
    t['total'] = sum(t.values())
    return t


def report(name, runs):
    keys = runs[0].keys()
    print(f'{name}: ' + ', '.join(f'{k} {statistics.median(r[k] for r in runs):.3f}' for k in keys) + ' s (median)')


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--repeat', type=int, default=3); a = ap.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    hopper = cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t0 = time.perf_counter(); rnd = Swapper.pretrained(random_weights=True); print(f'random 256 swapper built in {time.perf_counter() - t0:.2f} s')
        report('photo, 256, random weights (grace_hopper 512x600)', [photo(rnd, hopper, hopper, d / 'o.jpg') for _ in range(a.repeat)])
        t0 = time.perf_counter(); mini = Swapper.mini('full'); print(f'mini swapper built in {time.perf_counter() - t0:.2f} s')
        s = write_scene(d / 's.png', *synth_scene([4010], 1)); t = write_scene(d / 't.png', *synth_scene([4021], 2))
        report('photo, mini 64 (SynthFaces scene 192x192)', [photo(mini, s, t, d / 'o.png') for _ in range(a.repeat)])
        frames, truth = synth_clip(frames=48)
        write_clip(d / 'clip.mp4', frames, truth)
        t0 = time.perf_counter(); st = swap_video_file(mini, s, d / 'clip.mp4', d / 'o.mp4', progress=False)
        dt = time.perf_counter() - t0
        print(f"video, mini (256x192, {st['frames']} frames, {st['frames_swapped']} with a face): {st['frames'] / dt:.1f} frames/s")
        h = load_image(hopper)
        pan = [np.ascontiguousarray(h[40 + k:40 + k + 400, 20 + k // 2:20 + k // 2 + 460]) for k in range(0, 48, 2)]
        write_clip(d / 'real.mp4', pan)
        t0 = time.perf_counter(); st = swap_video_file(rnd, hopper, d / 'real.mp4', d / 'o2.mp4', progress=False)
        dt = time.perf_counter() - t0
        print(f"video, 256 random weights (460x400 real face, dlib per frame, {st['frames']} frames): {st['frames'] / dt:.2f} frames/s")


if __name__ == '__main__':
    main()
