"""LR schedules (official values)."""
from __future__ import annotations

import pytest
import torch

from basicsr.models.lr_scheduler import CosineAnnealingRestartCyclicLR, CosineAnnealingRestartLR, MultiStepRestartLR


def _opt(lr=3e-4):
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)


# Values of the official class stepped as the official train.py does (spec 4.5): iteration t uses step t - 1.
OFFICIAL = {1: 3.0e-4, 92000: 3.0e-4, 92001: 3.0e-4, 92002: 2.99999999983e-4, 100000: 2.98910e-4,
            150000: 2.46214e-4, 196000: 1.50502e-4, 200000: 1.41476e-4, 250000: 4.16445e-5,
            299999: 1.00000007e-6, 300000: 1.00000002e-6}


@pytest.mark.parametrize('t', sorted(OFFICIAL))
def test_cyclic_cosine_matches_official_values(t):
    s = CosineAnnealingRestartCyclicLR(_opt(), periods=[92000, 208000], restart_weights=[1, 1],
                                       eta_mins=[3e-4, 1e-6])
    s.last_epoch = t - 1
    assert s.get_lr()[0] == pytest.approx(OFFICIAL[t], rel=1e-5)


@pytest.mark.filterwarnings(r'ignore:Detected call of `lr_scheduler.step\(\)` before')
def test_cyclic_cosine_stepping_equals_closed_form_and_survives_the_end():
    s = CosineAnnealingRestartCyclicLR(_opt(), periods=[10, 20], restart_weights=[1, 1], eta_mins=[3e-4, 1e-6])
    for _ in range(35):
        s.step()
    assert s.get_last_lr()[0] == pytest.approx(1e-6)  # past the last period: stays at the floor


def test_restart_and_multistep():
    s = CosineAnnealingRestartLR(_opt(1.0), periods=[10, 10], restart_weights=[1, 0.5], eta_min=0.0)
    s.last_epoch = 10
    assert s.get_lr()[0] == pytest.approx(0.0, abs=1e-12)
    s.last_epoch = 11
    assert s.get_lr()[0] == pytest.approx(0.5 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi / 10)).item()))
    m = MultiStepRestartLR(_opt(1.0), milestones=[5, 10], gamma=0.5, restarts=[0, 8], restart_weights=[1, 0.1])
    for t, lr in [(4, 1.0), (5, 0.5), (8, 0.1), (9, 0.1), (10, 0.05)]:
        m.last_epoch = t
        assert m.get_lr()[0] == pytest.approx(lr), t
