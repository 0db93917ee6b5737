"""``Dataset_PairedImage``: degraded/clean image pairs (deraining, motion and single-image defocus
deblurring, real denoising).

Also re-exports the other official dataset classes under this module, where official code
imports them from.
"""
from __future__ import annotations

from typing import Any, Dict

from basicsr.data.base_dataset import ImageDataset
from basicsr.data.checks import check_same_colour
from basicsr.data.data_util import paired_paths
from basicsr.data.transforms import crop_augment
from basicsr.utils.errors import DataMismatchError
from basicsr.utils.img_util import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['Dataset_PairedImage', 'Dataset_GaussianDenoising', 'Dataset_DefocusDeblur_DualPixel_16bit']


@DATASET_REGISTRY.register()
class Dataset_PairedImage(ImageDataset):
    """Pairs ``dataroot_lq``/``dataroot_gt`` images by name (``filename_tmpl``), a ``meta_info_file``, or LMDB.

    Images are read as 8-bit colour (BGR, /255) and returned as RGB tensors in [0, 1]:
    ``{'lq', 'gt', 'lq_path', 'gt_path'}``.  Training samples are cropped and augmented
    identically for LQ and GT (:func:`basicsr.data.transforms.crop_augment`).
    """

    required_keys = ('dataroot_gt', 'dataroot_lq')
    option_keys = ('dataroot_gt', 'dataroot_lq', 'color')

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__(opt)
        folders = {'lq': self.opt['dataroot_lq'], 'gt': self.opt['dataroot_gt']}
        self.flag = 'grayscale' if opt.get('color') == 'gray' else 'color'
        self.paths = paired_paths(folders, 'gt', opt.get('filename_tmpl') or '{}', self.backend,
                                  self.opt.get('meta_info_file'))
        self._make_client(folders)

    def __getitem__(self, item: Any) -> Dict[str, Any]:
        index, patch_size, rng = self._unpack(item)
        paths = self.paths[index % len(self.paths)]
        img_gt, gt_ch = self._read(paths['gt_path'], 'gt', self.flag)
        img_lq, lq_ch = self._read(paths['lq_path'], 'lq', self.flag)
        if self.flag == 'color':
            check_same_colour([(paths['lq_path'], lq_ch), (paths['gt_path'], gt_ch)])
        if self.is_train:
            img_lq, img_gt = crop_augment([img_lq, img_gt], self.gt_size, patch_size, rng, self.geometric_augs,
                                          [paths['lq_path'], paths['gt_path']])
        elif img_lq.shape != img_gt.shape:
            raise DataMismatchError(f"LQ and GT differ in size: '{paths['lq_path']}' {img_lq.shape} vs "
                                    f"'{paths['gt_path']}' {img_gt.shape}")
        lq, gt = img2tensor([img_lq, img_gt], bgr2rgb=True)
        self._normalize(lq, gt)
        return {'lq': lq, 'gt': gt, 'lq_path': paths['lq_path'], 'gt_path': paths['gt_path']}


# Official module layout: these classes were defined here.
from basicsr.data.dual_pixel_dataset import Dataset_DefocusDeblur_DualPixel_16bit  # noqa: E402
from basicsr.data.gaussian_denoising_dataset import Dataset_GaussianDenoising  # noqa: E402
