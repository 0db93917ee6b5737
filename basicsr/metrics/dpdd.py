"""DPDD defocus-deblurring protocol (Table 3 of Restormer; computed inside the official defocus test scripts).

Per image, on float images in [0, 1] (8-bit data for the single-image model, 16-bit for dual pixel):

* PSNR = 10 log10(1 / MSE), 100 when MSE is 0;
* SSIM = scikit-image ``structural_similarity(data_range=1, channel_axis=-1)`` (default 7x7 uniform
  window, sample covariance);
* MAE = mean absolute error (the official per-channel scikit-learn mean equals the overall mean);
* LPIPS = ``lpips.LPIPS(net='alex')`` with ``normalize=True``, only when the ``lpips`` package and the
  AlexNet weights are already on disk (nothing is downloaded).

Scores are reported for all images ("Combined") and for the indoor / outdoor scenes given by
``indoor_labels.npy`` / ``outdoor_labels.npy``: 1-based indices into the natsorted file list.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from skimage.metrics import structural_similarity

from basicsr.metrics.psnr_ssim import calculate_mae
from basicsr.utils.img_util import to_unit_float
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['to_unit_float', 'calculate_psnr_dpdd', 'calculate_ssim_dpdd', 'dpdd_metrics', 'build_lpips',
           'load_dpdd_labels', 'split_by_labels', 'dpdd_summaries', 'DPDD_LABEL_FILES']

logger = logging.getLogger('basicsr')

DPDD_LABEL_FILES = {'indoor': 'indoor_labels.npy', 'outdoor': 'outdoor_labels.npy'}
LpipsFn = Callable[[np.ndarray, np.ndarray], float]


def _pair(img: np.ndarray, img2: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    a, b = to_unit_float(img), to_unit_float(img2)
    if a.shape != b.shape:
        raise ValueError(f'Image shapes differ: {a.shape} and {b.shape}')
    return a, b


@METRIC_REGISTRY.register()
def calculate_psnr_dpdd(img: np.ndarray, img2: np.ndarray, **kwargs) -> float:
    """DPDD PSNR: 10 log10(1 / MSE) on [0, 1] images (uint8/uint16 are rescaled); 100 for identical images."""
    a, b = _pair(img, img2)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else float(10.0 * np.log10(1.0 / mse))


@METRIC_REGISTRY.register()
def calculate_ssim_dpdd(img: np.ndarray, img2: np.ndarray, **kwargs) -> float:
    """DPDD SSIM: scikit-image default SSIM (7x7 uniform window) with data range 1, per channel, averaged."""
    a, b = _pair(img, img2)
    if a.ndim == 3 and a.shape[2] == 1:
        a, b = a[..., 0], b[..., 0]
    channel_axis = -1 if a.ndim == 3 else None
    return float(structural_similarity(b, a, data_range=1.0, channel_axis=channel_axis))


def dpdd_metrics(restored: np.ndarray, gt: np.ndarray, lpips_fn: Optional[LpipsFn] = None) -> Dict[str, float]:
    """All DPDD scores of one pair of HWC (BGR) images: psnr, ssim, mae (+ lpips when ``lpips_fn`` is given)."""
    a, b = _pair(restored, gt)
    out = {'psnr': calculate_psnr_dpdd(a, b), 'ssim': calculate_ssim_dpdd(a, b),
           'mae': calculate_mae(a, b, max_value=1.0)}
    if lpips_fn is not None:
        out['lpips'] = lpips_fn(a, b)
    return out


def _alexnet_weights_path() -> str:
    # lpips builds torchvision's AlexNet with the ImageNet weights torchvision keeps in the hub cache
    # (``AlexNet_Weights.IMAGENET1K_V1``); the file name is fixed by its URL.
    return os.path.join(torch.hub.get_dir(), 'checkpoints', 'alexnet-owt-7be5be79.pth')


def build_lpips(device: torch.device = torch.device('cpu')) -> Optional[LpipsFn]:
    """LPIPS (AlexNet) scorer on BGR float images in [0, 1], or ``None`` (with one log message) if unavailable.

    Needs the ``lpips`` package (which ships its linear-layer weights) and torchvision's AlexNet
    weights already in the torch hub cache; this function never downloads anything.
    """
    try:
        import lpips
    except ImportError:
        logger.warning('LPIPS is not reported: the `lpips` package is not installed (pip install lpips, then put '
                       "torchvision's AlexNet weights at %s). PSNR, SSIM and MAE are computed.",
                       _alexnet_weights_path())
        return None
    lin_path = os.path.join(os.path.dirname(lpips.__file__), 'weights', 'v0.1', 'alex.pth')
    for path, what in ((_alexnet_weights_path(), "torchvision's AlexNet weights"), (lin_path, 'LPIPS alex weights')):
        if not os.path.isfile(path):
            logger.warning('LPIPS is not reported: %s are not available offline (expected at %s). PSNR, SSIM and '
                           'MAE are computed.', what, path)
            return None
    model = lpips.LPIPS(net='alex', verbose=False).to(device).eval()

    def score(restored: np.ndarray, gt: np.ndarray) -> float:
        def to_tensor(img: np.ndarray) -> torch.Tensor:
            rgb = np.ascontiguousarray(to_unit_float(img)[..., ::-1].transpose(2, 0, 1), dtype=np.float32)
            return torch.from_numpy(rgb)[None].to(device)
        with torch.inference_mode():
            return float(model(to_tensor(gt), to_tensor(restored), normalize=True).item())

    return score


def load_dpdd_labels(folder: str) -> Optional[Dict[str, np.ndarray]]:
    """``{'indoor': idx, 'outdoor': idx}`` (1-based) from ``folder``, or ``None`` (logged) if a file is missing."""
    labels = {}
    for split, file_name in DPDD_LABEL_FILES.items():
        path = os.path.join(folder, file_name)
        if not os.path.isfile(path):
            logger.warning('DPDD label file %s not found: only the combined scores are reported.', path)
            return None
        labels[split] = np.asarray(np.load(path)).astype(np.int64).ravel()
    return labels


def split_by_labels(values: Sequence[float], labels: np.ndarray) -> List[float]:
    """Select ``values[labels - 1]`` (1-based labels, as the DPDD label files); checks the index range."""
    labels = np.asarray(labels, dtype=np.int64).ravel()
    if labels.size and (labels.min() < 1 or labels.max() > len(values)):
        raise ValueError(f'label indices must be in 1..{len(values)} (1-based), got range '
                         f'{labels.min()}..{labels.max()}')
    arr = np.asarray(values, dtype=np.float64)
    return arr[labels - 1].tolist()


def dpdd_summaries(rows: Sequence[Mapping[str, float]], labels: Optional[Mapping[str, np.ndarray]],
                   columns: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Mean of each column over all images ('combined') and over each label split."""
    out: Dict[str, Dict[str, float]] = {}
    groups: Dict[str, np.ndarray] = {'combined': np.arange(1, len(rows) + 1)}
    if labels:
        groups.update(labels)
    for group, idx in groups.items():
        out[group] = {c: float(np.mean(split_by_labels([r[c] for r in rows], idx))) for c in columns}
    return out
