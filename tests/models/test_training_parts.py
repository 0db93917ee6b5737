"""Pieces of the training step: mixup, EMA, a non-finite loss stopping ``ImageCleanModel`` before the step,
and the CUDA AMP step (skipped without a GPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from basicsr.models.ema import ModelEMA
from basicsr.models.mixup import MixingAugment

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


def test_non_finite_loss_is_counted_on_the_device_and_reported(tmp_path, write_options):
    from basicsr.config import parse
    from basicsr.models import build_model
    opt = parse(write_options(tmp_path, total_iter=2, name='nan', with_val=False), root_path=str(tmp_path))
    model = build_model(opt, torch.device('cpu'))
    good = {'lq': torch.rand(2, 3, 16, 16), 'gt': torch.rand(2, 3, 16, 16)}
    loss = model.optimize_parameters([good], np.random.default_rng(0))['l_pix']
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0 and not loss.requires_grad  # no host sync per step
    model.check_finite(1)  # nothing to report
    bad = {'lq': torch.full((2, 3, 16, 16), float('nan')), 'gt': torch.zeros(2, 3, 16, 16)}
    model.optimize_parameters([bad], np.random.default_rng(0))
    with pytest.raises(FloatingPointError, match=r'non-finite \(1 step\(s\) up to iteration 2\)'):
        model.check_finite(2)
    model.check_finite(3)  # the count restarts after a report


def test_activation_checkpointing_option_gives_the_same_step(tmp_path, write_options):
    from basicsr.config import parse
    from basicsr.models import build_model
    path = write_options(tmp_path, total_iter=2, with_val=False)
    batch = {'lq': torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)),
             'gt': torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))}
    weights = {}
    for mode in (False, 'block', 'level'):
        opt = parse(path, overrides=[f'train.activation_checkpointing={mode}', 'train.mixing_augs.mixup=false'],
                    root_path=str(tmp_path))
        torch.manual_seed(0)
        model = build_model(opt, torch.device('cpu'))
        assert model.net_g.activation_checkpointing == (mode or None)
        model.optimize_parameters([batch], np.random.default_rng(0))
        weights[mode] = {k: v.clone() for k, v in model.net_g.state_dict().items()}
    for mode in ('block', 'level'):
        assert max((weights[mode][k] - weights[False][k]).abs().max().item() for k in weights[False]) < 1e-6
