"""Evaluate a trained model on the test/validation sets of an option file (BasicSR's ``test.py``).

    python basicsr/test.py -opt Denoising/Options/GaussianColorDenoising_Restormer.yml \
        --weights experiments/GaussianColorDenoising_Restormer/models/net_g_latest.pth [--save_img]

Every ``datasets.test*`` block is evaluated (``datasets.val*`` when there is none) with the
``val`` settings of the file (padding, metrics, ``use_image``).  Results go to
``results/<name>/``: restored images (``--save_img``), ``metrics.csv``/``metrics.json`` per set
(one row per image and the mean) and ``summary.csv``/``summary.json`` (the mean of every set).
Unreadable images are skipped and listed (exit status 1); bad options or files end with one
``error:`` line (exit status 2; ``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Dict, Optional, Sequence

if __package__ in (None, ''):  # executed as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.config import parse
from basicsr.data import build_dataset
from basicsr.evaluation.report import MetricTable, summary_table
from basicsr.evaluation.restorer import Restorer
from basicsr.evaluation.validation import shard_loader, validate
from basicsr.evaluation.visuals import write_html_summary
from basicsr.models.archs import build_network
from basicsr.utils.cli import run_main
from basicsr.utils.device import select_device
from basicsr.utils.errors import OptionError
from basicsr.utils.file_util import check_outputs_spare_inputs, file_stem
from basicsr.utils.logger import close_file_handlers, get_root_logger

__all__ = ['main']

logger = logging.getLogger('basicsr')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Evaluate a model on the test sets of an option file.')
    p.add_argument('-opt', '--opt', required=True, help='option YAML file')
    p.add_argument('--weights', help='network weights (.pth); default: path.pretrain_network_g of the file')
    p.add_argument('--save_img', action='store_true', help='save the restored images')
    p.add_argument('--compare', action='store_true',
                   help='also write input | restored | target pictures (<set>/compare/) and <set>/summary.html with '
                        'the best and worst images by the first metric')
    p.add_argument('--device', default='auto', help="'auto', 'cpu' or 'cuda[:N]'")
    p.add_argument('--compile', action='store_true', help='torch.compile the network')
    p.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE', help='option overrides')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
    """Returns ``{set name: {metric: mean}}``."""
    args = parse_args(argv)
    overrides = list(args.set)
    if args.weights:
        overrides.append(f'path.pretrain_network_g={args.weights}')
    opt = parse(args.opt, is_train=False, overrides=overrides)
    if not opt['path']['pretrain_network_g']:
        raise OptionError('No weights: pass --weights FILE.pth or set path.pretrain_network_g in the option file.')
    device = select_device('cpu' if opt['num_gpu'] == 0 and args.device == 'auto' else args.device)
    results_root = opt['path']['results_root']
    os.makedirs(results_root, exist_ok=True)
    get_root_logger(os.path.join(results_root, f"test_{opt['name']}.log"))
    val_opt = dict(opt['val'], save_img=args.save_img or opt['val']['save_img'])
    phases = [k for k, d in opt['datasets'].items() if d['phase'] == 'test'] or \
        [k for k, d in opt['datasets'].items() if d['phase'] == 'val']
    if not phases:
        raise OptionError(f"{args.opt}: no datasets.test*/val* block to evaluate.")
    weights, net_opt = opt['path']['pretrain_network_g'], opt['network_g']
    restorer = Restorer(build_network(net_opt, weights, param_key=opt['path']['param_key_g'],
                                      strict=opt['path']['strict_load_g']), net_opt, device=device,
                        name=os.path.basename(weights), compile=args.compile)
    tables: Dict[str, MetricTable] = {}
    try:
        for key in phases:
            dopt = opt['datasets'][key]
            name = dopt['name'] or key
            dataset = build_dataset(dopt)
            if val_opt['save_img']:
                _check_outputs(dataset, os.path.join(results_root, name), val_opt.get('suffix'))
            folder = os.path.join(results_root, name)
            table = validate(restorer, shard_loader(dataset, 0, 1), name, val_opt, None, folder,
                             compare_dir=folder if args.compare else None)
            tables[name] = table
            table.save(folder)
            if args.compare and table.columns:
                write_html_summary(table, folder, 'psnr' if 'psnr' in table.columns else table.columns[0])
            logger.info('%s: %s', name, ', '.join(f'{m} {v:.4f}' for m, v in table.summaries.get('mean', {}).items())
                        or 'no metrics')
    finally:
        close_file_handlers()
    summary_table(f"{opt['name']}: mean per set", tables).save(results_root, 'summary')
    return {name: table.summaries.get('mean', {}) for name, table in tables.items()}


def _check_outputs(dataset: object, folder: str, suffix: Optional[str]) -> None:
    """The restored images (``<folder>/<input stem>[_suffix].png``) must not replace any image of the set."""
    files = [p for entry in getattr(dataset, 'paths', []) for p in entry.values()]
    tail = f'_{suffix}' if suffix else ''
    outputs = [os.path.join(folder, f'{file_stem(entry.get("lq_path", ""))}{tail}.png')
               for entry in getattr(dataset, 'paths', [])]
    check_outputs_spare_inputs(files, outputs, 'choose another path.results_root')


if __name__ == '__main__':
    sys.exit(run_main(main))
