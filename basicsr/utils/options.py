"""Compatibility alias: BasicSR and official Restormer scripts call ``basicsr.utils.options.parse``.

The option system lives in :mod:`basicsr.config`, above the leaf helpers of ``basicsr.utils``; this
alias resolves its names on first use (PEP 562), so importing ``basicsr.utils`` never pulls in the
option system.  New code should import from :mod:`basicsr.config`.
"""
import importlib
from typing import Any, List

_NAMES = ('parse', 'parse_options', 'OptionError', 'load_yaml', 'load_with_bases', 'apply_overrides', 'dump_options',
          'dict2str', 'ordered_yaml')
__all__ = list(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module('basicsr.config'), name)
    raise AttributeError(f"module 'basicsr.utils.options' has no attribute '{name}'")


def __dir__() -> List[str]:
    return list(__all__)
