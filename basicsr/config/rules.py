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
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY

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


#: numeric keyword options of components and their allowed range (interval notation, as in the schema)
COMPONENT_RANGES = {
    'optim_g': {'lr': '(0, inf)', 'weight_decay': '[0, inf)', 'betas': '[0, 1)', 'eps': '(0, inf)',
                'momentum': '[0, 1]'},
    'scheduler': {'eta_mins': '[0, inf)', 'eta_min': '[0, inf)', 'restart_weights': '[0, inf)', 'gamma': '(0, inf)',
                  'T_max': '[1, inf)'},
    'pixel_opt': {'loss_weight': '(0, inf)', 'eps': '(0, inf)'},
}


def _check_range(key: str, value: Any, interval: str) -> None:
    from basicsr.config.schema import Field  # the schema's interval rule, applied to a component keyword
    bad = Field('any', interval=interval).out_of_range(list(value) if isinstance(value, (list, tuple)) else value)
    if bad is not None:
        raise OptionError(f"Option '{key}' is out of range: got {bad!r}, allowed {interval}.")


def _check_training(opt: Mapping[str, Any]) -> None:
    train = opt.get('train') or {}
    for section, ranges in COMPONENT_RANGES.items():
        for name, interval in ranges.items():
            value = (train.get(section) or {}).get(name)
            if value is not None:
                _check_range(f'train.{section}.{name}', value, interval)
    if opt.get('is_train') and train.get('scheduler'):
        check_scheduler_options(train['scheduler'], train['total_iter'])
    accum = train.get('grad_accum', 1)
    if isinstance(accum, str) and accum != 'auto' or isinstance(accum, int) and accum < 1:
        raise OptionError(f"train.grad_accum must be a positive integer or 'auto', got {accum!r}.")
    if train.get('activation_checkpointing'):
        net_cls = ARCH_REGISTRY.get(opt['network_g']['type'])
        if not hasattr(net_cls, 'set_activation_checkpointing'):
            raise OptionError(f'train.activation_checkpointing: {net_cls.__name__} does not support it.')
    if opt.get('is_train') and train.get('optim_g') is None:
        raise OptionError("Training needs 'train.optim_g' (e.g. {type: AdamW, lr: 3e-4}).")
    if train.get('pixel_opt'):
        try:  # cheap: a loss has no weights
            LOSS_REGISTRY.build(train['pixel_opt'])
        except (ValueError, TypeError) as e:
            raise OptionError(f'train.pixel_opt: {e}') from None


def _check_sizes(opt: Mapping[str, Any]) -> None:
    """Patch sizes, padding and tiles the network can take (Restormer: multiples of 8)."""
    net_cls = ARCH_REGISTRY.get(opt['network_g']['type'])
    multiple = getattr(net_cls, 'size_multiple', 1)
    if multiple <= 1:
        return
    why = f"{net_cls.__name__} needs sides that are multiples of {multiple}"
    train_set = opt['datasets'].get('train')
    if opt.get('is_train') and train_set:
        for key in ('gt_size', 'gt_sizes'):
            sizes = train_set.get(key)
            bad = [v for v in (sizes if isinstance(sizes, list) else [sizes]) if v is not None and v % multiple]
            if bad:
                raise OptionError(f'datasets.train.{key} = {sizes}: {why}; {bad[0]} is not '
                                  f'(use e.g. {bad[0] // multiple * multiple or multiple}).')
    val = opt['val']
    if val['window_size'] and val['window_size'] % multiple:
        raise OptionError(f"val.window_size = {val['window_size']}: inputs are padded to a multiple of it, and {why} "
                          f'(use {multiple}, or 0 when every validation image already has such sides).')
    if val['tile'] is not None:
        if val['tile'] % multiple:
            raise OptionError(f"val.tile = {val['tile']}: {why}.")
        if val['tile_overlap'] >= val['tile']:
            raise OptionError(f"val.tile_overlap ({val['tile_overlap']}) must be smaller than val.tile "
                              f"({val['tile']}).")


def _check_network(opt: Mapping[str, Any]) -> None:
    """Build ``network_g`` on the meta device (no memory, a fraction of a second): every rule of the
    constructor (widths divisible by heads, matching channels, ...) is checked now, not at training time."""
    import torch
    net = opt['network_g']
    if net.get('type') == 'Restormer' and net.get('LayerNorm_type', 'WithBias') not in ('WithBias', 'BiasFree'):
        raise OptionError(f"network_g.LayerNorm_type must be 'WithBias' or 'BiasFree', got {net['LayerNorm_type']!r} "
                          '(the official code silently treats any other value as WithBias).')
    try:
        with torch.device('meta'):
            ARCH_REGISTRY.build(net)
    except (ValueError, TypeError) as e:
        raise OptionError(f'network_g: {e}') from None


def _check_metrics(opt: Mapping[str, Any]) -> None:
    for name, metric in (opt['val'].get('metrics') or {}).items():
        if metric.get('crop_border') is not None:
            _check_range(f'val.metrics.{name}.crop_border', metric['crop_border'], '[0, inf)')


def check_cross_fields(opt: Mapping[str, Any]) -> None:
    """Raise :class:`OptionError` naming the keys of the first rule ``opt`` breaks."""
    _check_datasets(opt)
    _check_training(opt)
    _check_sizes(opt)
    _check_network(opt)
    _check_metrics(opt)
    num_gpu = opt.get('num_gpu')
    if isinstance(num_gpu, str) and num_gpu != 'auto' or isinstance(num_gpu, int) and num_gpu < 0:
        raise OptionError(f"num_gpu must be 'auto' or an integer >= 0, got {num_gpu!r}.")
    net = opt['network_g']
    if net.get('type') == 'Restormer' and net.get('dual_pixel_task') and net.get('inp_channels', 3) != 6:
        raise OptionError('network_g: dual_pixel_task needs inp_channels: 6 (left and right views).')
