"""Generator and discriminator at 256: parameters, forward and forward+backward time, peak memory, torch.compile.

    .venv/bin/python bench/bench_generator.py [--batch 2] [--base 64] [--device cpu|cuda] [--bf16] [--compile]

Each measurement runs in a fresh subprocess so that its peak memory (CPU: max RSS; CUDA: max allocated) is its own.
"""
import argparse, json, resource, statistics, subprocess, sys, time

import torch


def measure(args):
    from hififace.discriminator import Discriminator
    from hififace.generator import Generator, HifiFaceConfig
    torch.manual_seed(0)
    dev = torch.device(args.device)
    cfg = HifiFaceConfig(base=args.base)
    net = (Generator(cfg) if args.net == 'G' else Discriminator(cfg)).to(dev).to(memory_format=torch.channels_last)
    x = torch.rand(args.batch, 3, 256, 256, device=dev).mul(2).sub(1).contiguous(memory_format=torch.channels_last)
    v = torch.randn(args.batch, cfg.sid_dim, device=dev)
    fn = torch.compile(net) if args.compile else net
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
            out = fn(x, v) if args.net == 'G' else fn(x)
            loss = (out.I_r.float().mean() + out.I_low.float().mean()) if args.net == 'G' else out.float().mean()
        if args.mode == 'fwd+bwd': loss.backward()
    grad = torch.enable_grad() if args.mode == 'fwd+bwd' else torch.no_grad()
    with grad:
        t0 = time.perf_counter(); step(); first = time.perf_counter() - t0     # includes compilation
        if dev.type == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(args.repeats):
            if dev.type == 'cuda': torch.cuda.synchronize()
            t0 = time.perf_counter(); step()
            if dev.type == 'cuda': torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(params=sum(p.numel() for p in net.parameters()), median_s=statistics.median(times),
                          first_s=first, peak_mib=peak)))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--batch', type=int, default=2); ap.add_argument('--base', type=int, default=64)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--bf16', action='store_true')
    ap.add_argument('--compile', action='store_true'); ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--net', default=None); ap.add_argument('--mode', default=None)
    args = ap.parse_args()
    if args.net: measure(args); sys.exit()
    print(f'device={args.device} threads={torch.get_num_threads()} batch={args.batch} base={args.base} '
          f'bf16={args.bf16} compile={args.compile} repeats={args.repeats}')
    for net in ('G', 'D'):
        for mode in ('fwd', 'fwd+bwd'):
            cmd = [sys.executable, __file__, '--net', net, '--mode', mode] + sys.argv[1:]
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            print(f"{net} {mode:8s} {r['params'] / 1e6:6.2f} M params  median {r['median_s'] * 1e3:8.1f} ms  "
                  f"first call {r['first_s']:6.1f} s  peak memory {r['peak_mib']:7.0f} MiB")
