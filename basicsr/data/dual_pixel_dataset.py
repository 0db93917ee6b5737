"""``Dataset_DefocusDeblur_DualPixel_16bit``: 16-bit left/right dual-pixel views and a 16-bit target.

All three images are read with their full 16-bit depth (/65535); the input is the 6-channel
concatenation ``[L, R]`` (RGB each).  Crops and augmentations are identical for the three.
"""
from __future__ import annotations

from typing import Any, Dict

import torch

from basicsr.data.base_dataset import ImageDataset
from basicsr.data.data_util import paired_paths
from basicsr.data.transforms import crop_augment
from basicsr.utils.errors import DataMismatchError
from basicsr.utils.img_util import imfrombytesDP, img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['Dataset_DefocusDeblur_DualPixel_16bit']


@DATASET_REGISTRY.register()
class Dataset_DefocusDeblur_DualPixel_16bit(ImageDataset):
    """Returns ``{'lq': 6xHxW, 'gt': 3xHxW, 'lq_path': left view, 'gt_path'}``."""

    required_keys = ('dataroot_gt', 'dataroot_lqL', 'dataroot_lqR')
    option_keys = ('dataroot_gt', 'dataroot_lqL', 'dataroot_lqR')
    bit_depth = 16  # validation images are saved as 16-bit PNG

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        folders = {'lqL': self.opt['dataroot_lqL'], 'lqR': self.opt['dataroot_lqR'], 'gt': self.opt['dataroot_gt']}
        self.paths = paired_paths(folders, 'gt', opt.get('filename_tmpl') or '{}', self.backend,
                                  self.opt.get('meta_info_file'))
        self._make_client(folders)

    def __getitem__(self, item: Any) -> Dict[str, Any]:
        index, patch_size, rng = self._unpack(item)
        p = self.paths[index % len(self.paths)]
        imgs = [imfrombytesDP(self.file_client.get(p[f'{k}_path'], k), p[f'{k}_path']) for k in ('lqL', 'lqR', 'gt')]
        if self.is_train:
            imgs = crop_augment(imgs, self.gt_size, patch_size, rng, self.geometric_augs,
                                [p['lqL_path'], p['lqR_path'], p['gt_path']])
        elif len({img.shape for img in imgs}) != 1:
            raise DataMismatchError(f"Dual-pixel images differ in size: '{p['lqL_path']}', '{p['lqR_path']}', "
                                    f"'{p['gt_path']}' ({', '.join(str(i.shape) for i in imgs)})")
        left, right, gt = img2tensor(imgs, bgr2rgb=True)
        self._normalize(left, right, gt)
        return {'lq': torch.cat([left, right], dim=0), 'gt': gt, 'lq_path': p['lqL_path'], 'gt_path': p['gt_path']}
