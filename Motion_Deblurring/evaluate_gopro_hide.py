"""GoPro / HIDE evaluation (Table 2) without MATLAB: replaces the official ``evaluate_gopro_hide.m``.

MATLAB ``psnr`` and ``ssim`` on the RGB uint8 images (peak 255; ``ssim`` of an H x W x 3 array is
the 3-D Gaussian SSIM, :func:`basicsr.metrics.calculate_ssim` on colour input).  Results
``<result_dir>/<set>/*.png`` are paired with ``<input_dir>/test/<set>/target``::

    python evaluate_gopro_hide.py [--datasets GoPro,HIDE] [--input_dir ./Datasets/] [--result_dir ./results/]
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.report import MetricTable, evaluate_folders  # noqa: E402
from basicsr.evaluation.task_cli import resolve_default_paths, run_cli  # noqa: E402
from basicsr.metrics.protocols import get_protocol  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='GoPro/HIDE PSNR/SSIM (MATLAB psnr/ssim on RGB uint8)')
    parser.add_argument('--input_dir', default='./Datasets/', help='folder holding test/<set>/target')
    parser.add_argument('--result_dir', default='./results/', help='folder holding <set>/*.png results')
    parser.add_argument('--datasets', default='GoPro,HIDE', help='comma-separated test sets')
    parser.add_argument('--num_workers', type=int, default=min(8, os.cpu_count() or 1), help='worker processes')
    return parser


def main(argv: Optional[List[str]] = None) -> Dict[str, MetricTable]:
    """Evaluate each set; tables are written as ``<result_dir>/<set>/metrics.csv/json``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    tables: Dict[str, MetricTable] = {}
    for d in [d for d in args.datasets.split(',') if d]:
        result_dir = os.path.join(args.result_dir, d)
        table = evaluate_folders(result_dir, os.path.join(args.input_dir, 'test', d, 'target'),
                                 get_protocol('gopro_hide'), num_workers=args.num_workers,
                                 title=f'{d} (MATLAB psnr/ssim, RGB)')
        print(table.format())
        table.save(result_dir)
        tables[d] = table
    return tables


if __name__ == '__main__':
    sys.exit(run_cli(main))
