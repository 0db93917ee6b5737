"""Network architectures, and building one from a ``network_g`` option block (plus weights)."""
from typing import Any, Mapping, Optional

import torch.nn as nn

from basicsr.models.archs.restormer_arch import Restormer
from basicsr.utils.checkpoint import load_network
from basicsr.utils.registry import ARCH_REGISTRY

__all__ = ['Restormer', 'build_network']


def build_network(opt: Mapping[str, Any], weights: Optional[str] = None, param_key: Optional[str] = 'params',
                  strict: bool = True) -> nn.Module:
    """Build the architecture ``opt['type']`` with the other keys as arguments, and load ``weights``.

    Args:
        opt: a ``network_g`` block (not modified).
        weights: checkpoint to load (official ``{'params': ...}`` files included), or ``None``.
        param_key: entry of the checkpoint to load (``params`` or ``params_ema``).
        strict: refuse weights that do not match the network exactly.

    Returns:
        The network on the CPU, in training mode (call ``.eval()`` for inference).
    """
    net = ARCH_REGISTRY.build(opt)
    if weights:
        load_network(net, weights, strict=strict, param_key=param_key)
    return net
