"""Rules that tie option keys together, checked after every key has its type.

Where a rule belongs to a component (a dataset's required keys, the progressive schedule's lists,
a scheduler's periods), the component owns it and this module only calls it, so each rule is
written once and holds whether the component is built from a parsed file or by hand.
"""
from __future__ import annotations

from typing import Any, Mapping

from basicsr.data.progressive import check_progressive_options
from basicsr.models.lr_scheduler import check_scheduler_options
from basicsr.utils.errors import OptionError
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['check_cross_fields']


def _check_datasets(opt: Mapping[str, Any]) -> None:
    train = opt.get('train') or {}
    net = opt['network_g']
    if opt.get('is_train') and 'train' not in opt['datasets']:
        raise OptionError("Training needs a 'datasets.train' block (the training set).")
    for name, ds in opt['datasets'].items():
        key = f'datasets.{name}'
        cls = DATASET_REGISTRY.get(ds['type'])
        if hasattr(cls, 'check_options'):
            cls.check_options(ds, key)
        if ds['phase'] == 'train' and opt.get('is_train'):
            check_progressive_options(ds, train.get('total_iter'), train.get('global_batch_sizes'), key)
        if ds['type'] == 'Dataset_GaussianDenoising' and net.get('type') == 'Restormer':
            inp = net.get('inp_channels', 3)
            if inp != ds['in_ch']:
                raise OptionError(f"{key}.in_ch ({ds['in_ch']}) differs from network_g.inp_channels ({inp}).")


def _check_training(opt: Mapping[str, Any]) -> None:
    train = opt.get('train') or {}
    if opt.get('is_train') and train.get('scheduler'):
        check_scheduler_options(train['scheduler'], train['total_iter'])
    accum = train.get('grad_accum', 1)
    if isinstance(accum, str) and accum != 'auto' or isinstance(accum, int) and accum < 1:
        raise OptionError(f"train.grad_accum must be a positive integer or 'auto', got {accum!r}.")


def check_cross_fields(opt: Mapping[str, Any]) -> None:
    """Raise :class:`OptionError` naming the keys of the first rule ``opt`` breaks."""
    _check_datasets(opt)
    _check_training(opt)
    num_gpu = opt.get('num_gpu')
    if isinstance(num_gpu, str) and num_gpu != 'auto' or isinstance(num_gpu, int) and num_gpu < 0:
        raise OptionError(f"num_gpu must be 'auto' or an integer >= 0, got {num_gpu!r}.")
    net = opt['network_g']
    if net.get('type') == 'Restormer' and net.get('dual_pixel_task') and net.get('inp_channels', 3) != 6:
        raise OptionError('network_g: dual_pixel_task needs inp_channels: 6 (left and right views).')
