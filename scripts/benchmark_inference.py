"""Peak memory and time of tiled Restormer inference on CPU, and the accuracy cost of tiling.

Usage::

    python scripts/benchmark_inference.py            # --quick (default): a few minutes on a small CPU
    python scripts/benchmark_inference.py --full     # every tile of every image (long on CPU)

Part 1 restores a real-looking RGB photo (scikit-image ``astronaut`` upscaled, bicubic) of 3840x2160 and of
1920x1080 with ``basicsr.utils.inference.restore`` for each tile size, each configuration in a **fresh
subprocess**.  Peak memory: ``tracemalloc`` does not see torch's allocator, so the worker resets the kernel's
peak-RSS counter (``echo 5 > /proc/self/clear_refs``, Linux) right before ``restore`` and reads ``VmHWM`` after
it; the reported delta is peak RSS minus RSS before ``restore`` (model and input already in memory).  Without
``/proc`` the fallback is ``resource.getrusage`` ``ru_maxrss`` (which cannot be reset, so it may under-report).

``--quick`` runs the network on only the first ``--batches`` tile batches; the remaining tiles pass through an
identity stand-in, so the image-sized buffers (accumulator, weights, result) are still allocated and the peak is
the real one, while the full time is extrapolated as (measured time per tile) x (number of tiles) + the measured
overhead outside the network.  Part 2 is the PSNR between tiled (uniform and feather blend) and untiled output.
The network is a small randomly initialised Restormer (no weights are downloaded), so part 2 shows the size of
the tiling error, not restoration quality.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

MIB = 2 ** 20


def _status_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS (VmHWM) to the current RSS; False where unsupported."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def photo(height: int, width: int) -> Any:
    """A real photo resized to ``height`` x ``width`` as a 1x3xHxW float32 tensor in [0, 1]."""
    import cv2
    import numpy as np
    import torch
    from skimage import data
    img = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float().div_(255)
    del img
    return x


def small_restormer(dim: int, seed: int = 0) -> Any:
    import torch

    from basicsr.models.archs import Restormer
    torch.manual_seed(seed)
    return Restormer(dim=dim, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1]).eval()


class LimitedNet:
    """Runs the network for the first ``max_calls`` calls (timing them) and returns the input afterwards."""

    def __init__(self, net: Any, max_calls: Optional[int]) -> None:
        self.net, self.max_calls = net, max_calls
        self.calls, self.tiles_run, self.times = 0, 0, []
        self.parameters = net.parameters

    def __call__(self, x: Any) -> Any:
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            return x
        start = time.perf_counter()
        out = self.net(x)
        self.times.append(time.perf_counter() - start)
        self.tiles_run += x.shape[0]
        return out


def worker(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """One configuration, meant to run in its own process."""
    import gc

    import torch

    from basicsr.utils.inference import restore, tile_starts
    torch.set_num_threads(cfg['threads'])
    net = small_restormer(cfg['dim'])
    x = photo(cfg['height'], cfg['width'])
    gc.collect()
    limited = LimitedNet(net, cfg['batches'])
    use_proc = reset_peak_rss()
    before_kib = _status_kib('VmRSS') if use_proc else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    out = restore(limited, x, tile=cfg['tile'], tile_overlap=cfg['overlap'], tile_batch=cfg['tile_batch'])
    wall = time.perf_counter() - start
    peak_kib = _status_kib('VmHWM') if use_proc else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    h, w = x.shape[-2:]
    stride = cfg['tile'] - cfg['overlap']
    n_tiles = len(tile_starts(h, min(cfg['tile'], h), stride)) * len(tile_starts(w, min(cfg['tile'], w), stride))
    timed = limited.times[1:] or limited.times  # the first call includes one-off kernel setup
    per_call = sum(timed) / len(timed)
    per_tile = per_call / cfg['tile_batch']
    overhead = wall - sum(limited.times)
    return dict(cfg, n_tiles=n_tiles, tiles_run=limited.tiles_run, wall_s=wall, per_tile_s=per_tile,
                full_time_s=wall if limited.tiles_run >= n_tiles else per_tile * n_tiles + overhead,
                before_mib=before_kib / 1024, peak_delta_mib=(peak_kib - before_kib) / 1024,
                image_mib=x.numel() * 4 / MIB, out_shape=list(out.shape),
                method='VmHWM reset via /proc/self/clear_refs' if use_proc else 'ru_maxrss (not reset)')


def run_worker(cfg: Dict[str, Any]) -> Dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(cfg['threads']))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--_worker', json.dumps(cfg)],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f'worker failed for {cfg}:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tiling_psnr(dim: int, size: int, tile: int, overlap: int, threads: int) -> Dict[str, float]:
    """PSNR (dB) of tiled vs untiled output on a ``size`` x ``size`` crop of a real photo."""
    import numpy as np
    import torch
    from skimage import data

    from basicsr.utils.inference import restore
    torch.set_num_threads(threads)
    net = small_restormer(dim)
    x = torch.from_numpy(np.ascontiguousarray(data.astronaut()[:size, :size])).permute(2, 0, 1)[None].float() / 255

    def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(10 * torch.log10(1 / torch.mean((a.double() - b.double()) ** 2)))

    start = time.perf_counter()
    full = restore(net, x)
    res = {'untiled_s': time.perf_counter() - start, 'untiled_vs_input_db': psnr(full, x)}
    for blend in ('uniform', 'feather'):
        start = time.perf_counter()
        res[f'{blend}_db'] = psnr(restore(net, x, tile=tile, tile_overlap=overlap, tile_batch=1, blend=blend), full)
        res[f'{blend}_s'] = time.perf_counter() - start
    return res


def parse_size(text: str) -> List[int]:
    w, h = text.lower().split('x')
    return [int(h), int(w)]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument('--quick', action='store_true', default=True, help='network on the first tile batches only')
    mode.add_argument('--full', action='store_true', help='network on every tile (slow on CPU)')
    p.add_argument('--sizes', nargs='+', default=['3840x2160', '1920x1080'], help='WIDTHxHEIGHT images')
    p.add_argument('--tiles', nargs='+', type=int, default=[128, 256, 512])
    p.add_argument('--overlap', type=int, default=32)
    p.add_argument('--tile_batch', type=int, default=1)
    p.add_argument('--batches', type=int, default=2, help='--quick: tile batches that run the network')
    p.add_argument('--dim', type=int, default=16, help='Restormer width (num_blocks [1,1,1,1], 1 refinement)')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    p.add_argument('--psnr_size', type=int, default=512, help='crop of the photo for the PSNR part (0: skip)')
    p.add_argument('--psnr_tile', type=int, default=256)
    p.add_argument('--json', default=None, help='also write all results to this file')
    p.add_argument('--_worker', default=None, help=argparse.SUPPRESS)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args._worker:
        print(json.dumps(worker(json.loads(args._worker))))
        return 0
    started = time.perf_counter()
    cli = list(sys.argv[1:] if argv is None else argv)
    results: Dict[str, Any] = {'memory_time': [], 'command': ' '.join(['benchmark_inference.py'] + cli)}
    mode = 'full' if args.full else f'quick ({args.batches} batches)'
    print(f'Restormer dim {args.dim}, blocks [1,1,1,1], 1 refinement block; overlap {args.overlap}, tile_batch '
          f'{args.tile_batch}, {args.threads} thread(s); {mode}')
    print(f"{'image':>10} {'tile':>5} {'tiles':>6} {'run':>4} {'s/tile':>7} {'full s':>8} "
          f"{'RSS before':>10} {'peak delta':>10} {'image MiB':>9}")
    for size in args.sizes:
        h, w = parse_size(size)
        for tile in args.tiles:
            cfg = dict(height=h, width=w, tile=tile, overlap=args.overlap, tile_batch=args.tile_batch, dim=args.dim,
                       threads=args.threads, batches=None if args.full else args.batches)
            r = run_worker(cfg)
            results['memory_time'].append(r)
            print(f"{size:>10} {tile:>5} {r['n_tiles']:>6} {r['tiles_run']:>4} {r['per_tile_s']:>7.3f} "
                  f"{r['full_time_s']:>8.1f} {r['before_mib']:>9.0f}M {r['peak_delta_mib']:>9.0f}M "
                  f"{r['image_mib']:>9.1f}", flush=True)
    if results['memory_time']:
        print(f"peak memory: {results['memory_time'][0]['method']}")
    if args.psnr_size:
        res = tiling_psnr(args.dim, args.psnr_size, args.psnr_tile, args.overlap, args.threads)
        results['psnr'] = dict(res, size=args.psnr_size, tile=args.psnr_tile, overlap=args.overlap)
        print(f"PSNR tiled ({args.psnr_tile}/{args.overlap}) vs untiled on astronaut {args.psnr_size}x"
              f"{args.psnr_size}: uniform {res['uniform_db']:.2f} dB, feather {res['feather_db']:.2f} dB "
              f"(untiled output vs input: {res['untiled_vs_input_db']:.2f} dB; times untiled "
              f"{res['untiled_s']:.1f} s, uniform {res['uniform_s']:.1f} s, feather {res['feather_s']:.1f} s)")
    results['total_s'] = time.perf_counter() - started
    print(f"total {results['total_s']:.0f} s")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
