"""Training-time transforms: padding, aligned random crops and the 8 dihedral augmentations.

The crop reproduces the statistics of the official progressive pipeline for every sample:
images smaller than ``gt_size`` are reflect-padded (bottom/right, OpenCV ``BORDER_REFLECT``) up to
``gt_size``; a ``gt_size`` window is drawn uniformly; the augmentation is applied to it; and the
stage's ``patch_size`` window is taken at offset ``int((gt_size - patch_size) * U[0, 1))`` inside
it, which is how the official training loop sub-crops its 384x384 batches.  All steps are
numpy views; only the final patch is copied.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import cv2
import numpy as np

from basicsr.utils.errors import DataMismatchError

__all__ = ['augment', 'AUGMENT_MODES', 'pad_to_size', 'crop_augment', 'paired_random_crop', 'random_augmentation']

AUGMENT_MODES = 8


def augment(img: np.ndarray, mode: int) -> np.ndarray:
    """Dihedral transform ``mode`` (0-7) of an HWC array, as a view.

    0 identity, 1 flip up-down, 2 rot90 (counter-clockwise), 3 rot90 + flip, 4 rot180,
    5 rot180 + flip, 6 rot270, 7 rot270 + flip (the official ``data_augmentation`` modes).
    """
    if not 0 <= mode < AUGMENT_MODES:
        raise ValueError(f'augmentation mode must be in 0..7, got {mode}')
    out = np.rot90(img, k=mode // 2) if mode >= 2 else img
    return np.flipud(out) if mode % 2 else out


def pad_to_size(img: np.ndarray, size: int) -> np.ndarray:
    """Pad bottom/right with ``cv2.BORDER_REFLECT`` (edge pixel repeated) until both sides are >= ``size``."""
    h, w = img.shape[:2]
    pad_h, pad_w = max(0, size - h), max(0, size - w)
    if not pad_h and not pad_w:
        return img
    out = cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT)
    return out[:, :, None] if out.ndim == 2 else out


def crop_augment(imgs: Sequence[np.ndarray], gt_size: int, patch_size: int, rng: np.random.Generator,
                 geometric_augs: bool, paths: Optional[Sequence[str]] = None) -> List[np.ndarray]:
    """Aligned random crop (and augmentation) of several same-sized images.

    Args:
        imgs: HWC arrays of equal height and width (e.g. LQ and GT, or L, R and GT).
        gt_size: size of the first, uniformly placed window (the official ``gt_size``).
        patch_size: size of the returned patch (the stage's patch; ``<= gt_size``).
        rng: random generator (one per sample, for reproducibility).
        geometric_augs: apply one of the 8 dihedral transforms, the same to all images.
        paths: file names for error messages.

    Returns:
        Contiguous ``patch_size x patch_size`` crops, pixel-aligned across the inputs.
    """
    if patch_size > gt_size:
        raise ValueError(f'patch_size {patch_size} exceeds gt_size {gt_size}')
    shapes = {img.shape[:2] for img in imgs}
    if len(shapes) != 1:
        where = f' ({", ".join(paths)})' if paths else ''
        raise DataMismatchError(f'Paired images differ in size {sorted(shapes)}{where}; they must be pixel-aligned.')
    imgs = [pad_to_size(img, gt_size) for img in imgs]
    h, w = imgs[0].shape[:2]
    top = int(rng.integers(0, h - gt_size + 1))
    left = int(rng.integers(0, w - gt_size + 1))
    mode = int(rng.integers(AUGMENT_MODES)) if geometric_augs else 0
    dy = int((gt_size - patch_size) * rng.random())
    dx = int((gt_size - patch_size) * rng.random())
    out = []
    for img in imgs:
        win = augment(img[top:top + gt_size, left:left + gt_size], mode)
        out.append(np.ascontiguousarray(win[dy:dy + patch_size, dx:dx + patch_size]))
    return out


def paired_random_crop(img_gts: Union[np.ndarray, Sequence[np.ndarray]],
                       img_lqs: Union[np.ndarray, Sequence[np.ndarray]], gt_patch_size: int, scale: int = 1,
                       gt_path: Optional[str] = None, rng: Optional[np.random.Generator] = None) -> tuple:
    """BasicSR-compatible aligned crop of GT and LQ images (single arrays or lists; scale 1 only).

    Returns the same kind as given: arrays for arrays, lists for lists.
    """
    if scale != 1:
        raise ValueError('Restormer datasets are same-resolution (scale 1)')
    single_gt, single_lq = isinstance(img_gts, np.ndarray), isinstance(img_lqs, np.ndarray)
    gts = [img_gts] if single_gt else list(img_gts)
    lqs = [img_lqs] if single_lq else list(img_lqs)
    rng = rng or np.random.default_rng()
    crops = crop_augment(gts + lqs, gt_patch_size, gt_patch_size, rng, False, [gt_path] if gt_path else None)
    out_gt, out_lq = crops[:len(gts)], crops[len(gts):]
    return (out_gt[0] if single_gt else out_gt), (out_lq[0] if single_lq else out_lq)


def random_augmentation(*imgs: np.ndarray, rng: Optional[np.random.Generator] = None) -> List[np.ndarray]:
    """Apply the same random dihedral transform to every image (official helper name)."""
    rng = rng or np.random.default_rng()
    mode = int(rng.integers(AUGMENT_MODES))
    return [np.ascontiguousarray(augment(img, mode)) for img in imgs]
