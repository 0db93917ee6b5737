"""Networks, the training model, optimizers, LR schedulers and training-run checkpoints."""
from typing import Any, Dict

import torch

from basicsr.models import archs, lr_scheduler, optimizers  # noqa: F401  (registers components)
from basicsr.models.image_restoration_model import ImageCleanModel
from basicsr.utils.registry import MODEL_REGISTRY

__all__ = ['ImageCleanModel', 'build_model']


def build_model(opt: Dict[str, Any], device: torch.device, distributed: bool = False) -> Any:
    """The training model ``opt['model_type']`` (e.g. ``ImageCleanModel``) around ``network_g``.

    For the network alone (inference), use :func:`basicsr.models.archs.build_network`.
    """
    return MODEL_REGISTRY.get(opt['model_type'])(opt, device, distributed)
