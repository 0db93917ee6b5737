"""Shared fixtures: tiny network configurations, real photos, a repository-root path."""
from __future__ import annotations

import os
import sys
from typing import Any, Dict

import numpy as np
import pytest
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# Tiny test networks run fastest single-threaded (and the suite's numbers do not depend on thread count).
torch.set_num_threads(1)

#: smallest Restormer used by the tests (dim 8, one block per level)
TINY_NET: Dict[str, Any] = dict(type='Restormer', inp_channels=3, out_channels=3, dim=8, num_blocks=[1, 1, 1, 1],
                                num_refinement_blocks=1, heads=[1, 2, 2, 4], ffn_expansion_factor=2.66, bias=False,
                                LayerNorm_type='WithBias', dual_pixel_task=False)


@pytest.fixture
def repo_root() -> str:
    return REPO_ROOT


@pytest.fixture
def tiny_net_opt() -> Dict[str, Any]:
    return dict(TINY_NET)


def photo(name: str = 'astronaut', size: int = 0) -> np.ndarray:
    """A real photo shipped with scikit-image as uint8 RGB HxWx3 (or HxW for gray ones)."""
    from skimage import data
    img = getattr(data, name)()
    if size:
        img = img[:size, :size]
    return np.ascontiguousarray(img)


@pytest.fixture
def astronaut() -> np.ndarray:
    return photo('astronaut')
