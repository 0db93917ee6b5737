"""Stage-aware, resumable, sharded batch sampler for progressive training.

The official loader always decodes ``batch_size_per_gpu`` patches of ``gt_size`` and the training
loop throws most of them away in the later stages.  This sampler asks the dataset for exactly
the samples and the patch size of the current stage, micro-batch by micro-batch.

Order: every epoch is a permutation of ``len(dataset) * dataset_enlarge_ratio`` indices seeded by
``(seed, epoch)``, the same on all ranks; rank r takes positions ``r, r + W, ...`` (padded by
wrapping, as ``DistributedSampler``).  A micro-batch that would run past the end of the rank's
share starts the next epoch instead (drop-last).  The position of any iteration is computed in
closed form, so a run resumed at iteration t continues with exactly the samples (and, through
:class:`SampleSpec` seeds, the crops, augmentations and noise) an uninterrupted run would use.
"""
from __future__ import annotations

import math
from typing import Dict, Iterator, List, Tuple

import numpy as np
from torch.utils.data import Sampler

from basicsr.data.progressive import ProgressiveSchedule
from basicsr.data.sample_spec import SampleSpec
from basicsr.utils.errors import DatasetLayoutError, OptionError

__all__ = ['ProgressiveBatchSampler']


class ProgressiveBatchSampler(Sampler):
    """Yields lists of :class:`SampleSpec` (one list per micro-batch) for iterations ``start_iter+1 .. total``.

    Args:
        dataset_len: number of distinct samples.
        schedule: the run's :class:`ProgressiveSchedule`.
        seed: base seed (``manual_seed``).
        rank, world_size: this process's shard.
        shuffle: reshuffle every epoch (``use_shuffle``).
        enlarge_ratio: ``dataset_enlarge_ratio``.
        start_iter: iterations already done (resume).
    """

    def __init__(self, dataset_len: int, schedule: ProgressiveSchedule, seed: int, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True, enlarge_ratio: int = 1, start_iter: int = 0) -> None:
        if dataset_len <= 0:
            raise DatasetLayoutError('the training dataset is empty')
        self.dataset_len = dataset_len
        self.schedule = schedule
        self.seed = int(seed)
        self.rank, self.world_size = rank, world_size
        self.shuffle = shuffle
        self.total = dataset_len * max(1, enlarge_ratio)
        self.per_rank = math.ceil(self.total / world_size)
        biggest = max(s.load_batch for s in schedule.stages)
        if biggest > self.per_rank:
            raise OptionError(f'the training set gives {self.per_rank} samples per process per epoch '
                              f'({dataset_len} images x enlarge ratio {enlarge_ratio} over {world_size} processes), '
                              f'fewer than one batch of {biggest}; add images or raise dataset_enlarge_ratio')
        self.start_iter = start_iter
        self._cache: Dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ order
    def epoch_indices(self, epoch: int) -> np.ndarray:
        """This rank's dataset indices for ``epoch``, in order."""
        cached = self._cache.get(epoch)
        if cached is not None:
            return cached
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.total)
        else:
            order = np.arange(self.total)
        padded = np.resize(order, self.per_rank * self.world_size)  # wraps around like DistributedSampler
        mine = padded[self.rank::self.world_size] % self.dataset_len
        self._cache = {epoch: mine}
        return mine

    def position(self, iters_done: int) -> Tuple[int, int]:
        """``(epoch, offset)`` in this rank's share after ``iters_done`` iterations (closed form)."""
        epoch, pos = 0, 0
        for s in self.schedule.stages:
            if iters_done < s.first_iter:
                break
            n_iters = min(iters_done, s.last_iter) - s.first_iter + 1
            epoch, pos = self._advance(epoch, pos, n_iters * s.accum, s.load_batch)
        return epoch, pos

    def _advance(self, epoch: int, pos: int, n_batches: int, batch: int) -> Tuple[int, int]:
        fit_now = (self.per_rank - pos) // batch
        if n_batches <= fit_now:
            return epoch, pos + n_batches * batch
        rest = n_batches - fit_now
        per_epoch = self.per_rank // batch
        return epoch + 1 + (rest - 1) // per_epoch, ((rest - 1) % per_epoch + 1) * batch

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[List[SampleSpec]]:
        epoch, pos = self.position(self.start_iter)
        order = self.epoch_indices(epoch)
        for t in range(self.start_iter + 1, self.schedule.total_iter + 1):
            stage = self.schedule.stage(t)
            for _ in range(stage.accum):
                if pos + stage.load_batch > self.per_rank:
                    epoch, pos = epoch + 1, 0
                    order = self.epoch_indices(epoch)
                yield [SampleSpec(int(order[p]), stage.load_size, (self.seed, epoch, self.rank, p))
                       for p in range(pos, pos + stage.load_batch)]
                pos += stage.load_batch

    def __len__(self) -> int:
        n = 0
        for s in self.schedule.stages:
            lo = max(s.first_iter, self.start_iter + 1)
            hi = min(s.last_iter, self.schedule.total_iter)
            if hi >= lo:
                n += (hi - lo + 1) * s.accum
        return n

    def epoch_at(self, iters_done: int) -> int:
        """Epoch number (0-based) in progress after ``iters_done`` iterations, for logs."""
        return self.position(iters_done)[0]
