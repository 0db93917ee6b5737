"""Restormer (CVPR 2022) as a BasicSR-style training framework.

Subpackages, lowest layer first: ``utils`` (leaf helpers), ``data``, ``metrics``, ``losses``, ``models``
(networks, training model, schedulers), ``config`` (options), ``evaluation`` (validation, reports, the
task table and the :class:`Restorer` API).  ``from basicsr import Restorer`` loads the API on first use.
"""
import importlib
from typing import Any

from basicsr.version import __version__

__all__ = ['__version__', 'Restorer']


def __getattr__(name: str) -> Any:
    if name == 'Restorer':  # lazy, so that ``import basicsr.utils`` stays light
        return importlib.import_module('basicsr.evaluation.restorer').Restorer
    raise AttributeError(f"module 'basicsr' has no attribute '{name}'")
