"""Real-denoising benchmarks (Table 6): SIDD validation blocks and DND files, and the SIDD score table.

* SIDD: ``ValidationNoisyBlocksSrgb.mat`` / ``ValidationGtBlocksSrgb.mat`` hold uint8 arrays of
  shape (40, 32, 256, 256, 3) (RGB); results go to ``Idenoised.mat`` (key ``Idenoised``, float32
  in [0, 1], same shape), which ``Denoising/evaluate_sidd.py`` (or the official ``evaluate_sidd.m``)
  scores.
* DND: ``info.mat`` (MATLAB v7.3 / HDF5) has ``info.boundingboxes``, one 20 x 4 array per image
  (1-based, inclusive ``[row1, col1, row2, col2]``); ``images_srgb/%04d.mat`` holds ``InoisySRGB``
  (float in [0, 1], stored transposed by HDF5).  The submission is one ``%04d.mat`` per image with
  ``Idenoised`` (cell array of the restored crops), ``israw = False`` and ``eval_version = "1.0"``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from basicsr.evaluation.report import MetricTable
from basicsr.metrics.matlab_protocols import sidd_metrics
from basicsr.utils.file_util import atomic_write, require_file

__all__ = ['load_mat_array', 'save_mat', 'read_dnd_boxes', 'read_dnd_image', 'crop_box', 'write_dnd_submission',
           'sidd_table', 'block_name', 'SIDD_NOISY', 'SIDD_GT', 'SIDD_RESULT']

SIDD_NOISY = ('ValidationNoisyBlocksSrgb.mat', 'ValidationNoisyBlocksSrgb')
SIDD_GT = ('ValidationGtBlocksSrgb.mat', 'ValidationGtBlocksSrgb')
SIDD_RESULT = ('Idenoised.mat', 'Idenoised')


def load_mat_array(path: str, key: str, what: str = 'MAT file') -> np.ndarray:
    """Array ``key`` of a MATLAB file (v5 via scipy; v7.3/HDF5 via h5py, transposed back to MATLAB order)."""
    import scipy.io

    require_file(path, what)
    try:
        data = scipy.io.loadmat(path)
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        import h5py
        with h5py.File(path, 'r') as f:
            if key not in f:
                raise KeyError(f"'{path}' has no variable '{key}' (found: {', '.join(f.keys())})") from None
            return np.array(f[key]).T
    if key not in data:
        found = ', '.join(k for k in data if not k.startswith('__'))
        raise KeyError(f"'{path}' has no variable '{key}' (found: {found})")
    return data[key]


def save_mat(path: str, variables: dict) -> None:
    """``scipy.io.savemat``, written atomically (creating the folder first)."""
    import scipy.io

    with atomic_write(path) as f:
        scipy.io.savemat(f, variables)


def read_dnd_boxes(info_path: str) -> List[np.ndarray]:
    """Bounding boxes of every DND image: a list of (n_boxes, 4) int arrays, 1-based ``[r1, c1, r2, c2]``."""
    import h5py

    require_file(info_path, 'DND info.mat')
    with h5py.File(info_path, 'r') as f:
        info = f['info']
        refs = np.array(info['boundingboxes']).ravel()
        return [np.array(info[ref]).T.astype(np.int64) for ref in refs]


def read_dnd_image(path: str) -> np.ndarray:
    """``InoisySRGB`` of a DND image file as float32 HWC (RGB, [0, 1])."""
    import h5py

    require_file(path, 'DND image file')
    with h5py.File(path, 'r') as f:
        return np.ascontiguousarray(np.array(f['InoisySRGB']).T, dtype=np.float32)


def crop_box(img: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """Crop one 1-based inclusive ``[r1, c1, r2, c2]`` DND box."""
    r1, c1, r2, c2 = (int(v) for v in box[:4])
    return img[r1 - 1:r2, c1 - 1:c2]


def write_dnd_submission(path: str, crops: Sequence[np.ndarray]) -> None:
    """Write one DND sRGB submission file: ``Idenoised`` cell array, ``israw=False``, ``eval_version='1.0'``."""
    cells = np.empty((len(crops),), dtype=object)
    for k, crop in enumerate(crops):
        cells[k] = np.asarray(crop, dtype=np.float32)
    save_mat(path, {'Idenoised': cells, 'israw': False, 'eval_version': '1.0'})


def sidd_table(denoised: np.ndarray, gt: np.ndarray, title: str = 'SIDD (MATLAB psnr/ssim per block)') -> MetricTable:
    """Per-block PSNR/SSIM table (rows ``%04d_%02d``, 1-based like the official PNG names) with the mean.

    Args:
        denoised: float blocks in [0, 1], shape (n_images, n_blocks, H, W, 3).
        gt: ground-truth blocks (uint8 or float in [0, 1]) of the same shape.
    """
    psnr, ssim = sidd_metrics(denoised, gt)
    table = MetricTable(title, row_label='block')
    for idx in np.ndindex(*psnr.shape):
        table.add(block_name(idx), {'psnr': psnr[idx], 'ssim': ssim[idx]})
    table.add_summary('mean')
    return table


def block_name(idx: Tuple[int, ...]) -> str:
    """``(i, k)`` (0-based) -> ``'%04d_%02d' % (i + 1, k + 1)``, the official block file name without extension."""
    return '_'.join(f'{v + 1:04d}' if n == 0 else f'{v + 1:02d}' for n, v in enumerate(idx))
