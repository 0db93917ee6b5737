"""Metrics against independent computations on real photos (scikit-image, scipy, torch conv3d)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from skimage.color import rgb2ycbcr as sk_rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from basicsr.metrics import calculate_mae, calculate_metric, calculate_psnr, calculate_ssim
from basicsr.metrics.psnr_ssim import gaussian_window_1d
from basicsr.utils.color_util import bgr2ycbcr, rgb2ycbcr, to_y_channel


@pytest.fixture
def noisy_pair(photo):
    """``noisy_pair(name, size, sigma, seed)``: a photo crop and a noisy copy, BGR float64 in [0, 255]."""
    def pair(name='astronaut', size=128, sigma=12.0, seed=0):
        rgb = photo(name, size).astype(np.float64)
        noisy = np.clip(rgb + np.random.default_rng(seed).normal(0, sigma, rgb.shape), 0, 255).round()
        return rgb[..., ::-1].copy(), noisy[..., ::-1].copy()  # BGR, [0, 255]
    return pair


def test_psnr_matches_skimage_and_scales(noisy_pair):
    gt, out = noisy_pair()
    ref = peak_signal_noise_ratio(gt, out, data_range=255)
    assert calculate_psnr(out, gt) == pytest.approx(ref, abs=1e-10)
    assert calculate_psnr(out / 255, gt / 255) == pytest.approx(ref, abs=1e-10)  # peak auto-detected as 1
    assert calculate_psnr(gt, gt) == float('inf')
    # crop_border and CHW input
    ref_c = peak_signal_noise_ratio(gt[4:-4, 4:-4], out[4:-4, 4:-4], data_range=255)
    assert calculate_psnr(out.transpose(2, 0, 1), gt.transpose(2, 0, 1), 4, input_order='CHW') == pytest.approx(ref_c)


def test_psnr_on_tensors_equals_arrays(noisy_pair):
    gt, out = noisy_pair()
    t = lambda a: torch.from_numpy(a[..., ::-1].transpose(2, 0, 1).copy() / 255.0)[None]  # noqa: E731  RGB tensor
    assert calculate_psnr(t(out), t(gt)) == pytest.approx(calculate_psnr(out, gt), abs=1e-9)


def test_y_channel_matches_skimage_bt601(noisy_pair):
    gt, out = noisy_pair('coffee')
    y_gt = sk_rgb2ycbcr(gt[..., ::-1] / 255.0)[..., 0]  # skimage: RGB float in [0, 1] -> Y in [16, 235]
    assert np.allclose(to_y_channel(gt)[..., 0], y_gt, atol=1e-9)
    y_out = sk_rgb2ycbcr(out[..., ::-1] / 255.0)[..., 0]
    ref = peak_signal_noise_ratio(y_gt, y_out, data_range=255)
    assert calculate_psnr(out, gt, test_y_channel=True) == pytest.approx(ref, abs=1e-9)
    # uint8 path rounds like MATLAB; white maps to 235 and black to 16
    px = np.array([[[255, 255, 255], [0, 0, 0]]], dtype=np.uint8)
    assert rgb2ycbcr(px, y_only=True).tolist() == [[235, 16]]
    assert np.array_equal(bgr2ycbcr(px[..., ::-1]), rgb2ycbcr(px))


def test_gaussian_window_is_opencv_kernel():
    import cv2
    assert np.allclose(gaussian_window_1d(11, 1.5), cv2.getGaussianKernel(11, 1.5).ravel(), atol=1e-15)


def _ssim_map_reference(a, b, peak, ndim):
    """SSIM map with scipy's gaussian_filter (sigma 1.5, radius 5, replicated borders)."""
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    s = [1.5] * ndim
    f = lambda x: gaussian_filter(x, s, mode='nearest', truncate=3.5)  # noqa: E731
    mu1, mu2 = f(a), f(b)
    s1, s2, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    return ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))


def test_ssim_gray_interior_matches_skimage_and_full_map_matches_scipy(photo):
    gt = photo('camera', 160).astype(np.float64)
    out = np.clip(gt + np.random.default_rng(1).normal(0, 15, gt.shape), 0, 255).round()
    ours = calculate_ssim(out, gt)
    ref_map = _ssim_map_reference(out, gt, 255.0, 2)
    assert ours == pytest.approx(ref_map.mean(), abs=1e-10)
    # skimage crops a 5-pixel border; the interior of the map does not depend on border handling
    sk = structural_similarity(out, gt, data_range=255, gaussian_weights=True, sigma=1.5,
                               use_sample_covariance=False)
    assert ref_map[5:-5, 5:-5].mean() == pytest.approx(sk, abs=1e-10)


def test_ssim_color_is_3d_gaussian_like_official_conv3d(noisy_pair):
    gt, out = noisy_pair('chelsea', 96)
    ours = calculate_ssim(out, gt)
    # The official formulation: Conv3d with an 11x11x11 Gaussian over (H, W, C), replicate padding 5.
    g = torch.from_numpy(gaussian_window_1d())
    k = (g[:, None, None] * g[None, :, None] * g[None, None, :])[None, None]

    def filt(x):
        t = torch.from_numpy(x)[None, None]
        return F.conv3d(F.pad(t, (5, 5, 5, 5, 5, 5), mode='replicate'), k)[0, 0].numpy()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu1, mu2 = filt(out), filt(gt)
    s1, s2, s12 = filt(out * out) - mu1 ** 2, filt(gt * gt) - mu2 ** 2, filt(out * gt) - mu1 * mu2
    ref = (((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))).mean()
    assert ours == pytest.approx(ref, abs=1e-10)
    assert ours == pytest.approx(_ssim_map_reference(out, gt, 255.0, 3).mean(), abs=1e-10)
    assert calculate_ssim(gt, gt) == pytest.approx(1.0)
    assert calculate_ssim(out / 255, gt / 255) == pytest.approx(ours, abs=1e-9)  # peak 1 for [0, 1] inputs


def test_ssim_y_channel_is_2d_on_y(noisy_pair):
    gt, out = noisy_pair('astronaut', 96)
    ref = _ssim_map_reference(to_y_channel(out)[..., 0], to_y_channel(gt)[..., 0], 255.0, 2).mean()
    assert calculate_ssim(out, gt, test_y_channel=True) == pytest.approx(ref, abs=1e-10)


def test_mae_and_dual_pixel_psnr(noisy_pair):
    gt, out = noisy_pair()
    assert calculate_mae(out, gt) == pytest.approx(np.mean(np.abs(out - gt)) / 255)
    six_gt, six_out = np.concatenate([gt, gt], 2), np.concatenate([out, gt], 2)
    assert calculate_psnr(six_out, six_gt) == float('inf')  # one view identical: mean of (x, inf)
    assert calculate_metric({'img': out, 'img2': gt}, {'type': 'calculate_psnr', 'crop_border': 0}) == \
        pytest.approx(calculate_psnr(out, gt))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='shapes differ'):
        calculate_psnr(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))


def test_uint8_ycbcr_rounds_halves_away_from_zero_like_matlab():
    rgb = np.stack(np.meshgrid(np.arange(0, 256, 3), np.arange(0, 256, 5), np.arange(0, 256, 7), indexing='ij'),
                   -1).reshape(-1, 1, 3).astype(np.uint8)
    exact = 16 + rgb.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255
    ties = np.isclose(exact - np.floor(exact), 0.5, atol=1e-9)
    assert ties.any()
    assert np.array_equal(rgb2ycbcr(rgb, y_only=True)[ties], np.floor(exact[ties] + 0.5))
