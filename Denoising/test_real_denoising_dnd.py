"""Restormer real denoising on DND (Table 6): writes the DND sRGB submission files.

Run from ``Denoising/`` (official) or from the repository root::

    python test_real_denoising_dnd.py [--input_dir ./Datasets/test/DND/] \
        [--result_dir ./results/Real_Denoising/DND/] [--weights ./pretrained_models/real_denoising.pth] \
        [--save_images]

Reads the bounding boxes of ``info.mat`` and each ``images_srgb/%04d.mat`` (``InoisySRGB``), denoises
every crop and writes ``<result_dir>/mat/%04d.mat`` (``Idenoised`` = cell array of the crops,
``israw = False``, ``eval_version = "1.0"``), ready for upload to the DND benchmark (no ground
truth is public, so nothing is scored here); ``png/%04d_%02d.png`` with ``--save_images``.
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

from basicsr.evaluation.real_denoising import (block_name, crop_box, read_dnd_boxes, read_dnd_image,  # noqa: E402
                                               write_dnd_submission)
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, resolve_default_paths,  # noqa: E402
                                         restore_image, run_cli)
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.utils.file_util import check_outputs_spare_inputs, require_dir  # noqa: E402
from basicsr.utils.img_util import imwrite, tensor2img  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TASK = TASKS['Real_Denoising']


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Real Image Denoising using Restormer')
    parser.add_argument('--input_dir', default='./Datasets/test/DND/', type=str, help='Directory of validation images')
    parser.add_argument('--result_dir', default='./results/Real_Denoising/DND/', type=str, help='Directory for results')
    parser.add_argument('--save_images', action='store_true', help='Save denoised images in result directory')
    add_model_args(parser, TASK)
    return parser


def main(argv: Optional[List[str]] = None) -> List[str]:
    """Denoise every DND crop; returns the paths of the submission files written."""
    from tqdm import tqdm

    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, HERE, ['input_dir', 'result_dir'])
    boxes = read_dnd_boxes(os.path.join(args.input_dir, 'info.mat'))
    image_dir = require_dir(os.path.join(args.input_dir, 'images_srgb'), 'DND images_srgb folder')
    inputs = [os.path.join(args.input_dir, 'info.mat')]
    inputs += [os.path.join(image_dir, '%04d.mat' % (i + 1)) for i in range(len(boxes))]
    check_outputs_spare_inputs(inputs, [os.path.join(args.result_dir, 'mat', os.path.basename(p)) for p in inputs])
    restorer = load_task_restorer(args, TASK)

    written = []
    for i, image_boxes in enumerate(tqdm(boxes, desc='DND images')):
        noisy = read_dnd_image(os.path.join(image_dir, '%04d.mat' % (i + 1)))
        crops = []
        for k, box in enumerate(image_boxes):
            out = restore_image(restorer, crop_box(noisy, box))
            crops.append(out[0].permute(1, 2, 0).numpy())
            if args.save_images:
                imwrite(tensor2img(out), os.path.join(args.result_dir, 'png', block_name((i, k)) + '.png'))
        path = os.path.join(args.result_dir, 'mat', '%04d.mat' % (i + 1))
        write_dnd_submission(path, crops)
        written.append(path)
    print(f'{len(written)} DND submission files written to {os.path.join(args.result_dir, "mat")}')
    return written


if __name__ == '__main__':
    sys.exit(run_cli(main))
