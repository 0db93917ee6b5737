"""Shared plumbing of the image datasets: storage backend, option checks, normalisation."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from basicsr.data.data_util import resolve_path
from basicsr.data.file_client import FileClient
from basicsr.data.sample_spec import unpack_item
from basicsr.utils.errors import OptionError
from basicsr.utils.img_util import check_8bit_reading, imfrombytes, stored_format, to_unit_float

__all__ = ['ImageDataset']


class ImageDataset(Dataset):
    """Base class: reads the common options and owns the ``FileClient``.

    Subclasses set ``self.paths`` (list of dicts ``{'<key>_path': ...}``) and implement ``__getitem__``.
    """

    #: option keys the subclass requires (checked at construction with a clear message)
    required_keys: Sequence[str] = ()
    #: dataset-specific option keys the subclass reads (besides the loader/transform keys every dataset
    #: accepts); the option parser rejects the other datasets' keys, e.g. ``in_ch`` on paired images
    option_keys: Sequence[str] = ()

    def __init__(self, opt: Dict[str, Any]) -> None:
        super().__init__()
        opt = dict(opt)
        for key in ('dataroot_gt', 'dataroot_lq', 'dataroot_lqL', 'dataroot_lqR', 'meta_info_file'):
            opt[key] = resolve_path(opt.get(key))
        self.opt = opt
        self.check_options(opt, f"{type(self).__name__} ({opt.get('name') or opt.get('phase', 'train')})")
        self.phase = opt.get('phase', 'train')
        self.is_train = self.phase == 'train'
        self.backend = (opt.get('io_backend') or {}).get('type', 'disk')
        self.geometric_augs = bool(opt.get('geometric_augs', False)) and self.is_train
        self.gt_size = opt.get('gt_size')
        self.mean = opt.get('mean')
        self.std = opt.get('std')
        self.paths: List[Dict[str, str]] = []
        self.file_client: Optional[FileClient] = None

    @classmethod
    def check_options(cls, opt: Mapping[str, Any], where: str) -> None:
        """Reject an option block this dataset cannot work with (the option parser calls it too).

        Args:
            opt: the ``datasets.<phase>`` block.
            where: its place, for messages (``datasets.train`` when parsing, the class name otherwise).

        Raises:
            OptionError: naming the key at fault.
        """
        missing = [k for k in cls.required_keys if not opt.get(k)]
        if missing:
            raise OptionError(f"{where}: {cls.__name__} needs option(s) {', '.join(missing)}.")
        if opt.get('phase', 'train') == 'train' and not opt.get('gt_size'):
            raise OptionError(f'{where}.gt_size is missing: training crops patches of this size.')

    def _make_client(self, db_paths: Dict[str, str]) -> None:
        self.file_client = FileClient(self.backend, db_paths if self.backend == 'lmdb' else None)

    def _read(self, path: str, client_key: str, flag: str = 'color') -> Tuple[np.ndarray, Optional[int]]:
        """Decode one image as float32 in [0, 1]; returns it with the channel count stored in the file.

        Raises:
            ImageReadError: the file is missing or cannot be decoded.
            DataMismatchError: a 16-bit file that the 8-bit reading would turn nearly black.
        """
        content = self.file_client.get(path, client_key)
        stored = stored_format(content)
        img = imfrombytes(content, flag=flag, float32=False, path=path)
        if stored is not None and img.dtype == np.uint8:
            check_8bit_reading(img, stored[1], path)
        return to_unit_float(img), (stored[0] if stored is not None else None)

    def _unpack(self, item: Any):
        return unpack_item(item, self.gt_size)

    def _normalize(self, *tensors: torch.Tensor) -> None:
        if self.mean is None and self.std is None:
            return
        mean = torch.tensor(self.mean if self.mean is not None else 0.0).view(-1, 1, 1)
        std = torch.tensor(self.std if self.std is not None else 1.0).view(-1, 1, 1)
        for t in tensors:
            t.sub_(mean).div_(std)

    def __len__(self) -> int:
        return len(self.paths)
