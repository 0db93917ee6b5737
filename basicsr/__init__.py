"""Restormer (CVPR 2022) as a BasicSR-style training framework.

Subpackages: ``models`` (networks, training model, schedulers), ``data`` (datasets, loaders),
``losses``, ``metrics``, ``utils`` (options, image I/O, logging, inference).
"""
from basicsr.version import __version__

__all__ = ['__version__']
