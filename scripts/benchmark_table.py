"""The benchmark table: training step per progressive stage and inference per image size, for each
precision x eager/compiled x activation checkpointing, on the CPU or a CUDA GPU, next to the official
computation (``reference_restormer.py``) in the same run.

    python scripts/benchmark.py table --device cuda --json results/bench_cuda.json     # the full table on a GPU
    python scripts/benchmark.py table --device cpu                                      # CPU: stage 1, fp32, eager
    python scripts/benchmark.py table --device cpu --stages 1 6 --precisions fp32 bf16 --compile off on

Training rows: forward + L1 loss + backward + AdamW (the project's rows: the trainer's fused AdamW; the
reference row: ``torch.optim.AdamW`` as the official code builds it) of the default Restormer at the official per-GPU
batch and patch of each stage (8x128, 5x160, 4x192, 2x256, 1x320, 1x384): median time, samples/s,
Mpixel/s, peak memory, achieved GFLOP/s (3x the forward FLOPs of the official computation) and the
speed-up over the official computation (eager, fp32) at the same stage.  Peak memory counts weights,
gradients, AdamW state and activations: on CUDA ``max_memory_allocated``; on the CPU the process's peak
resident memory during the timed steps above its size before the row's network was built (via
``/proc/self/clear_refs``, after handing the memory freed by earlier rows back to the kernel with glibc's
``malloc_trim``; elsewhere memory the allocator keeps can make later CPU peaks look smaller).  Inference
rows: batch 1 at 256x256 and 512x512 (whole) and 1920x1080 / 3840x2160 (tiled 512/32 through
``basicsr.utils.inference.restore``).  The first line reports a large matmul's GFLOP/s on
the same device and dtype: the distance to the hardware limit.  Compiled rows report the compile time.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (REPO_ROOT, os.path.dirname(os.path.abspath(__file__))):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from reference_restormer import ReferenceRestormer  # noqa: E402

from basicsr.models.archs import Restormer  # noqa: E402
from basicsr.models.optimizers import build_optimizer  # noqa: E402
from basicsr.utils.device import AMP_DTYPES, autocast_context, compile_network  # noqa: E402
from basicsr.utils.inference import restore  # noqa: E402

#: the official per-GPU progressive schedule: (stage, batch, patch)
STAGES = [(1, 8, 128), (2, 5, 160), (3, 4, 192), (4, 2, 256), (5, 1, 320), (6, 1, 384)]
INFERENCE = {'256': (256, 256, None), '512': (512, 512, None), '1080p': (1080, 1920, 512), '4k': (2160, 3840, 512)}


# ---------------------------------------------------------------------------------------------- measuring
def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _rss_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return int(next(line for line in f if line.startswith(field + ':')).split()[1])


def _return_freed_memory_to_os() -> None:
    """Hand the heap pages that earlier rows freed back to the kernel (glibc keeps them resident otherwise,
    and a later row's peak would hide below them)."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the docstring's caveat applies
        pass


def host_rss() -> Optional[int]:
    """Resident memory of this process in bytes (Linux), the baseline of a CPU row's peak."""
    _return_freed_memory_to_os()
    try:
        return _rss_kb('VmRSS') * 1024
    except (OSError, StopIteration):
        return None


class PeakMemory:
    """Peak memory of a step (bytes): on CUDA the peak of the allocations (weights, gradients, optimizer
    state and activations, all live); on the CPU the peak resident memory above ``host_base`` (taken
    before the network was built, so it counts the same things)."""

    def __init__(self, device: torch.device, host_base: Optional[int] = None) -> None:
        self.device, self.host_base, self.bytes = device, host_base, float('nan')

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.host_base is not None:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # resets VmHWM to the current RSS (Linux)
            except OSError:
                self.host_base = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == 'cuda':
            self.bytes = float(torch.cuda.max_memory_allocated(self.device))
        elif self.host_base is not None:
            self.bytes = float(_rss_kb('VmHWM') * 1024 - self.host_base)


def timed(step: Callable[[], None], device: torch.device, reps: int, warmup: int,
          host_base: Optional[int] = None) -> Dict[str, float]:
    """Median seconds of ``step`` over ``reps`` runs after ``warmup`` (the first run's time is reported as the
    first-call cost, i.e. the compile time of a compiled step)."""
    t = time.perf_counter()
    step()
    _sync(device)
    first = time.perf_counter() - t
    for _ in range(max(warmup - 1, 0)):
        step()
    _sync(device)
    times = []
    with PeakMemory(device, host_base) as mem:
        for _ in range(reps):
            t = time.perf_counter()
            step()
            _sync(device)
            times.append(time.perf_counter() - t)
    return {'s': statistics.median(times), 'first_s': first, 'peak_bytes': mem.bytes}


def matmul_gflops(device: torch.device, dtype: torch.dtype, n: int) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n ** 3 / timed(lambda: a @ b, device, 5, 2)['s'] / 1e9


def forward_flops(net_kwargs: Dict[str, Any], shape: tuple) -> float:
    """FLOPs of one forward of the official computation (meta tensors, nothing allocated)."""
    from torch.utils.flop_counter import FlopCounterMode
    with torch.device('meta'):
        net, x = ReferenceRestormer(**net_kwargs), torch.empty(shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    return float(counter.get_total_flops())


# ---------------------------------------------------------------------------------------------- steps
def _network(reference: bool, net_kwargs: Dict[str, Any], device: torch.device, checkpointing: Optional[str]):
    torch.manual_seed(0)
    net = (ReferenceRestormer if reference else Restormer)(**net_kwargs).to(device)
    if checkpointing and not reference:
        net.set_activation_checkpointing(checkpointing)
    return net


def train_step(net: torch.nn.Module, batch: int, patch: int, device: torch.device, precision: str,
               compile_net: bool, reference: bool = False) -> Callable[[], None]:
    """One training step; the project's rows build AdamW as the trainer does (fused step), the reference row
    as the official code does (``torch.optim.AdamW``)."""
    net.train()
    model = compile_network(net) if compile_net else net
    section = {'type': 'AdamW', 'lr': 1e-4}
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4) if reference else build_optimizer(section, net.parameters())
    scaler = torch.amp.GradScaler(device.type, enabled=precision == 'fp16')
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(batch, 3, patch, patch, device=device, generator=g)
    y = torch.rand(batch, 3, patch, patch, device=device, generator=g)
    amp = None if precision == 'fp32' else precision

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast_context(device, amp):
            loss = F.l1_loss(model(x).float(), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    return step


def infer_step(net: torch.nn.Module, size: tuple, tile: Optional[int], device: torch.device, precision: str,
               compile_net: bool) -> Callable[[], None]:
    net.eval()
    model = compile_network(net) if compile_net else net
    x = torch.rand(1, 3, *size, device=device)
    amp = None if precision == 'fp32' else precision
    return lambda: restore(model, x, tile=tile, tile_overlap=32, tile_batch=1, amp=amp, compute_device=device)


# ---------------------------------------------------------------------------------------------- the table
def run(args: argparse.Namespace) -> Dict[str, Any]:
    device = torch.device(args.device)
    net_kwargs = dict(dim=args.dim, num_blocks=args.num_blocks, num_refinement_blocks=args.refinement)
    result: Dict[str, Any] = {'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else
                              f'CPU, {torch.get_num_threads()} threads', 'torch': torch.__version__,
                              'network': net_kwargs, 'matmul_gflops': {}, 'train': [], 'inference': []}
    for precision in args.precisions:
        dtype = torch.float32 if precision == 'fp32' else AMP_DTYPES[precision]
        result['matmul_gflops'][precision] = matmul_gflops(device, dtype, args.matmul_size)
    print(f"{result['device']} (torch {torch.__version__}); large matmul: "
          + ', '.join(f'{p} {g:.0f} GFLOP/s' for p, g in result['matmul_gflops'].items()), flush=True)

    for stage, batch, patch in STAGES:
        if stage not in args.stages:
            continue
        patch = max(8, int(patch * args.patch_scale) // 8 * 8)
        flops = 3 * forward_flops(net_kwargs, (batch, 3, patch, patch))
        ref = None
        if args.reference:
            base = host_rss()
            ref = timed(train_step(_network(True, net_kwargs, device, None), batch, patch, device, 'fp32', False, True),
                        device, args.reps, args.warmup, base)
            result['train'].append(_row('train', stage, batch, f'{patch}x{patch}', patch * patch, 'fp32', False, None,
                                        ref, flops, ref, True))
        for precision in args.precisions:
            for compile_net in args.compile:
                for ckpt in args.checkpointing:
                    base = host_rss()
                    net = _network(False, net_kwargs, device, ckpt)
                    m = timed(train_step(net, batch, patch, device, precision, compile_net), device, args.reps,
                              args.warmup, base)
                    result['train'].append(_row('train', stage, batch, f'{patch}x{patch}', patch * patch, precision,
                                                compile_net, ckpt, m, flops, ref))
                    del net
                    if device.type == 'cuda':
                        torch.cuda.empty_cache()
    for name in args.inference:
        if name == 'none':
            continue
        height, width, tile = INFERENCE[name]
        if device.type == 'cpu' and tile:
            tile = 256
        flops = forward_flops(net_kwargs, (1, 3, height, width))
        ref = None
        if args.reference and tile is None:
            base = host_rss()
            ref = timed(infer_step(_network(True, net_kwargs, device, None), (height, width), tile, device, 'fp32',
                                   False), device, args.reps, args.warmup, base)
            result['inference'].append(_row('infer', name, 1, f'{width}x{height}', height * width, 'fp32', False,
                                            None, ref, flops, ref, True))
        for precision in args.precisions:
            for compile_net in args.compile:
                base = host_rss()
                net = _network(False, net_kwargs, device, None)
                m = timed(infer_step(net, (height, width), tile, device, precision, compile_net), device, args.reps,
                          args.warmup, base)
                label = f'{width}x{height}' + (f' tile {tile}' if tile else '')
                result['inference'].append(_row('infer', name, 1, label, height * width, precision, compile_net, None,
                                                m, flops, ref))
    return result


def _row(kind: str, stage: Any, batch: int, size: str, pixels: int, precision: str, compiled: bool,
         ckpt: Optional[str], m: Dict[str, float], flops: float, ref: Optional[Dict[str, float]],
         reference: bool = False) -> Dict[str, Any]:
    """One table row (printed as it is measured); ``pixels`` per sample."""
    pixels *= batch
    row = {'kind': kind, 'stage': stage, 'batch': batch, 'size': size, 'net': 'reference' if reference else 'project',
           'precision': precision, 'compiled': compiled, 'checkpointing': ckpt or 'off', 'ms': m['s'] * 1e3,
           'samples_per_s': batch / m['s'], 'mpix_per_s': pixels / m['s'] / 1e6,
           'peak_mem_mb': m['peak_bytes'] / 2 ** 20, 'gflops': flops / m['s'] / 1e9,
           'speedup_vs_reference': (ref['s'] / m['s']) if ref else None,
           'first_call_s': m['first_s']}
    ratio = f"{row['speedup_vs_reference']:.2f}x" if row['speedup_vs_reference'] else '-'
    print(f"{kind:5s} {str(stage):5s} {batch} x {size:17s} {row['net']:9s} {precision:4s} "
          f"{'compiled' if compiled else 'eager':8s} ckpt {row['checkpointing']:5s} {row['ms']:9.1f} ms "
          f"{row['samples_per_s']:8.2f} samples/s {row['mpix_per_s']:7.3g} Mpix/s "
          f"{row['peak_mem_mb']:8.0f} MB {row['gflops']:7.1f} GFLOP/s  vs reference {ratio}"
          + (f"  (first call {m['first_s']:.1f} s)" if compiled else ''), flush=True)
    return row


def build_parser() -> argparse.ArgumentParser:
    cuda = torch.cuda.is_available()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if cuda else 'cpu')
    p.add_argument('--stages', type=int, nargs='+', default=None, help='default: all on CUDA, 1 on the CPU')
    p.add_argument('--precisions', nargs='+', choices=['fp32', 'bf16', 'fp16'], default=None,
                   help='default: fp32 bf16 fp16 on CUDA, fp32 on the CPU')
    p.add_argument('--compile', nargs='+', choices=['off', 'on'], default=None,
                   help='eager and/or torch.compile (default: both on CUDA, off on the CPU)')
    p.add_argument('--checkpointing', nargs='+', choices=['off', 'block', 'level'], default=['off', 'block'])
    p.add_argument('--inference', nargs='+', choices=sorted(INFERENCE) + ['none'], default=None,
                   help='default: all on CUDA, 256 on the CPU')
    p.add_argument('--no_reference', dest='reference', action='store_false',
                   help='skip the official computation (the speed-up column stays empty)')
    p.add_argument('--reps', type=int, default=None, help='timed runs per row (default: 10 CUDA, 3 CPU)')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--matmul_size', type=int, default=None, help='default: 8192 CUDA, 2048 CPU')
    p.add_argument('--dim', type=int, default=48)
    p.add_argument('--num_blocks', type=int, nargs=4, default=[4, 6, 6, 8])
    p.add_argument('--refinement', type=int, default=4)
    p.add_argument('--patch_scale', type=float, default=1.0, help='scale the stage patches (quick checks)')
    p.add_argument('--json', help='write the table (and the device) to this file')
    return p


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = build_parser().parse_args(argv)
    gpu = args.device.startswith('cuda')
    args.stages = args.stages or ([1, 2, 3, 4, 5, 6] if gpu else [1])
    args.precisions = args.precisions or (['fp32', 'bf16', 'fp16'] if gpu else ['fp32'])
    args.compile = [c == 'on' for c in (args.compile or (['off', 'on'] if gpu else ['off']))]
    args.checkpointing = [None if c == 'off' else c for c in args.checkpointing]
    args.inference = args.inference or (list(INFERENCE) if gpu else ['256'])
    args.reps = args.reps or (10 if gpu else 3)
    args.matmul_size = args.matmul_size or (8192 if gpu else 2048)
    result = run(args)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'written {args.json}')
    return result


if __name__ == '__main__':
    main()
