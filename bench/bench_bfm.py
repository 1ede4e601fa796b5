"""Time the 3DMM: landmarks (the shape loss's need) and the full mesh path, batch 32, CPU or CUDA.

    .venv/bin/python bench/bench_bfm.py [--device cuda] [--bfm weights/BFM_model_front.mat]
"""
import argparse, statistics, time

import torch

from hififace.bfm import ParametricFaceModel, mini_face_model_path


def bench(fn, n=30):
    fn(); times = []
    for _ in range(n):
        if torch.cuda.is_available(): torch.cuda.synchronize()
        t0 = time.perf_counter(); fn()
        if torch.cuda.is_available(): torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--bfm', default=None, help='a BFM_model_front.mat (default: the mini face model)')
    args = ap.parse_args()
    fm = ParametricFaceModel(args.bfm or mini_face_model_path()).to(args.device)
    c = (torch.randn(args.batch, 257) * 0.5).to(args.device)
    cg = c.clone().requires_grad_()
    print(f'{fm}  device={args.device} threads={torch.get_num_threads()} batch={args.batch}')
    print(f'landmarks                 {bench(lambda: fm.landmarks(c)):8.3f} ms (median)')
    print(f'landmarks + backward      {bench(lambda: fm.landmarks(cg).sum().backward()):8.3f} ms')
    def landmarks_amp():  # under bf16 autocast: float32_geometry turns it off, so the same numbers, plus its cost
        with torch.autocast(torch.device(args.device).type, dtype=torch.bfloat16): return fm.landmarks(c)
    print(f'landmarks under bf16 AMP  {bench(landmarks_amp):8.3f} ms')
    print(f'full forward (mesh+light) {bench(lambda: fm(c), 10):8.3f} ms')
    print(f'render 4 faces at 224     {bench(lambda: fm.render(c[:4]), 5):8.3f} ms')
