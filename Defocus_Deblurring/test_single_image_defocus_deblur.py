"""Restormer single-image defocus deblurring test on DPDD (Table 3, "Restormer (S)", 8-bit).

Run from ``Defocus_Deblurring/`` (official) or from the repository root::

    python test_single_image_defocus_deblur.py [--input_dir ./Datasets/test/DPDD/] \
        [--result_dir ./results/Single_Image_Defocus_Deblurring/] \
        [--weights ./pretrained_models/single_image_defocus_deblurring.pth] [--no-save_images]

Reads ``inputC/*.png`` and ``target/*.png`` as 8-bit (16-bit files lose their low byte, as
OpenCV's default read in the official script), restores, saves uint8 PNGs and reports PSNR, SSIM,
MAE (and LPIPS when available offline) on the float outputs for all images, indoor and outdoor
scenes (``indoor_labels.npy``/``outdoor_labels.npy`` in ``--input_dir``).
"""
from __future__ import annotations

import argparse
import functools
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
from basicsr.metrics.dpdd import build_lpips, dpdd_metrics, dpdd_summaries, load_dpdd_labels  # noqa: E402
from basicsr.utils.device import select_device  # noqa: E402
from basicsr.utils.file_util import list_images  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Single_Image_Defocus_Deblurring']


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Single Image Defocus Deblurring using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/test/DPDD/', type=str, help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/Single_Image_Defocus_Deblurring/', type=str,
                        help='Directory for results')
    parser.add_argument('--save_images', action=argparse.BooleanOptionalAction, default=True,
                        help='save the restored images (default; --no-save_images only scores)')
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> Optional[MetricTable]:
    """Restore DPDD and report combined/indoor/outdoor scores; returns the table (``None`` without targets)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    files = list_images(os.path.join(args.input_dir, 'inputC'), 'DPDD inputC folder')
    files, gts = match_ground_truth(files, os.path.join(args.input_dir, 'target'), 'DPDD target folder')
    device = select_device(args.device)
    restorer = load_task_restorer(args, TASK)
    protocol = functools.partial(dpdd_metrics, lpips_fn=build_lpips(device)) if gts else None

    table = restore_files(restorer, files, args.result_dir if args.save_images else None, gt_files=gts,
                          protocol=protocol, out_names=[os.path.basename(p) for p in files], gt_flag='color',
                          score_float=True, title='DPDD single-image (8-bit)',
                          compare_dir=args.result_dir if args.compare else None)
    if table is not None:
        table.summaries = dpdd_summaries(table.rows, load_dpdd_labels(args.input_dir), table.columns)
        print(table.format())
        table.save(args.result_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
