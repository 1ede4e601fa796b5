"""Sizes and CPU/GPU forward times of the SID networks, and photo alignment time with the dlib backend.

    .venv/bin/python bench/bench_sid.py [--device cuda] [--batch 8] [--repeats 3]
"""
import argparse, statistics, time

import skimage.data
import torch
from matplotlib import cbook

from hififace.align import as_rgb_uint8, detect_and_align, get_detector
from hififace.sid import BiSeNet, IResNet, ReconNet


def median_time(fn, repeats, device):
    fn(); times = []
    for _ in range(repeats):
        if device == 'cuda': torch.cuda.synchronize()
        t0 = time.perf_counter(); fn()
        if device == 'cuda': torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    args = ap.parse_args()
    print(f'device={args.device} threads={torch.get_num_threads()} batch={args.batch}')
    for name, net, size in (('F_3d ReconNet', ReconNet(), 224), ('F_id IResNet-100', IResNet(100), 112),
                            ('F_id IResNet-50', IResNet(50), 112), ('BiSeNet', BiSeNet(), 512)):
        net = net.eval().to(args.device)
        x = torch.randn(args.batch, 3, size, size, device=args.device)
        with torch.no_grad(): t = median_time(lambda: net(x), args.repeats, args.device)
        n_params = sum(p.numel() for p in net.parameters())
        print(f'{name:18s} @{size:3d}: {n_params / 1e6:6.2f} M parameters, {len(net.state_dict()):4d} tensors, '
              f'forward {t * 1e3:8.1f} ms (median of {args.repeats})')
    det = get_detector('dlib')
    for name, img in (('grace_hopper', as_rgb_uint8(cbook.get_sample_data('grace_hopper.jpg'))), ('astronaut', skimage.data.astronaut())):
        t = median_time(lambda: detect_and_align(img, det), 5, 'cpu')
        print(f'dlib detect + align {name} {img.shape[1]}x{img.shape[0]}: {t * 1e3:.0f} ms (median of 5)')
