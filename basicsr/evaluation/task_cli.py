"""Building blocks of the per-task test scripts (``<Task>/test*.py``), so the scripts stay thin.

* Command-line handling: the common model arguments (``--weights``, ``--opt``, ``--set``,
  ``--tile``, ``--tile_overlap``, ``--self_ensemble``, ``--device``), whose defaults come from the
  task table (:mod:`basicsr.evaluation.tasks`), and resolution of default paths relative to the
  script's own folder (the official defaults such as ``./Datasets/`` are relative to the task
  folder; resolving them against the script lets the scripts run from the repository root too).
  Paths given on the command line are taken as they are (relative to the current directory).
* :func:`load_task_restorer`: a :class:`basicsr.evaluation.restorer.Restorer` from the task YAML's
  ``network_g`` + official weights and the script's ``--tile``/``--self_ensemble``/``--device``.
* :func:`restore_image`: numpy RGB image -> restored tensor via :func:`basicsr.utils.inference.restore`.
* :func:`run_cli`: run a script's ``main`` and turn missing-file/option errors into one clear line.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from basicsr.evaluation.report import MetricTable, pair_files
from basicsr.evaluation.restorer import Restorer
from basicsr.evaluation.tasks import TaskSpec, network_options
from basicsr.evaluation.visuals import save_comparison, write_html_summary
from basicsr.models.archs import build_network
from basicsr.utils.cli import report_skipped, run_main
from basicsr.utils.errors import DataMismatchError, ImageReadError, MissingInputError
from basicsr.utils.file_util import check_outputs_spare_inputs, file_stem, list_images, require_file
from basicsr.utils.img_util import imread, imread_rgb, imwrite, tensor2img

__all__ = ['add_model_args', 'resolve_default_paths', 'load_task_restorer', 'read_rgb', 'restore_image',
           'restore_files', 'match_ground_truth', 'png_name', 'run_cli', 'parse_sigmas']

logger = logging.getLogger('basicsr')


def add_model_args(parser: argparse.ArgumentParser, task: TaskSpec, weights_default: Optional[str] = None,
                   weights_help: str = '') -> None:
    """Add the arguments shared by every test script.

    Args:
        parser: the script's parser.
        task: the task whose official option file and weights are the defaults.
        weights_default: default of ``--weights`` when it is not the task's weights file (e.g. a prefix).
        weights_help: extra help text for ``--weights``.
    """
    parser.add_argument('--weights', default=weights_default or task.weights_path,
                        help=f'.pth checkpoint ({{"params": state_dict}}); default: the official '
                             f'{task.weights}. {weights_help}'.strip())
    parser.add_argument('--opt', default=task.option_path,
                        help=f'option YAML whose network_g builds the model (default: {task.option_file})')
    parser.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE',
                        help='overrides of the option file, e.g. network_g.dim=8 (values parsed as YAML)')
    parser.add_argument('--tile', type=tile_arg, default=None,
                        help="restore in tiles of this size (a multiple of 8), or 'auto' (only when the image does "
                             'not fit in memory); default: whole images, as the paper')
    parser.add_argument('--tile_overlap', type=int, default=32, help='overlap between tiles')
    parser.add_argument('--self_ensemble', action='store_true', help='average over the 8 flips/rotations (x8)')
    parser.add_argument('--compare', action='store_true',
                        help='also write input | restored | target pictures (compare/) and summary.html with the '
                             'best and worst images by PSNR')
    parser.add_argument('--device', default='auto', help="'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1', ...")
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the network (faster on many images of few sizes; compiles per size)')


def resolve_default_paths(args: argparse.Namespace, parser: argparse.ArgumentParser, base_dir: str,
                          names: Iterable[str]) -> None:
    """Make the arguments ``names`` that still hold their (relative) default relative to ``base_dir``."""
    for name in names:
        value, default = getattr(args, name), parser.get_default(name)
        if isinstance(value, str) and value == default and not os.path.isabs(value):
            setattr(args, name, os.path.normpath(os.path.join(base_dir, value)))


def tile_arg(text: str) -> Union[int, str]:
    """``--tile`` values: a positive multiple of 8, or ``auto`` (an argparse ``type``)."""
    if text == 'auto':
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value <= 0 or value % 8:
        raise argparse.ArgumentTypeError(f"expected a positive multiple of 8 or 'auto', got '{text}'")
    return value


def load_task_restorer(args: argparse.Namespace, task: Optional[TaskSpec] = None, option_file: Optional[str] = None,
                       weights: Optional[str] = None) -> Restorer:
    """The network of an option file's ``network_g`` (``--opt`` after ``--set``) with ``--weights``, set up
    with the script's ``--tile``, ``--tile_overlap``, ``--self_ensemble`` and ``--device`` (tiles are merged
    with the official plain average).

    Raises:
        MissingInputError: naming the option file or the weights file when one is missing (with the
            download instructions of ``task`` for its official weights).
    """
    option_file, weights = option_file or args.opt, weights or args.weights
    network_opt = network_options(option_file, args.set)
    if task is not None and not os.path.isfile(weights):
        raise MissingInputError(task.missing_weights_message(weights) + ' (--weights FILE)')
    require_file(weights, 'Weights file')
    logger.info('Building %s from %s, weights %s', network_opt.get('type'), option_file, weights)
    return Restorer(build_network(network_opt, weights), network_opt, device=args.device, tile=args.tile,
                    tile_overlap=args.tile_overlap, self_ensemble=args.self_ensemble, blend='uniform',
                    name=os.path.basename(weights), compile=getattr(args, 'compile', False))


def read_rgb(path: str, flag: str = 'color') -> np.ndarray:
    """Read an image as float32 HWC in [0, 1], **RGB** (HW1 for gray); ``flag`` as :func:`imread`."""
    return imread_rgb(path, flag=flag, float32=True)


def restore_image(restorer: Restorer, img: np.ndarray) -> torch.Tensor:
    """Restore one HWC (RGB) float image; returns a 1CHW tensor in [0, 1] on the CPU."""
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()[None]
    return restorer.restore_tensor(x).cpu()


def match_ground_truth(inputs: Sequence[str], gt_dir: str,
                       what: str = 'target folder') -> Tuple[List[str], Optional[List[str]]]:
    """Pair ``inputs`` with the images of ``gt_dir`` (by name, else natural order).

    Returns ``(inputs, targets)`` in matching order, or ``(inputs, None)`` with a warning when
    ``gt_dir`` does not exist (results are then saved but not scored).
    """
    if not os.path.isdir(gt_dir):
        logger.warning('No ground truth at %s: results are saved but not scored.', gt_dir)
        return list(inputs), None
    pairs = pair_files(inputs, list_images(gt_dir, what))
    return [p for p, _ in pairs], [t for _, t in pairs]


def png_name(path: str) -> str:
    """Output file name of an input: its base name with a ``.png`` extension (official rule)."""
    return file_stem(path) + '.png'


def restore_files(restorer: Restorer, inputs: Sequence[str], out_dir: Optional[str], *,
                  gt_files: Optional[Sequence[str]] = None,
                  protocol: Optional[Callable[..., Dict[str, float]]] = None,
                  load: Callable[[str], np.ndarray] = read_rgb, out_names: Optional[Sequence[str]] = None,
                  out_dtype: type = np.uint8, gt_flag: str = 'color', score_float: bool = False,
                  title: str = '', compare_dir: Optional[str] = None) -> Optional[MetricTable]:
    """Restore ``inputs`` one by one, save the results and score them against ``gt_files``.

    Args:
        restorer: the network and its inference settings (:func:`load_task_restorer`).
        inputs: input files (natural order); ``load(path)`` turns one into an HWC RGB float image.
        out_dir: folder for the restored images (``None``: do not save).
        gt_files: ground truth, one per input (``None``: no metrics).
        protocol: ``(restored, gt) -> {metric: value}`` on BGR HWC arrays.
        out_names: output file names (default: input name with ``.png``).
        out_dtype: ``np.uint8`` or ``np.uint16`` (16-bit tasks).
        gt_flag: :func:`imread` flag for the ground truth.
        score_float: score the clamped float output against the float ground truth (DPDD) instead
            of the saved integer image against the integer ground truth (all other tasks).
        title: progress-bar and table title.
        compare_dir: write ``input | restored | target`` pictures into ``<compare_dir>/compare/`` and, with
            ground truth, ``<compare_dir>/summary.html`` (the best and worst images by PSNR).

    Returns:
        The metric table (per image + ``mean``), or ``None`` without ground truth.
    """
    from tqdm import tqdm

    if gt_files is not None and len(gt_files) != len(inputs):
        raise DataMismatchError(f'{len(inputs)} inputs but {len(gt_files)} ground-truth images')
    names = list(out_names) if out_names is not None else [png_name(p) for p in inputs]
    if out_dir is not None:
        check_outputs_spare_inputs(list(inputs) + list(gt_files or []), [os.path.join(out_dir, n) for n in names])
    table = MetricTable(title) if gt_files is not None and protocol is not None else None
    for i, path in enumerate(tqdm(inputs, desc=title or 'restoring')):
        try:  # an unreadable image is reported and skipped; the others are restored and scored
            img = load(path)
            gt = None if table is None else imread(gt_files[i], gt_flag, float32=score_float)
        except (ImageReadError, DataMismatchError) as e:
            report_skipped(path, e)
            continue
        out = restore_image(restorer, img)
        saved = tensor2img(out, rgb2bgr=True, out_type=out_dtype)
        if out_dir is not None:
            imwrite(saved, os.path.join(out_dir, names[i]))
        if table is not None:
            restored = tensor2img(out, rgb2bgr=True, out_type=np.float32) if score_float else saved
            if restored.ndim == 2:
                restored = restored[..., None]
            table.add(names[i], protocol(restored, gt))
        if compare_dir is not None:
            save_comparison(compare_dir, names[i], img, tensor2img(out, rgb2bgr=False, out_type=np.float32),
                            None if gt is None else (gt[..., ::-1] if gt.shape[2] == 3 else gt))
    if table is not None and table.rows:
        table.add_summary('mean')
        if compare_dir is not None:
            write_html_summary(table, compare_dir, 'psnr')
    return table


def parse_sigmas(text: str) -> List[int]:
    """``'15,25,50'`` -> ``[15, 25, 50]`` (an argparse ``type``)."""
    try:
        sigmas = [int(s) for s in str(text).split(',') if s.strip()]
    except ValueError:
        sigmas = []
    if not sigmas:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 15,25,50, got '{text}'")
    return sigmas


def run_cli(main: Callable[[List[str]], object], argv: Optional[List[str]] = None) -> int:
    """Run a task script's ``main(argv)`` (see :func:`basicsr.utils.cli.run_main`): bad input ends with one
    error line (exit 2); unreadable images are skipped, listed, and make the exit status 1."""
    return run_main(main, argv)
