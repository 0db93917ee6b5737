"""Option files as YAML: reading (with ``_base_`` inheritance), ``--set`` overrides, and writing.

Inheritance: a file may name base files (``_base_: path`` or a list), relative to itself.
Mappings are merged recursively, the including file wins; lists and scalars are replaced.
Overrides ``a.b.c=value`` are applied after inheritance; values are parsed as YAML
(``yaml.safe_load``), never evaluated as Python.
"""
from __future__ import annotations

import copy
import os
import re
from typing import Any, Dict, Iterable, List, Sequence

import yaml

from basicsr.config.frozen import to_plain
from basicsr.utils.errors import OptionError
from basicsr.utils.file_util import atomic_write

__all__ = ['load_yaml', 'load_with_bases', 'apply_overrides', 'ordered_yaml', 'dict2str', 'dump_options']

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
    """Write the resolved options as YAML (no side effects on ``opt``); ``parse`` reads the file back."""
    with atomic_write(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(to_plain(opt), f, sort_keys=False, default_flow_style=None)
