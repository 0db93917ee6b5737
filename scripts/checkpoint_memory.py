"""Peak host memory of one Restormer training step with and without activation checkpointing.

    python scripts/checkpoint_memory.py                   # default model, batch 1 x 3x128x128, CPU
    python scripts/checkpoint_memory.py --size 256 --threads 2

Every measurement runs in a fresh subprocess (peak RSS only grows), which builds the network, runs
one forward + L1 loss + backward + AdamW step and reports ``VmHWM`` (peak resident set) from
``/proc/self/status``; the RSS after building the network and optimizer, before the step, is
reported too, so that the step's own peak (activations + gradients + optimizer state) can be read
off.  Modes: the official computation (``reference``), then ``Restormer`` with checkpointing
off, ``block`` and ``level``.  Linux only.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Dict

REPO_ROOT = os.path.dirname(os.path.abspath(os.path.dirname(__file__)))


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def child(mode: str, size: int, batch: int, threads: int) -> Dict:
    import runpy

    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if mode == 'reference':
        net = runpy.run_path(os.path.join(REPO_ROOT, 'scripts', 'reference_restormer.py'))['ReferenceRestormer']()
    else:
        net = runpy.run_path(os.path.join(REPO_ROOT, 'basicsr', 'models', 'archs', 'restormer_arch.py'))['Restormer']()
        net.set_activation_checkpointing(None if mode == 'off' else mode)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x, y = torch.rand(batch, 3, size, size), torch.rand(batch, 3, size, size)
    before = _status_kb('VmRSS')
    torch.nn.functional.l1_loss(net(x), y).backward()
    opt.step()
    return dict(mode=mode, rss_before_step_mb=before / 1024, peak_rss_mb=_status_kb('VmHWM') / 1024)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--modes', nargs='+', default=['reference', 'off', 'block', 'level'])
    p.add_argument('--child', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.size, args.batch, args.threads)))
        return 0
    print(f'one training step, default Restormer, batch {args.batch} x 3x{args.size}x{args.size}, '
          f'{args.threads} thread(s), fresh process each:')
    results = {}
    for mode in args.modes:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', mode, '--size', str(args.size),
                              '--batch', str(args.batch), '--threads', str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        r = results[mode] = json.loads(out.strip().splitlines()[-1])
        step_peak = r['peak_rss_mb'] - r['rss_before_step_mb']
        line = (f"  {mode:9s} peak RSS {r['peak_rss_mb']:7.0f} MB  (before the step {r['rss_before_step_mb']:5.0f} MB, "
                f"step adds {step_peak:6.0f} MB)")
        if 'off' in results and mode in ('block', 'level'):
            line += f"  -> {100 * (1 - r['peak_rss_mb'] / results['off']['peak_rss_mb']):.0f}% lower peak than off"
        print(line, flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
