"""Tests of ``basicsr.utils.inference``: padding, tile arithmetic, tiled/ensembled restoration, clamping."""
from __future__ import annotations

import os
from typing import Any, Dict, List

import numpy as np
import pytest
import torch
import torch.nn as nn
from skimage import data

from basicsr.models.archs import Restormer
from basicsr.utils.inference import (dihedral, pad_to_multiple, restore, self_ensemble_forward, tile_starts,
                                     tiled_forward)

TINY: Dict[str, Any] = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1])
VARIANTS = {
    'color': dict(TINY),
    'gray': dict(TINY, inp_channels=1, out_channels=1, LayerNorm_type='BiasFree'),
    'dual_pixel': dict(TINY, inp_channels=6, out_channels=3, dual_pixel_task=True),
}


def tiny(variant: str = 'color', seed: int = 0) -> Restormer:
    torch.manual_seed(seed)
    return Restormer(**VARIANTS[variant]).eval()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float('inf') if mse == 0 else 10 * np.log10(1.0 / mse)


def photo_tensor(size: int = 256) -> torch.Tensor:
    """A real photo (scikit-image astronaut, top-left ``size`` x ``size``) as a 1x3xHxW tensor in [0, 1]."""
    img = data.astronaut()[:size, :size]
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255


class Affine(nn.Module):
    """Pixel-wise ``scale * x + shift``: equivariant to flips/rotations, and easy to push out of [0, 1]."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))
        self.shift = shift
        self.seen: List[Dict[str, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(dict(inference=torch.is_inference_mode_enabled(), grad=torch.is_grad_enabled()))
        return x * self.scale + self.shift


# ---------------------------------------------------------------- padding and tile arithmetic

@pytest.mark.parametrize('h,w', [(1, 1), (2, 3), (7, 9), (8, 8), (9, 17), (3, 200), (31, 45)])
def test_pad_to_multiple_round_trip(h: int, w: int) -> None:
    x = torch.rand(2, 3, h, w)
    padded, (oh, ow) = pad_to_multiple(x, 8)
    assert (oh, ow) == (h, w)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    assert padded.shape[-2] - h < 8 and padded.shape[-1] - w < 8
    assert torch.equal(padded[..., :h, :w], x)


def test_pad_uses_reflect_and_falls_back_to_replicate() -> None:
    x = torch.arange(9.0).reshape(1, 1, 9, 1).expand(1, 1, 9, 8)
    padded, _ = pad_to_multiple(x, 8)
    assert padded[0, 0, 9:, 0].tolist() == [7, 6, 5, 4, 3, 2, 1]  # reflect (edge not repeated)
    tiny_img = torch.rand(1, 3, 2, 3)
    padded, _ = pad_to_multiple(tiny_img, 8)  # too small to reflect 6 rows: replicate
    assert torch.equal(padded[..., 7, :3], tiny_img[..., 1, :])
    assert torch.equal(padded[..., 1, 7], tiny_img[..., 1, 2])


def test_pad_noop_for_multiples() -> None:
    x = torch.rand(1, 3, 16, 24)
    padded, hw = pad_to_multiple(x, 8)
    assert padded is x and hw == (16, 24)


def test_tile_starts_official_example() -> None:
    # 1280x720 frame, --tile 720 --tile_overlap 32 (spec section 7): stride 688
    assert tile_starts(720, 720, 720 - 32) == [0]
    assert tile_starts(1280, 720, 720 - 32) == [0, 560]


@pytest.mark.parametrize('length,tile,stride', [(100, 32, 24), (64, 64, 32), (65, 64, 32), (1000, 128, 96),
                                                (40, 64, 32)])
def test_tile_starts_cover_the_axis(length: int, tile: int, stride: int) -> None:
    starts = tile_starts(length, tile, stride)
    # the official rule: range(0, length - tile, stride) + [length - tile], or one tile when it is large enough
    expected = [0] if tile >= length else list(range(0, length - tile, stride)) + [length - tile]
    assert starts == expected
    covered = np.zeros(length, bool)
    for s in starts:
        covered[s:s + tile] = True
    assert covered.all()
    assert all(0 < b - a <= stride for a, b in zip(starts, starts[1:]))


# ---------------------------------------------------------------- tiled restoration

def test_tile_larger_than_image_equals_untiled() -> None:
    net = tiny()
    x = torch.rand(1, 3, 45, 67)
    full = restore(net, x)
    for tile in (72, 128, 1024):
        tiled = restore(net, x, tile=tile, tile_overlap=32)
        assert torch.allclose(tiled, full, atol=1e-7, rtol=0), tile


def test_tiling_stays_close_on_a_real_photo() -> None:
    """Restormer's attention is global (spatial statistics), so tiles change the output, but only a little."""
    net = tiny(seed=0)
    x = photo_tensor(256)
    full = restore(net, x, clamp=False)
    uniform = restore(net, x, tile=128, tile_overlap=32, blend='uniform', clamp=False)
    feather = restore(net, x, tile=128, tile_overlap=32, blend='feather', clamp=False)
    p_uniform, p_feather = psnr(uniform, full), psnr(feather, full)
    assert p_uniform < 60, 'tiling should matter for a global-attention network'
    assert p_uniform > 30 and p_feather > 30, (p_uniform, p_feather)
    assert p_feather >= p_uniform, (p_uniform, p_feather)
    # tiling error is small compared with what the network does to the image
    assert p_uniform > psnr(full, x) + 5


def test_tile_batch_gives_identical_results() -> None:
    net = tiny()
    x = torch.rand(1, 3, 80, 104)
    one = restore(net, x, tile=48, tile_overlap=16, tile_batch=1)
    four = restore(net, x, tile=48, tile_overlap=16, tile_batch=4)
    assert torch.allclose(one, four, atol=1e-6, rtol=0)


@pytest.mark.parametrize('blend', ['uniform', 'feather'])
def test_tiled_identity_network_is_exact(blend: str) -> None:
    """Blending weights must normalise: an identity network gives back the input whatever the tiling."""
    x = torch.rand(2, 3, 72, 88)
    out = tiled_forward(nn.Identity(), x, tile=32, tile_overlap=8, tile_batch=3, blend=blend)
    assert torch.allclose(out, x, atol=1e-6)


def test_tiled_forward_rejects_bad_arguments() -> None:
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match='multiple of 8'):
        tiled_forward(nn.Identity(), x, tile=30)
    with pytest.raises(ValueError, match='tile_overlap'):
        tiled_forward(nn.Identity(), x, tile=16, tile_overlap=16)
    with pytest.raises(ValueError, match='blend'):
        tiled_forward(nn.Identity(), x, tile=16, tile_overlap=4, blend='gaussian')


# ---------------------------------------------------------------- self-ensemble

def test_self_ensemble_of_identity_like_network_returns_input() -> None:
    net = tiny()
    nn.init.zeros_(net.output.weight)  # output(r) == 0, so the global residual makes the network the identity
    x = torch.rand(1, 3, 37, 50)
    assert torch.allclose(restore(net, x, self_ensemble=True), x, atol=1e-6)
    assert torch.allclose(restore(net, x, self_ensemble=True, tile=24, tile_overlap=8), x, atol=1e-6)


def test_self_ensemble_is_equivariant() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 3, 3, padding=1).eval()  # generic kernel: not flip/rotation equivariant
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        ens = self_ensemble_forward(conv, x)
        assert not torch.allclose(ens, conv(x), atol=1e-4)
        for mode in range(8):
            assert torch.allclose(self_ensemble_forward(conv, dihedral(x, mode)), dihedral(ens, mode), atol=1e-5)


# ---------------------------------------------------------------- restore on the three network variants

@pytest.mark.parametrize('variant,cin,cout', [('color', 3, 3), ('gray', 1, 1), ('dual_pixel', 6, 3)])
def test_restore_variants(variant: str, cin: int, cout: int) -> None:
    net = tiny(variant)
    x = torch.rand(1, cin, 29, 43)
    out = restore(net, x, clamp=False)
    assert out.shape == (1, cout, 29, 43)
    padded, _ = pad_to_multiple(x, 8)
    with torch.no_grad():
        ref = net(padded)[..., :29, :43]
    assert torch.allclose(out, ref, atol=1e-6)
    tiled = restore(net, x, tile=16, tile_overlap=8)
    assert tiled.shape == (1, cout, 29, 43) and torch.isfinite(tiled).all()


def test_restore_batch_of_images() -> None:
    net = tiny()
    x = torch.rand(2, 3, 24, 40)
    out = restore(net, x, tile=16, tile_overlap=8, tile_batch=3)
    assert torch.allclose(out[1:], restore(net, x[1:], tile=16, tile_overlap=8), atol=1e-6)


def test_restore_clamps_to_unit_range() -> None:
    net = Affine(scale=3.0, shift=-1.0)
    x = torch.rand(1, 3, 20, 20)
    out = restore(net, x)
    assert out.min() >= 0 and out.max() <= 1
    assert out.min() == 0 and out.max() == 1
    raw = restore(net, x, clamp=False)
    assert raw.min() < 0 and raw.max() > 1
    assert torch.equal(restore(net, x, tile=8, tile_overlap=4), out.clamp(0, 1))


def test_restore_runs_under_inference_mode() -> None:
    net = Affine()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    out = restore(net, x, tile=8, tile_overlap=0, self_ensemble=True)
    assert net.seen and all(s['inference'] and not s['grad'] for s in net.seen)
    assert not out.requires_grad and out.grad_fn is None


def test_restore_bf16_autocast_is_close() -> None:
    net = tiny()
    x = torch.rand(1, 3, 32, 32)
    assert psnr(restore(net, x, amp='bf16'), restore(net, x)) > 25


def test_peak_memory_grows_with_tile_size_not_image_size():
    """Fresh subprocess per configuration (scripts/benchmark_inference.py), peak RSS around restore()."""
    from benchmark_inference import run_worker  # scripts/ is on sys.path (conftest)
    if not os.path.exists('/proc/self/clear_refs'):
        pytest.skip('needs Linux /proc to reset the peak RSS')
    cfg = dict(overlap=16, tile_batch=1, batches=1, dim=16, threads=1)
    small_tile = run_worker(dict(cfg, height=512, width=512, tile=64))
    big_tile = run_worker(dict(cfg, height=512, width=512, tile=256))
    big_image = run_worker(dict(cfg, height=1024, width=1024, tile=64))
    tile_growth = big_tile['peak_delta_mib'] - small_tile['peak_delta_mib']
    image_growth = big_image['peak_delta_mib'] - small_tile['peak_delta_mib']
    assert tile_growth > 100  # activations of a 256^2 tile vs a 64^2 tile
    assert image_growth < 6 * big_image['image_mib']  # a few image-sized buffers (output, weights, input)
    assert image_growth < 0.3 * tile_growth
