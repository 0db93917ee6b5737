"""The project's benchmarks for its hot paths (one command, several views).

    python scripts/benchmark.py table       [--device cuda --json out.json]   # the whole table (benchmark_table.py)
    python scripts/benchmark.py arch        [--what train infer --threads 1 2] # CPU eager vs official, interleaved
    python scripts/benchmark.py memory      [--size 128 --batch 1]            # activation checkpointing memory
    python scripts/benchmark.py loader      [--workers 2 --stages 1 6 --iters 30]   # stage-aware vs official loader
    python scripts/benchmark.py train_step  [--dim 48 --patch 128 --batch 2 --amp bf16 --channels_last]
    python scripts/benchmark.py inference   [...]   # tiled inference memory: see scripts/benchmark_inference.py

``loader`` builds a paired data set of 512x512 PNG patches (real photos from scikit-image, the
size of the GoPro/SIDD/DFWB training patches) in a temporary folder and times the training
loader of the official recipe (8 GPUs' per-GPU schedule: batch 8 at 128px ... batch 1 at 384px) at
the requested stages, in both ``progressive_mode``s.  It reports images decoded per iteration,
loader iterations/s, and the throughput of *training* samples (those the step uses) in samples/s
and Mpixel/s.  ``train_step`` times forward + backward + AdamW of a Restormer.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

OFFICIAL_TRAIN = dict(type='Dataset_PairedImage', phase='train', filename_tmpl='{}', io_backend={'type': 'disk'},
                      geometric_augs=True, use_shuffle=True, batch_size_per_gpu=8,
                      mini_batch_sizes=[8, 5, 4, 2, 1, 1], iters=[92000, 64000, 48000, 36000, 36000, 24000],
                      gt_size=384, gt_sizes=[128, 160, 192, 256, 320, 384], dataset_enlarge_ratio=1, scale=1)


def make_paired_patches(root: str, n: int, size: int = 512) -> Dict[str, str]:
    """``n`` pairs of ``size``x``size`` PNG patches cut from scikit-image photos (LQ = noisy GT)."""
    import cv2
    from skimage import data

    from basicsr.utils.img_util import imwrite
    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.hubble_deep_field()]
    rng = np.random.default_rng(0)
    dirs = {'gt': os.path.join(root, 'target'), 'lq': os.path.join(root, 'input')}
    for i in range(n):
        src = photos[i % len(photos)]
        scale = size / min(src.shape[:2]) * (1.0 + 0.5 * rng.random())
        big = cv2.resize(src, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        y, x = rng.integers(0, big.shape[0] - size + 1), rng.integers(0, big.shape[1] - size + 1)
        gt = np.ascontiguousarray(big[y:y + size, x:x + size, ::-1])
        lq = np.clip(gt + rng.normal(0, 10, gt.shape), 0, 255).astype(np.uint8)
        imwrite(gt, os.path.join(dirs['gt'], f'{i:04d}.png'))
        imwrite(lq, os.path.join(dirs['lq'], f'{i:04d}.png'))
    return dirs


def bench_loader(args: argparse.Namespace) -> List[Dict[str, Any]]:
    from basicsr.data import build_dataset, build_train_loader
    from basicsr.data.progressive import ProgressiveSchedule, official_progressive_crop

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        dirs = make_paired_patches(tmp, args.images)
        for stage_no in args.stages:
            for mode in ('official', 'stage_aware'):
                dopt = dict(OFFICIAL_TRAIN, dataroot_gt=dirs['gt'], dataroot_lq=dirs['lq'], progressive_mode=mode,
                            num_worker_per_gpu=args.workers)
                dataset = build_dataset(dopt)
                schedule = ProgressiveSchedule(dopt, 300000)
                stage = schedule.stages[stage_no - 1]
                loader = build_train_loader(dataset, dopt, schedule, seed=0, start_iter=stage.first_iter - 1,
                                            pin_memory=False)
                rng = np.random.default_rng(0)
                it = iter(loader)
                for _ in range(args.warmup):
                    next(it)
                t0 = time.perf_counter()
                for _ in range(args.iters):
                    batch = next(it)
                    if schedule.official:
                        batch = official_progressive_crop(batch, stage.micro_batch, stage.patch_size, rng)
                    assert batch['gt'].shape[0] == stage.micro_batch and batch['gt'].shape[-1] == stage.patch_size
                dt = time.perf_counter() - t0
                del it, loader
                its = args.iters / dt
                row = dict(stage=stage_no, mode=mode, patch=stage.patch_size, batch=stage.micro_batch,
                           decoded_images_per_iter=2 * stage.load_batch, loader_iter_per_s=its,
                           train_samples_per_s=its * stage.micro_batch,
                           train_mpix_per_s=its * stage.micro_batch * stage.patch_size ** 2 / 1e6)
                results.append(row)
                print(f"stage {stage_no} ({stage.micro_batch} x {stage.patch_size}px) {mode:11s}: "
                      f"{row['decoded_images_per_iter']:2d} images decoded/iter, {its:6.2f} it/s, "
                      f"{row['train_samples_per_s']:6.2f} samples/s, {row['train_mpix_per_s']:6.2f} Mpixel/s",
                      flush=True)
    for stage_no in args.stages:
        off, aware = [r for r in results if r['stage'] == stage_no]
        print(f'stage {stage_no}: stage-aware / official throughput = '
              f"{aware['train_samples_per_s'] / off['train_samples_per_s']:.2f}x")
    return results


def bench_train_step(args: argparse.Namespace) -> Dict[str, Any]:
    from basicsr.models.archs.restormer_arch import Restormer
    from basicsr.models.optimizers import build_optimizer
    from basicsr.utils.device import autocast_context, compile_network

    device = torch.device(args.device)
    torch.manual_seed(0)
    net = Restormer(dim=args.dim, num_blocks=args.num_blocks, num_refinement_blocks=args.refinement).to(device)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    if args.compile:
        net = compile_network(net)
    opt = build_optimizer({'type': 'AdamW', 'lr': 3e-4}, net.parameters())  # as the trainer builds it
    x = torch.rand(args.batch, 3, args.patch, args.patch, device=device).contiguous(memory_format=fmt)
    y = torch.rand_like(x)
    scaler = torch.amp.GradScaler(device.type, enabled=args.amp == 'fp16')

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast_context(device, args.amp):
            loss = torch.nn.functional.l1_loss(net(x).float(), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(args.warmup):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / args.iters
    row = dict(device=str(device), dim=args.dim, batch=args.batch, patch=args.patch, amp=args.amp,
               channels_last=args.channels_last, compile=args.compile, ms_per_iter=dt * 1e3,
               samples_per_s=args.batch / dt)
    if device.type == 'cuda':
        row['peak_mem_gib'] = torch.cuda.max_memory_allocated() / 2 ** 30
    print(json.dumps(row))
    return row


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description='Benchmarks of the training step, the data loader and tiled inference.')
    sub = p.add_subparsers(dest='cmd', required=True)
    lo = sub.add_parser('loader', help='stage-aware vs official progressive loader')
    lo.add_argument('--workers', type=int, default=2)
    lo.add_argument('--stages', type=int, nargs='+', default=[1, 6])
    lo.add_argument('--iters', type=int, default=30)
    lo.add_argument('--warmup', type=int, default=4)
    lo.add_argument('--images', type=int, default=32)
    ts = sub.add_parser('train_step', help='forward + backward + optimizer step of a Restormer')
    ts.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ts.add_argument('--dim', type=int, default=48)
    ts.add_argument('--num_blocks', type=int, nargs=4, default=[4, 6, 6, 8])
    ts.add_argument('--refinement', type=int, default=4)
    ts.add_argument('--batch', type=int, default=8)
    ts.add_argument('--patch', type=int, default=128)
    ts.add_argument('--amp', choices=['bf16', 'fp16'], default=None)
    ts.add_argument('--channels_last', action='store_true')
    ts.add_argument('--compile', action='store_true')
    ts.add_argument('--iters', type=int, default=10)
    ts.add_argument('--warmup', type=int, default=3)
    sub.add_parser('table', help='the full table: train step per stage and inference per size, for every '
                   'precision x eager/compiled x checkpointing, vs the official computation (benchmark_table.py)',
                   add_help=False)
    sub.add_parser('arch', help='interleaved CPU eager timing vs the official computation (bench_arch.py)',
                   add_help=False)
    sub.add_parser('memory', help='peak memory of a training step with and without activation checkpointing '
                   '(checkpoint_memory.py)', add_help=False)
    sub.add_parser('inference', help='tiled inference (arguments of scripts/benchmark_inference.py)', add_help=False)
    p.add_argument('--json', help='write the results to this file')
    return p


#: sub-commands implemented by the benchmark modules next to this script
DELEGATED = {'table': 'benchmark_table', 'arch': 'bench_arch', 'memory': 'checkpoint_memory',
             'inference': 'benchmark_inference'}


def main(argv: Optional[Sequence[str]] = None) -> Any:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        import importlib
        return importlib.import_module(DELEGATED[argv[0]]).main(argv[1:])
    args = build_parser().parse_args(argv)
    out = bench_loader(args) if args.cmd == 'loader' else bench_train_step(args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
