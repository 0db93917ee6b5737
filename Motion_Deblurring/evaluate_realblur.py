"""RealBlur-J / RealBlur-R evaluation (Table 2) with the RealBlur protocol.

The restored image is intensity-matched and aligned to the ground truth with an ECC homography,
then PSNR and SSIM are computed over the valid (masked) region; see
:mod:`basicsr.metrics.realblur`.  Results ``<result_dir>/<dataset>/*.png`` are paired with
``<input_dir>/test/<dataset>/target`` in natural order::

    python evaluate_realblur.py --dataset RealBlur_J [--input_dir ./Datasets/] [--result_dir ./results/]
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.report import MetricTable, evaluate_folders  # noqa: E402
from basicsr.evaluation.task_cli import resolve_default_paths, run_cli  # noqa: E402
from basicsr.metrics.protocols import get_protocol  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='RealBlur PSNR/SSIM (aligned, masked)')
    parser.add_argument('--dataset', default='RealBlur_J', choices=['RealBlur_J', 'RealBlur_R'], help='Test Dataset')
    parser.add_argument('--input_dir', default='./Datasets/', help='folder holding test/<dataset>/target')
    parser.add_argument('--result_dir', default='./results/', help='folder holding <dataset>/*.png results')
    parser.add_argument('--num_workers', type=int, default=min(10, os.cpu_count() or 1), help='worker processes')
    return parser


def main(argv: Optional[List[str]] = None) -> MetricTable:
    """Evaluate one RealBlur set; the table is written as ``<result_dir>/<dataset>/metrics.csv/json``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    result_dir = os.path.join(args.result_dir, args.dataset)
    table = evaluate_folders(result_dir, os.path.join(args.input_dir, 'test', args.dataset, 'target'),
                             get_protocol('realblur'), num_workers=args.num_workers,
                             title=f'{args.dataset} (RealBlur protocol)')
    print(table.format())
    table.save(result_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
