"""Evaluation protocols of the paper's tables, checked by hand or against independent libraries."""
import logging
import math
import sys

import cv2
import numpy as np
import pytest
import skimage.data
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity

from basicsr.metrics import calculate_psnr, calculate_ssim
from basicsr.metrics.dpdd import (build_lpips, calculate_psnr_dpdd, calculate_ssim_dpdd, dpdd_metrics, dpdd_summaries,
                                  load_dpdd_labels, split_by_labels)
from basicsr.metrics.matlab_protocols import (calculate_psnr_y_matlab, calculate_ssim_y_wang, deraining_metrics,
                                              gopro_hide_metrics, matlab_y_uint8, sidd_metrics, ssim_index_map)
from basicsr.metrics.protocols import gaussian_denoising_metrics, get_protocol
from basicsr.metrics.realblur import realblur_align, realblur_metrics, realblur_psnr, realblur_ssim
from basicsr.utils.registry import METRIC_REGISTRY


def _photo_pair(seed=0, sigma=12.0, size=(64, 80)):
    """A real photo crop (BGR uint8) and a noisy copy of it."""
    img = np.ascontiguousarray(skimage.data.astronaut()[120:120 + size[0], 180:180 + size[1], ::-1])
    rng = np.random.default_rng(seed)
    noisy = np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).round().astype(np.uint8)
    return noisy, img


# ----------------------------------------------------------------------------------------- deraining


def _matlab_y_by_hand(r, g, b):
    # Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, rounded half away from zero (MATLAB uint8); exact integers.
    num = 65481 * r + 128553 * g + 24966 * b  # x 1000
    return 16 + (2 * num + 255000) // 510000


def test_matlab_y_channel_by_hand():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0]],
                    [[0, 0, 255], [100, 150, 200], [12, 200, 7], [250, 3, 90]]], dtype=np.uint8)
    y = matlab_y_uint8(rgb[..., ::-1])  # BGR in
    assert y.dtype == np.uint8
    # Worked examples: 16, 235, 16 + 65.481 = 81.48 -> 81, 16 + 128.553 -> 145, 16 + 24.966 -> 41,
    # 16 + (6548.1 + 19282.95 + 4993.2) / 255 = 136.88 -> 137.
    assert y[0].tolist() == [16, 235, 81, 145]
    assert y[1, :2].tolist() == [41, 137]
    expected = _matlab_y_by_hand(*[rgb[..., c].astype(np.int64) for c in range(3)])
    np.testing.assert_array_equal(y, expected)


def test_matlab_y_channel_random_colours_match_exact_rounding():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(64, 64, 3), dtype=np.int64)
    num = 65481 * rgb[..., 0] + 128553 * rgb[..., 1] + 24966 * rgb[..., 2]
    not_tie = num % 255000 != 127500  # exact .5 ties are floating-point-order dependent (194 of 2^24 colours)
    y = matlab_y_uint8(rgb[..., ::-1].astype(np.uint8))
    np.testing.assert_array_equal(y[not_tie], _matlab_y_by_hand(*np.moveaxis(rgb, -1, 0))[not_tie])


def test_wang_ssim_matches_skimage_on_valid_region():
    noisy, clean = _photo_pair()
    y1, y2 = matlab_y_uint8(noisy), matlab_y_uint8(clean)
    ours = ssim_index_map(y1, y2)
    assert ours.shape == (y1.shape[0] - 10, y1.shape[1] - 10)
    mean_sk, map_sk = structural_similarity(y1.astype(np.float64), y2.astype(np.float64), gaussian_weights=True,
                                            sigma=1.5, use_sample_covariance=False, data_range=255, full=True)
    # skimage filters with 'reflect' borders and averages the map without its 5-px border: the interior
    # positions are exactly those where the 11x11 window fits, i.e. MATLAB's 'valid' map.
    np.testing.assert_allclose(ours, map_sk[5:-5, 5:-5], rtol=0, atol=1e-10)
    assert calculate_ssim_y_wang(noisy, clean) == pytest.approx(mean_sk, abs=1e-10)
    assert calculate_ssim_y_wang(clean, clean) == pytest.approx(1.0)


def test_deraining_psnr_by_hand():
    noisy, clean = _photo_pair(seed=3)
    y1, y2 = matlab_y_uint8(noisy).astype(np.float64), matlab_y_uint8(clean).astype(np.float64)
    expected = 10 * math.log10(255 ** 2 / np.mean((y1 - y2) ** 2))
    assert calculate_psnr_y_matlab(noisy, clean) == pytest.approx(expected, abs=1e-12)
    assert deraining_metrics(noisy, clean) == pytest.approx(
        {'psnr': expected, 'ssim': calculate_ssim_y_wang(noisy, clean)})
    assert math.isinf(calculate_psnr_y_matlab(clean, clean))
    # Y is rounded to uint8 first, unlike the BasicSR Y PSNR (unrounded Y), so the two differ slightly.
    assert calculate_psnr_y_matlab(noisy, clean) != pytest.approx(calculate_psnr(noisy, clean, test_y_channel=True),
                                                                  abs=1e-6)


def test_new_metrics_are_registered():
    for name in ('calculate_psnr_y_matlab', 'calculate_ssim_y_wang', 'calculate_psnr_realblur',
                 'calculate_ssim_realblur', 'calculate_psnr_dpdd', 'calculate_ssim_dpdd'):
        assert name in METRIC_REGISTRY
    with pytest.raises(KeyError, match='deraining'):
        get_protocol('derain')


# ------------------------------------------------------------------------------------ GoPro / HIDE


def test_gopro_hide_uses_3d_gaussian_ssim_and_peak_255():
    noisy, clean = _photo_pair(seed=4, size=(40, 48))
    out = gopro_hide_metrics(noisy, clean)
    mse = np.mean((noisy.astype(np.float64) - clean) ** 2)
    assert out['psnr'] == pytest.approx(10 * math.log10(255 ** 2 / mse), abs=1e-10)
    # Independent 3-D SSIM: scipy's n-D Gaussian (sigma 1.5, radius 5 -> 11x11x11), replicated borders,
    # constants for L = 255, mean over the whole H x W x 3 map (MATLAB ssim on an RGB array).
    a, b = noisy.astype(np.float64), clean.astype(np.float64)

    def filt(x):
        return gaussian_filter(x, 1.5, mode='nearest', truncate=5 / 1.5)
    mu1, mu2 = filt(a), filt(b)
    s1, s2, s12 = filt(a * a) - mu1 ** 2, filt(b * b) - mu2 ** 2, filt(a * b) - mu1 * mu2
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim_3d = np.mean((2 * mu1 * mu2 + c1) * (2 * s12 + c2) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2)))
    assert out['ssim'] == pytest.approx(ssim_3d, abs=1e-10)
    assert out['ssim'] == pytest.approx(calculate_ssim(noisy, clean, max_value=255))


# ----------------------------------------------------------------------------------------- RealBlur


def test_realblur_alignment_recovers_homography_and_intensity():
    img = np.ascontiguousarray(skimage.data.coffee()[80:208, 120:280, ::-1])  # real photo, BGR
    h, w = img.shape[:2]
    homography = np.array([[1.01, 0.008, 1.5], [-0.006, 0.995, -1.2], [2e-5, -1e-5, 1.0]])
    warped = cv2.warpPerspective(img.astype(np.float32) / 255, homography, (w, h), flags=cv2.INTER_CUBIC,
                                 borderMode=cv2.BORDER_REFLECT)
    restored = np.clip(0.8 * warped, 0, 1)  # darker and misaligned
    aligned = realblur_align(restored, img)
    assert aligned.scale == pytest.approx(1 / 0.8, rel=0.03)
    # ECC finds W with restored(W x) = gt(x); restored = gt(H^-1 x), so W = H: compare where W and H
    # send a grid of interior points (the borders are reflected, so they do not constrain W).
    ys, xs = np.mgrid[h // 4:3 * h // 4:8, w // 4:3 * w // 4:8]
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    mapped, expected = aligned.warp.astype(np.float64) @ points, homography @ points
    np.testing.assert_allclose(mapped[:2] / mapped[2], expected[:2] / expected[2], atol=0.1)
    psnr = realblur_psnr(aligned)
    assert psnr > 35
    unaligned = calculate_psnr(np.clip(restored / 0.8, 0, 1), img.astype(np.float32) / 255, max_value=1.0)
    assert psnr > unaligned + 8
    # The formulas, recomputed from the alignment.
    m = aligned.mask
    assert m.min() == 0 and m.max() == 1 and m[h // 2, w // 2].all()
    mse = np.sum((aligned.gt.astype(np.float64) - aligned.restored) ** 2) / m.sum()
    assert psnr == pytest.approx(10 * math.log10(1 / mse), abs=1e-6)  # official: float32 squares
    _, smap = structural_similarity(aligned.gt, aligned.restored, channel_axis=-1, gaussian_weights=True,
                                    use_sample_covariance=False, data_range=1.0, full=True)
    smap, mc = (smap * m)[5:-5, 5:-5], m[5:-5, 5:-5]
    assert realblur_ssim(aligned) == pytest.approx(np.mean(smap.sum((0, 1)) / mc.sum((0, 1))), abs=1e-6)
    assert realblur_metrics(restored, img)['psnr'] == pytest.approx(psnr)


def test_realblur_failure_falls_back_to_identity(caplog):
    flat = np.full((24, 24, 3), 0.5, np.float32)
    with caplog.at_level(logging.WARNING, logger='basicsr'):
        out = realblur_align(flat, flat, name='flat.png')
    np.testing.assert_allclose(out.warp, np.eye(3))
    assert 'flat.png' in caplog.text


# --------------------------------------------------------------------------------------------- DPDD


def test_dpdd_metrics_match_direct_computation():
    noisy, clean = _photo_pair(seed=5)
    a, b = noisy.astype(np.float32) / 255, clean.astype(np.float32) / 255
    out = dpdd_metrics(a, b)
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    assert out['psnr'] == pytest.approx(10 * np.log10(1 / mse), abs=1e-10)
    assert out['ssim'] == pytest.approx(structural_similarity(b, a, data_range=1.0, channel_axis=-1), abs=1e-7)
    assert out['mae'] == pytest.approx(np.mean([np.mean(np.abs(a[..., c] - b[..., c])) for c in range(3)]), abs=1e-7)
    assert set(out) == {'psnr', 'ssim', 'mae'}
    assert calculate_psnr_dpdd(b, b) == 100.0
    # 16-bit integers are rescaled by 65535, 8-bit by 255.
    assert calculate_psnr_dpdd(noisy, clean) == pytest.approx(out['psnr'], abs=1e-4)
    c16 = (clean.astype(np.uint32) * 257).astype(np.uint16)
    assert calculate_ssim_dpdd(c16, clean) == pytest.approx(1.0)
    assert dpdd_metrics(a, b, lpips_fn=lambda x, y: 0.25)['lpips'] == 0.25


def test_lpips_unavailable_gives_one_clear_message(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, 'lpips', None)  # import lpips -> ImportError
    with caplog.at_level(logging.WARNING, logger='basicsr'):
        assert build_lpips() is None
    assert len(caplog.records) == 1 and 'LPIPS' in caplog.text


def test_dpdd_indoor_outdoor_split(tmp_path, caplog):
    rows = [{'psnr': float(i), 'ssim': i / 10} for i in range(1, 7)]
    assert split_by_labels([r['psnr'] for r in rows], np.array([1, 3, 6])) == [1.0, 3.0, 6.0]
    with pytest.raises(ValueError, match='1-based'):
        split_by_labels([1.0, 2.0], np.array([0, 1]))
    np.save(tmp_path / 'indoor_labels.npy', np.array([1, 2, 5]))
    np.save(tmp_path / 'outdoor_labels.npy', np.array([3, 4, 6]))
    labels = load_dpdd_labels(str(tmp_path))
    s = dpdd_summaries(rows, labels, ['psnr', 'ssim'])
    assert s['combined']['psnr'] == pytest.approx(3.5)
    assert s['indoor']['psnr'] == pytest.approx((1 + 2 + 5) / 3)
    assert s['outdoor']['ssim'] == pytest.approx((0.3 + 0.4 + 0.6) / 3)
    with caplog.at_level(logging.WARNING, logger='basicsr'):
        assert load_dpdd_labels(str(tmp_path / 'missing')) is None
    assert 'indoor_labels.npy' in caplog.text
    assert list(dpdd_summaries(rows, None, ['psnr'])) == ['combined']


# ------------------------------------------------------------------------------ denoising and SIDD


def test_gaussian_denoising_psnr_all_channels_peak_255():
    noisy, clean = _photo_pair(seed=6)
    mse = np.mean((noisy.astype(np.float64) - clean) ** 2)
    assert gaussian_denoising_metrics(noisy, clean)['psnr'] == pytest.approx(10 * np.log10(255 ** 2 / mse))
    gray = np.zeros((16, 16, 1), np.uint8)  # peak stays 255 for a dark image
    assert gaussian_denoising_metrics(gray + 1, gray)['psnr'] == pytest.approx(10 * np.log10(255 ** 2))


def test_sidd_metrics_per_block():
    rng = np.random.default_rng(7)
    gt = rng.integers(0, 256, size=(2, 3, 16, 16, 3), dtype=np.uint8)
    den = np.clip(gt / 255.0 + rng.normal(0, 0.02, gt.shape), 0, 1).astype(np.float32)
    psnr, ssim = sidd_metrics(den, gt)
    assert psnr.shape == ssim.shape == (2, 3)
    g = gt[1, 2].astype(np.float32) / 255
    assert psnr[1, 2] == pytest.approx(calculate_psnr(den[1, 2], g, max_value=1.0))
    assert ssim[1, 2] == pytest.approx(calculate_ssim(den[1, 2], g, max_value=1.0))
    mse = np.mean((den[0, 0].astype(np.float64) - gt[0, 0].astype(np.float32) / 255) ** 2)
    assert psnr[0, 0] == pytest.approx(10 * np.log10(1 / mse), abs=1e-6)
