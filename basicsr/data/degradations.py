"""Synthetic degradations: additive white Gaussian noise (sigma on the 0-255 scale)."""
from __future__ import annotations

import numpy as np

__all__ = ['add_gaussian_noise', 'add_test_noise']


def add_gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Training noise: ``img + N(0, (sigma/255)^2)`` in float32, no clipping (official recipe)."""
    noise = rng.standard_normal(img.shape, dtype=np.float32)
    return img + noise * np.float32(sigma / 255.0)


def add_test_noise(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Evaluation noise with the official protocol, reproducible per image.

    Equivalent to ``np.random.seed(seed); img += np.random.normal(0, sigma/255, img.shape)`` on a
    float32 HWC image (float64 noise added, result float32, no clipping), without touching the
    global NumPy state.
    """
    noise = np.random.RandomState(seed).normal(0, sigma / 255.0, img.shape)
    return (img.astype(np.float64) + noise).astype(np.float32)
