"""Shared fixtures of the whole suite: the repository root, tiny network options, real photos, loading
repository scripts by path, and the tiny training option file of the training tests.

Test modules never import this file (nor each other): what they share comes in as fixtures. The
repository root and ``scripts/`` are put on ``sys.path`` here, before any test module is imported, so
that the root ``demo.py`` and the modules in ``scripts/`` import by name (``import demo``,
``import patch_jobs``), as they do when run from the repository.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Callable, Dict

import numpy as np
import pytest
import torch
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (os.path.join(REPO_ROOT, 'scripts'), REPO_ROOT):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Tiny test networks run fastest single-threaded (and the suite's numbers do not depend on thread count).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts single-threaded (two OpenMP threads on a busy 2-core machine can be 20x slower for
    tiny networks), whatever an earlier test set."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


#: smallest Restormer used by the tests (dim 8, one block per level)
TINY_NET: Dict[str, Any] = dict(type='Restormer', inp_channels=3, out_channels=3, dim=8, num_blocks=[1, 1, 1, 1],
                                num_refinement_blocks=1, heads=[1, 2, 2, 4], ffn_expansion_factor=2.66, bias=False,
                                LayerNorm_type='WithBias', dual_pixel_task=False)


def _photo(name: str = 'astronaut', size: int = 0) -> np.ndarray:
    """A real photo shipped with scikit-image as uint8 RGB HxWx3 (or HxW for gray ones)."""
    from skimage import data
    img = getattr(data, name)()
    if size:
        img = img[:size, :size]
    return np.ascontiguousarray(img)


@pytest.fixture(scope='session')
def repo_root() -> str:
    """Absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture
def tiny_net_opt() -> Dict[str, Any]:
    """A fresh copy of the smallest Restormer's ``network_g`` options (``type`` included)."""
    return dict(TINY_NET)


@pytest.fixture(scope='session')
def photo() -> Callable[..., np.ndarray]:
    """The photo loader: ``photo('astronaut', size)`` -> uint8 RGB (gray for 'camera'), top-left ``size`` crop."""
    return _photo


@pytest.fixture
def astronaut() -> np.ndarray:
    return _photo('astronaut')


@pytest.fixture(scope='session')
def load_script(repo_root: str) -> Callable[[str], ModuleType]:
    """``load_script('Deraining/test.py')``: import a repository script by its path relative to the root
    (scripts are not in a package, and several share a name); a fresh module on every call."""
    def load(rel: str) -> ModuleType:
        name = 'script_' + rel.replace('/', '_').replace('.py', '')
        spec = importlib.util.spec_from_file_location(name, os.path.join(repo_root, rel))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


def _make_images(root: str, n: int = 6, size: int = 48) -> str:
    """``n`` photo crops ``p{i}.png`` of ``size`` x ``size`` in ``root``."""
    from basicsr.utils.img_util import imwrite
    src = np.concatenate([_photo('astronaut'), _photo('coffee')[:, :512]], axis=0)
    for i in range(n):
        y, x = (i * 83) % (src.shape[0] - size), (i * 59) % (src.shape[1] - size)
        imwrite(src[y:y + size, x:x + size, ::-1].copy(), os.path.join(root, f'p{i}.png'))
    return root


def _write_options(tmp_path, total_iter=8, name='tiny', with_val=True, **extra) -> str:
    clean = _make_images(str(tmp_path / 'clean'))
    val = _make_images(str(tmp_path / 'val'), n=2, size=40)
    opt = {
        'name': name, 'model_type': 'ImageCleanModel', 'num_gpu': 0, 'manual_seed': 7,
        'datasets': {
            'train': {'name': 'TrainSet', 'type': 'Dataset_GaussianDenoising', 'dataroot_gt': clean, 'in_ch': 3,
                      'sigma_type': 'random', 'sigma_range': [10, 40], 'geometric_augs': True,
                      'num_worker_per_gpu': 0, 'batch_size_per_gpu': 4, 'mini_batch_sizes': [4, 2],
                      'iters': [total_iter // 2, total_iter - total_iter // 2], 'gt_size': 32, 'gt_sizes': [16, 32],
                      'dataset_enlarge_ratio': 2},
            'val': {'name': 'ValSet', 'type': 'Dataset_GaussianDenoising', 'dataroot_gt': val, 'in_ch': 3,
                    'sigma_test': 25}},
        'network_g': dict(TINY_NET, LayerNorm_type='BiasFree'),
        'path': {'root': str(tmp_path)},
        'train': {'total_iter': total_iter, 'optim_g': {'type': 'AdamW', 'lr': 2e-3, 'weight_decay': 1e-4,
                                                        'betas': [0.9, 0.999]},
                  'scheduler': {'type': 'CosineAnnealingRestartCyclicLR', 'periods': [total_iter // 2,
                                total_iter - total_iter // 2], 'restart_weights': [1, 1], 'eta_mins': [2e-3, 1e-5]},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1, 'reduction': 'mean'},
                  'mixing_augs': {'mixup': True, 'mixup_beta': 1.2, 'use_identity': True}},
        'val': {'val_freq': total_iter, 'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}},
        'logger': {'print_freq': 2, 'save_checkpoint_freq': total_iter // 2, 'use_tb_logger': True},
    }
    for dotted, value in extra.items():
        node = opt
        *parents, last = dotted.split('__')
        for k in parents:
            node = node.setdefault(k, {})
        node[last] = value
    if not with_val:
        del opt['datasets']['val'], opt['val']['metrics']
    path = tmp_path / f'{name}.yml'
    path.write_text(yaml.safe_dump(opt))
    return str(path)


@pytest.fixture(scope='session')
def write_options() -> Callable[..., str]:
    """``write_options(tmp_path, total_iter=8, name='tiny', with_val=True, **extra)`` writes the option file of
    a tiny CPU training run (Gaussian denoising of photo crops under ``tmp_path``) and returns its path.
    ``extra`` sets nested options by ``__``-separated keys, e.g. ``train__ema_decay=0.9``."""
    return _write_options
