"""Learning-rate schedulers with the semantics of the official Restormer ``lr_scheduler.py``.

Every scheduler here is closed-form in the step index: :meth:`ClosedFormLR.lr_at` gives the
learning rates of any step without replaying the earlier ones, so the training loop sets the LR of
iteration ``t`` directly and a resumed run gets exactly the LR an uninterrupted run would.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Any, List, Mapping, Optional, Sequence

import torch
from torch.optim.lr_scheduler import LRScheduler

from basicsr.utils.errors import OptionError
from basicsr.utils.registry import SCHEDULER_REGISTRY

__all__ = ['ClosedFormLR', 'CosineAnnealingRestartCyclicLR', 'CosineAnnealingRestartLR', 'MultiStepRestartLR',
           'TrueCosineAnnealingLR', 'check_scheduler_options']


def check_scheduler_options(opt: Mapping[str, Any], total_iter: Optional[int] = None,
                            key: str = 'train.scheduler') -> None:
    """Check the period lists of the restart schedulers (the one place these rules live).

    Raises:
        OptionError: a list whose length differs from ``periods``, or periods that end before ``total_iter``.
    """
    if 'periods' not in opt:
        return
    periods = list(opt['periods'])
    if not periods or any(p <= 0 for p in periods):
        raise OptionError(f'{key}.periods must be a non-empty list of positive iteration counts, got {periods}.')
    for name in ('restart_weights', 'eta_mins'):
        if name in opt and len(opt[name]) != len(periods):
            raise OptionError(f'{key}.{name} needs one entry per period ({len(periods)}), got {list(opt[name])}.')
    if total_iter is not None and sum(periods) < total_iter:
        raise OptionError(f'{key}.periods sums to {sum(periods)}, less than train.total_iter ({total_iter}); the '
                          'learning rate is undefined past the last period.')


class ClosedFormLR(LRScheduler):
    """Base of the schedulers whose learning rate is a function of the step index alone."""

    def lr_at(self, step: int) -> List[float]:
        """Learning rate of every parameter group at scheduler step ``step`` (0 = the first iteration)."""
        raise NotImplementedError

    def get_lr(self) -> List[float]:
        return self.lr_at(self.last_epoch)


@SCHEDULER_REGISTRY.register()
class CosineAnnealingRestartCyclicLR(ClosedFormLR):
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
        check_scheduler_options({'periods': periods, 'restart_weights': restart_weights, 'eta_mins': eta_mins},
                                key=type(self).__name__)
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_mins = list(eta_mins)
        self.cumulative_period = list(accumulate(self.periods))
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> List[float]:
        idx = min(bisect_left(self.cumulative_period, step), len(self.periods) - 1)
        t = min(step, self.cumulative_period[-1])
        start = 0 if idx == 0 else self.cumulative_period[idx - 1]
        w, eta_min, period = self.restart_weights[idx], self.eta_mins[idx], self.periods[idx]
        cos = 1 + math.cos(math.pi * (t - start) / period)
        return [eta_min + w * 0.5 * (base - eta_min) * cos for base in self.base_lrs]


@SCHEDULER_REGISTRY.register()
class CosineAnnealingRestartLR(CosineAnnealingRestartCyclicLR):
    """Cosine annealing with restarts (BasicSR): the cyclic schedule with one ``eta_min`` for all periods."""

    def __init__(self, optimizer: torch.optim.Optimizer, periods: Sequence[int],
                 restart_weights: Sequence[float] = (1,), eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.eta_min = eta_min
        super().__init__(optimizer, periods, restart_weights, [eta_min] * len(periods), last_epoch)


@SCHEDULER_REGISTRY.register()
class MultiStepRestartLR(ClosedFormLR):
    """Multiply the LR by ``gamma`` at each milestone; at ``restarts[i]`` reset to ``restart_weights[i] * base``."""

    def __init__(self, optimizer: torch.optim.Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 restarts: Sequence[int] = (0,), restart_weights: Sequence[float] = (1,),
                 last_epoch: int = -1) -> None:
        if len(restarts) != len(restart_weights):
            raise OptionError(f'MultiStepRestartLR: restarts and restart_weights need the same length, got '
                              f'{list(restarts)} and {list(restart_weights)}.')
        self.milestones = sorted(milestones)
        self.gamma = gamma
        self.restarts = list(restarts)
        self.restart_weights = list(restart_weights)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> List[float]:
        # the last restart at or before the step, then the milestones passed since it
        r = bisect_right(self.restarts, step) - 1
        start, weight = (self.restarts[r], self.restart_weights[r]) if r >= 0 else (0, 1.0)
        passed = sum(1 for m in self.milestones if start < m <= step)
        return [base * weight * self.gamma ** passed for base in self.base_lrs]


@SCHEDULER_REGISTRY.register()
class TrueCosineAnnealingLR(ClosedFormLR):
    """One cosine from the base LR to ``eta_min`` over ``T_max`` steps (BasicSR's name for
    ``torch.optim.lr_scheduler.CosineAnnealingLR``, in its closed form)."""

    def __init__(self, optimizer: torch.optim.Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_max <= 0:
            raise OptionError(f'TrueCosineAnnealingLR: T_max must be positive, got {T_max}.')
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, step: int) -> List[float]:
        cos = 1 + math.cos(math.pi * step / self.T_max)
        return [self.eta_min + (base - self.eta_min) * cos / 2 for base in self.base_lrs]
