"""Network architectures.  ``build_network`` turns a ``network_g`` option block into a module."""
from typing import Any, Dict

import torch.nn as nn

from basicsr.models.archs.restormer_arch import Restormer
from basicsr.utils.registry import ARCH_REGISTRY

__all__ = ['Restormer', 'build_network']


def build_network(opt: Dict[str, Any]) -> nn.Module:
    """Build the architecture ``opt['type']`` with the other keys as arguments (``opt`` is not modified)."""
    kwargs = {k: v for k, v in opt.items() if k != 'type'}
    return ARCH_REGISTRY.get(opt['type'])(**kwargs)
