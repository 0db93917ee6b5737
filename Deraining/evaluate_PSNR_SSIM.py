"""Deraining evaluation (Table 1) without MATLAB: replaces the official ``evaluate_PSNR_SSIM.m``.

Re-reads ``<result_dir>/<set>/*.png`` and ``<input_dir>/test/<set>/target``, converts both to
MATLAB's uint8 Y channel (``rgb2ycbcr``), and reports PSNR (peak 255) and Wang's ``SSIM_index``
('valid' 11x11 Gaussian window) per image, per set and averaged over the sets::

    python evaluate_PSNR_SSIM.py [--input_dir ./Datasets/] [--result_dir ./results/] [--num_workers 4]
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

from basicsr.evaluation.report import MetricTable, evaluate_folders, summary_table  # noqa: E402
from basicsr.evaluation.task_cli import resolve_default_paths, run_cli  # noqa: E402
from basicsr.metrics.protocols import get_protocol  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATASETS = ['Test100', 'Rain100H', 'Rain100L', 'Test2800', 'Test1200']


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Deraining PSNR/SSIM on the Y channel (MATLAB protocol)')
    parser.add_argument('--input_dir', default='./Datasets/', help='folder holding test/<set>/target')
    parser.add_argument('--result_dir', default='./results/', help='folder holding <set>/*.png results')
    parser.add_argument('--datasets', default=','.join(DATASETS), help='comma-separated test sets')
    parser.add_argument('--num_workers', type=int, default=min(8, os.cpu_count() or 1), help='worker processes')
    return parser


def main(argv: Optional[List[str]] = None) -> Dict[str, MetricTable]:
    """Evaluate every set; returns the per-set tables (also written as ``<result_dir>/<set>/metrics.csv/json``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    tables: Dict[str, MetricTable] = {}
    for d in [d for d in args.datasets.split(',') if d]:
        result_dir = os.path.join(args.result_dir, d)
        table = evaluate_folders(result_dir, os.path.join(args.input_dir, 'test', d, 'target'),
                                 get_protocol('deraining'), num_workers=args.num_workers,
                                 title=f'{d} (Y channel, MATLAB protocol)')
        print(table.format())
        table.save(result_dir)
        tables[d] = table
    summary = summary_table('Deraining, mean PSNR/SSIM per test set (Table 1)', tables)
    print(summary.format())
    summary.save(args.result_dir, 'summary')
    return tables


if __name__ == '__main__':
    sys.exit(run_cli(main))
