"""Networks, training models, optimizers and LR schedulers."""
from typing import Any, Dict

import torch

from basicsr.models import archs, lr_scheduler, optimizers  # noqa: F401  (registers components)
from basicsr.models.image_restoration_model import ImageCleanModel
from basicsr.utils.registry import MODEL_REGISTRY

__all__ = ['ImageCleanModel', 'build_model']


def build_model(opt: Dict[str, Any], device: torch.device, distributed: bool = False) -> Any:
    """Instantiate ``opt['model_type']`` (e.g. ``ImageCleanModel``)."""
    return MODEL_REGISTRY.get(opt['model_type'])(opt, device, distributed)
