"""Sizes and CPU/GPU forward times of the SID networks, photo alignment time with the dlib backend, and (--amp) what
bf16 autocast does to F_3d's coefficients, landmarks and L_shape gradient, and what running F_3d in float32 costs.

    .venv/bin/python bench/bench_sid.py [--device cuda] [--batch 8] [--repeats 3] [--amp]
"""
import argparse, statistics, time

import skimage.data
import torch
import torch.nn.functional as F
from matplotlib import cbook

from hififace.align import as_rgb_uint8, crop_224, detect_and_align, get_detector
from hififace.bfm import ParametricFaceModel, mini_face_model_path
from hififace.sid import BiSeNet, IResNet, ReconNet, ShapeAwareIdentityExtractor
from hififace.weights import count_tensors


def median_time(fn, repeats, device):
    fn(); times = []
    for _ in range(repeats):
        if device == 'cuda': torch.cuda.synchronize()
        t0 = time.perf_counter(); fn()
        if device == 'cuda': torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def photos():
    return {'grace_hopper': as_rgb_uint8(cbook.get_sample_data('grace_hopper.jpg')), 'astronaut': skimage.data.astronaut()}


def amp_report(device, batch, repeats):
    "F_3d under bf16 autocast vs float32: coefficients, 68 landmarks (mini face model), L_shape's input gradient, time."
    torch.manual_seed(0)
    f3d = ReconNet()
    with torch.no_grad():                       # random BN statistics, so that eval-mode BN is not the identity
        for m in f3d.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 2); m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.1)
    det = get_detector('dlib')
    crops = torch.stack([detect_and_align(img, det).image for img in photos().values()])
    imgs = torch.cat([crops, crops.flip(-1), torch.rand(max(batch - 4, 0), 3, 256, 256) * 2 - 1]).to(device)
    f3d = f3d.to(device).eval()
    with torch.no_grad():                       # heads scaled to about a trained F_3d's coefficient sizes
        feats = f3d.backbone(crop_224((imgs + 1) / 2))
        for head, size in zip(f3d.final_layers, (1., .5, 1., .2, .2, .1, .1)):   # id exp tex angle gamma txy tz
            torch.nn.init.normal_(head.weight); head.weight.mul_(size / head(feats).pow(2).mean().sqrt())
    fm = ParametricFaceModel(mini_face_model_path()).to(device)
    fid = IResNet(50)
    ex32, ex16 = (ShapeAwareIdentityExtractor(f3d, fid, f3d_float32=b).to(device) for b in (True, False))
    with torch.no_grad(): c_ref = ex32.coeffs(imgs); lm_ref = fm.landmarks(c_ref)
    g = torch.Generator(device='cpu').manual_seed(1)
    lm_target = lm_ref + torch.randn(lm_ref.shape, generator=g).to(device)          # an L_shape-like target, ~1 px away

    def run(fn, x0, amp):
        x = x0.clone().requires_grad_(True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=amp):
            c = fn(x); lm = fm.landmarks(c)
        return c.detach().float(), lm.detach(), torch.autograd.grad((lm - lm_target).abs().mean(), x)[0]

    def heads32(x):                              # bf16 trunk, float32 heads
        f = f3d.backbone(crop_224((x + 1) / 2))
        with torch.autocast(device, enabled=False): return torch.cat([h(f.float()) for h in f3d.final_layers], 1).flatten(1)

    _, _, g_ref = run(ex32.coeffs, imgs, False)
    _, _, g_pert = run(ex32.coeffs, imgs + 1e-3 * torch.randn_like(imgs), False)
    print(f'F_3d with random weights, heads scaled to coefficient RMS 1 (id, tex), 0.5 (exp), 0.2 (angle, gamma), 0.1 (trans); '
          f'{len(imgs)} crops (2 photos, their mirror images, random noise)')
    print(f'  baseline: float32 gradient at an input moved by 1e-3: cosine {F.cosine_similarity(g_pert.flatten(), g_ref.flatten(), 0):.3f}')
    for name, fn in (('bf16 autocast, F_3d as is (f3d_float32=False)', ex16.coeffs), ('bf16 trunk, float32 heads', heads32),
                     ('bf16 autocast, f3d_float32=True (default)', ex32.coeffs)):
        c, lm, gr = run(fn, imgs, True)
        d = (lm - lm_ref).norm(dim=-1)
        print(f'  {name:46s}: coefficients max |err| {(c - c_ref).abs().max():.4f}; landmarks mean {d.mean():.3f} px, '
              f'max {d.max():.3f} px (224 px frame); L_shape input-gradient cosine {F.cosine_similarity(gr.flatten(), g_ref.flatten(), 0):.3f}')
    c = torch.randn(1000, 257, generator=g) * torch.cat([torch.full((n,), s) for n, s in zip((80, 64, 80, 3, 27, 2, 1), (1., .5, 1., .2, .2, .1, .1))])
    d = (fm.cpu().landmarks(c.bfloat16().float()) - fm.landmarks(c)).norm(dim=-1); fm.to(device)
    print(f'  rounding 1000 coefficient vectors of those sizes to bf16, nothing else: landmarks mean {d.mean():.3f} px, max {d.max():.3f} px')
    x = imgs[:batch]
    for name, ex in (('bf16 autocast', ex16), ('F_3d float32', ex32)):
        def step():
            xi = x.clone().requires_grad_(True)
            with torch.autocast(device, dtype=torch.bfloat16): c = ex.coeffs(xi)
            c.float().sum().backward()
        print(f'  time, coeffs forward + backward, batch {len(x)}, {name:13s}: {median_time(step, repeats, device) * 1e3:8.1f} ms (median of {repeats})')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--amp', action='store_true', help='only the bf16-autocast measurement of F_3d')
    args = ap.parse_args()
    print(f'device={args.device} threads={torch.get_num_threads()} batch={args.batch}')
    if args.amp: amp_report(args.device, args.batch, args.repeats); raise SystemExit
    for name, net, size in (('F_3d ReconNet', ReconNet(), 224), ('F_id IResNet-100', IResNet(100), 112),
                            ('F_id IResNet-50', IResNet(50), 112), ('BiSeNet', BiSeNet(), 512)):
        net = net.eval().to(args.device)
        x = torch.randn(args.batch, 3, size, size, device=args.device)
        with torch.no_grad(): t = median_time(lambda: net(x), args.repeats, args.device)
        n_params, sd = sum(p.numel() for p in net.parameters()), net.state_dict()
        print(f'{name:18s} @{size:3d}: {n_params / 1e6:6.2f} M parameters, {len(sd):4d} state-dict tensors '
              f'({count_tensors(sd)} without num_batches_tracked), forward {t * 1e3:8.1f} ms (median of {args.repeats})')
    det = get_detector('dlib')
    for name, img in photos().items():
        t = median_time(lambda: detect_and_align(img, det), 5, 'cpu')
        print(f'dlib detect + align {name} {img.shape[1]}x{img.shape[0]}: {t * 1e3:.0f} ms (median of 5)')
