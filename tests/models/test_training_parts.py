"""Pieces of the training step: mixup, EMA, the official progressive crop, prefetchers, train.sh,
and the CUDA-only paths (skipped without a GPU)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from basicsr.data.prefetcher import CPUPrefetcher, CUDAPrefetcher, make_prefetcher
from basicsr.models.ema import ModelEMA
from basicsr.data.progressive import official_progressive_crop
from basicsr.models.mixup import MixingAugment
from conftest import REPO_ROOT

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


def test_mixup_mixes_input_and_target_identically():
    g = torch.Generator().manual_seed(0)
    gt, lq = torch.rand(6, 3, 4, 4, generator=g), torch.rand(6, 3, 4, 4, generator=g)
    noise = lq - gt
    rng = np.random.default_rng(1)
    mixed_gt, mixed_lq = MixingAugment(1.2, use_identity=False)(gt, lq, rng)
    assert not torch.allclose(mixed_gt, gt)
    # a convex combination of pairs keeps (lq - gt) a combination of the same pairs' differences
    rng = np.random.default_rng(1)
    lam = rng.beta(1.2, 1.2)
    perm = torch.from_numpy(rng.permutation(6))
    assert torch.allclose(mixed_gt, lam * gt + (1 - lam) * gt[perm])
    assert torch.allclose(mixed_lq - mixed_gt, lam * noise + (1 - lam) * noise[perm], atol=1e-6)
    rng = np.random.default_rng(3)
    applied = sum(not torch.equal(MixingAugment(1.2, use_identity=True)(gt, lq, rng)[0], gt) for _ in range(400))
    assert 150 < applied < 250  # about half of the batches with use_identity


def test_ema_update():
    net = torch.nn.Linear(2, 1)
    ema = ModelEMA(net, 0.9)
    with torch.no_grad():
        net.weight.add_(1.0)
    before = ema.module.weight.clone()
    ema.update(net)
    assert torch.allclose(ema.module.weight, 0.9 * before + 0.1 * net.weight)
    with pytest.raises(ValueError):
        ModelEMA(net, 1.5)


def test_official_progressive_crop_same_window_for_the_batch():
    x = torch.arange(8 * 32 * 32, dtype=torch.float32).reshape(8, 1, 32, 32)
    batch = {'lq': x, 'gt': x + 0.5, 'lq_path': ['p'] * 8}
    out = official_progressive_crop(batch, 3, 16, np.random.default_rng(0))
    assert out['lq'].shape == (3, 1, 16, 16) and torch.equal(out['gt'], out['lq'] + 0.5)
    offsets = {(int(t[0, 0, 0]) % 1024) for t in out['lq']}
    assert len(offsets) == 1  # one window for the whole batch
    assert len({int(t[0, 0, 0]) // 1024 for t in out['lq']}) == 3  # three distinct samples


def test_cpu_prefetcher_and_fallback():
    data = [{'lq': torch.full((1,), float(i))} for i in range(3)]
    pf = make_prefetcher(data, 'cuda', torch.device('cpu'))
    assert type(pf) is CPUPrefetcher  # no CUDA device: plain iteration
    assert [pf.next()['lq'].item() for _ in range(3)] == [0, 1, 2] and pf.next() is None
    pf.reset()
    assert pf.next()['lq'].item() == 0


@needs_cuda
def test_cuda_prefetcher():
    data = [{'lq': torch.full((2,), float(i)).pin_memory(), 'lq_path': ['x']} for i in range(3)]
    pf = make_prefetcher(data, 'cuda', torch.device('cuda'))
    assert isinstance(pf, CUDAPrefetcher)
    got = [pf.next() for _ in range(4)]
    assert [b['lq'].device.type for b in got[:3]] == ['cuda'] * 3 and got[3] is None
    assert [b['lq'][0].item() for b in got[:3]] == [0, 1, 2]


@needs_cuda
@pytest.mark.parametrize('amp', ['bf16', 'fp16'])
def test_cuda_amp_training_step(amp):
    from basicsr.models.archs.restormer_arch import Restormer
    from basicsr.utils.device import autocast_context
    torch.manual_seed(0)
    net = Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1).cuda()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler('cuda', enabled=amp == 'fp16')
    x = torch.rand(2, 3, 32, 32, device='cuda')
    for _ in range(3):
        opt.zero_grad()
        with autocast_context(torch.device('cuda'), amp):
            loss = (net(x).float() - x).abs().mean()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    assert torch.isfinite(loss)


def test_train_sh_runs_one_cpu_process(tmp_path):
    from test_train import write_options
    path = write_options(tmp_path, total_iter=2, name='sh', with_val=False)
    env = dict(os.environ, NUM_GPUS='0', PYTHON=sys.executable,
               PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([os.path.join(REPO_ROOT, 'train.sh'), path, '--set', 'logger.print_freq=1'], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'Training finished at iteration 2' in proc.stderr
    assert os.path.exists(tmp_path / 'experiments' / 'sh' / 'models' / 'net_g_latest.pth')
    bad = subprocess.run([os.path.join(REPO_ROOT, 'train.sh')], capture_output=True, text=True)
    assert bad.returncode == 2 and 'usage' in bad.stderr
    missing = subprocess.run([os.path.join(REPO_ROOT, 'train.sh'), 'nope.yml'], capture_output=True, text=True)
    assert missing.returncode == 2 and 'option file not found: nope.yml' in missing.stderr


def test_non_finite_loss_stops_before_the_step(tmp_path):
    from basicsr.models import build_model
    from basicsr.config import parse
    from test_train import write_options
    opt = parse(write_options(tmp_path, total_iter=2, name='nan', with_val=False), root_path=str(tmp_path))
    model = build_model(opt, torch.device('cpu'))
    before = {k: v.clone() for k, v in model.net_g.state_dict().items()}
    bad = {'lq': torch.full((2, 3, 16, 16), float('nan')), 'gt': torch.zeros(2, 3, 16, 16)}
    with pytest.raises(FloatingPointError, match=r'loss became non-finite \(nan'):
        model.optimize_parameters([bad], np.random.default_rng(0))
    assert all(torch.equal(v, before[k]) for k, v in model.net_g.state_dict().items())
