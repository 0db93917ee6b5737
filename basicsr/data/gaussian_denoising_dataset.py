"""``Dataset_GaussianDenoising``: clean images, noisy inputs synthesised on the fly.

Training: fresh noise for every sample, ``sigma_type`` constant / random (uniform in
``sigma_range``) / choice (from ``sigma_range``), added after crop and augmentation, no clipping.
Validation: ``sigma_test`` noise drawn as the official protocol does (seed 0 for every image), so
validation PSNR is reproducible.  Sigma is on the 0-255 scale.
"""
from __future__ import annotations

from typing import Any, Dict

import cv2
import numpy as np

from basicsr.data.base_dataset import ImageDataset
from basicsr.data.data_util import filter_by_meta_info, paths_from_folder, paths_from_lmdb
from basicsr.data.degradations import add_gaussian_noise, add_test_noise
from basicsr.data.transforms import crop_augment
from basicsr.utils.img_util import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['Dataset_GaussianDenoising']


@DATASET_REGISTRY.register()
class Dataset_GaussianDenoising(ImageDataset):
    """Returns ``{'lq': noisy, 'gt': clean, 'lq_path', 'gt_path'}`` (RGB, or 1 channel with ``in_ch: 1``)."""

    required_keys = ('dataroot_gt',)
    # dataroot_lq is 'none' in the official files: noisy inputs are synthesised
    option_keys = ('dataroot_gt', 'dataroot_lq', 'sigma_type', 'sigma_range', 'sigma_test', 'in_ch')

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        self.in_ch = opt.get('in_ch', 3)
        if self.in_ch not in (1, 3):
            raise ValueError(f'in_ch must be 1 or 3, got {self.in_ch}')
        if self.is_train:
            self.sigma_type = opt.get('sigma_type')
            self.sigma_range = opt.get('sigma_range')
            if self.sigma_type not in ('constant', 'random', 'choice'):
                raise ValueError(f"sigma_type must be constant, random or choice, got {self.sigma_type!r}")
            if self.sigma_range is None:
                raise ValueError('Dataset_GaussianDenoising training needs sigma_range')
        else:
            self.sigma_test = opt.get('sigma_test')
            if self.sigma_test is None:
                raise ValueError('Dataset_GaussianDenoising validation needs sigma_test')
        root = self.opt['dataroot_gt']
        keys = paths_from_lmdb(root) if self.backend == 'lmdb' else paths_from_folder(root)
        if self.opt.get('meta_info_file'):
            keys = filter_by_meta_info(keys, self.opt['meta_info_file'])
        self.paths = [{'gt_path': k} for k in keys]
        self._make_client({'gt': root})

    def draw_sigma(self, rng: np.random.Generator) -> float:
        if self.sigma_type == 'constant':
            return float(self.sigma_range)
        if self.sigma_type == 'random':
            return float(rng.uniform(self.sigma_range[0], self.sigma_range[1]))
        return float(self.sigma_range[int(rng.integers(len(self.sigma_range)))])

    def _read_clean(self, path: str) -> np.ndarray:
        if self.in_ch == 3:
            return cv2.cvtColor(self._read(path, 'gt', 'color'), cv2.COLOR_BGR2RGB)
        return self._read(path, 'gt', 'grayscale')

    def __getitem__(self, item: Any) -> Dict[str, Any]:
        index, patch_size, rng = self._unpack(item)
        path = self.paths[index % len(self.paths)]['gt_path']
        img_gt = self._read_clean(path)
        if self.is_train:
            img_gt, = crop_augment([img_gt], self.gt_size, patch_size, rng, self.geometric_augs, [path])
            img_lq = add_gaussian_noise(img_gt, self.draw_sigma(rng), rng)
        else:
            img_lq = add_test_noise(img_gt, self.sigma_test)
        lq, gt = img2tensor([img_lq, img_gt], bgr2rgb=False)
        self._normalize(lq, gt)
        return {'lq': lq, 'gt': gt, 'lq_path': path, 'gt_path': path}
