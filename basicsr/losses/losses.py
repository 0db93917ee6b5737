"""Pixel losses between a restored batch and its target.

Every loss takes ``loss_weight`` and ``reduction`` (``'mean'``, ``'sum'`` or ``'none'``), like BasicSR.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from basicsr.utils.errors import OptionError
from basicsr.utils.registry import LOSS_REGISTRY

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss']

_REDUCTIONS = ('none', 'mean', 'sum')


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


class _PixelLoss(nn.Module):
    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise OptionError(f'train.pixel_opt.reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}'


@LOSS_REGISTRY.register()
class L1Loss(_PixelLoss):
    """Mean absolute error (the loss of every Restormer recipe)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.l1_loss(pred, target, reduction=self.reduction)


@LOSS_REGISTRY.register()
class MSELoss(_PixelLoss):
    """Mean squared error."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * F.mse_loss(pred, target, reduction=self.reduction)


@LOSS_REGISTRY.register()
class CharbonnierLoss(_PixelLoss):
    """``sqrt((pred - target)^2 + eps^2)``, a differentiable L1."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', eps: float = 1e-3) -> None:
        super().__init__(loss_weight, reduction)
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = pred - target
        return self.loss_weight * _reduce(torch.sqrt(diff * diff + self.eps * self.eps), self.reduction)


@LOSS_REGISTRY.register()
class PSNRLoss(nn.Module):
    """Negative PSNR (``10 * log10(mse)`` per image, averaged), optionally on the Y channel.

    Inputs are RGB in [0, 1].  Only ``reduction='mean'`` is supported.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', toY: bool = False) -> None:
        super().__init__()
        if reduction != 'mean':
            raise ValueError("PSNRLoss supports reduction='mean' only")
        self.loss_weight = loss_weight
        self.toY = toY
        self.register_buffer('coef', torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.toY:
            pred = ((pred * self.coef).sum(dim=1, keepdim=True) + 16.0) / 255.0
            target = ((target * self.coef).sum(dim=1, keepdim=True) + 16.0) / 255.0
        mse = ((pred - target) ** 2).flatten(1).mean(dim=1)
        return self.loss_weight * 10.0 * torch.log10(mse + 1e-8).mean()
