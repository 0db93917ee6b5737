"""``Dataset_SingleImage``: degraded images without ground truth, for inference on a folder."""
from __future__ import annotations

from typing import Any, Dict

from basicsr.data.base_dataset import ImageDataset
from basicsr.data.data_util import paths_from_folder, paths_from_lmdb
from basicsr.utils.errors import OptionError
from basicsr.utils.img_util import img2tensor
from basicsr.utils.registry import DATASET_REGISTRY

__all__ = ['Dataset_SingleImage']


@DATASET_REGISTRY.register()
@DATASET_REGISTRY.register(name='SingleImageDataset')
class Dataset_SingleImage(ImageDataset):
    """Returns ``{'lq', 'lq_path'}`` for every image in ``dataroot_lq`` (``color: gray`` reads one channel)."""

    required_keys = ('dataroot_lq',)
    option_keys = ('dataroot_lq', 'color')

    def __init__(self, opt: Dict[str, Any]) -> None:
        if opt.get('phase') == 'train':
            raise OptionError('Dataset_SingleImage has no ground truth and cannot be used for training.')
        super().__init__(dict(opt, phase=opt.get('phase') or 'test'))
        root = self.opt['dataroot_lq']
        lister = paths_from_lmdb if self.backend == 'lmdb' else paths_from_folder
        keys = lister(root, 'dataroot_lq')
        self.paths = [{'lq_path': k} for k in keys]
        self.flag = 'grayscale' if opt.get('color') == 'gray' else 'color'
        self._make_client({'lq': root})

    def __getitem__(self, item: Any) -> Dict[str, Any]:
        index = int(item[0]) if isinstance(item, tuple) else int(item)
        path = self.paths[index]['lq_path']
        lq = img2tensor(self._read(path, 'lq', self.flag)[0], bgr2rgb=True)
        self._normalize(lq)
        return {'lq': lq, 'lq_path': path}
