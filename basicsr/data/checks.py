"""Checks of a dataset before training starts, so that bad data fails in the first minute, not on day three.

* :func:`scan_files`: every file of the set, header only (a few KB each): present, not empty, and
  gray/colour consistent within each pair.
* :func:`check_samples`: decode samples (all of a validation set, a spread of the training set) and
  check what the network will be given: channels against ``network_g``, sides the network can take,
  finite values.  Unreadable and misread images raise the dataset's own errors, which name the file.
"""
from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from basicsr.data.sample_spec import SampleSpec
from basicsr.utils.errors import DataMismatchError, ImageReadError
from basicsr.utils.img_util import stored_format

__all__ = ['scan_files', 'scan_paths', 'check_same_colour', 'check_samples']

_HEADER_BYTES = 4096  # PNG headers take 33 bytes; JPEG/TIFF headers are usually within the first few KB


def _header(path: str) -> Optional[tuple]:
    try:
        with open(path, 'rb') as f:
            head = f.read(_HEADER_BYTES)
    except OSError as e:
        raise ImageReadError(f"Cannot read image file '{path}': {e}") from e
    if not head:
        raise ImageReadError(f"Image file '{path}' is empty.")
    return stored_format(head)


def check_same_colour(files: Sequence[Tuple[str, Optional[int]]]) -> None:
    """Refuse a gray image paired with a colour one (``files``: (path, channels stored)); reading both as colour
    would silently replicate the gray one, teaching the network to desaturate."""
    kinds = {'gray' if c <= 2 else 'colour' for _, c in files if c is not None}
    if len(kinds) > 1:
        detail = ', '.join(f"'{p}' ({'gray' if c <= 2 else 'colour'})" for p, c in files if c is not None)
        raise DataMismatchError(f'Paired images mix gray and colour: {detail}. Convert them to the same kind '
                                "(or read both as gray with the dataset option color: gray).")


def scan_paths(paths: Sequence[Mapping[str, str]], name: str, colour: bool = True, progress: bool = True) -> int:
    """Read the header of every file of ``paths`` (one mapping per sample, files under keys ending in
    ``_path``); returns the number of files checked.

    Raises:
        ImageReadError: a file is missing, unreadable or empty.
        DataMismatchError: a pair mixes a gray and a colour image (when ``colour``).
    """
    checked = 0
    for entry in tqdm(paths, desc=f'check {name}', unit='file', leave=False,
                      disable=not progress or len(paths) < 1000):
        files = [(p, _header(p)) for key, p in sorted(entry.items()) if key.endswith('_path')]
        checked += len(files)
        if colour and len(files) > 1:
            check_same_colour([(p, f[0]) for p, f in files if f is not None])
    return checked


def scan_files(dataset: Any, name: str, progress: bool = True) -> int:
    """:func:`scan_paths` over a disk-backed dataset of this package (LMDB sets are skipped: 0)."""
    if getattr(dataset, 'backend', 'disk') != 'disk' or not getattr(dataset, 'paths', None):
        return 0
    return scan_paths(dataset.paths, name, getattr(dataset, 'flag', 'color') == 'color', progress)


def _spread(n: int, limit: Optional[int]) -> Sequence[int]:
    if limit is None or n <= limit:
        return range(n)
    return sorted({int(i) for i in np.linspace(0, n - 1, limit).round()})


def check_samples(dataset: Any, name: str, in_channels: int, out_channels: Optional[int],
                  size_multiple: int = 1, limit: Optional[int] = None) -> List[int]:
    """Decode samples of ``dataset`` and check them against the network.

    Args:
        dataset: a dataset of this package (items ``{'lq', ['gt'], 'lq_path', ...}``).
        name: the set's name, for messages.
        in_channels, out_channels: ``network_g``'s ``inp_channels`` / ``out_channels``.
        size_multiple: sides must be multiples of this (validation without padding); 1 = any.
        limit: check this many samples spread over the set (``None``: all).

    Returns:
        The indices checked.

    Raises:
        DataMismatchError: naming the file and what does not fit.
    """
    indices = list(_spread(len(dataset), limit))
    train = getattr(dataset, 'is_train', False)
    for i in indices:
        item = dataset[tuple(SampleSpec(i, dataset.gt_size, (0, i)))] if train else dataset[i]
        lq, gt, path = item['lq'], item.get('gt'), item.get('lq_path', f'#{i}')
        if lq.shape[0] != in_channels:
            raise DataMismatchError(f"{name}: '{path}' gives the network {lq.shape[0]} input channel(s), but "
                                    f'network_g.inp_channels is {in_channels}.')
        if gt is not None and out_channels is not None and gt.shape[0] != out_channels:
            raise DataMismatchError(f"{name}: the target '{item.get('gt_path', path)}' has {gt.shape[0]} "
                                    f'channel(s), but network_g.out_channels is {out_channels}.')
        h, w = lq.shape[-2:]
        if size_multiple > 1 and (h % size_multiple or w % size_multiple):
            raise DataMismatchError(f"{name}: '{path}' is {w}x{h}, not a multiple of {size_multiple} on each side, "
                                    'and val.window_size is 0 (no padding); set val.window_size: 8.')
        if not bool(torch.isfinite(lq).all()) or (gt is not None and not bool(torch.isfinite(gt).all())):
            raise DataMismatchError(f"{name}: '{path}' holds NaN or infinite values.")
    return indices
