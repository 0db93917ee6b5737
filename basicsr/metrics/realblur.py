"""RealBlur evaluation protocol (Rim et al., ECCV 2020), as used for RealBlur-J/-R in Table 2 of Restormer.

RealBlur ground truth is not pixel-aligned with the blurred input, so the restored image is first
matched to the reference:

1. intensity matching: the restored image z is scaled by ``sum(gt * z) / sum(z * z)`` (one scalar
   over all pixels and channels);
2. ECC alignment: ``cv2.findTransformECC`` with a homography (MOTION_HOMOGRAPHY), identity start,
   100 iterations, epsilon 0, ``gaussFiltSize`` 5, on the grayscale images (template = reference);
3. the scaled image is warped onto the reference with ``INTER_CUBIC + WARP_INVERSE_MAP`` and
   ``BORDER_REFLECT``; the validity mask is a nearest-neighbour warp of ones (zero outside);
   both images are multiplied by the mask.

PSNR = 10 log10(1 / (sum of masked squared errors / sum of the mask)); SSIM = scikit-image
``structural_similarity`` (per channel, Gaussian weights, population covariance, data range 1)
map times the mask, 5-pixel border cropped, masked mean per channel, averaged over channels.
Images are float32 in [0, 1] (uint8 inputs are divided by 255), BGR as read by OpenCV.
"""
from __future__ import annotations

import logging
from typing import Dict, NamedTuple, Optional

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from basicsr.utils.img_util import to_unit_float
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['RealBlurAlignment', 'realblur_align', 'realblur_psnr', 'realblur_ssim', 'realblur_metrics',
           'calculate_psnr_realblur', 'calculate_ssim_realblur']

logger = logging.getLogger('basicsr')

ECC_ITERATIONS = 100
ECC_EPS = 0.0
ECC_GAUSS_FILT_SIZE = 5
SSIM_BORDER = int(3.5 * 1.5 + 0.5)  # radius of skimage's Gaussian window (truncate 3.5, sigma 1.5) = 5


class RealBlurAlignment(NamedTuple):
    """Result of :func:`realblur_align` (all HWC float32 except ``warp``)."""

    restored: np.ndarray  # intensity-matched, warped restored image, times the mask
    gt: np.ndarray  # reference times the mask
    mask: np.ndarray  # 1 where the warped image has data, 0 elsewhere (same shape as the images)
    warp: np.ndarray  # 3x3 homography found by ECC (maps reference pixels into the restored image)
    scale: float  # intensity-matching factor


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 and img.shape[2] == 3 else img.squeeze()


def realblur_align(restored: np.ndarray, gt: np.ndarray, fallback_identity: bool = True,
                   name: Optional[str] = None) -> RealBlurAlignment:
    """Intensity-match and ECC-align ``restored`` to ``gt`` (RealBlur protocol, see module docstring).

    Args:
        restored: restored image, HWC (BGR) uint8 or float in [0, 1].
        gt: reference image of the same shape.
        fallback_identity: if ECC fails (OpenCV raises when the iteration diverges, e.g. on flat or
            unrelated images), log a warning and use the identity warp instead of raising (the
            official script crashes there).
        name: image name for the warning.
    """
    # C-contiguous: NumPy's float sums depend on the memory layout, and ECC amplifies such last-bit
    # differences, so e.g. a tensor2img view and the same image read back from disk scored differently
    z = np.ascontiguousarray(to_unit_float(restored), dtype=np.float32)
    x = np.ascontiguousarray(to_unit_float(gt), dtype=np.float32)
    if z.shape != x.shape:
        raise ValueError(f'Image shapes differ: {z.shape} and {x.shape}')
    if z.ndim == 2:
        z, x = z[..., None], x[..., None]
    denom = np.sum(z * z)
    scale = float(np.sum(x * z) / denom) if denom > 0 else 1.0
    zs = (np.float32(scale) * z).astype(np.float32)

    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, ECC_ITERATIONS, ECC_EPS)
    try:
        _, warp = cv2.findTransformECC(_gray(x), _gray(zs), warp, cv2.MOTION_HOMOGRAPHY, criteria, None,
                                       ECC_GAUSS_FILT_SIZE)
    except cv2.error as e:
        if not fallback_identity:
            raise
        logger.warning('RealBlur ECC alignment failed%s (%s); using the identity warp.',
                       f' for {name}' if name else '', str(e).strip().splitlines()[-1])
        warp = np.eye(3, dtype=np.float32)

    h, w = x.shape[:2]
    flags_cubic = cv2.INTER_CUBIC + cv2.WARP_INVERSE_MAP
    zr = cv2.warpPerspective(zs, warp, (w, h), flags=flags_cubic, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpPerspective(np.ones_like(zs), warp, (w, h), flags=cv2.INTER_NEAREST + cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if zr.ndim == 2:
        zr, mask = zr[..., None], mask[..., None]
    return RealBlurAlignment(zr * mask, x * mask, mask, warp, scale)


def realblur_psnr(aligned: RealBlurAlignment) -> float:
    """Masked PSNR (peak 1) of an alignment."""
    err = np.sum((aligned.gt - aligned.restored) ** 2, dtype=np.float64) / np.sum(aligned.mask, dtype=np.float64)
    return float('inf') if err == 0 else float(10.0 * np.log10(1.0 / err))


def realblur_ssim(aligned: RealBlurAlignment) -> float:
    """Masked SSIM of an alignment: skimage Gaussian SSIM map x mask, 5-px border cropped, per-channel masked mean."""
    _, ssim_map = structural_similarity(aligned.gt, aligned.restored, channel_axis=-1, gaussian_weights=True,
                                        use_sample_covariance=False, data_range=1.0, full=True)
    ssim_map = ssim_map * aligned.mask
    b = SSIM_BORDER
    per_channel = ssim_map[b:-b, b:-b].sum(axis=(0, 1)) / aligned.mask[b:-b, b:-b].sum(axis=(0, 1))
    return float(np.mean(per_channel))


def realblur_metrics(restored: np.ndarray, gt: np.ndarray, name: Optional[str] = None) -> Dict[str, float]:
    """RealBlur protocol on one image pair: ``{'psnr': ..., 'ssim': ...}`` after alignment."""
    aligned = realblur_align(restored, gt, name=name)
    return {'psnr': realblur_psnr(aligned), 'ssim': realblur_ssim(aligned)}


@METRIC_REGISTRY.register()
def calculate_psnr_realblur(img: np.ndarray, img2: np.ndarray, **kwargs) -> float:
    """RealBlur PSNR of a restored image ``img`` against the reference ``img2`` (HWC, uint8 or [0, 1])."""
    return realblur_psnr(realblur_align(img, img2))


@METRIC_REGISTRY.register()
def calculate_ssim_realblur(img: np.ndarray, img2: np.ndarray, **kwargs) -> float:
    """RealBlur SSIM of a restored image ``img`` against the reference ``img2`` (HWC, uint8 or [0, 1])."""
    return realblur_ssim(realblur_align(img, img2))
