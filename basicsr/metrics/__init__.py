"""Image-quality metrics, registered by their official names (``calculate_psnr``, ``calculate_ssim``, ...),
and the evaluation protocols behind the paper's tables (``get_protocol``)."""
from typing import Any, Dict

from basicsr.metrics.dpdd import calculate_psnr_dpdd, calculate_ssim_dpdd
from basicsr.metrics.matlab_protocols import calculate_psnr_y_matlab, calculate_ssim_y_wang
from basicsr.metrics.protocols import PROTOCOLS, get_protocol
from basicsr.metrics.psnr_ssim import calculate_mae, calculate_psnr, calculate_ssim
from basicsr.metrics.realblur import calculate_psnr_realblur, calculate_ssim_realblur
from basicsr.utils.registry import METRIC_REGISTRY

__all__ = ['calculate_psnr', 'calculate_ssim', 'calculate_mae', 'calculate_metric', 'calculate_psnr_y_matlab',
           'calculate_ssim_y_wang', 'calculate_psnr_realblur', 'calculate_ssim_realblur', 'calculate_psnr_dpdd',
           'calculate_ssim_dpdd', 'PROTOCOLS', 'get_protocol']


def calculate_metric(data: Dict[str, Any], opt: Dict[str, Any]) -> float:
    """Compute the metric described by ``opt`` (``type`` + keyword options) on ``data['img']``, ``data['img2']``."""
    return METRIC_REGISTRY.build(opt, data['img'], data['img2'], drop=('better',))
