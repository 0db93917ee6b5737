"""The evaluation protocol behind each table of the Restormer paper, by name.

Every protocol is a function ``(restored, gt) -> {metric: value}`` on one pair of HWC BGR images
(as :func:`basicsr.utils.img_util.imread` returns them), used by the task test scripts on their
outputs and by the evaluation scripts on saved results.

=====================  =========================================  ==========================
name                   what                                       paper
=====================  =========================================  ==========================
``deraining``          PSNR/SSIM on MATLAB uint8 Y, Wang SSIM      Table 1
``gopro_hide``         MATLAB psnr/ssim on RGB uint8 (3-D SSIM)    Table 2 (GoPro, HIDE)
``realblur``           aligned, masked PSNR/SSIM                   Table 2 (RealBlur-J/-R)
``dpdd``               PSNR/SSIM/MAE on [0, 1] floats (+ LPIPS)    Table 3
``gaussian_denoising``  PSNR, peak 255, uint8, all channels        Tables 4, 5
=====================  =========================================  ==========================

SIDD (Table 6) works on ``.mat`` block arrays: see :func:`basicsr.metrics.matlab_protocols.sidd_metrics`.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from basicsr.metrics.dpdd import dpdd_metrics
from basicsr.metrics.matlab_protocols import deraining_metrics, gopro_hide_metrics, to_uint8
from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.metrics.realblur import realblur_metrics

__all__ = ['gaussian_denoising_metrics', 'PROTOCOLS', 'get_protocol']


def gaussian_denoising_metrics(restored: np.ndarray, gt: np.ndarray) -> Dict[str, float]:
    """Gaussian denoising protocol: PSNR with peak 255 on uint8 images, all channels, no border crop."""
    return {'psnr': calculate_psnr(to_uint8(restored), to_uint8(gt), max_value=255.0)}


PROTOCOLS: Dict[str, Callable[..., Dict[str, float]]] = {
    'deraining': deraining_metrics,
    'gopro_hide': gopro_hide_metrics,
    'realblur': realblur_metrics,
    'dpdd': dpdd_metrics,
    'gaussian_denoising': gaussian_denoising_metrics,
}


def get_protocol(name: str) -> Callable[..., Dict[str, float]]:
    """The protocol function called ``name`` (see the module docstring); ``KeyError`` listing the names."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise KeyError(f"Unknown evaluation protocol '{name}'; known: {', '.join(sorted(PROTOCOLS))}") from None
