"""``Dataset_GaussianDenoising``: clean images, noisy inputs synthesised on the fly.

Training: fresh noise for every sample, ``sigma_type`` constant / random (uniform in
``sigma_range``) / choice (from ``sigma_range``), added after crop and augmentation, no clipping.
Validation: ``sigma_test`` noise drawn as the official protocol does (seed 0 for every image), so
validation PSNR is reproducible.  Sigma is on the 0-255 scale.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import cv2
import numpy as np

from basicsr.data.base_dataset import ImageDataset
from basicsr.data.data_util import filter_by_meta_info, paths_from_folder, paths_from_lmdb
from basicsr.data.degradations import add_gaussian_noise, add_test_noise
from basicsr.data.transforms import crop_augment
from basicsr.utils.errors import OptionError
from basicsr.utils.img_util import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['Dataset_GaussianDenoising']


@DATASET_REGISTRY.register()
class Dataset_GaussianDenoising(ImageDataset):
    """Returns ``{'lq': noisy, 'gt': clean, 'lq_path', 'gt_path'}`` (RGB, or 1 channel with ``in_ch: 1``)."""

    required_keys = ('dataroot_gt',)
    # dataroot_lq is 'none' in the official files: noisy inputs are synthesised
    option_keys = ('dataroot_gt', 'dataroot_lq', 'sigma_type', 'sigma_range', 'sigma_test', 'in_ch')

    @classmethod
    def check_options(cls, opt: Mapping[str, Any], where: str) -> None:
        super().check_options(opt, where)
        if opt.get('in_ch', 3) not in (1, 3):
            raise OptionError(f"{where}.in_ch must be 1 (gray) or 3 (colour), got {opt.get('in_ch')!r}.")
        if opt.get('phase', 'train') != 'train':
            if opt.get('sigma_test') is None:
                raise OptionError(f'{where}.sigma_test is missing (noise level of the validation images).')
            return
        st, sr = opt.get('sigma_type'), opt.get('sigma_range')
        if st not in ('constant', 'random', 'choice') or sr is None:
            raise OptionError(f'{where}: Dataset_GaussianDenoising training needs sigma_type (constant, random or '
                              f'choice) and sigma_range; got sigma_type {st!r}, sigma_range {sr!r}.')
        if st == 'constant' and isinstance(sr, list):
            raise OptionError(f'{where}.sigma_range must be a number for sigma_type constant, got {sr}.')
        if st == 'random' and (not isinstance(sr, list) or len(sr) != 2 or sr[0] > sr[1]):
            raise OptionError(f'{where}.sigma_range must be [min, max] for sigma_type random, got {sr}.')
        if st == 'choice' and (not isinstance(sr, list) or not sr):
            raise OptionError(f'{where}.sigma_range must be a non-empty list for sigma_type choice, got {sr}.')

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        self.in_ch = opt.get('in_ch', 3)
        self.sigma_type = opt.get('sigma_type')
        self.sigma_range = opt.get('sigma_range')
        self.sigma_test = opt.get('sigma_test')
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
            return cv2.cvtColor(self._read(path, 'gt', 'color')[0], cv2.COLOR_BGR2RGB)
        return self._read(path, 'gt', 'grayscale')[0]

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
