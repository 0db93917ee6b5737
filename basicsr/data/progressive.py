"""Progressive patch/batch schedule and gradient-accumulation plan, as pure functions.

Stage boundaries follow the official loop: with ``groups = cumsum(iters)``, 1-based iteration
``t`` is in the first stage i with ``t <= groups[i]`` (the last stage once past the end).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from basicsr.utils.errors import OptionError

__all__ = ['Stage', 'ProgressiveSchedule', 'stage_index', 'plan_accumulation', 'check_progressive_options',
           'official_progressive_crop']

_LISTS = ('mini_batch_sizes', 'iters', 'gt_sizes')


def check_progressive_options(dataset_opt: Mapping[str, Any], total_iter: Optional[int] = None,
                              global_batch_sizes: Optional[Sequence[int]] = None,
                              key: str = 'datasets.train') -> None:
    """Check the progressive-training keys of a training dataset block (the one place these rules live).

    Args:
        dataset_opt: ``datasets.train`` options.
        total_iter: ``train.total_iter`` (the stages must cover it exactly), or ``None`` to skip that rule.
        global_batch_sizes: ``train.global_batch_sizes`` (one entry per stage).
        key: where the block sits in the option tree, for the messages.

    Raises:
        OptionError: naming the key and the value at fault.
    """
    lists = {k: dataset_opt.get(k) for k in _LISTS}
    given = [k for k, v in lists.items() if v is not None]
    gt_size = dataset_opt.get('gt_size')
    if not given:
        stages = 1
    else:
        if len(given) != len(_LISTS):
            missing = sorted(set(lists) - set(given))
            raise OptionError(f"{key}: progressive training needs mini_batch_sizes, iters and gt_sizes together; "
                              f"missing {', '.join(missing)}.")
        lengths = {k: len(v) for k, v in lists.items()}
        if len(set(lengths.values())) != 1:
            raise OptionError(f'{key}: mini_batch_sizes, iters and gt_sizes must have the same length (one entry '
                              f'per stage), got {lengths}.')
        if not lengths['iters']:
            raise OptionError(f'{key}: the progressive lists are empty.')
        for k, v in lists.items():
            if any(x <= 0 for x in v):
                raise OptionError(f'{key}.{k} must contain positive numbers, got {list(v)}.')
        if gt_size is None or gt_size != max(lists['gt_sizes']):
            raise OptionError(f"{key}.gt_size ({gt_size}) must equal max(gt_sizes) = {max(lists['gt_sizes'])}.")
        bs = dataset_opt.get('batch_size_per_gpu')
        if bs is not None and max(lists['mini_batch_sizes']) > bs:
            raise OptionError(f'{key}: every mini_batch_sizes entry must be <= batch_size_per_gpu ({bs}), got '
                              f"{list(lists['mini_batch_sizes'])}.")
        if total_iter is not None and sum(lists['iters']) != total_iter:
            name = key.split('.')[-1]
            raise OptionError(f"{key}.iters sums to {sum(lists['iters'])} but train.total_iter is {total_iter}; the "
                              'stages must cover the whole run. Change both together, e.g. --set '
                              f"train.total_iter=N datasets.{name}.iters=[...]")
        stages = lengths['iters']
    _check_global_batches(global_batch_sizes, stages)


def _check_global_batches(global_batch_sizes: Optional[Sequence[int]], stages: int) -> None:
    if global_batch_sizes is not None and len(global_batch_sizes) != stages:
        raise OptionError(f'train.global_batch_sizes needs one entry per progressive stage ({stages}), got '
                          f'{list(global_batch_sizes)}.')


def stage_index(t: int, iters: Sequence[int]) -> int:
    """Index of the stage of 1-based iteration ``t`` (official boundary rule)."""
    total = 0
    for i, n in enumerate(iters):
        total += n
        if t <= total:
            return i
    return len(iters) - 1


@dataclass(frozen=True)
class Stage:
    """One progressive stage as the loader and the loop see it (per process/GPU)."""
    index: int
    first_iter: int        # 1-based, inclusive
    last_iter: int         # inclusive
    patch_size: int        # training patch after the stage sub-crop
    mini_batch: int        # samples per optimizer step per process (micro_batch * accum)
    micro_batch: int       # samples per forward/backward
    accum: int             # micro-batches per optimizer step
    load_batch: int        # samples the loader yields per micro-batch (official mode: batch_size_per_gpu)
    load_size: int         # patch size the loader yields (official mode: gt_size)


def plan_accumulation(mini_batch_sizes: Sequence[int], recipe_gpus: int, world_size: int,
                      grad_accum: Union[int, str] = 1,
                      global_batch_sizes: Optional[Sequence[int]] = None) -> List[Dict[str, int]]:
    """Micro-batch and accumulation steps per stage.

    Args:
        mini_batch_sizes: per-GPU batch of each stage in the recipe.
        recipe_gpus: GPUs the recipe was written for (official files: 8).
        world_size: processes (GPUs) actually training.
        grad_accum: a fixed number of micro-batches per step (each of the stage's per-GPU size),
            or ``'auto'``: per stage, the accumulation that reproduces the recipe's global batch
            ``mini_batch_sizes[i] * recipe_gpus`` (or ``global_batch_sizes[i]``) with ``world_size``
            processes.  The micro-batch never exceeds the recipe's per-GPU size (the memory the
            recipe assumed).
        global_batch_sizes: explicit global batch per stage for ``'auto'`` (one per stage, see
            :func:`check_progressive_options`).

    Returns:
        ``[{'micro_batch': b, 'accum': a, 'global_batch': world_size * b * a}, ...]``

    Raises:
        OptionError: when a stage's global batch cannot be split evenly over ``world_size``.
    """
    _check_global_batches(global_batch_sizes, len(mini_batch_sizes))
    plans = []
    for i, per_gpu in enumerate(mini_batch_sizes):
        if grad_accum != 'auto':
            b, a = per_gpu, int(grad_accum)
        else:
            target = global_batch_sizes[i] if global_batch_sizes is not None else per_gpu * recipe_gpus
            if target % world_size:
                raise OptionError(f'stage {i + 1}: the recipe global batch {target} cannot be split evenly over '
                                  f'{world_size} processes; use a GPU count that divides it or a fixed '
                                  'train.grad_accum')
            per_proc = target // world_size
            b = max(d for d in range(1, min(per_gpu, per_proc) + 1) if per_proc % d == 0)
            a = per_proc // b
        plans.append({'micro_batch': b, 'accum': a, 'global_batch': world_size * b * a})
    return plans


class ProgressiveSchedule:
    """The per-iteration (patch, batch) plan of a training run.

    Args:
        dataset_opt: the ``datasets.train`` options (``mini_batch_sizes``, ``iters``, ``gt_sizes``,
            ``gt_size``, ``batch_size_per_gpu``, ``progressive_mode``).  Without progressive
            lists the run is one stage of ``batch_size_per_gpu`` x ``gt_size``.
        total_iter: iterations of the run.
        world_size: training processes.
        recipe_gpus: GPUs of the recipe (for ``grad_accum: auto``).
        grad_accum, global_batch_sizes: see :func:`plan_accumulation`.
    """

    def __init__(self, dataset_opt: Dict[str, Any], total_iter: int, world_size: int = 1,
                 recipe_gpus: Optional[int] = None, grad_accum: Union[int, str] = 1,
                 global_batch_sizes: Optional[Sequence[int]] = None) -> None:
        check_progressive_options(dataset_opt, None, global_batch_sizes)
        bs = dataset_opt['batch_size_per_gpu']
        gt_size = dataset_opt['gt_size']
        minis = dataset_opt.get('mini_batch_sizes') or [bs]
        iters = dataset_opt.get('iters') or [total_iter]
        sizes = dataset_opt.get('gt_sizes') or [gt_size]
        self.official = dataset_opt.get('progressive_mode', 'stage_aware') == 'official'
        self.gt_size = gt_size
        self.total_iter = total_iter
        plans = plan_accumulation(minis, recipe_gpus or world_size, world_size, grad_accum, global_batch_sizes)
        self.recipe_global_batches = list(global_batch_sizes or [m * (recipe_gpus or world_size) for m in minis])
        ends = list(accumulate(iters))
        ends[-1] = max(ends[-1], total_iter)
        self.stages: List[Stage] = []
        first = 1
        for i, (plan, size, end) in enumerate(zip(plans, sizes, ends)):
            b, a = plan['micro_batch'], plan['accum']
            self.stages.append(Stage(
                index=i, first_iter=first, last_iter=end, patch_size=size, mini_batch=b * a, micro_batch=b,
                accum=a, load_batch=bs if self.official else b, load_size=gt_size if self.official else size))
            first = end + 1
        self.world_size = world_size
        self._iters = list(iters)

    def stage(self, t: int) -> Stage:
        """Stage of 1-based iteration ``t``."""
        return self.stages[stage_index(t, self._iters)]

    def global_batch(self, t: int) -> int:
        s = self.stage(t)
        return s.mini_batch * self.world_size

    def describe(self) -> str:
        rows = [f'  stage {s.index + 1}: iters {s.first_iter}-{s.last_iter}, patch {s.patch_size}, '
                f'{s.micro_batch} x {s.accum} accum per process, global batch {s.mini_batch * self.world_size}'
                + (f' (loads {s.load_batch} x {s.load_size})' if self.official else '')
                for s in self.stages]
        return '\n'.join(rows)


def official_progressive_crop(batch: Dict[str, Any], mini_batch: int, patch_size: int,
                              rng: np.random.Generator) -> Dict[str, Any]:
    """The official loop's progressive step on a loaded batch (``progressive_mode: official``).

    Keeps ``mini_batch`` distinct random samples and crops the same ``patch_size`` window from all of
    them at offset ``int((gt_size - patch_size) * U[0, 1))`` per axis.
    """
    lq, gt = batch['lq'], batch['gt']
    n, size = gt.shape[0], gt.shape[-1]
    if mini_batch < n:
        idx = torch.from_numpy(np.sort(rng.choice(n, mini_batch, replace=False)))
        lq, gt = lq[idx], gt[idx]
    if patch_size < size:
        y0 = int((size - patch_size) * rng.random())
        x0 = int((size - patch_size) * rng.random())
        lq = lq[..., y0:y0 + patch_size, x0:x0 + patch_size]
        gt = gt[..., y0:y0 + patch_size, x0:x0 + patch_size]
    return dict(batch, lq=lq, gt=gt)
