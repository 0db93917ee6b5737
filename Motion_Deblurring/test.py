"""Restormer single-image motion deblurring test (Table 2): GoPro, HIDE, RealBlur-J, RealBlur-R.

Run from ``Motion_Deblurring/`` (official) or from the repository root::

    python test.py --dataset GoPro [--input_dir ./Datasets/] [--result_dir ./results/] \
        [--weights ./pretrained_models/motion_deblurring.pth] [--tile 720 --tile_overlap 32] [--self_ensemble]

Inputs ``<input_dir>/test/<dataset>/input``; results ``<result_dir>/<dataset>/<name>.png``.  When
``<input_dir>/test/<dataset>/target`` exists the results are scored (``metrics.csv/json`` next to
them): GoPro/HIDE with MATLAB ``psnr``/``ssim`` on RGB uint8, RealBlur with the aligned RealBlur
protocol (same numbers as ``evaluate_gopro_hide.py`` / ``evaluate_realblur.py``).
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

from basicsr.evaluation.report import MetricTable  # noqa: E402
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, match_ground_truth,  # noqa: E402
                                         resolve_default_paths, restore_files, run_cli)
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.metrics.protocols import get_protocol  # noqa: E402
from basicsr.utils.file_util import list_images  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Motion_Deblurring']
DATASETS = ['GoPro', 'HIDE', 'RealBlur_J', 'RealBlur_R']


def protocol_name(dataset: str) -> str:
    """Evaluation protocol of a test set: ``realblur`` for RealBlur-J/-R, ``gopro_hide`` otherwise."""
    return 'realblur' if dataset.startswith('RealBlur') else 'gopro_hide'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Single Image Motion Deblurring using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/', type=str, help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/', type=str, help='Directory for results')
    parser.add_argument('--dataset', default='GoPro', type=str,
                        help=f"Test Dataset ({', '.join(DATASETS)}, or any folder under <input_dir>/test/)")
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> Optional[MetricTable]:
    """Restore (and score) one test set; returns its metric table, or ``None`` without ground truth."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    files = list_images(os.path.join(args.input_dir, 'test', args.dataset, 'input'), f'{args.dataset} input folder')
    restorer = load_task_restorer(args, TASK)

    out_dir = os.path.join(args.result_dir, args.dataset)
    files, gts = match_ground_truth(files, os.path.join(args.input_dir, 'test', args.dataset, 'target'),
                                    f'{args.dataset} target folder')
    name = protocol_name(args.dataset)
    table = restore_files(restorer, files, out_dir, gt_files=gts, protocol=get_protocol(name),
                          title=f'{args.dataset} ({name} protocol)',
                          compare_dir=out_dir if args.compare else None)
    if table is not None:
        print(table.format())
        table.save(out_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
