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

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        ema_state = self.module.state_dict()
        for k, v in net.state_dict().items():
            e = ema_state[k]
            if e.dtype.is_floating_point:
                e.mul_(self.decay).add_(v.detach(), alpha=1.0 - self.decay)
            else:
                e.copy_(v)
