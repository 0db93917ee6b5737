"""Colour-space conversions with MATLAB semantics (ITU-R BT.601, as MATLAB's ``rgb2ycbcr``)."""
from __future__ import annotations

import numpy as np

__all__ = ['bgr2ycbcr', 'rgb2ycbcr', 'to_y_channel']

# Rows: R, G, B weights for Y, Cb, Cr on [0, 1] input giving [16, 235]/[16, 240] output.
_RGB2YCBCR = np.array([[65.481, -37.797, 112.0],
                       [128.553, -74.203, -93.786],
                       [24.966, 112.0, -18.214]], dtype=np.float64)
_OFFSET = np.array([16.0, 128.0, 128.0])


def _to_unit_range(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    if np.issubdtype(img.dtype, np.floating):
        return img.astype(np.float64)
    raise TypeError(f'expected uint8 or float image, got {img.dtype}')


def _restore_range(out: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:  # MATLAB rounds halves away from zero (np.round would round them to even)
        return np.floor(out + 0.5).clip(0, 255).astype(np.uint8)
    return (out / 255.0).astype(dtype)


def rgb2ycbcr(img: np.ndarray, y_only: bool = False) -> np.ndarray:
    """RGB -> YCbCr like MATLAB's ``rgb2ycbcr``.

    uint8 input gives rounded uint8 output (as MATLAB on uint8); float input in [0, 1] gives
    float output in [16/255, 235/255] (Y) without rounding.
    """
    out = _to_unit_range(img)
    if y_only:
        out = out @ _RGB2YCBCR[:, 0] + _OFFSET[0]
    else:
        out = out @ _RGB2YCBCR + _OFFSET
    return _restore_range(out, img.dtype)


def bgr2ycbcr(img: np.ndarray, y_only: bool = False) -> np.ndarray:
    """BGR -> YCbCr (same as :func:`rgb2ycbcr` on the channel-reversed image)."""
    return rgb2ycbcr(img[..., ::-1], y_only=y_only)


def to_y_channel(img: np.ndarray) -> np.ndarray:
    """BGR image in [0, 255] -> Y channel in [16, 235] as float64 HW1, not rounded (BasicSR semantics).

    Single-channel images are returned unchanged (as float64 HW1).
    """
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        img = bgr2ycbcr(img / 255.0, y_only=True)[..., None] * 255.0
    elif img.ndim == 2:
        img = img[..., None]
    return img
