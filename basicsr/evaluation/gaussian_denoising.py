"""Gaussian colour/gray denoising test and evaluation (Tables 4 and 5), shared by the four ``Denoising`` scripts.

Test: for every sigma and test set, each clean image gets the official test noise
(:func:`basicsr.data.degradations.add_test_noise`: per-image seed 0, N(0, sigma/255) in HWC RGB,
no clipping), is restored and saved under its own file name in
``<result_dir>/<model_type>/<set>/<sigma>/``; PSNR (peak 255, uint8, all channels) is reported per
image, per set and sigma.  The blind model ``<weights>_blind.pth`` serves every sigma; non-blind
models ``<weights>_sigma<s>.pth`` are loaded per sigma, each with its option file from the task
table (the official script builds one invalid file name from the whole ``--sigmas`` string and so
only works with one sigma per run).
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from basicsr.data.degradations import add_test_noise
from basicsr.evaluation.report import MetricTable, evaluate_pairs, pair_files
from basicsr.evaluation.task_cli import (add_model_args, load_task_restorer, parse_sigmas, read_rgb,
                                         resolve_default_paths, restore_files)
from basicsr.evaluation.tasks import TASKS, gaussian_task_name
from basicsr.metrics.protocols import gaussian_denoising_metrics
from basicsr.utils.errors import OptionError
from basicsr.utils.file_util import list_images

__all__ = ['GAUSSIAN_TASKS', 'gaussian_test_main', 'gaussian_eval_main']

logger = logging.getLogger('basicsr')

#: per mode: test sets, image reading flag, results folder and table title (models: the task table)
GAUSSIAN_TASKS: Dict[str, Dict[str, object]] = {
    'color': {'datasets': ['CBSD68', 'Kodak', 'McMaster', 'Urban100'], 'flag': 'color',
              'results': './results/Gaussian_Color_Denoising/', 'title': 'Gaussian color denoising (Table 5)'},
    'gray': {'datasets': ['Set12', 'BSD68', 'Urban100'], 'flag': 'grayscale',
             'results': './results/Gaussian_Gray_Denoising/', 'title': 'Gaussian gray denoising (Table 4)'},
}
_BLIND_SUFFIX = '_blind.pth'
EXTENSIONS = ('.png', '.tif')  # the official scripts glob *.png and *.tif


def _parser(mode: str, test: bool) -> argparse.ArgumentParser:
    task = GAUSSIAN_TASKS[mode]
    parser = argparse.ArgumentParser(description=f"{task['title']}: {'test' if test else 'evaluation'}")
    parser.add_argument('--input_dir', default='./Datasets/test/', type=str, help='Directory of the clean test sets')
    parser.add_argument('--result_dir', default=task['results'], type=str, help='Directory for results')
    parser.add_argument('--model_type', required=True, choices=['blind', 'non_blind'], type=str, help='blind/non blind')
    parser.add_argument('--sigmas', default='15,25,50', type=parse_sigmas, help='comma-separated noise levels')
    parser.add_argument('--datasets', default=','.join(task['datasets']), help='comma-separated test sets')
    if test:
        blind = TASKS[gaussian_task_name(mode)]
        add_model_args(parser, blind, weights_default=blind.weights_path[:-len(_BLIND_SUFFIX)],
                       weights_help='A prefix: _blind.pth or _sigma<s>.pth is appended.')
    else:
        parser.add_argument('--num_workers', type=int, default=min(8, os.cpu_count() or 1), help='worker processes')
    return parser


def _summary(title: str, tables: Dict[Tuple[str, int], MetricTable]) -> MetricTable:
    summary = MetricTable(title, row_label='set')
    for (dataset, sigma), table in tables.items():
        summary.add(f'{dataset} sigma{sigma}', table.summaries['mean'])
    return summary


def _model_files(args: argparse.Namespace, parser: argparse.ArgumentParser, mode: str,
                 sigma: int) -> Tuple[str, str, object]:
    """``(weights, option file, task)`` of the model that restores ``sigma`` (``--opt`` wins when given)."""
    name = gaussian_task_name(mode, None if args.model_type == 'blind' else sigma)
    if name not in TASKS:
        raise OptionError(f'There is no official non-blind model for sigma {sigma} (only 15, 25 and 50); use '
                          '--model_type blind, or --opt/--weights of your own model.')
    task = TASKS[name]
    weights = args.weights + ('_blind.pth' if args.model_type == 'blind' else f'_sigma{sigma}.pth')
    opt = args.opt if args.opt != parser.get_default('opt') else task.option_path
    return weights, opt, task


def gaussian_test_main(argv: Optional[List[str]], mode: str, base_dir: str,
                       echo: Callable[[str], None] = logger.info) -> Dict[Tuple[str, int], MetricTable]:
    """Test script body: add noise, restore, save, score (see module docstring).

    Args:
        argv: command-line arguments (``None``: ``sys.argv``).
        mode: ``'color'`` or ``'gray'``.
        base_dir: the script's folder (``Denoising/``), against which default paths resolve.
        echo: where the tables go (the scripts pass ``print``).

    Returns:
        ``{(set, sigma): table}``.
    """
    task = GAUSSIAN_TASKS[mode]
    parser = _parser(mode, test=True)
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, base_dir, ['input_dir', 'result_dir'])
    datasets = [d for d in args.datasets.split(',') if d]
    files = {d: list_images(os.path.join(args.input_dir, d), f'{d} test folder', EXTENSIONS) for d in datasets}
    flag = str(task['flag'])
    tables: Dict[Tuple[str, int], MetricTable] = {}
    restorer, loaded = None, None
    for sigma in args.sigmas:
        weights, opt, spec = _model_files(args, parser, mode, sigma)
        if (weights, opt) != loaded:
            restorer, loaded = load_task_restorer(args, spec, opt, weights), (weights, opt)

        def load(path: str, sigma: int = sigma) -> np.ndarray:
            return add_test_noise(read_rgb(path, flag), sigma)

        for d in datasets:
            out_dir = os.path.join(args.result_dir, args.model_type, d, str(sigma))
            table = restore_files(restorer, files[d], out_dir, gt_files=files[d], protocol=gaussian_denoising_metrics,
                                  load=load, out_names=[os.path.basename(p) for p in files[d]], gt_flag=flag,
                                  title=f'{d} sigma {sigma} ({args.model_type})',
                                  compare_dir=out_dir if args.compare else None)
            echo(table.format())
            table.save(out_dir)
            tables[(d, sigma)] = table
    summary = _summary(f"{task['title']}, {args.model_type}: mean PSNR", tables)
    echo(summary.format())
    summary.save(os.path.join(args.result_dir, args.model_type), 'summary')
    return tables


def gaussian_eval_main(argv: Optional[List[str]], mode: str, base_dir: str,
                       echo: Callable[[str], None] = logger.info) -> Dict[Tuple[str, int], MetricTable]:
    """Evaluation script body: re-read ``<result_dir>/<model_type>/<set>/<sigma>`` and the clean sets, report PSNR."""
    task = GAUSSIAN_TASKS[mode]
    parser = _parser(mode, test=False)
    args = parser.parse_args(argv)
    resolve_default_paths(args, parser, base_dir, ['input_dir', 'result_dir'])
    tables: Dict[Tuple[str, int], MetricTable] = {}
    for d in [d for d in args.datasets.split(',') if d]:
        gt = list_images(os.path.join(args.input_dir, d), f'{d} test folder', EXTENSIONS)
        for sigma in args.sigmas:
            folder = os.path.join(args.result_dir, args.model_type, d, str(sigma))
            pairs = pair_files(list_images(folder, 'Result folder', EXTENSIONS), gt)
            table = evaluate_pairs(pairs, gaussian_denoising_metrics, flag=str(task['flag']),
                                   num_workers=args.num_workers, title=f'{d} sigma {sigma} ({args.model_type})')
            echo(table.format())
            table.save(folder)
            tables[(d, sigma)] = table
    summary = _summary(f"{task['title']}, {args.model_type}: mean PSNR", tables)
    echo(summary.format())
    summary.save(os.path.join(args.result_dir, args.model_type), 'summary')
    return tables
