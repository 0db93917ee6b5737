"""``parse``: load an option file (or an option tree), apply overrides, validate, resolve paths, freeze.

``parse`` is a pure function: it creates no folder, seeds nothing and starts no process group.  It
returns read-only options (:mod:`basicsr.config.frozen`); what a run derives from them (rank,
world size, device) is kept elsewhere, so the options saved in an experiment folder or a
checkpoint parse again to the same run.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from basicsr.config.defaults import ROOT, check_model_type
from basicsr.config.frozen import freeze, to_plain
from basicsr.config.rules import check_cross_fields
from basicsr.config.schema import validate_and_fill
from basicsr.config.yaml_io import apply_overrides, load_with_bases
from basicsr.utils.errors import OptionError

__all__ = ['parse', 'parse_options', 'option_differences']

_DATA_PATH_KEYS = ('dataroot_gt', 'dataroot_lq', 'dataroot_lqL', 'dataroot_lqR', 'meta_info_file')


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


def parse_options(raw: Mapping[str, Any], is_train: bool = True, overrides: Sequence[str] = (),
                  root_path: Optional[str] = None, source: str = '<options>') -> Dict[str, Any]:
    """Validate and resolve an option tree (e.g. the ``options`` stored in a training state).

    Args:
        raw: the options as loaded from YAML (``_base_`` already merged); not modified.
        is_train: training (``experiments/<name>``) or testing (``results/<name>``) layout.
        overrides: ``key.subkey=value`` strings (values parsed as YAML).
        root_path: folder under which experiments/results live (default: current directory).
        source: where ``raw`` came from, for error messages.

    Returns:
        The resolved, read-only options, defaults filled in.

    Raises:
        OptionError: naming ``source`` and the offending key.
    """
    raw = apply_overrides(to_plain(raw), overrides)
    raw['is_train'] = is_train
    try:
        opt = validate_and_fill(raw, ROOT)
        for ds in opt['datasets'].values():
            ds['scale'] = opt['scale']
            for key in _DATA_PATH_KEYS:
                if isinstance(ds.get(key), str):
                    ds[key] = os.path.expanduser(ds[key])
        if is_train and opt['train']['total_iter'] is None:
            raise OptionError("Missing option 'train.total_iter' (a 'train' section is needed for training).")
        if 'debug' in opt['name'] and is_train:  # BasicSR: a 'debug' run logs, saves and validates often
            opt['val']['val_freq'] = 8
            opt['logger']['print_freq'] = 1
            opt['logger']['save_checkpoint_freq'] = 8
        check_model_type(opt)
        check_cross_fields(opt)
    except OptionError as e:
        raise OptionError(f'{source}: {e}') from None
    _derive_paths(opt, root_path or os.getcwd())
    return freeze(opt)


def parse(opt_path: str, is_train: bool = True, overrides: Sequence[str] = (),
          root_path: Optional[str] = None) -> Dict[str, Any]:
    """Load, override, validate and resolve an option file.

    Args:
        opt_path: YAML option file (official Restormer files load unchanged; so does an
            ``options_<time>.yml`` saved in an experiment folder).
        is_train: training (``experiments/<name>``) or testing (``results/<name>``) layout.
        overrides: ``key.subkey=value`` strings (values parsed as YAML).
        root_path: folder under which experiments/results live (default: current directory).

    Returns:
        The resolved, read-only options, defaults filled in.

    Raises:
        OptionError: naming the file and the offending key.
    """
    return parse_options(load_with_bases(opt_path), is_train, overrides, root_path, source=opt_path)


def option_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = '') -> List[Tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` for every leaf that differs between two option trees."""
    out: List[Tuple[str, Any, Any]] = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        dotted = f'{prefix}{key}'
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += option_differences(a, b, dotted + '.')
        elif a != b:
            out.append((dotted, a, b))
    return out
