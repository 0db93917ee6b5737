"""Restormer deraining test (Table 1): restore the test sets, save PNGs, score them on MATLAB's Y channel.

Run from ``Deraining/`` (official) or from the repository root; default paths are relative to this folder::

    python test.py [--input_dir ./Datasets/] [--result_dir ./results/] \
        [--weights ./pretrained_models/deraining.pth] [--tile 720 --tile_overlap 32] [--self_ensemble]

Inputs ``<input_dir>/test/<set>/input``, ground truth ``<input_dir>/test/<set>/target`` (optional);
results ``<result_dir>/<set>/<name>.png`` with ``metrics.csv/json`` next to them and the mean over
the sets in ``<result_dir>/summary.csv/json``.  The protocol is ``deraining`` of
:mod:`basicsr.metrics.protocols` (same numbers as ``evaluate_PSNR_SSIM.py``).
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

from basicsr.evaluation.report import MetricTable, summary_table  # noqa: E402
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, match_ground_truth,  # noqa: E402
                                         resolve_default_paths, restore_files, run_cli)
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.metrics.protocols import get_protocol  # noqa: E402
from basicsr.utils.file_util import list_images  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Deraining']
DATASETS = ['Rain100L', 'Rain100H', 'Test100', 'Test1200', 'Test2800']


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Image deraining using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/', type=str, help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/', type=str, help='Directory for results')
    parser.add_argument('--datasets', default=','.join(DATASETS), help='comma-separated test sets')
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> Dict[str, MetricTable]:
    """Restore and score every test set; returns the metric table of each set that has ground truth."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    datasets = [d for d in args.datasets.split(',') if d]
    inputs = {d: list_images(os.path.join(args.input_dir, 'test', d, 'input'), f'{d} input folder')
              for d in datasets}
    restorer = load_task_restorer(args, TASK)

    tables: Dict[str, MetricTable] = {}
    for d in datasets:
        out_dir = os.path.join(args.result_dir, d)
        files, gts = match_ground_truth(inputs[d], os.path.join(args.input_dir, 'test', d, 'target'),
                                        f'{d} target folder')
        table = restore_files(restorer, files, out_dir, gt_files=gts, protocol=get_protocol('deraining'),
                              title=f'{d} (Y channel, MATLAB protocol)',
                              compare_dir=out_dir if args.compare else None)
        if table is not None:
            print(table.format())
            table.save(out_dir)
            tables[d] = table
    if tables:
        summary = summary_table('Deraining, mean PSNR/SSIM per test set (Table 1)', tables)
        print(summary.format())
        summary.save(args.result_dir, 'summary')
    return tables


if __name__ == '__main__':
    sys.exit(run_cli(main))
