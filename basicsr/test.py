"""Evaluate a trained model on the test/validation sets of an option file (BasicSR's ``test.py``).

    python basicsr/test.py -opt Denoising/Options/GaussianColorDenoising_Restormer.yml \
        --weights experiments/GaussianColorDenoising_Restormer/models/net_g_latest.pth [--save_img]

Every ``datasets.test*`` block is evaluated (``datasets.val*`` when there is none) with the
``val`` settings of the file (padding, metrics, ``use_image``).  Results go to
``results/<name>/``: restored images (``--save_img``), ``metrics.csv`` (one row per image) and
``metrics.json`` (per-set means).
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from typing import Dict, Optional, Sequence

if __package__ in (None, ''):  # executed as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from basicsr.data import build_dataset
from basicsr.models import build_model
from basicsr.models.validation import shard_loader, validate
from basicsr.utils.logger import close_file_handlers, get_root_logger
from basicsr.utils.options import parse

__all__ = ['main']

logger = logging.getLogger('basicsr')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Evaluate a model on the test sets of an option file.')
    p.add_argument('-opt', '--opt', required=True, help='option YAML file')
    p.add_argument('--weights', help='network weights (.pth); default: path.pretrain_network_g of the file')
    p.add_argument('--save_img', action='store_true', help='save the restored images')
    p.add_argument('--device', default='auto', help="'auto', 'cpu' or 'cuda[:N]'")
    p.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE', help='option overrides')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
    """Returns ``{set name: {metric: mean}}``."""
    args = parse_args(argv)
    overrides = list(args.set)
    if args.weights:
        overrides.append(f'path.pretrain_network_g={args.weights}')
    opt = parse(args.opt, is_train=False, overrides=overrides)
    if not opt['path'].get('pretrain_network_g'):
        raise SystemExit('No weights: pass --weights FILE.pth or set path.pretrain_network_g in the option file.')
    if args.device == 'auto':
        device = torch.device('cuda' if torch.cuda.is_available() and opt['num_gpu'] != 0 else 'cpu')
    else:
        device = torch.device(args.device)
    results_root = opt['path']['results_root']
    os.makedirs(results_root, exist_ok=True)
    get_root_logger(os.path.join(results_root, f"test_{opt['name']}.log"))
    val_opt = dict(opt['val'], save_img=args.save_img or opt['val'].get('save_img', False))
    phases = [k for k, d in opt['datasets'].items() if d['phase'] == 'test'] or \
        [k for k, d in opt['datasets'].items() if d['phase'] == 'val']
    if not phases:
        raise SystemExit(f"{args.opt}: no datasets.test*/val* block to evaluate.")
    model = build_model(opt, device)
    summary: Dict[str, Dict[str, float]] = {}
    rows = []
    try:
        for key in phases:
            dopt = opt['datasets'][key]
            name = dopt.get('name') or key
            loader = shard_loader(build_dataset(dopt), 0, 1)
            means, per_image = validate(model, loader, name, val_opt, None, os.path.join(results_root, name))
            summary[name] = means
            rows += [{'set': name, 'image': img, **vals} for img, vals in per_image]
            logger.info('%s: %s', name, ', '.join(f'{m} {v:.4f}' for m, v in means.items()) or 'no metrics')
    finally:
        close_file_handlers()
    metrics = sorted({m for r in rows for m in r if m not in ('set', 'image')})
    with open(os.path.join(results_root, 'metrics.csv'), 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=['set', 'image'] + metrics)
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(results_root, 'metrics.json'), 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
