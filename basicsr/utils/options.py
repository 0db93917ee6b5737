"""Option files: load YAML (with ``_base_`` inheritance), apply ``--set`` overrides, validate.

``parse`` is a pure function: it creates no folder, seeds nothing and starts no process group.

Inheritance: a file may name base files (``_base_: path`` or a list), relative to itself.
Mappings are merged recursively, the including file wins; lists and scalars are replaced.
Overrides ``a.b.c=value`` are applied after inheritance; values are parsed as YAML
(``yaml.safe_load``), never evaluated as Python.
"""
from __future__ import annotations

import copy
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

from basicsr.utils.option_defaults import ROOT, check_model_type
from basicsr.utils.option_schema import OptionError, validate_and_fill

__all__ = ['OptionError', 'parse', 'load_yaml', 'load_with_bases', 'apply_overrides', 'ordered_yaml', 'dict2str',
           'dump_options']

BASE_KEY = '_base_'


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4``/``4e3`` as floats (YAML 1.2 behaviour; 1.1 reads them as strings)."""


_Loader.add_implicit_resolver(
    'tag:yaml.org,2002:float',
    re.compile(r'''^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$''', re.X),
    list('-+0123456789.'))


def ordered_yaml():
    """(Loader, Dumper) pair for option files (kept for BasicSR compatibility)."""
    return _Loader, yaml.SafeDumper


def load_yaml(path: str) -> Dict[str, Any]:
    """Read one YAML file to a dict, with errors that name the file."""
    if not os.path.isfile(path):
        raise OptionError(f"Option file not found: '{path}'")
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.load(f, Loader=_Loader)
    except yaml.YAMLError as e:
        raise OptionError(f"Cannot parse YAML in '{path}': {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OptionError(f"Option file '{path}' must contain a mapping at the top level.")
    return data


def _merge(base: Dict[str, Any], child: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_with_bases(path: str, _chain: Sequence[str] = ()) -> Dict[str, Any]:
    """Load ``path`` and merge it over its ``_base_`` files (recursively)."""
    path = os.path.abspath(path)
    if path in _chain:
        raise OptionError(f"Circular '_base_' inheritance: {' -> '.join(list(_chain) + [path])}")
    data = load_yaml(path)
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise OptionError(f"'{BASE_KEY}' in '{path}' must be a path or a list of paths.")
    merged: Dict[str, Any] = {}
    for b in bases:
        b_path = b if os.path.isabs(b) else os.path.join(os.path.dirname(path), b)
        if not os.path.isfile(b_path):
            raise OptionError(f"Base file '{b}' named in '{path}' not found (looked at '{b_path}').")
        merged = _merge(merged, load_with_bases(b_path, tuple(_chain) + (path,)))
    return _merge(merged, data)


def apply_overrides(opt: Dict[str, Any], overrides: Iterable[str]) -> Dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a copy of ``opt``."""
    opt = copy.deepcopy(opt)
    for item in overrides:
        if '=' not in item:
            raise OptionError(f"Override '{item}' must look like key.subkey=value.")
        key, raw = item.split('=', 1)
        key = key.strip()
        if not key or any(not part for part in key.split('.')):
            raise OptionError(f"Override '{item}' has an empty key.")
        try:
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else None
        except yaml.YAMLError as e:
            raise OptionError(f"Cannot parse the value of override '{item}' as YAML: {e}") from e
        node = opt
        parts = key.split('.')
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise OptionError(f"Override '{item}': '{'.'.join(parts[:i + 1])}' is not a mapping.")
            node = nxt
        node[parts[-1]] = value
    return opt


def _check_progressive(name: str, ds: Dict[str, Any], total_iter: Optional[int]) -> None:
    key = f'datasets.{name}'
    lists = {k: ds.get(k) for k in ('mini_batch_sizes', 'iters', 'gt_sizes')}
    given = [k for k, v in lists.items() if v is not None]
    if not given:
        return
    if len(given) != 3:
        missing = sorted(set(lists) - set(given))
        raise OptionError(f"{key}: progressive training needs mini_batch_sizes, iters and gt_sizes together; "
                          f"missing {', '.join(missing)}.")
    lengths = {k: len(v) for k, v in lists.items()}
    if len(set(lengths.values())) != 1:
        raise OptionError(f'{key}: mini_batch_sizes, iters and gt_sizes must have the same length (one entry per '
                          f'stage), got {lengths}.')
    if not lengths['iters']:
        raise OptionError(f'{key}: the progressive lists are empty.')
    for k, v in lists.items():
        if any(x <= 0 for x in v):
            raise OptionError(f'{key}.{k} must contain positive numbers, got {v}.')
    if ds.get('gt_size') is None:
        raise OptionError(f'{key}.gt_size is missing; it must equal max(gt_sizes) = {max(lists["gt_sizes"])}.')
    if ds['gt_size'] != max(lists['gt_sizes']):
        raise OptionError(f"{key}.gt_size ({ds['gt_size']}) must equal max(gt_sizes) = {max(lists['gt_sizes'])}.")
    bs = ds.get('batch_size_per_gpu')
    if bs is not None and max(lists['mini_batch_sizes']) > bs:
        raise OptionError(f'{key}: every mini_batch_sizes entry must be <= batch_size_per_gpu ({bs}), got '
                          f"{lists['mini_batch_sizes']}.")
    if total_iter is not None and sum(lists['iters']) != total_iter:
        raise OptionError(f"{key}.iters sums to {sum(lists['iters'])} but train.total_iter is {total_iter}; the "
                          'stages must cover the whole run. Change both together, e.g. --set '
                          f"train.total_iter=N datasets.{name}.iters=[...]")


def _check_cross_fields(opt: Dict[str, Any]) -> None:
    train = opt.get('train') or {}
    total_iter = train.get('total_iter') if opt.get('is_train') else None
    for name, ds in opt['datasets'].items():
        if ds['phase'] == 'train':
            _check_progressive(name, ds, total_iter)
        if ds['type'] == 'Dataset_GaussianDenoising':
            _check_gaussian(name, ds, opt['network_g'])
    net = opt['network_g']
    sched = train.get('scheduler')
    if opt.get('is_train') and sched and sched.get('type') in ('CosineAnnealingRestartCyclicLR',
                                                               'CosineAnnealingRestartLR'):
        periods = sched.get('periods') or []
        if sum(periods) < train['total_iter']:
            raise OptionError(f"train.scheduler.periods sums to {sum(periods)}, less than train.total_iter "
                              f"({train['total_iter']}); the learning rate is undefined past the last period.")
        for k in ('restart_weights', 'eta_mins'):
            if k in sched and len(sched[k]) != len(periods):
                raise OptionError(f'train.scheduler.{k} needs one entry per period ({len(periods)}), got {sched[k]}.')
    gbs = train.get('global_batch_sizes')
    minis = (opt['datasets'].get('train') or {}).get('mini_batch_sizes') or [None]
    if opt.get('is_train') and gbs is not None and len(gbs) != len(minis):
        raise OptionError(f'train.global_batch_sizes needs one entry per progressive stage ({len(minis)}), got {gbs}.')
    accum = train.get('grad_accum', 1)
    if isinstance(accum, str) and accum != 'auto' or isinstance(accum, int) and accum < 1:
        raise OptionError(f"train.grad_accum must be a positive integer or 'auto', got {accum!r}.")
    num_gpu = opt.get('num_gpu')
    if isinstance(num_gpu, str) and num_gpu != 'auto' or isinstance(num_gpu, int) and num_gpu < 0:
        raise OptionError(f"num_gpu must be 'auto' or an integer >= 0, got {num_gpu!r}.")
    if net.get('type') == 'Restormer' and net.get('dual_pixel_task') and net.get('inp_channels', 3) != 6:
        raise OptionError('network_g: dual_pixel_task needs inp_channels: 6 (left and right views).')


def _check_gaussian(name: str, ds: Dict[str, Any], net: Dict[str, Any]) -> None:
    key = f'datasets.{name}'
    if ds['phase'] == 'train':
        st, sr = ds.get('sigma_type'), ds.get('sigma_range')
        if st is None or sr is None:
            raise OptionError(f'{key}: Dataset_GaussianDenoising training needs sigma_type and sigma_range.')
        if st == 'constant' and isinstance(sr, list):
            raise OptionError(f'{key}.sigma_range must be a number for sigma_type constant, got {sr}.')
        if st == 'random' and (not isinstance(sr, list) or len(sr) != 2 or sr[0] > sr[1]):
            raise OptionError(f'{key}.sigma_range must be [min, max] for sigma_type random, got {sr}.')
        if st == 'choice' and (not isinstance(sr, list) or not sr):
            raise OptionError(f'{key}.sigma_range must be a non-empty list for sigma_type choice, got {sr}.')
    elif ds.get('sigma_test') is None:
        raise OptionError(f'{key}.sigma_test is missing (noise level of the validation images).')
    inp = net.get('inp_channels', 3)
    if net.get('type') == 'Restormer' and inp != ds['in_ch']:
        raise OptionError(f"{key}.in_ch ({ds['in_ch']}) differs from network_g.inp_channels ({inp}).")


def _derive_paths(opt: Dict[str, Any], root_path: str) -> None:
    path = opt['path']
    root = os.path.abspath(path.get('root') or root_path)
    path['root'] = root
    for key in ('pretrain_network_g', 'resume_state'):
        if path.get(key):
            path[key] = os.path.expanduser(path[key])
    if opt['is_train']:
        exp = path.get('experiments_root') or os.path.join(root, 'experiments', opt['name'])
        path['experiments_root'] = exp
        path['models'] = os.path.join(exp, 'models')
        path['training_states'] = os.path.join(exp, 'training_states')
        path['log'] = exp
        path['visualization'] = os.path.join(exp, 'visualization')
    else:
        res = path.get('results_root') or os.path.join(root, 'results', opt['name'])
        path['results_root'] = res
        path['log'] = res
        path['visualization'] = os.path.join(res, 'visualization')


def parse(opt_path: str, is_train: bool = True, overrides: Sequence[str] = (),
          root_path: Optional[str] = None) -> Dict[str, Any]:
    """Load, override, validate and resolve an option file.

    Args:
        opt_path: YAML option file (official Restormer files load unchanged).
        is_train: training (``experiments/<name>``) or testing (``results/<name>``) layout.
        overrides: ``key.subkey=value`` strings (values parsed as YAML).
        root_path: folder under which experiments/results live (default: current directory).

    Returns:
        The resolved options as a plain dict, defaults filled in.

    Raises:
        OptionError: naming the file and the offending key.
    """
    raw = apply_overrides(load_with_bases(opt_path), overrides)
    raw['is_train'] = is_train
    try:
        opt = validate_and_fill(raw, ROOT)
        for ds in opt['datasets'].values():
            ds['scale'] = opt['scale']
            for key in ('dataroot_gt', 'dataroot_lq', 'dataroot_lqL', 'dataroot_lqR', 'meta_info_file'):
                if isinstance(ds.get(key), str):
                    ds[key] = os.path.expanduser(ds[key])
        if is_train and opt['train']['total_iter'] is None:
            raise OptionError("Missing option 'train.total_iter' (a 'train' section is needed for training).")
        if 'name' in opt and 'debug' in opt['name'] and is_train:
            opt['val']['val_freq'] = 8
            opt['logger']['print_freq'] = 1
            opt['logger']['save_checkpoint_freq'] = 8
        check_model_type(opt)
        _check_cross_fields(opt)
    except OptionError as e:
        raise OptionError(f"{opt_path}: {e}") from None
    _derive_paths(opt, root_path or os.getcwd())
    return opt


def dict2str(opt: Dict[str, Any], indent: int = 1) -> str:
    """Readable multi-line rendering of options for logs."""
    lines: List[str] = []
    for k, v in opt.items():
        if isinstance(v, dict):
            lines.append(' ' * (indent * 2) + f'{k}:[')
            lines.append(dict2str(v, indent + 1))
            lines.append(' ' * (indent * 2) + ']')
        else:
            lines.append(' ' * (indent * 2) + f'{k}: {v}')
    return '\n'.join(lines)


def dump_options(opt: Dict[str, Any], path: str) -> None:
    """Write the resolved options as YAML (no side effects on ``opt``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(opt, f, sort_keys=False, default_flow_style=None)
