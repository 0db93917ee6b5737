"""Mixup of training pairs within a batch (the Restormer denoising recipes).

One lambda ~ Beta(beta, beta) per batch and one random permutation; the same mix is applied to the
input and the target.  With ``use_identity`` each batch is mixed with probability 1/2.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

__all__ = ['MixingAugment']


class MixingAugment:
    def __init__(self, mixup_beta: float = 1.2, use_identity: bool = False) -> None:
        if mixup_beta <= 0:
            raise ValueError(f'mixup_beta must be positive, got {mixup_beta}')
        self.beta = mixup_beta
        self.use_identity = use_identity

    def __call__(self, target: torch.Tensor, inp: torch.Tensor, rng: np.random.Generator
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.use_identity and int(rng.integers(2)) == 1:
            return target, inp
        lam = float(rng.beta(self.beta, self.beta))
        perm = torch.from_numpy(rng.permutation(target.shape[0])).to(target.device)
        target = lam * target + (1 - lam) * target[perm]
        inp = lam * inp + (1 - lam) * inp[perm]
        return target, inp
