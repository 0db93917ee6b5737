"""Pixel losses, registered by their official names (``L1Loss``, ``MSELoss``, ``CharbonnierLoss``, ``PSNRLoss``)."""
from basicsr.losses.losses import CharbonnierLoss, L1Loss, MSELoss, PSNRLoss

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss']
