"""Restore your own images with a pre-trained Restormer (the official ``demo.py`` tasks), or with your own run.

Usage (from any working directory)::

    python demo.py --task Motion_Deblurring --input_dir ./demo/degraded/ --result_dir ./demo/restored/
    python demo.py --task Gaussian_Gray_Denoising --input_dir photo.png --result_dir out --tile 720 --tile_overlap 32
    python demo.py --experiment experiments/my_run --input_dir photos/ --result_dir out   # your own weights
    python demo.py --web                                                                # the same in a browser

Outputs go to ``<result_dir>/<task>/<name>.png`` (8-bit PNG, or 16-bit for 16-bit inputs; one channel for the
gray tasks).  The network of a task comes from its option file, the weights from the official file names under
``<Task>/pretrained_models/`` (see :mod:`basicsr.evaluation.tasks`; override with ``--opt``/``--set`` and
``--weights``).  Everything else is the :class:`basicsr.Restorer` API: padding to a multiple of 8, tiling
(``--tile auto`` tiles only images that do not fit in memory), blending, self-ensemble and mixed precision.
Unreadable images are skipped and listed (exit status 1); an output never replaces an input.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
if importlib.util.find_spec('basicsr') is None:  # not installed: use the package next to this script
    sys.path.insert(0, REPO_ROOT)

from tqdm import tqdm  # noqa: E402

from basicsr.evaluation.restorer import Restorer  # noqa: E402
from basicsr.evaluation.task_cli import tile_arg  # noqa: E402
from basicsr.evaluation.tasks import TASKS, TaskSpec  # noqa: E402
from basicsr.utils.cli import report_skipped, run_main  # noqa: E402
from basicsr.utils.errors import DataMismatchError, ImageReadError, UserError  # noqa: E402
from basicsr.utils.file_util import check_outputs_spare_inputs, file_stem, list_images  # noqa: E402

__all__ = ['DEMO_TASKS', 'DemoError', 'build_parser', 'build_restorer', 'main']

logger = logging.getLogger('basicsr')

#: the demo's tasks: every single-image model of the task table (dual-pixel needs a left/right view pair)
DEMO_TASKS: Dict[str, TaskSpec] = {name: spec for name, spec in TASKS.items() if not spec.dual_pixel}


class DemoError(UserError, RuntimeError):
    """A usage problem of the demo (conflicting arguments, a network it cannot drive)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Restore images with Restormer: an official task or your own run.',
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = parser.add_argument_group('which network (one of --task, --opt, --experiment)')
    src.add_argument('--task', choices=sorted(DEMO_TASKS), help='official task (its option file and weights)')
    src.add_argument('--opt', default=None, help="option YAML whose network_g is used (with --weights, or the task's)")
    src.add_argument('--experiment', default=None,
                     help='your training run: its folder experiments/<name> (uses models/net_g_latest.pth) or a '
                          'net_g_*.pth inside it')
    src.add_argument('--weights', default=None,
                     help='checkpoint ({"params": ...}); default: the official file in <Task>/pretrained_models/')
    src.add_argument('--set', nargs='*', action='extend', default=[], metavar='KEY=VALUE',
                     help='overrides of the option file, e.g. network_g.dim=8 (values parsed as YAML; repeatable)')
    parser.add_argument('--input_dir', default='./demo/degraded/', help='an image file or a folder of images')
    parser.add_argument('--result_dir', default='./demo/restored/', help='outputs go to <result_dir>/<task>/')
    parser.add_argument('--tile', type=tile_arg, default=None,
                        help="tile size (a multiple of 8, e.g. 720), or 'auto': tile only images that do not fit in "
                             'memory; default: whole images (as the official demo)')
    parser.add_argument('--tile_overlap', type=int, default=32, help='overlap between neighbouring tiles')
    parser.add_argument('--tile_batch', type=int, default=1, help='tiles per forward pass')
    parser.add_argument('--blend', choices=('uniform', 'feather'), default='uniform',
                        help="how overlapping tiles are merged: 'uniform' average (official) or 'feather'")
    parser.add_argument('--self_ensemble', action='store_true', help='average over the 8 flips/rotations (x8 slower)')
    parser.add_argument('--device', default='auto', help="'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1'")
    parser.add_argument('--amp', choices=('bf16', 'fp16'), default=None, help='mixed precision (autocast)')
    parser.add_argument('--compile', action='store_true', help='torch.compile the network (pays off on many images)')
    parser.add_argument('--web', action='store_true', help='open the web demo instead (see demo_web.py --help)')
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if isinstance(args.tile, int) and not 0 <= args.tile_overlap < args.tile:
        parser.error(f'--tile_overlap must be in [0, tile), got {args.tile_overlap} for --tile {args.tile}')
    if args.tile_batch < 1:
        parser.error(f'--tile_batch must be >= 1, got {args.tile_batch}')
    if not (args.task or args.opt or args.experiment):
        parser.error('give --task, --opt (with --weights) or --experiment')
    if args.experiment and (args.task or args.opt):
        parser.error('--experiment brings its own network: do not combine it with --task or --opt')


def build_restorer(args: argparse.Namespace) -> Restorer:
    """The restorer the arguments describe (official task, option file + weights, or a training run)."""
    settings = dict(device=args.device, amp=args.amp, tile=args.tile, tile_overlap=args.tile_overlap,
                    tile_batch=args.tile_batch, blend=args.blend, self_ensemble=args.self_ensemble,
                    compile=args.compile)
    if args.experiment:
        return Restorer.from_experiment(args.experiment, **settings)
    if args.opt and not args.task and not args.weights:
        raise DemoError('--opt needs --weights (or a --task whose official weights fit it).')
    if args.opt:
        return Restorer.from_options(args.opt, args.weights or TASKS[args.task].weights_path, args.set, **settings)
    return Restorer.from_task(args.task, args.weights, args.set, **settings)


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
    """Run the demo; returns 0 on success, 1 if some images could not be read (they are listed).

    Raises:
        UserError: missing weights/inputs, an option file or checkpoint that does not fit, an output that
            would replace an input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.web:
        import demo_web
        return demo_web.main([a for a in (argv if argv is not None else sys.argv[1:]) if a != '--web'])
    _check_args(parser, args)
    files = list_images(args.input_dir, 'Input folder', allow_file=True)
    restorer = build_restorer(args)
    if restorer.in_channels not in (1, 3):
        raise DemoError(f'The demo restores 1- or 3-channel images; this network takes {restorer.in_channels}.')
    if args.amp and restorer.device.type == 'cpu':
        logger.warning('--amp %s on the CPU is usually slower than float32 (it is meant for GPUs).', args.amp)
    name = args.task or (file_stem(os.path.dirname(os.path.dirname(restorer.name))) if args.experiment else None) \
        or file_stem(args.opt)
    out_dir = os.path.join(args.result_dir, name)
    pairs = _output_paths(files, out_dir)
    check_outputs_spare_inputs(files, [dst for _, dst in pairs])
    restored = 0
    for src, dst in tqdm(pairs, desc=name, unit='img'):
        try:
            restorer.restore_file(src, dst)
            restored += 1
        except (ImageReadError, DataMismatchError) as e:
            report_skipped(src, e)
    tqdm.write(f'Restored {restored} of {len(files)} image(s) into {out_dir}')
    return 0 if restored == len(files) else 1


if __name__ == '__main__':
    sys.exit(run_main(main))
