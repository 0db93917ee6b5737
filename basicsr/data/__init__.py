"""Datasets and data loaders.

Datasets are registered under their official names (``Dataset_PairedImage``,
``Dataset_GaussianDenoising``, ``Dataset_DefocusDeblur_DualPixel_16bit``) and built from a
``datasets.<phase>`` option block with :func:`build_dataset`.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

import torch
from torch.utils.data import DataLoader, Dataset

from basicsr.data.dual_pixel_dataset import Dataset_DefocusDeblur_DualPixel_16bit
from basicsr.data.gaussian_denoising_dataset import Dataset_GaussianDenoising
from basicsr.data.paired_image_dataset import Dataset_PairedImage
from basicsr.data.progressive import ProgressiveSchedule
from basicsr.data.sampler import ProgressiveBatchSampler
from basicsr.data.single_image_dataset import Dataset_SingleImage
from basicsr.utils.registry import DATASET_REGISTRY
from basicsr.utils.signals import ignore_stop_signals

__all__ = ['Dataset_PairedImage', 'Dataset_GaussianDenoising', 'Dataset_DefocusDeblur_DualPixel_16bit',
           'Dataset_SingleImage', 'build_dataset', 'build_train_loader', 'build_val_loader']

logger = logging.getLogger('basicsr')


def build_dataset(dataset_opt: Dict[str, Any]) -> Dataset:
    """Construct the dataset named by ``dataset_opt['type']`` (the options are not modified)."""
    dataset = DATASET_REGISTRY.get(dataset_opt['type'])(dataset_opt)
    logger.info('Dataset %s - %s: %d images.', type(dataset).__name__, dataset_opt.get('name'), len(dataset))
    return dataset


def build_train_loader(dataset: Dataset, dataset_opt: Dict[str, Any], schedule: ProgressiveSchedule, seed: int,
                       rank: int = 0, world_size: int = 1, start_iter: int = 0,
                       pin_memory: Optional[bool] = None) -> DataLoader:
    """DataLoader driven by a :class:`ProgressiveBatchSampler` (one loader for the whole run)."""
    sampler = ProgressiveBatchSampler(len(dataset), schedule, seed, rank, world_size,
                                      shuffle=dataset_opt.get('use_shuffle', True),
                                      enlarge_ratio=dataset_opt.get('dataset_enlarge_ratio', 1),
                                      start_iter=start_iter)
    workers = dataset_opt.get('num_worker_per_gpu', 0) or 0
    if pin_memory is None:
        pin_memory = dataset_opt.get('pin_memory')
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=bool(pin_memory),
                      persistent_workers=False, worker_init_fn=ignore_stop_signals if workers else None)


def build_val_loader(dataset: Dataset, num_workers: int = 0) -> DataLoader:
    """Batch 1, in order (validation images may differ in size)."""
    return DataLoader(dataset, batch_size=1, shuffle=False, num_workers=num_workers)
