"""Learning-rate schedulers with the semantics of the official Restormer ``lr_scheduler.py``.

All are closed-form in the step index, so a restored ``last_epoch`` reproduces the LR exactly.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import List, Sequence

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler

from basicsr.utils.registry import SCHEDULER_REGISTRY

__all__ = ['CosineAnnealingRestartCyclicLR', 'CosineAnnealingRestartLR', 'MultiStepRestartLR',
           'TrueCosineAnnealingLR']


def _check_lengths(periods: Sequence[int], **lists: Sequence[float]) -> None:
    for name, values in lists.items():
        if len(values) != len(periods):
            raise ValueError(f'{name} needs one entry per period ({len(periods)}), got {list(values)}')


@SCHEDULER_REGISTRY.register()
class CosineAnnealingRestartCyclicLR(LRScheduler):
    """Cosine annealing restarted at each period, with a per-period floor ``eta_mins[i]``.

    In period i (steps ``cum[i-1] < t <= cum[i]``; the first period includes t = 0):
    ``lr = eta_min_i + w_i * 0.5 * (base_lr - eta_min_i) * (1 + cos(pi * (t - start_i) / period_i))``.
    With the Restormer recipe (periods [92000, 208000], eta_mins [3e-4, 1e-6]) the LR stays at 3e-4
    for the first period, then follows one cosine down to 1e-6.  Past the last period the LR stays
    at the end of the last cosine (the official class crashes there).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, periods: Sequence[int],
                 restart_weights: Sequence[float] = (1,), eta_mins: Sequence[float] = (0,),
                 last_epoch: int = -1) -> None:
        _check_lengths(periods, restart_weights=restart_weights, eta_mins=eta_mins)
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_mins = list(eta_mins)
        self.cumulative_period = list(accumulate(self.periods))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        t = self.last_epoch
        idx = min(bisect_left(self.cumulative_period, t), len(self.periods) - 1)
        t = min(t, self.cumulative_period[-1])
        start = 0 if idx == 0 else self.cumulative_period[idx - 1]
        w, eta_min, period = self.restart_weights[idx], self.eta_mins[idx], self.periods[idx]
        cos = 1 + math.cos(math.pi * (t - start) / period)
        return [eta_min + w * 0.5 * (base - eta_min) * cos for base in self.base_lrs]


@SCHEDULER_REGISTRY.register()
class CosineAnnealingRestartLR(LRScheduler):
    """Cosine annealing with restarts (BasicSR): one ``eta_min`` for all periods."""

    def __init__(self, optimizer: torch.optim.Optimizer, periods: Sequence[int],
                 restart_weights: Sequence[float] = (1,), eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_lengths(periods, restart_weights=restart_weights)
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        self.cumulative_period = list(accumulate(self.periods))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        t = self.last_epoch
        idx = min(bisect_left(self.cumulative_period, t), len(self.periods) - 1)
        t = min(t, self.cumulative_period[-1])
        start = 0 if idx == 0 else self.cumulative_period[idx - 1]
        w, period = self.restart_weights[idx], self.periods[idx]
        cos = 1 + math.cos(math.pi * (t - start) / period)
        return [self.eta_min + w * 0.5 * (base - self.eta_min) * cos for base in self.base_lrs]


@SCHEDULER_REGISTRY.register()
class MultiStepRestartLR(LRScheduler):
    """Multiply the LR by ``gamma`` at each milestone; at ``restarts[i]`` reset to ``restart_weights[i] * base``."""

    def __init__(self, optimizer: torch.optim.Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 restarts: Sequence[int] = (0,), restart_weights: Sequence[float] = (1,),
                 last_epoch: int = -1) -> None:
        if len(restarts) != len(restart_weights):
            raise ValueError('restarts and restart_weights need the same length')
        self.milestones = sorted(milestones)
        self.gamma = gamma
        self.restarts = list(restarts)
        self.restart_weights = list(restart_weights)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        t = self.last_epoch
        # Closed form: last restart at or before t, then the milestones passed since it.
        r = bisect_right(self.restarts, t) - 1
        start, weight = (self.restarts[r], self.restart_weights[r]) if r >= 0 else (0, 1.0)
        passed = sum(1 for m in self.milestones if start < m <= t)
        return [base * weight * self.gamma ** passed for base in self.base_lrs]


@SCHEDULER_REGISTRY.register()
class TrueCosineAnnealingLR(CosineAnnealingLR):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` under its BasicSR name."""
