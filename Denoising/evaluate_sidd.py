"""SIDD evaluation (Table 6) without MATLAB: replaces the official ``evaluate_sidd.m``.

Loads ``Idenoised.mat`` (default ``./results/Real_Denoising/SIDD/mat/Idenoised.mat``) and
``ValidationGtBlocksSrgb.mat`` (converted like MATLAB ``im2single``), computes MATLAB ``psnr`` and
``ssim`` (float RGB, peak 1, 3-D SSIM) per 256x256 block and their mean over all blocks::

    python evaluate_sidd.py [--result_dir ./results/Real_Denoising/SIDD/] [--input_dir ./Datasets/test/SIDD/]
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

from basicsr.evaluation.real_denoising import SIDD_GT, SIDD_RESULT, load_mat_array, sidd_table  # noqa: E402
from basicsr.evaluation.report import MetricTable  # noqa: E402
from basicsr.evaluation.task_cli import resolve_default_paths, run_cli  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='SIDD PSNR/SSIM per block (MATLAB psnr/ssim semantics)')
    parser.add_argument('--result_dir', default='./results/Real_Denoising/SIDD/',
                        help='folder holding mat/Idenoised.mat')
    parser.add_argument('--denoised', default=None, help='path of Idenoised.mat (default: <result_dir>/mat/)')
    parser.add_argument('--input_dir', default='./Datasets/test/SIDD/',
                        help='folder holding ValidationGtBlocksSrgb.mat')
    return parser


def main(argv: Optional[List[str]] = None) -> MetricTable:
    """Score ``Idenoised.mat``; the table is written as ``<result_dir>/metrics.csv/json``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['result_dir', 'input_dir'])
    denoised = load_mat_array(args.denoised or os.path.join(args.result_dir, 'mat', SIDD_RESULT[0]), SIDD_RESULT[1],
                              'Denoised SIDD blocks (run test_real_denoising_sidd.py first)')
    gt = load_mat_array(os.path.join(args.input_dir, SIDD_GT[0]), SIDD_GT[1], 'SIDD ground-truth blocks')
    table = sidd_table(denoised, gt)
    print(table.format(per_image=False))
    table.save(args.result_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
