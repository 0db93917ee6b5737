"""Exponential moving average of network weights (saved as ``params_ema``)."""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

__all__ = ['ModelEMA']


class ModelEMA:
    """``ema = decay * ema + (1 - decay) * weights`` after every optimizer step; buffers are copied."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f'ema_decay must be in (0, 1), got {decay}')
        self.decay = decay
        self.module = copy.deepcopy(net).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self._params = list(self.module.parameters())
        self._buffers = list(self.module.buffers())

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        src = [p.detach() for p in net.parameters()]
        if hasattr(torch, '_foreach_lerp_'):  # one fused call instead of two kernels per tensor
            torch._foreach_lerp_(self._params, src, 1.0 - self.decay)
        else:
            for e, p in zip(self._params, src):
                e.lerp_(p, 1.0 - self.decay)
        for e, b in zip(self._buffers, net.buffers()):
            e.copy_(b)
