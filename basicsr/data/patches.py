"""Patch-extraction rules of the official Restormer data-preparation scripts (pure functions).

* **Sliding-window grid** (GoPro, DFWB, SIDD): row starts ``range(0, H - P, P - overlap)`` plus a
  final start at ``H - P``, the same for columns (the tiling rule of inference,
  :func:`basicsr.utils.inference.tile_starts`); patch ``k`` (from 1) is the ``k``-th window in
  row-major order.  Images whose shorter side is small (DFWB: ``<= 800``) are kept whole.
* **DPDD**: ``P x P`` windows every ``stride`` pixels plus right-edge, bottom-edge and corner
  windows (28 candidates on 1120x1680 at 512/204), then the ``int(0.3 * N)`` least sharp target
  windows are dropped (:func:`fitness_scores`, :func:`kept_indices`).
* **Centre crops** for validation sets.

The offline tooling that applies these rules to whole data sets (parallel jobs, resumable
manifests, command lines) lives next to the scripts that use it: ``scripts/patch_jobs.py``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import cv2
import numpy as np

from basicsr.utils.inference import tile_starts

__all__ = ['Window', 'grid_starts', 'grid_windows', 'dpdd_windows', 'center_window', 'fitness_scores',
           'kept_indices']

Window = Tuple[int, int]  # (top, left)


def grid_starts(length: int, patch_size: int, overlap: int) -> List[int]:
    """Start offsets along one axis: ``range(0, length - P, P - overlap)`` plus ``length - P``."""
    stride = patch_size - overlap
    if stride <= 0:
        raise ValueError(f'overlap ({overlap}) must be smaller than patch_size ({patch_size})')
    if length < patch_size:
        raise ValueError(f'cannot tile a side of {length} px with {patch_size} px patches')
    return tile_starts(length, patch_size, stride)  # the same rule as tiled inference


def grid_windows(height: int, width: int, patch_size: int, overlap: int) -> List[Window]:
    """``(top, left)`` of every grid patch in row-major order (patch ``k`` is ``windows[k - 1]``)."""
    cols = grid_starts(width, patch_size, overlap)
    return [(top, left) for top in grid_starts(height, patch_size, overlap) for left in cols]


def dpdd_windows(height: int, width: int, patch_size: int = 512, stride: int = 204) -> List[Window]:
    """Candidate windows of the DPDD rule, in the official candidate order.

    The positions ``(r, c)`` for ``r in range(0, H, stride)``, ``c in range(0, W, stride)`` are
    visited row-major; a window that would leave the image is moved to the right/bottom edge, and
    when that edge window was already taken the corner window is used instead (so the corner comes
    right after the first row's right-edge window, as in the official script).  Windows are never
    repeated (the official loop could repeat an edge window when ``H - P`` or ``W - P`` is a
    multiple of the stride; DPDD's 1120x1680 images are not affected).
    """
    if height < patch_size or width < patch_size:
        raise ValueError(f'image {height}x{width} is smaller than the {patch_size} px DPDD patch')
    bottom, right = height - patch_size, width - patch_size
    seen, windows = set(), []
    for r in range(0, height, stride):
        for c in range(0, width, stride):
            win = (min(r, bottom), min(c, right))
            if win in seen:
                win = (bottom, right)
            if win not in seen:
                seen.add(win)
                windows.append(win)
    return windows


def center_window(height: int, width: int, size: int) -> Window:
    """``(top, left)`` of the centred ``size x size`` crop (offsets rounded down)."""
    if height < size or width < size:
        raise ValueError(f'image {height}x{width} is smaller than the {size} px centre crop')
    return (height - size) // 2, (width - size) // 2


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    return cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_BGR2GRAY)


def fitness_scores(patches: Sequence[np.ndarray], kernel_sizes: Sequence[int] = (3, 7, 11, 15)) -> np.ndarray:
    """DPDD sharpness fitness of each patch (BGR or gray, any depth); higher is sharper.

    For each kernel size, the sum of the Sobel gradient magnitude of the grayscale patch is
    min-max normalised over ``patches``; the fitness is the product over kernel sizes.  A kernel
    size whose sums are all equal carries no information and contributes a factor 1.
    """
    grays = [_gray(p) for p in patches]
    fitness = np.ones(len(grays), dtype=np.float64)
    for k in kernel_sizes:
        sums = np.array([np.sqrt(cv2.Sobel(g, cv2.CV_64F, 1, 0, ksize=k) ** 2
                                 + cv2.Sobel(g, cv2.CV_64F, 0, 1, ksize=k) ** 2).sum() for g in grays])
        span = sums.max() - sums.min() if len(sums) else 0.0
        if span > 0:
            fitness *= (sums - sums.min()) / span
    return fitness


def kept_indices(scores: Sequence[float], remove_ratio: float = 0.3) -> List[int]:
    """Indices left after dropping the ``int(remove_ratio * N)`` lowest scores (ties: earlier first), in order."""
    scores = np.asarray(scores, dtype=np.float64)
    drop = set(np.argsort(scores, kind='stable')[:int(remove_ratio * len(scores))].tolist())
    return [i for i in range(len(scores)) if i not in drop]
