"""MATLAB evaluation protocols of the Restormer paper, re-implemented without MATLAB.

* Deraining (Table 1, official ``Deraining/evaluate_PSNR_SSIM.m``): both images go through
  MATLAB's ``rgb2ycbcr`` on uint8 data (rounded uint8 Y), PSNR with peak 255 on that Y, SSIM =
  Wang et al.'s ``SSIM_index`` (11x11 Gaussian window, sigma 1.5, K = [0.01, 0.03], L = 255,
  ``filter2(..., 'valid')``: only positions where the whole window fits; mean of that map).
* GoPro / HIDE (Table 2, ``Motion_Deblurring/evaluate_gopro_hide.m``): MATLAB ``psnr`` and
  ``ssim`` on the RGB uint8 images.  MATLAB's ``ssim`` on an H x W x 3 array is a 3-D SSIM
  (11x11x11 Gaussian, replicated borders), which is :func:`basicsr.metrics.psnr_ssim.calculate_ssim`
  on colour input; it is reused here.
* SIDD (Table 6, ``Denoising/evaluate_sidd.m``): MATLAB ``psnr``/``ssim`` per 256x256 block on
  single-precision RGB in [0, 1] (peak 1, 3-D SSIM), averaged over the blocks.

Image convention (as the rest of ``basicsr.metrics``): HWC arrays in **BGR** order, as
:func:`basicsr.utils.img_util.imread` returns them.
"""
from __future__ import annotations

from typing import Dict, Tuple, Union

import numpy as np
import torch
from scipy.ndimage import correlate1d

from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim, gaussian_window_1d
from basicsr.utils.color_util import bgr2ycbcr
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['to_uint8', 'matlab_y_uint8', 'ssim_index_map', 'calculate_psnr_y_matlab', 'calculate_ssim_y_wang',
           'deraining_metrics', 'gopro_hide_metrics', 'sidd_block_metrics', 'sidd_metrics']

ArrayLike = Union[np.ndarray, torch.Tensor]


def to_uint8(img: ArrayLike) -> np.ndarray:
    """uint8 HWC array from a uint8 array, or from a float image in [0, 1] (clipped, rounded half to even)."""
    if isinstance(img, torch.Tensor):
        raise TypeError('pass numpy HWC BGR images (basicsr.utils.img_util.tensor2img converts tensors)')
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    if np.issubdtype(img.dtype, np.floating):
        return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise TypeError(f'expected a uint8 image or a float image in [0, 1], got {img.dtype}')


def matlab_y_uint8(img: ArrayLike) -> np.ndarray:
    """Y channel as MATLAB ``rgb2ycbcr`` gives it on a uint8 BGR image: HxW uint8 in [16, 235].

    Single-channel images are returned unchanged (the official script only converts 3-channel images).
    """
    img = to_uint8(img)
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[..., 0]
    if img.shape[2] != 3:
        raise ValueError(f'expected a 1- or 3-channel image, got shape {img.shape}')
    return bgr2ycbcr(img, y_only=True)


def ssim_index_map(img1: np.ndarray, img2: np.ndarray, data_range: float = 255.0, k1: float = 0.01,
                   k2: float = 0.03, win_size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Wang et al.'s ``SSIM_index`` map of two 2-D images ('valid' region only).

    Args:
        img1, img2: 2-D arrays of the same shape (at least ``win_size`` on each side).
        data_range: L, the dynamic range of the pixel values.
        k1, k2: stabilising constants (C1 = (k1 L)^2, C2 = (k2 L)^2).
        win_size, sigma: the Gaussian window (MATLAB ``fspecial('gaussian', win_size, sigma)``).

    Returns:
        The SSIM map of shape ``(H - win_size + 1, W - win_size + 1)``.
    """
    a = np.asarray(img1, dtype=np.float64)
    b = np.asarray(img2, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f'expected two 2-D images of the same shape, got {a.shape} and {b.shape}')
    if min(a.shape) < win_size:
        raise ValueError(f'images of shape {a.shape} are smaller than the {win_size}x{win_size} SSIM window')
    window = gaussian_window_1d(win_size, sigma)  # fspecial's 2-D Gaussian is the outer product of this
    lo, hi = win_size // 2, (win_size - 1) // 2

    def filt(x: np.ndarray) -> np.ndarray:
        for axis in (0, 1):
            x = correlate1d(x, window, axis=axis, mode='constant')
        return x[lo:x.shape[0] - hi, lo:x.shape[1] - hi]  # keep only the positions where the window fits

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu1, mu2 = filt(a), filt(b)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = filt(a * a) - mu1_sq
    s2 = filt(b * b) - mu2_sq
    s12 = filt(a * b) - mu12
    return ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))


def _crop(img: np.ndarray, border: int) -> np.ndarray:
    return img[border:-border, border:-border]


def _psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else float(10.0 * np.log10(peak ** 2 / mse))


@METRIC_REGISTRY.register()
def calculate_psnr_y_matlab(img: ArrayLike, img2: ArrayLike, crop_border: int = 0, **kwargs) -> float:
    """Deraining PSNR: peak 255 on the rounded uint8 MATLAB Y channel of two BGR images.

    Args:
        img, img2: restored and reference images, uint8 (or float in [0, 1], rounded to uint8), BGR.
        crop_border: pixels removed from each edge of Y (0 in the official protocol).
    """
    y1, y2 = matlab_y_uint8(img), matlab_y_uint8(img2)
    if y1.shape != y2.shape:
        raise ValueError(f'Image shapes differ: {y1.shape} and {y2.shape}')
    if crop_border:
        y1, y2 = _crop(y1, crop_border), _crop(y2, crop_border)
    return _psnr(y1, y2, 255.0)


@METRIC_REGISTRY.register()
def calculate_ssim_y_wang(img: ArrayLike, img2: ArrayLike, crop_border: int = 0, **kwargs) -> float:
    """Deraining SSIM: mean of Wang's ``SSIM_index`` 'valid' map on the uint8 MATLAB Y channel (L = 255).

    Args:
        img, img2: restored and reference images, uint8 (or float in [0, 1], rounded to uint8), BGR.
        crop_border: pixels removed from each edge of Y before filtering (0 officially).
    """
    y1, y2 = matlab_y_uint8(img), matlab_y_uint8(img2)
    if y1.shape != y2.shape:
        raise ValueError(f'Image shapes differ: {y1.shape} and {y2.shape}')
    if crop_border:
        y1, y2 = _crop(y1, crop_border), _crop(y2, crop_border)
    return float(ssim_index_map(y1, y2, data_range=255.0).mean())


def deraining_metrics(restored: ArrayLike, gt: ArrayLike) -> Dict[str, float]:
    """Table 1 protocol on one BGR image pair: ``{'psnr': ..., 'ssim': ...}`` on MATLAB's uint8 Y."""
    y1, y2 = matlab_y_uint8(restored), matlab_y_uint8(gt)
    if y1.shape != y2.shape:
        raise ValueError(f'Image shapes differ: {y1.shape} and {y2.shape}')
    return {'psnr': _psnr(y1, y2, 255.0), 'ssim': float(ssim_index_map(y1, y2, 255.0).mean())}


def gopro_hide_metrics(restored: ArrayLike, gt: ArrayLike) -> Dict[str, float]:
    """Table 2 GoPro/HIDE protocol: MATLAB ``psnr`` and (3-D) ``ssim`` on RGB uint8 images (peak 255)."""
    a, b = to_uint8(restored), to_uint8(gt)
    return {'psnr': calculate_psnr(a, b, max_value=255.0), 'ssim': calculate_ssim(a, b, max_value=255.0)}


def sidd_block_metrics(denoised: np.ndarray, gt: np.ndarray) -> Tuple[float, float]:
    """MATLAB ``psnr``/``ssim`` of one float RGB block in [0, 1] (peak 1, 3-D SSIM on colour)."""
    return calculate_psnr(denoised, gt, max_value=1.0), calculate_ssim(denoised, gt, max_value=1.0)


def sidd_metrics(denoised: np.ndarray, gt: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-block PSNR and SSIM of SIDD block arrays (``..., 256, 256, 3``).

    Args:
        denoised: float blocks in [0, 1] (``Idenoised``), e.g. shape (40, 32, 256, 256, 3).
        gt: the ground-truth blocks, uint8 (converted like MATLAB ``im2single``) or float in [0, 1].

    Returns:
        ``(psnr, ssim)`` arrays of shape ``denoised.shape[:-3]``; Table 6 reports their means.
    """
    denoised = np.asarray(denoised)
    gt = np.asarray(gt)
    if gt.dtype == np.uint8:
        gt = gt.astype(np.float32) / np.float32(255.0)
    if denoised.shape != gt.shape:
        raise ValueError(f'Idenoised has shape {denoised.shape} but the ground truth has {gt.shape}')
    lead = denoised.shape[:-3]
    flat_d = denoised.reshape((-1,) + denoised.shape[-3:])
    flat_g = gt.reshape((-1,) + gt.shape[-3:])
    scores = np.array([sidd_block_metrics(d, g) for d, g in zip(flat_d, flat_g)], dtype=np.float64)
    return scores[:, 0].reshape(lead), scores[:, 1].reshape(lead)
