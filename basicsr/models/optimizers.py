"""Optimizers selectable by ``train.optim_g.type``."""
import torch

from basicsr.utils.registry import OPTIMIZER_REGISTRY

__all__ = ['Adam', 'AdamW', 'SGD']

Adam = OPTIMIZER_REGISTRY.register(torch.optim.Adam)
AdamW = OPTIMIZER_REGISTRY.register(torch.optim.AdamW)
SGD = OPTIMIZER_REGISTRY.register(torch.optim.SGD)
