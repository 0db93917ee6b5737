"""Image-quality metrics, registered by their official names (``calculate_psnr``, ``calculate_ssim``, ...)."""
from typing import Any, Dict

from basicsr.metrics.psnr_ssim import calculate_mae, calculate_psnr, calculate_ssim
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['calculate_psnr', 'calculate_ssim', 'calculate_mae', 'calculate_metric']


def calculate_metric(data: Dict[str, Any], opt: Dict[str, Any]) -> float:
    """Compute the metric described by ``opt`` (``type`` + keyword options) on ``data['img']``, ``data['img2']``."""
    kwargs = {k: v for k, v in opt.items() if k != 'type'}
    return METRIC_REGISTRY.get(opt['type'])(data['img'], data['img2'], **kwargs)
