"""CPU speed of the project's ``Restormer`` against the official computation (``reference_restormer.py``).

    python scripts/bench_arch.py                       # threads 1 and 2, train step and 256x256 inference
                                                       # (~15 min on 2 cores: a 256x256 official forward
                                                       # takes ~19 s on 1 thread; --what train: ~3 min)
    python scripts/bench_arch.py --threads 1 --what infer --pairs 10 --size 128
    python scripts/bench_arch.py --threads 2 --compile  # inductor-compiled project vs eager official
                                                        # (compiles take ~3 min (infer) / ~8 min (train))

Both networks get the same weights.  Timings are interleaved pairs (baseline, candidate, baseline,
candidate, ...) so that load from other processes on the machine hits both sides alike; the report
gives per-side medians, the median of the per-pair speed-ups with their min/max, and the achieved
GFLOP/s (the official computation's FLOPs, counted once with ``torch.utils.flop_counter`` on meta
tensors, divided by each side's median time) next to what a large fp32 matmul reaches on the same
threads.

* ``train``: forward + L1 loss + backward + AdamW step, ``model.train()``, batch 2, 3x64x64.
* ``infer``: forward under ``torch.inference_mode``, ``model.eval()``, batch 1, 3x256x256.

``--baseline``/``--candidate`` take ``ref`` (the official transcription), ``project`` (this
checkout's ``Restormer``) or a path to another copy of ``restormer_arch.py`` (for ablations).
"""
from __future__ import annotations

import argparse
import os
import runpy
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn
from benchmark_table import forward_flops, matmul_gflops  # sibling module (puts the repository on sys.path)

from basicsr.utils.device import compile_network

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def network_class(spec: str) -> type:
    if spec == 'ref':
        return runpy.run_path(os.path.join(REPO_ROOT, 'scripts', 'reference_restormer.py'))['ReferenceRestormer']
    path = os.path.join(REPO_ROOT, 'basicsr', 'models', 'archs', 'restormer_arch.py') if spec == 'project' else spec
    return runpy.run_path(path)['Restormer']


def count_flops(what: str, shape: tuple) -> float:
    """FLOPs of the official computation for one step: ``infer`` one forward, ``train`` 3x the forward (the
    backward of each convolution/matmul is two of them; the counter's own ``convolution_backward`` formula
    ignores ``groups`` and would count the depth-wise backward 64-2042x too high)."""
    return forward_flops({}, shape) * (3 if what == 'train' else 1)


def make_step(net: nn.Module, what: str, shape: tuple, compile_net: bool = False) -> Callable[[], None]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape, generator=g)
    model = compile_network(net) if compile_net else net  # the optimizer keeps the plain parameters
    if what == 'infer':
        net.eval()

        def step() -> None:
            with torch.inference_mode():
                model(x)
        return step
    net.train()
    target = torch.rand(shape, generator=g)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.l1_loss(model(x), target).backward()
        opt.step()
    return step


def timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(args: argparse.Namespace) -> List[Dict]:
    base_cls, cand_cls = network_class(args.baseline), network_class(args.candidate)
    results = []
    for what in args.what:
        shape = (2, 3, 64, 64) if what == 'train' else (1, 3, args.size, args.size)
        flops = count_flops(what, shape)
        for threads in args.threads:
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            cand = cand_cls()
            base = base_cls()
            base.load_state_dict(cand.state_dict(), strict=True)
            steps = {'base': make_step(base, what, shape), 'cand': make_step(cand, what, shape, args.compile)}
            first_call_s = timed(steps['cand'])  # with --compile: the compile time
            for _ in range(args.warmup):
                steps['base']()
                steps['cand']()
            pairs = []
            for _ in range(args.pairs):
                pairs.append((timed(steps['base']), timed(steps['cand'])))
            ratios = [b / c for b, c in pairs]
            res = dict(what=what, threads=threads, shape=shape,
                       base_ms=statistics.median(b for b, _ in pairs) * 1e3,
                       cand_ms=statistics.median(c for _, c in pairs) * 1e3,
                       ratio_median=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
                       ratios=ratios, gflop=flops / 1e9, compiled=args.compile, first_call_s=first_call_s,
                       matmul_gflops=matmul_gflops(torch.device('cpu'), torch.float32, 2048))
            res['base_gflops'] = flops / 1e9 / (res['base_ms'] / 1e3)
            res['cand_gflops'] = flops / 1e9 / (res['cand_ms'] / 1e3)
            print(f"{what:5s} threads={threads} {'x'.join(map(str, shape))}: {args.baseline} {res['base_ms']:.0f} ms, "
                  f"{args.candidate} {res['cand_ms']:.0f} ms; speed-up median {res['ratio_median']:.3f} "
                  f"(min {res['ratio_min']:.3f}, max {res['ratio_max']:.3f}, {args.pairs} pairs)\n"
                  f"      per pair: {' '.join(f'{r:.3f}' for r in ratios)}\n"
                  f"      {res['gflop']:.1f} GFLOP/step: {res['base_gflops']:.1f} vs {res['cand_gflops']:.1f} GFLOP/s; "
                  f"2048^2 fp32 matmul {res['matmul_gflops']:.1f} GFLOP/s"
                  + (f"; compile (first call) {first_call_s:.0f} s" if args.compile else ''), flush=True)
            results.append(res)
    return results


def main(argv=None) -> List[Dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--what', nargs='+', choices=['train', 'infer'], default=['train', 'infer'])
    p.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    p.add_argument('--pairs', type=int, default=10)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--size', type=int, default=256, help='inference image size')
    p.add_argument('--baseline', default='ref')
    p.add_argument('--candidate', default='project')
    p.add_argument('--compile', action='store_true',
                   help='torch.compile (inductor) the candidate; the first call (compile time) is reported')
    return run(p.parse_args(argv))


if __name__ == '__main__':
    main()
