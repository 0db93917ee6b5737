"""Pixel losses against direct computations."""
from __future__ import annotations

import pytest
import torch

from basicsr.losses import CharbonnierLoss, L1Loss, MSELoss, PSNRLoss


def test_losses():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    assert L1Loss()(a, b) == pytest.approx((a - b).abs().mean().item())
    assert L1Loss(loss_weight=2, reduction='sum')(a, b) == pytest.approx(2 * (a - b).abs().sum().item(), rel=1e-6)
    assert MSELoss()(a, b) == pytest.approx(((a - b) ** 2).mean().item())
    assert CharbonnierLoss(eps=1e-3)(a, b) == pytest.approx(torch.sqrt((a - b) ** 2 + 1e-6).mean().item())
    mse = ((a - b) ** 2).flatten(1).mean(1)
    assert PSNRLoss()(a, b) == pytest.approx((10 * torch.log10(mse + 1e-8)).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match='reduction'):
        L1Loss(reduction='avg')
