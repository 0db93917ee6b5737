"""Networks, training models, optimizers and LR schedulers."""
from basicsr.models import archs, lr_scheduler, optimizers  # noqa: F401  (registers components)

__all__ = ['archs', 'lr_scheduler', 'optimizers']
