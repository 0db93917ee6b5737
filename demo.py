"""Restore your own images with a pre-trained Restormer (the official ``demo.py`` tasks).

Usage (from any working directory)::

    python demo.py --task Motion_Deblurring --input_dir ./demo/degraded/ --result_dir ./demo/restored/
    python demo.py --task Gaussian_Gray_Denoising --input_dir photo.png --result_dir out --tile 720 --tile_overlap 32

Outputs go to ``<result_dir>/<task>/<name>.png`` (8-bit PNG; one channel for the gray task).

The network settings of a task come from its option file (``network_g`` of ``<Task>/Options/*.yml``, see
:data:`DEMO_TASKS`), the weights from the official file names under ``<Task>/pretrained_models/`` (override with
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
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
if importlib.util.find_spec('basicsr') is None:  # not installed: use the package next to this script
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

from basicsr.evaluation.tasks import TASKS, TaskSpec, network_options  # noqa: E402
from basicsr.models.archs import build_network  # noqa: E402
from basicsr.utils.device import select_device  # noqa: E402
from basicsr.utils.errors import (CheckpointError, ImageReadError, MissingInputError, OptionError,  # noqa: E402
                                  OutputConflictError, UserError)
from basicsr.utils.file_util import check_outputs_spare_inputs, file_stem, list_images  # noqa: E402
from basicsr.utils.img_util import img2tensor, imread, imwrite, tensor2img  # noqa: E402
from basicsr.utils.inference import restore  # noqa: E402

__all__ = ['DEMO_TASKS', 'DemoError', 'task_network_opt', 'default_weights', 'missing_weights_message',
           'load_network', 'restore_file', 'build_parser', 'main']

logger = logging.getLogger('basicsr')

#: the demo's tasks: every single-image model of the task table (dual-pixel needs a left/right view pair)
DEMO_TASKS: Dict[str, TaskSpec] = {name: spec for name, spec in TASKS.items() if not spec.dual_pixel}


class DemoError(UserError, RuntimeError):
    """A user-facing problem (missing weights, no images, bad arguments) with a message saying what to do."""


def task_network_opt(task: Optional[str], opt_file: Optional[str] = None,
                     overrides: Sequence[str] = ()) -> Dict[str, Any]:
    """``network_g`` of the task's option file (or of ``opt_file``), after ``key=value`` ``overrides``."""
    if opt_file is None and task is None:
        raise DemoError('Give a task or an option file.')
    try:
        return network_options(opt_file or TASKS[task].option_path, overrides)
    except (OptionError, MissingInputError) as e:
        raise DemoError(str(e)) from e


def default_weights(task: str) -> str:
    """Absolute path of the official weights of ``task`` inside this repository."""
    return TASKS[task].weights_path


def missing_weights_message(task: str, path: str) -> str:
    return TASKS[task].missing_weights_message(path) + ' (--weights FILE)'


def load_network(task: str, network_opt: Dict[str, Any], weights: Optional[str],
                 device: torch.device) -> torch.nn.Module:
    """Build the task network and load its weights, with a helpful error when the file is missing."""
    path = weights or default_weights(task)
    if not os.path.isfile(path):
        raise DemoError(missing_weights_message(task, path))
    try:
        return build_network(network_opt, path).eval().to(device)
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
    parser.add_argument('--task', required=True, choices=sorted(DEMO_TASKS), help='restoration task')
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
        out = os.path.join(out_dir, file_stem(f) + '.png')
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

    try:
        files = list_images(args.input_dir, 'Input folder', allow_file=True)
        device = select_device(args.device)
    except (MissingInputError, ValueError) as e:
        raise DemoError(str(e)) from e
    network_opt = task_network_opt(args.task, args.opt, args.set)
    net = load_network(args.task, network_opt, args.weights, device)
    if args.amp and device.type == 'cpu':
        logger.warning('--amp %s on the CPU is usually slower than float32 (it is meant for GPUs).', args.amp)
    in_channels = int(network_opt.get('inp_channels', 3))
    if in_channels not in (1, 3):
        raise DemoError(f'The demo restores 1- or 3-channel images; network_g has inp_channels={in_channels}.')

    out_dir = os.path.join(args.result_dir, args.task)
    pairs = _output_paths(files, out_dir)
    try:
        check_outputs_spare_inputs(files, [dst for _, dst in pairs])
    except OutputConflictError as e:
        raise DemoError(str(e)) from e
    os.makedirs(out_dir, exist_ok=True)
    kwargs = dict(tile=args.tile, tile_overlap=args.tile_overlap, tile_batch=args.tile_batch, blend=args.blend,
                  self_ensemble=args.self_ensemble, amp=args.amp, compute_device=device)
    failed = 0
    for src, dst in tqdm(pairs, desc=args.task, unit='img'):
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
