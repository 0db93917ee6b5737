"""Restormer real denoising test on the SIDD validation blocks (Table 6).

Run from ``Denoising/`` (official) or from the repository root::

    python test_real_denoising_sidd.py [--input_dir ./Datasets/test/SIDD/] \
        [--result_dir ./results/Real_Denoising/SIDD/] [--weights ./pretrained_models/real_denoising.pth] \
        [--save_images]

Restores the 40 x 32 blocks of ``ValidationNoisyBlocksSrgb.mat`` (uint8, divided by 255) and writes
``<result_dir>/mat/Idenoised.mat`` (float32, key ``Idenoised``), plus ``png/%04d_%02d.png`` with
``--save_images``.  When ``ValidationGtBlocksSrgb.mat`` is in ``--input_dir`` the blocks are scored
with MATLAB ``psnr``/``ssim`` semantics (float RGB, peak 1, 3-D SSIM), as ``evaluate_sidd.py``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import List, Optional

import numpy as np

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.real_denoising import (SIDD_GT, SIDD_NOISY, SIDD_RESULT, block_name,  # noqa: E402
                                               load_mat_array, save_mat, sidd_table)
from basicsr.evaluation.report import MetricTable  # noqa: E402
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, resolve_default_paths,  # noqa: E402
                                         restore_image, run_cli)
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.utils.file_util import check_outputs_spare_inputs  # noqa: E402
from basicsr.utils.img_util import imwrite, tensor2img  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Real_Denoising']
logger = logging.getLogger('basicsr')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Real Image Denoising using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/test/SIDD/', type=str,
                        help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/Real_Denoising/SIDD/', type=str,
                        help='Directory for results')
    parser.add_argument('--save_images', action='store_true', help='Save denoised images in result directory')
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> Optional[MetricTable]:
    """Denoise every block, write ``Idenoised.mat`` and score it when the ground truth is present."""
    from tqdm import tqdm

    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    noisy = load_mat_array(os.path.join(args.input_dir, SIDD_NOISY[0]), SIDD_NOISY[1], 'SIDD noisy blocks')
    mat_path = os.path.join(args.result_dir, 'mat', SIDD_RESULT[0])
    check_outputs_spare_inputs([os.path.join(args.input_dir, f) for f in (SIDD_NOISY[0], SIDD_GT[0])], [mat_path])
    restorer = load_task_restorer(args, TASK)

    noisy = noisy.astype(np.float32) / np.float32(255.0)
    restored = np.zeros_like(noisy)
    for idx in tqdm(list(np.ndindex(*noisy.shape[:-3])), desc='SIDD blocks'):
        out = restore_image(restorer, noisy[idx])
        restored[idx] = out[0].permute(1, 2, 0).numpy()
        if args.save_images:
            imwrite(tensor2img(out), os.path.join(args.result_dir, 'png', block_name(idx) + '.png'))
    save_mat(mat_path, {SIDD_RESULT[1]: restored})
    print(f'denoised blocks written to {mat_path}')

    gt_path = os.path.join(args.input_dir, SIDD_GT[0])
    if not os.path.isfile(gt_path):
        logger.warning('No ground truth at %s: blocks are saved but not scored.', gt_path)
        return None
    table = sidd_table(restored, load_mat_array(gt_path, SIDD_GT[1], 'SIDD ground-truth blocks'))
    print(table.format(per_image=False))  # 1280 blocks: the per-block rows are in the CSV/JSON files
    table.save(args.result_dir)
    return table


if __name__ == '__main__':
    sys.exit(run_cli(main))
