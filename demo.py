"""Restore your own images with a pre-trained Restormer (the official ``demo.py`` tasks).

Usage (from any working directory)::

    python demo.py --task Motion_Deblurring --input_dir ./demo/degraded/ --result_dir ./demo/restored/
    python demo.py --task Gaussian_Gray_Denoising --input_dir photo.png --result_dir out --tile 720 --tile_overlap 32

Outputs go to ``<result_dir>/<task>/<name>.png`` (8-bit PNG; one channel for the gray task).

The network settings of a task come from its option file (``network_g`` of ``<Task>/Options/*.yml``, see
:data:`TASKS`), the weights from the official file names under ``<Task>/pretrained_models/`` (override with
``--opt``/``--set`` and ``--weights``).  Padding to a multiple of 8, tiling, blending, self-ensemble and mixed
precision are :func:`basicsr.utils.inference.restore`.  Unlike the official demo, gray inputs may be given to
colour tasks and vice versa (they are converted), the tile overlap can be feathered (``--blend feather``), and
tiles are batched (``--tile_batch``).
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
if importlib.util.find_spec('basicsr') is None:  # not installed: use the package next to this script
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from basicsr.utils.checkpoint import CheckpointError  # noqa: E402
from basicsr.utils.img_util import ImageReadError, img2tensor, imread, imwrite, is_image_file  # noqa: E402
from basicsr.utils.img_util import list_image_files, tensor2img  # noqa: E402
from basicsr.utils.inference import build_model, restore  # noqa: E402
from basicsr.utils.inference import select_device as inference_select_device  # noqa: E402
from basicsr.utils.options import OptionError, parse  # noqa: E402

__all__ = ['TASKS', 'TaskSpec', 'DemoError', 'task_network_opt', 'default_weights', 'missing_weights_message',
           'list_images', 'select_device', 'load_network', 'restore_file', 'build_parser', 'main']

logger = logging.getLogger('basicsr')

RELEASES_URL = 'https://github.com/swz30/Restormer/releases/tag/v1.0'
OFFICIAL_README = 'https://github.com/swz30/Restormer'


@dataclass(frozen=True)
class TaskSpec:
    """Where a demo task's option file and official weights live (paths relative to the repository root)."""

    option_file: str
    weights: str
    drive_folder: str  # Google Drive folder linked from the official README for this task


_DRIVE = {
    'Deraining': 'https://drive.google.com/drive/folders/1ZEDDEVW0UgkpWi-N4Lj_JUoVChGXCu_u',
    'Motion_Deblurring': 'https://drive.google.com/drive/folders/1czMyfRTQDX3j3ErByYeZ1PM4GVLbJeGK',
    'Defocus_Deblurring': 'https://drive.google.com/drive/folders/1bRBG8DG_72AGA6-eRePvChlT5ZO4cwJ4',
    'Denoising': 'https://drive.google.com/drive/folders/1Qwsjyny54RZWa7zC4Apg7exixLBo4uF0',
}

#: the six tasks of the official demo (no dual-pixel task: it needs a left/right view pair)
TASKS: Dict[str, TaskSpec] = {
    'Motion_Deblurring': TaskSpec('Motion_Deblurring/Options/Deblurring_Restormer.yml',
                                  'Motion_Deblurring/pretrained_models/motion_deblurring.pth',
                                  _DRIVE['Motion_Deblurring']),
    'Single_Image_Defocus_Deblurring': TaskSpec(
        'Defocus_Deblurring/Options/DefocusDeblur_Single_8bit_Restormer.yml',
        'Defocus_Deblurring/pretrained_models/single_image_defocus_deblurring.pth', _DRIVE['Defocus_Deblurring']),
    'Deraining': TaskSpec('Deraining/Options/Deraining_Restormer.yml', 'Deraining/pretrained_models/deraining.pth',
                          _DRIVE['Deraining']),
    'Real_Denoising': TaskSpec('Denoising/Options/RealDenoising_Restormer.yml',
                               'Denoising/pretrained_models/real_denoising.pth', _DRIVE['Denoising']),
    'Gaussian_Gray_Denoising': TaskSpec('Denoising/Options/GaussianGrayDenoising_Restormer.yml',
                                        'Denoising/pretrained_models/gaussian_gray_denoising_blind.pth',
                                        _DRIVE['Denoising']),
    'Gaussian_Color_Denoising': TaskSpec('Denoising/Options/GaussianColorDenoising_Restormer.yml',
                                         'Denoising/pretrained_models/gaussian_color_denoising_blind.pth',
                                         _DRIVE['Denoising']),
}


class DemoError(RuntimeError):
    """A user-facing problem (missing weights, no images, bad arguments) with a message saying what to do."""


def task_network_opt(task: Optional[str], opt_file: Optional[str] = None,
                     overrides: Sequence[str] = ()) -> Dict[str, Any]:
    """``network_g`` of the task's option file (or of ``opt_file``), after ``key=value`` ``overrides``."""
    if opt_file is None and task is None:
        raise DemoError('Give a task or an option file.')
    path = opt_file or os.path.join(REPO_ROOT, TASKS[task].option_file)
    try:
        return dict(parse(path, is_train=False, overrides=overrides, root_path=REPO_ROOT)['network_g'])
    except OptionError as e:
        raise DemoError(str(e)) from e


def default_weights(task: str) -> str:
    """Absolute path of the official weights of ``task`` inside this repository."""
    return os.path.join(REPO_ROOT, TASKS[task].weights)


def missing_weights_message(task: str, path: str) -> str:
    spec = TASKS[task]
    folder = os.path.dirname(spec.weights)
    return (f"Weights file not found: '{path}'.\n"
            f"Download the official pre-trained model '{os.path.basename(spec.weights)}' and put it in "
            f"'{folder}/' (i.e. '{os.path.join(REPO_ROOT, folder)}'), or pass --weights FILE.\n"
            f'The official weights of Restormer ({OFFICIAL_README}) are published as GitHub release assets '
            f'({RELEASES_URL}) and in the Google Drive folders linked from the official README '
            f'(this task: {spec.drive_folder}).')


def list_images(input_path: str) -> List[str]:
    """The image files to restore: ``input_path`` itself, or the images directly inside the folder (sorted)."""
    if os.path.isfile(input_path):
        if not is_image_file(input_path):
            raise DemoError(f"'{input_path}' is not an image file (expected one of jpg, png, bmp, tif, ...).")
        return [input_path]
    if os.path.isdir(input_path):
        files = list_image_files(input_path)
        if not files:
            raise DemoError(f"No image files (jpg, png, bmp, tif, ...) found in '{input_path}'.")
        return files
    raise DemoError(f"Input '{input_path}' does not exist.")


def select_device(name: str) -> torch.device:
    """``'auto'`` -> CUDA when available, else CPU; a clear error if CUDA is requested but missing."""
    try:
        return inference_select_device(name)
    except ValueError as e:
        raise DemoError(str(e)) from e


def load_network(task: str, network_opt: Dict[str, Any], weights: Optional[str],
                 device: torch.device) -> torch.nn.Module:
    """Build the task network and load its weights, with a helpful error when the file is missing."""
    path = weights or default_weights(task)
    if not os.path.isfile(path):
        raise DemoError(missing_weights_message(task, path))
    try:
        return build_model(network_opt, path, device=device)
    except CheckpointError as e:
        raise DemoError(f'{e}\n(The weights must match the network_g of the task option file; see --opt/--set.)') \
            from e


def restore_file(net: torch.nn.Module, path: str, in_channels: int, **restore_kwargs: Any) -> torch.Tensor:
    """Read ``path`` (gray for 1-channel networks, colour otherwise) and restore it; returns a 1CHW CPU tensor."""
    img = imread(path, flag='grayscale' if in_channels == 1 else 'color', float32=True)
    x = img2tensor(img, bgr2rgb=True).unsqueeze(0)
    return restore(net, x, **restore_kwargs).cpu()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Restore images with a pre-trained Restormer (official demo tasks).',
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--task', required=True, choices=sorted(TASKS), help='restoration task')
    parser.add_argument('--input_dir', default='./demo/degraded/', help='an image file or a folder of images')
    parser.add_argument('--result_dir', default='./demo/restored/', help='outputs go to <result_dir>/<task>/')
    parser.add_argument('--weights', default=None,
                        help='checkpoint ({"params": ...}); default: the official file in <Task>/pretrained_models/')
    parser.add_argument('--opt', default=None, help="option YAML whose network_g is used (default: the task's)")
    parser.add_argument('--set', nargs='*', action='extend', default=[], metavar='KEY=VALUE',
                        help='overrides of the option file, e.g. network_g.dim=8 (values parsed as YAML; repeatable)')
    parser.add_argument('--tile', type=int, default=None,
                        help='restore in tiles of this size (multiple of 8, clipped to the image), e.g. 720')
    parser.add_argument('--tile_overlap', type=int, default=32, help='overlap between neighbouring tiles')
    parser.add_argument('--tile_batch', type=int, default=1, help='tiles per forward pass')
    parser.add_argument('--blend', choices=('uniform', 'feather'), default='uniform',
                        help="how overlapping tiles are merged: 'uniform' average (official) or 'feather'")
    parser.add_argument('--self_ensemble', action='store_true', help='average over the 8 flips/rotations (x8 slower)')
    parser.add_argument('--device', default='auto', help="'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1'")
    parser.add_argument('--amp', choices=('bf16', 'fp16'), default=None, help='mixed precision (autocast)')
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.tile is not None:
        if args.tile <= 0 or args.tile % 8:
            parser.error(f'--tile must be a positive multiple of 8 (Restormer down-samples three times), '
                         f'got {args.tile}; e.g. --tile {max(8, args.tile // 8 * 8)}')
        if not 0 <= args.tile_overlap < args.tile:
            parser.error(f'--tile_overlap must be in [0, tile), got {args.tile_overlap} for --tile {args.tile}')
    if args.tile_batch < 1:
        parser.error(f'--tile_batch must be >= 1, got {args.tile_batch}')


def _output_paths(files: Sequence[str], out_dir: str) -> List[Tuple[str, str]]:
    """``(input, output)`` pairs; warns when two inputs (e.g. a.jpg and a.png) map to the same output."""
    pairs, seen = [], {}
    for f in files:
        out = os.path.join(out_dir, os.path.splitext(os.path.basename(f))[0] + '.png')
        if out in seen:
            logger.warning("'%s' and '%s' both write '%s'; the later one wins.", seen[out], f, out)
        seen[out] = f
        pairs.append((f, out))
    return pairs


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; returns 0 on success, 1 if some images could not be read.

    Raises:
        DemoError: missing weights/inputs, or an option file or checkpoint that does not fit.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    if not logging.getLogger().handlers and not logger.handlers:
        logging.basicConfig(level=logging.INFO, format='%(levelname)s: %(message)s')

    files = list_images(args.input_dir)
    device = select_device(args.device)
    network_opt = task_network_opt(args.task, args.opt, args.set)
    net = load_network(args.task, network_opt, args.weights, device)
    if args.amp and device.type == 'cpu':
        logger.warning('--amp %s on the CPU is usually slower than float32 (it is meant for GPUs).', args.amp)
    in_channels = int(network_opt.get('inp_channels', 3))
    if in_channels not in (1, 3):
        raise DemoError(f'The demo restores 1- or 3-channel images; network_g has inp_channels={in_channels}.')

    out_dir = os.path.join(args.result_dir, args.task)
    os.makedirs(out_dir, exist_ok=True)
    kwargs = dict(tile=args.tile, tile_overlap=args.tile_overlap, tile_batch=args.tile_batch, blend=args.blend,
                  self_ensemble=args.self_ensemble, amp=args.amp, compute_device=device)
    failed = 0
    for src, dst in tqdm(_output_paths(files, out_dir), desc=args.task, unit='img'):
        try:
            out = restore_file(net, src, in_channels, **kwargs)
        except ImageReadError as e:
            logger.error('Skipping %s', e)
            failed += 1
            continue
        imwrite(tensor2img(out, rgb2bgr=True), dst)
    tqdm.write(f'Restored {len(files) - failed} of {len(files)} image(s) into {out_dir}')
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except DemoError as err:
        sys.exit(f'error: {err}')
