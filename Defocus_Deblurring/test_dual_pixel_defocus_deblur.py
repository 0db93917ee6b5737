"""Restormer dual-pixel defocus deblurring test on DPDD (Table 3, "Restormer (D)", 16-bit).

Run from ``Defocus_Deblurring/`` (official) or from the repository root::

    python test_dual_pixel_defocus_deblur.py [--input_dir ./Datasets/test/DPDD/] \
        [--result_dir ./results/Dual_Pixel_Defocus_Deblurring/] \
        [--weights ./pretrained_models/dual_pixel_defocus_deblurring.pth] [--no-save_images]

Reads the 16-bit ``inputL``, ``inputR`` and ``target`` PNGs (divided by 65535), feeds the 6-channel
L+R stack to the network, saves uint16 PNGs and reports PSNR, SSIM, MAE (and LPIPS when available
offline) on the float outputs for all images, indoor and outdoor scenes.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import List, Optional

import numpy as np

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.report import MetricTable, pair_files  # noqa: E402
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, match_ground_truth, read_rgb,  # noqa: E402
                                         resolve_default_paths, restore_files, run_cli)
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.metrics.dpdd import build_lpips, dpdd_metrics, dpdd_summaries, load_dpdd_labels  # noqa: E402
from basicsr.utils.device import select_device  # noqa: E402
from basicsr.utils.file_util import list_images  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Dual_Pixel_Defocus_Deblurring']


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Dual Pixel Defocus Deblurring using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/test/DPDD/', type=str, help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/Dual_Pixel_Defocus_Deblurring/', type=str,
                        help='Directory for results')
    parser.add_argument('--save_images', action=argparse.BooleanOptionalAction, default=True,
                        help='save the restored 16-bit images (default; --no-save_images only scores)')
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> Optional[MetricTable]:
    """Restore DPDD from L/R views and report combined/indoor/outdoor scores (``None`` without targets)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    left = list_images(os.path.join(args.input_dir, 'inputL'), 'DPDD inputL folder')
    right = dict(pair_files(left, list_images(os.path.join(args.input_dir, 'inputR'), 'DPDD inputR folder')))
    left, gts = match_ground_truth(left, os.path.join(args.input_dir, 'target'), 'DPDD target folder')
    device = select_device(args.device)
    restorer = load_task_restorer(args, TASK)
    protocol = functools.partial(dpdd_metrics, lpips_fn=build_lpips(device)) if gts else None

    def load(path_left: str) -> np.ndarray:
        return np.concatenate([read_rgb(path_left, 'unchanged'), read_rgb(right[path_left], 'unchanged')], axis=2)

    table = restore_files(restorer, left, args.result_dir if args.save_images else None, gt_files=gts,
                          protocol=protocol, load=load, out_names=[os.path.basename(p) for p in left],
                          out_dtype=np.uint16, gt_flag='unchanged', score_float=True,
                          title='DPDD dual-pixel (16-bit)',
                          compare_dir=args.result_dir if args.compare else None)
    if table is not None:
        table.summaries = dpdd_summaries(table.rows, load_dpdd_labels(args.input_dir), table.columns)
        print(table.format())
        table.save(args.result_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
