"""Patch window rules of ``basicsr.data.patches`` on the real image sizes (no data written): the overlapping
grid, DPDD's candidates, the centre crop, the sharpness (fitness) filter."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from basicsr.data.patches import center_window, dpdd_windows, fitness_scores, grid_starts, grid_windows, kept_indices


def test_grid_rule_on_official_sizes():
    assert grid_starts(720, 512, 256) == [0, 208] and grid_starts(1280, 512, 256) == [0, 256, 512, 768]
    gopro = grid_windows(720, 1280, 512, 256)
    assert len(gopro) == 8 and gopro[:5] == [(0, 0), (0, 256), (0, 512), (0, 768), (208, 0)]
    assert grid_starts(1356, 512, 96) == [0, 416, 832, 844] and grid_starts(2040, 512, 96) == [0, 416, 832, 1248, 1528]
    assert len(grid_windows(1356, 2040, 512, 96)) == 20  # DFWB (DIV2K 2040x1356)
    assert len(grid_windows(3000, 5328, 512, 128)) == 112  # SIDD 5328x3000: 8 x 14
    assert len(grid_windows(3044, 4048, 512, 128)) == 88
    assert grid_starts(512, 512, 96) == [0]  # exactly one patch
    with pytest.raises(ValueError, match='overlap'):
        grid_starts(800, 512, 512)
    with pytest.raises(ValueError, match='cannot tile'):
        grid_starts(500, 512, 96)


def test_dpdd_candidates_on_official_size():
    wins = dpdd_windows(1120, 1680, 512, 204)
    assert len(wins) == 28 and len(set(wins)) == 28
    interior = [w for w in wins if w[0] % 204 == 0 and w[1] % 204 == 0]
    right = [w for w in wins if w[1] == 1168 and w[0] != 608]
    bottom = [w for w in wins if w[0] == 608 and w[1] != 1168]
    assert len(interior) == 18 and right == [(0, 1168), (204, 1168), (408, 1168)]
    assert bottom == [(608, c) for c in range(0, 1021, 204)]
    # official candidate order: first row, its right-edge window, then the corner, ...
    assert wins[:8] == [(0, c) for c in range(0, 1021, 204)] + [(0, 1168), (608, 1168)]
    assert wins[-6:] == bottom
    assert all(0 <= t <= 608 and 0 <= c <= 1168 for t, c in wins)
    assert len(kept_indices(np.arange(28.0), 0.3)) == 20  # int(0.3 * 28) = 8 dropped
    with pytest.raises(ValueError):
        dpdd_windows(500, 1680)


def test_center_window():
    assert center_window(720, 1280, 256) == (232, 512)
    assert center_window(1120, 1680, 256) == (432, 712)
    assert center_window(257, 256, 256) == (0, 0)
    with pytest.raises(ValueError):
        center_window(200, 300, 256)


def test_fitness_matches_independent_sobel(photo):
    rng = np.random.default_rng(0)
    gray = photo('camera')[:96, :96].astype(np.uint8)
    crops = [gray[:32, :32], gray[32:64, 40:72], cv2.GaussianBlur(gray[50:82, 10:42], (0, 0), 2), gray[60:92, 60:92]]
    crops.append(rng.integers(0, 255, (32, 32), dtype=np.uint8))
    got = fitness_scores(crops, kernel_sizes=(3,))
    # ksize 3 Sobel = scipy's sobel; OpenCV's default border is scipy's 'mirror'
    sums = np.array([np.hypot(ndimage.sobel(c.astype(np.float64), axis=1, mode='mirror'),
                              ndimage.sobel(c.astype(np.float64), axis=0, mode='mirror')).sum() for c in crops])
    np.testing.assert_allclose(got, (sums - sums.min()) / (sums.max() - sums.min()), rtol=1e-12, atol=1e-12)
    # 4 kernel sizes: the product of the four normalised scores, in [0, 1], 0 for the least sharp
    full = fitness_scores(crops)
    assert full.min() == 0.0 and np.argmin(full) == 2 and full.max() <= 1.0


def test_sharpness_filter_drops_blurriest(photo):
    base = photo('astronaut')[100:164, 100:164, ::-1]
    sigmas = [0, 3, 0.5, 6, 1, 0, 2, 4, 0.8, 1.5]  # 10 patches -> int(0.3 * 10) = 3 dropped: sigma 6, 4, 3
    crops = [base if s == 0 else cv2.GaussianBlur(base, (0, 0), s) for s in sigmas]
    assert kept_indices(fitness_scores(crops), 0.3) == [0, 2, 4, 5, 6, 8, 9]
    # 16-bit data gives the same ranking
    crops16 = [c.astype(np.uint16) * 257 for c in crops]
    assert kept_indices(fitness_scores(crops16), 0.3) == [0, 2, 4, 5, 6, 8, 9]
    assert kept_indices([1.0, 1.0, 1.0, 1.0], 0.5) == [2, 3]  # ties: earlier candidates go first
