"""The Python API (``basicsr.Restorer``): construction from a task, an option file or an experiment, image
types in and out, automatic tiling, and errors that name what is wrong."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

from basicsr import Restorer
from basicsr.config import parse
from basicsr.evaluation.restorer import auto_tile
from basicsr.models.archs import Restormer, build_network
from basicsr.utils.errors import CheckpointError, DataMismatchError, MissingInputError, OptionError, OutputConflictError
from basicsr.utils.img_util import imread_rgb, imwrite
from basicsr.utils.inference import restore

TINY_SET = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
            'network_g.heads=[1,2,2,4]']
DERAIN_OPT = os.path.join('Deraining', 'Options', 'Deraining_Restormer.yml')


def _tiny(seed: int = 0, **kwargs: Any) -> Restormer:
    torch.manual_seed(seed)
    net = Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4], **kwargs).eval()
    with torch.no_grad():  # a visible effect, so that "restored" is not "copied"
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


@pytest.fixture
def weights(tmp_path) -> str:
    path = str(tmp_path / 'tiny.pth')
    torch.save({'params': _tiny().state_dict()}, path)
    return path


def _expected(net: torch.nn.Module, img: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    out = restore(net, x, multiple=8, tile=None)[0].permute(1, 2, 0).numpy()
    return np.round(out * 255.0).astype(np.uint8)


def _assert_same_image(a: np.ndarray, b: np.ndarray) -> None:
    # equal up to a float32 rounding flip of the 8-bit quantisation in a rare pixel
    diff = np.abs(a.astype(int) - b.astype(int))
    assert a.shape == b.shape and diff.max() <= 1 and diff.mean() < 1e-3


def test_from_task_restores_like_the_network(weights, photo, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    restorer = Restorer.from_task('Deraining', weights, TINY_SET, device='cpu')
    img = photo('astronaut', 60)[:60, :52]  # not a multiple of 8: padded and cropped back
    out = restorer.restore(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    net = _tiny()
    _assert_same_image(out, _expected(net, img))
    assert np.abs(out.astype(int) - img).mean() > 1  # the network changed the image


def test_image_types_in_and_out(weights, photo, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    restorer = Restorer.from_options(DERAIN_OPT, weights, TINY_SET, device='cpu')
    img = photo('astronaut', 48)
    out8 = restorer.restore(img)
    out16 = restorer.restore(img.astype(np.uint16) * 257)  # the same picture in 16 bits
    assert out16.dtype == np.uint16 and out16.shape == img.shape
    assert np.abs(out16 / 257.0 - out8).max() <= 1.0
    outf = restorer.restore(img.astype(np.float32) / 255.0)
    assert outf.dtype == np.float32 and np.abs(outf * 255.0 - out8).max() <= 0.51
    gray = restorer.restore(img[..., 0])  # a gray image for a colour network: replicated to 3 channels
    assert gray.shape == img.shape
    with_alpha = restorer.restore(np.dstack([img, np.full(img.shape[:2], 255, np.uint8)]))
    np.testing.assert_array_equal(with_alpha, out8)


def test_gray_network_returns_gray(tmp_path, photo, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    path = str(tmp_path / 'gray.pth')
    torch.save({'params': _tiny(1, inp_channels=1, out_channels=1, LayerNorm_type='BiasFree').state_dict()}, path)
    restorer = Restorer.from_task('Gaussian_Gray_Denoising', path, TINY_SET, device='cpu')
    assert restorer.in_channels == 1
    out = restorer.restore(photo('camera', 40))
    assert out.shape == (40, 40) and out.dtype == np.uint8
    assert restorer.restore(photo('astronaut', 40)).shape == (40, 40)  # colour in: converted to gray


def test_dual_pixel_pair(tmp_path, photo, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    path = str(tmp_path / 'dp.pth')
    torch.save({'params': _tiny(2, inp_channels=6, dual_pixel_task=True).state_dict()}, path)
    restorer = Restorer.from_task('Dual_Pixel_Defocus_Deblurring', path, TINY_SET, device='cpu')
    left, right = photo('astronaut', 32), photo('coffee', 32)
    assert restorer.restore((left, right)).shape == (32, 32, 3)
    with pytest.raises(DataMismatchError, match='dual-pixel'):
        restorer.restore(left)


def test_automatic_tiling_from_the_memory_budget(weights, photo, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    img = photo('astronaut', 160)
    whole = Restorer.from_options(DERAIN_OPT, weights, TINY_SET, device='cpu', tile=None)
    per_pixel = 240 * 8
    tight = Restorer.from_options(DERAIN_OPT, weights, TINY_SET, device='cpu', memory_budget=per_pixel * 96 * 96)
    assert whole.tile_for(160, 160) is None
    assert tight.tile_for(160, 160) == 96  # the largest multiple of 8 whose forward fits
    assert tight.tile_for(64, 64) is None  # small images are never tiled
    a, b = whole.restore(img).astype(float), tight.restore(img).astype(float)
    psnr = 10 * np.log10(255.0 ** 2 / np.mean((a - b) ** 2))
    assert 30 < psnr < float('inf')  # tiled: close to, but not the same computation as, the whole image
    assert auto_tile(10_000, 10_000, per_pixel, 1, tile_batch=1) == 64  # never below 64


def test_from_experiment_uses_the_runs_options_and_ema(tmp_path, write_options, photo):
    from basicsr.train import main as train_main
    out = train_main(['-opt', write_options(tmp_path, total_iter=2, name='api', with_val=False,
                                            train__ema_decay=0.5)])
    root = out['experiments_root']
    restorer = Restorer.from_experiment(root, device='cpu')
    latest = os.path.join(root, 'models', 'net_g_latest.pth')
    state = torch.load(latest, weights_only=True)
    assert any(not torch.equal(state['params'][k], state['params_ema'][k]) for k in state['params'])
    options = [f for f in os.listdir(root) if f.startswith('options_')][0]
    net = build_network(parse(os.path.join(root, options), is_train=False)['network_g'], latest,
                        param_key='params_ema').eval()
    img = photo('coffee', 40)
    _assert_same_image(restorer.restore(img), _expected(net, img))
    bare = tmp_path / 'bare' / 'models'
    os.makedirs(bare)
    torch.save(state, bare / 'net_g_latest.pth')
    with pytest.raises(MissingInputError, match='options_'):  # weights without the run's options
        Restorer.from_experiment(str(tmp_path / 'bare'), device='cpu')


def test_restore_file_never_replaces_its_input(weights, photo, tmp_path, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    restorer = Restorer.from_options(DERAIN_OPT, weights, TINY_SET, device='cpu')
    src, dst = str(tmp_path / 'in.png'), str(tmp_path / 'out.png')
    img = photo('astronaut', 40)
    imwrite(img[..., ::-1].copy(), src)
    before = open(src, 'rb').read()
    written = restorer.restore_file(src, dst)
    np.testing.assert_array_equal(imread_rgb(dst, float32=False), written)
    with pytest.raises(OutputConflictError, match='in.png'):
        restorer.restore_file(src, src)
    assert open(src, 'rb').read() == before


def test_errors_name_what_is_wrong(weights, tmp_path, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(MissingInputError, match='nope.pth'):
        Restorer.from_task('Deraining', missing)
    with pytest.raises(KeyError, match='Deraining'):
        Restorer.from_task('Derain')  # the known names are listed
    with pytest.raises(OptionError, match='tile'):
        Restorer.from_options(DERAIN_OPT, weights, TINY_SET, tile=100)
    restorer = Restorer.from_options(DERAIN_OPT, weights, TINY_SET, device='cpu')
    with pytest.raises(DataMismatchError, match='int32'):
        restorer.restore(np.zeros((8, 8, 3), np.int32))
    with pytest.raises(DataMismatchError, match='shape'):
        restorer.restore(np.zeros((2, 8, 8, 3), np.uint8))
    gray = str(tmp_path / 'gray.pth')
    torch.save({'params': _tiny(inp_channels=1, out_channels=1).state_dict()}, gray)
    with pytest.raises(CheckpointError, match='gray.pth'):  # weights of another configuration
        Restorer.from_options(DERAIN_OPT, gray, TINY_SET)
