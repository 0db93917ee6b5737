"""PSNR, SSIM and MAE with the semantics of the official Restormer ``basicsr/metrics/psnr_ssim.py``.

Inputs are images in [0, 255] (or [0, 1]) as BGR numpy arrays, HWC by default; tensors (CHW or
1CHW, RGB) are accepted too.  Everything runs on the CPU in float64 (the official 3-D SSIM needs
CUDA and runs in float32).

* PSNR: peak 1 if ``max(img) <= 1`` else 255 (official auto-detection; clamp outputs first).
  6-channel (dual-pixel) images: mean of the PSNR of the two 3-channel halves.
* SSIM on Y (``test_y_channel``) or on one channel: 11x11 Gaussian (sigma 1.5) SSIM with
  replicated borders, mean over the whole map (MATLAB ``ssim``).
* SSIM on colour images: the 3-D 11x11x11 Gaussian SSIM over the H x W x C volume with replicated
  borders, which is what MATLAB's ``ssim`` computes on an RGB array (used for GoPro/HIDE).
"""
from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np
import torch
from scipy.ndimage import correlate1d

from basicsr.utils.color_util import to_y_channel
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['calculate_psnr', 'calculate_ssim', 'calculate_mae', 'gaussian_window_1d']

ArrayLike = Union[np.ndarray, torch.Tensor]


def gaussian_window_1d(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian, the same as ``cv2.getGaussianKernel(size, sigma)``."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    w = np.exp(-x ** 2 / (2.0 * sigma ** 2))
    return w / w.sum()


def _as_hwc(img: ArrayLike, input_order: str) -> np.ndarray:
    if input_order not in ('HWC', 'CHW'):
        raise ValueError(f"input_order must be 'HWC' or 'CHW', got {input_order!r}")
    if isinstance(img, torch.Tensor):
        t = img.detach().cpu()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError(f'metrics take one image, got a batch of {t.shape[0]}')
            t = t[0]
        if t.dim() == 2:
            t = t[None]
        return t.double().numpy().transpose(1, 2, 0)
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    elif input_order == 'CHW':
        img = img.transpose(1, 2, 0)
    return img.astype(np.float64)


def _prepare(img: ArrayLike, img2: ArrayLike, crop_border: int, input_order: str) -> Tuple[np.ndarray, np.ndarray]:
    a, b = _as_hwc(img, input_order), _as_hwc(img2, input_order)
    if a.shape != b.shape:
        raise ValueError(f'Image shapes differ: {a.shape} and {b.shape}')
    if crop_border:
        a = a[crop_border:-crop_border, crop_border:-crop_border]
        b = b[crop_border:-crop_border, crop_border:-crop_border]
    return a, b


def _auto_peak(img: np.ndarray) -> float:
    return 1.0 if img.max() <= 1 else 255.0


def _psnr(a: np.ndarray, b: np.ndarray, test_y_channel: bool, max_value: Optional[float]) -> float:
    if test_y_channel:
        a, b = to_y_channel(a), to_y_channel(b)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float('inf')
    peak = max_value if max_value is not None else _auto_peak(a)
    return float(20.0 * np.log10(peak / np.sqrt(mse)))


@METRIC_REGISTRY.register()
def calculate_psnr(img: ArrayLike, img2: ArrayLike, crop_border: int = 0, input_order: str = 'HWC',
                   test_y_channel: bool = False, max_value: Optional[float] = None) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images).

    Args:
        img, img2: images in [0, 255] or [0, 1], BGR when ``test_y_channel``.
        crop_border: pixels removed from each edge before measuring.
        input_order: ``'HWC'`` or ``'CHW'`` for numpy inputs.
        test_y_channel: measure on the BT.601 Y channel (inputs must be in [0, 255]).
        max_value: peak value; ``None`` = 1 if ``max(img) <= 1`` else 255 (official behaviour).
    """
    a, b = _prepare(img, img2, crop_border, input_order)
    if a.shape[2] == 6:  # dual-pixel pair: average over the two views
        return (_psnr(a[..., :3], b[..., :3], test_y_channel, max_value)
                + _psnr(a[..., 3:], b[..., 3:], test_y_channel, max_value)) / 2
    return _psnr(a, b, test_y_channel, max_value)


def _gaussian_filter(x: np.ndarray, window: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    # Separable filter with replicated borders ('nearest' = replicate, also for pads larger than the axis).
    for axis in axes:
        x = correlate1d(x, window, axis=axis, mode='nearest')
    return x


def _ssim_map_mean(a: np.ndarray, b: np.ndarray, max_value: float, axes: Tuple[int, ...]) -> float:
    c1 = (0.01 * max_value) ** 2
    c2 = (0.03 * max_value) ** 2
    w = gaussian_window_1d(11, 1.5)
    mu1 = _gaussian_filter(a, w, axes)
    mu2 = _gaussian_filter(b, w, axes)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = _gaussian_filter(a * a, w, axes) - mu1_sq
    s2 = _gaussian_filter(b * b, w, axes) - mu2_sq
    s12 = _gaussian_filter(a * b, w, axes) - mu12
    ssim_map = ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))
    return float(ssim_map.mean())


def _ssim(a: np.ndarray, b: np.ndarray, test_y_channel: bool, max_value: Optional[float]) -> float:
    if test_y_channel:
        a, b = to_y_channel(a)[..., 0], to_y_channel(b)[..., 0]
        return _ssim_map_mean(a, b, 255.0 if max_value is None else max_value, axes=(0, 1))
    peak = max_value if max_value is not None else _auto_peak(a)
    if a.shape[2] == 1:
        return _ssim_map_mean(a[..., 0], b[..., 0], peak, axes=(0, 1))
    return _ssim_map_mean(a, b, peak, axes=(0, 1, 2))


@METRIC_REGISTRY.register()
def calculate_ssim(img: ArrayLike, img2: ArrayLike, crop_border: int = 0, input_order: str = 'HWC',
                   test_y_channel: bool = False, max_value: Optional[float] = None) -> float:
    """Structural similarity (MATLAB ``ssim`` semantics; see the module docstring).

    Args:
        img, img2: images in [0, 255] or [0, 1], BGR when ``test_y_channel``.
        crop_border: pixels removed from each edge before measuring.
        input_order: ``'HWC'`` or ``'CHW'`` for numpy inputs.
        test_y_channel: 2-D SSIM on the BT.601 Y channel (inputs in [0, 255], peak 255).
        max_value: peak value; ``None`` = 1 if ``max(img) <= 1`` else 255.
    """
    a, b = _prepare(img, img2, crop_border, input_order)
    if a.shape[2] == 6:
        return (_ssim(a[..., :3], b[..., :3], test_y_channel, max_value)
                + _ssim(a[..., 3:], b[..., 3:], test_y_channel, max_value)) / 2
    return _ssim(a, b, test_y_channel, max_value)


@METRIC_REGISTRY.register()
def calculate_mae(img: ArrayLike, img2: ArrayLike, crop_border: int = 0, input_order: str = 'HWC',
                  max_value: Optional[float] = None) -> float:
    """Mean absolute error on the [0, 1] scale (DPDD protocol).

    Inputs in [0, 255] are divided by 255 (``max_value=None`` auto-detects as PSNR does).
    """
    a, b = _prepare(img, img2, crop_border, input_order)
    peak = max_value if max_value is not None else _auto_peak(a)
    return float(np.mean(np.abs(a - b)) / peak)
