"""Gaussian colour/gray denoising test and evaluation (Tables 4 and 5), shared by the four ``Denoising`` scripts.

Test: for every sigma and test set, each clean image gets the official test noise
(:func:`basicsr.data.degradations.add_test_noise`: per-image seed 0, N(0, sigma/255) in HWC RGB,
no clipping), is restored and saved under its own file name in
``<result_dir>/<model_type>/<set>/<sigma>/``; PSNR (peak 255, uint8, all channels) is reported per
image, per set and sigma.  The blind model ``<weights>_blind.pth`` (option file
``<Prefix>_Restormer.yml``) serves every sigma; non-blind models ``<weights>_sigma<s>.pth`` are
loaded per sigma with ``<Prefix>_RestormerSigma<s>.yml`` (the official script builds one invalid
file name from the whole ``--sigmas`` string and so only works with one sigma per run).
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from basicsr.data.degradations import add_test_noise
from basicsr.metrics.protocols import gaussian_denoising_metrics
from basicsr.utils.eval_report import MetricTable, evaluate_pairs, list_images, pair_files
from basicsr.utils.task_script import (add_model_args, load_task_network, parse_sigmas, read_rgb,
                                       resolve_default_paths, restore_files, select_device)

__all__ = ['GAUSSIAN_TASKS', 'gaussian_test_main', 'gaussian_eval_main']

logger = logging.getLogger('basicsr')

GAUSSIAN_TASKS: Dict[str, Dict[str, object]] = {
    'color': {'datasets': ['CBSD68', 'Kodak', 'McMaster', 'Urban100'], 'flag': 'color',
              'option_prefix': 'GaussianColorDenoising', 'weights': './pretrained_models/gaussian_color_denoising',
              'results': './results/Gaussian_Color_Denoising/', 'title': 'Gaussian color denoising (Table 5)'},
    'gray': {'datasets': ['Set12', 'BSD68', 'Urban100'], 'flag': 'grayscale',
             'option_prefix': 'GaussianGrayDenoising', 'weights': './pretrained_models/gaussian_gray_denoising',
             'results': './results/Gaussian_Gray_Denoising/', 'title': 'Gaussian gray denoising (Table 4)'},
}
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
        add_model_args(parser, task['weights'], 'Prefix: _blind.pth or _sigma<s>.pth is appended.')
    else:
        parser.add_argument('--num_workers', type=int, default=min(8, os.cpu_count() or 1), help='worker processes')
    return parser


def _summary(title: str, tables: Dict[Tuple[str, int], MetricTable]) -> MetricTable:
    summary = MetricTable(title, row_label='set')
    for (dataset, sigma), table in tables.items():
        summary.add(f'{dataset} sigma{sigma}', table.summaries['mean'])
    return summary


def _weights_and_options(args: argparse.Namespace, base_dir: str, prefix: str, sigma: int) -> Tuple[str, str]:
    if args.model_type == 'blind':
        weights, opt = args.weights + '_blind.pth', f'{prefix}_Restormer.yml'
    else:
        weights, opt = f'{args.weights}_sigma{sigma}.pth', f'{prefix}_RestormerSigma{sigma}.yml'
    return weights, args.opt or os.path.join(base_dir, 'Options', opt)


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
    resolve_default_paths(args, parser, base_dir, ['input_dir', 'result_dir', 'weights'])
    datasets = [d for d in args.datasets.split(',') if d]
    files = {d: list_images(os.path.join(args.input_dir, d), f'{d} test folder', EXTENSIONS) for d in datasets}
    device = select_device(args.device)
    flag = str(task['flag'])
    tables: Dict[Tuple[str, int], MetricTable] = {}
    net, loaded = None, None
    for sigma in args.sigmas:
        weights, opt = _weights_and_options(args, base_dir, str(task['option_prefix']), sigma)
        if (weights, opt) != loaded:
            net, loaded = load_task_network(opt, weights, device, args.set), (weights, opt)

        def load(path: str, sigma: int = sigma) -> np.ndarray:
            return add_test_noise(read_rgb(path, flag), sigma)

        for d in datasets:
            out_dir = os.path.join(args.result_dir, args.model_type, d, str(sigma))
            table = restore_files(net, files[d], out_dir, args, gt_files=files[d], protocol=gaussian_denoising_metrics,
                                  load=load, out_names=[os.path.basename(p) for p in files[d]], gt_flag=flag,
                                  title=f'{d} sigma {sigma} ({args.model_type})')
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
