"""Progressive schedule, accumulation plan and the stage-aware sampler: boundaries, determinism,
sharding, mid-epoch resume, workers; the official progressive crop."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from basicsr.data import build_dataset, build_train_loader
from basicsr.data.progressive import ProgressiveSchedule, official_progressive_crop, plan_accumulation, stage_index
from basicsr.data.sampler import ProgressiveBatchSampler
from basicsr.utils.img_util import imwrite

OFFICIAL = dict(batch_size_per_gpu=8, mini_batch_sizes=[8, 5, 4, 2, 1, 1], iters=[92000, 64000, 48000, 36000, 36000,
                24000], gt_size=384, gt_sizes=[128, 160, 192, 256, 320, 384])


@pytest.mark.parametrize('t, stage', [(1, 0), (92000, 0), (92001, 1), (156000, 1), (156001, 2), (204000, 2),
                                      (204001, 3), (240001, 4), (276000, 4), (276001, 5), (300000, 5), (300001, 5)])
def test_stage_boundaries_are_the_official_ones(t, stage):
    assert stage_index(t, OFFICIAL['iters']) == stage
    s = ProgressiveSchedule(OFFICIAL, 300000).stage(t)
    assert (s.patch_size, s.mini_batch) == ([128, 160, 192, 256, 320, 384][stage], [8, 5, 4, 2, 1, 1][stage])


def test_paper_global_batch_with_any_gpu_count():
    paper = [64, 40, 32, 16, 8, 8]
    for gpus in (1, 2, 4, 8):
        plans = plan_accumulation(OFFICIAL['mini_batch_sizes'], recipe_gpus=8, world_size=gpus, grad_accum='auto')
        for plan, target, per_gpu in zip(plans, paper, OFFICIAL['mini_batch_sizes']):
            assert gpus * plan['micro_batch'] * plan['accum'] == target == plan['global_batch']
            assert plan['micro_batch'] <= per_gpu  # never more memory per step than the recipe
    assert [p['accum'] for p in plan_accumulation([8, 5, 4, 2, 1, 1], 8, 1, 'auto')] == [8] * 6
    with pytest.raises(ValueError, match='cannot be split evenly over 3'):
        plan_accumulation([8, 5], 8, 3, 'auto')
    explicit = plan_accumulation([8, 5], recipe_gpus=1, world_size=2, grad_accum='auto', global_batch_sizes=[32, 10])
    assert [(p['micro_batch'], p['accum']) for p in explicit] == [(8, 2), (5, 1)]
    with pytest.raises(ValueError, match='one entry per progressive stage'):
        plan_accumulation([8, 5], 1, 1, 'auto', [32])
    fixed = plan_accumulation([8, 5], 8, 2, 3)
    assert [(p['micro_batch'], p['accum'], p['global_batch']) for p in fixed] == [(8, 3, 48), (5, 3, 30)]


def _schedule(total=12, world=1, accum=1, official=False):
    opt = dict(batch_size_per_gpu=4, mini_batch_sizes=[4, 2, 1], iters=[4, 4, 4], gt_size=32, gt_sizes=[16, 24, 32],
               progressive_mode='official' if official else 'stage_aware')
    return ProgressiveSchedule(opt, total, world_size=world, recipe_gpus=world, grad_accum=accum)


def _batches(sampler):
    return [[tuple(s) for s in b] for b in sampler]


def test_sampler_yields_stage_sizes():
    sampler = ProgressiveBatchSampler(10, _schedule(), seed=3)
    batches = _batches(sampler)
    assert [len(b) for b in batches] == [4] * 4 + [2] * 4 + [1] * 4
    assert [b[0][1] for b in batches] == [16] * 4 + [24] * 4 + [32] * 4
    assert len(sampler) == 12
    official = _batches(ProgressiveBatchSampler(10, _schedule(official=True), seed=3))
    assert {len(b) for b in official} == {4} and {b[0][1] for b in official} == {32}  # loads gt_size always


def test_accumulation_micro_batches():
    sched = _schedule(accum=2)
    batches = _batches(ProgressiveBatchSampler(10, sched, seed=3))
    assert len(batches) == 24 and [len(b) for b in batches[:8]] == [4] * 8


def test_determinism_and_epochs_are_permutations():
    a = _batches(ProgressiveBatchSampler(10, _schedule(), seed=5))
    b = _batches(ProgressiveBatchSampler(10, _schedule(), seed=5))
    c = _batches(ProgressiveBatchSampler(10, _schedule(), seed=6))
    assert a == b and a != c
    epoch0 = [s[0] for batch in a[:2] for s in batch]  # 8 of the 10 samples of epoch 0 (drop-last)
    assert len(set(epoch0)) == 8
    assert a[2][0][2][1] == 1  # third batch of 4 does not fit in epoch 0: epoch 1 starts


def test_distributed_shards_are_disjoint():
    sched = _schedule(world=2)
    r0 = _batches(ProgressiveBatchSampler(16, sched, seed=1, rank=0, world_size=2))
    r1 = _batches(ProgressiveBatchSampler(16, sched, seed=1, rank=1, world_size=2))
    first0 = {s[0] for b in r0[:2] for s in b}
    first1 = {s[0] for b in r1[:2] for s in b}
    assert first0.isdisjoint(first1) and len(first0 | first1) == 16
    assert [len(b) for b in r0] == [len(b) for b in r1]  # every rank steps in lock-step


@pytest.mark.parametrize('start', [1, 3, 4, 5, 7, 9, 11])
def test_resume_at_any_iteration_continues_the_same_order(start):
    for accum, world, rank in ((1, 1, 0), (2, 1, 0), (1, 2, 1)):
        sched = _schedule(accum=accum, world=world)
        full = _batches(ProgressiveBatchSampler(9, sched, seed=2, rank=rank, world_size=world))
        resumed = _batches(ProgressiveBatchSampler(9, sched, seed=2, rank=rank, world_size=world, start_iter=start))
        per_iter = [sched.stage(t).accum for t in range(1, 13)]
        assert resumed == full[sum(per_iter[:start]):]


def test_too_small_dataset_is_reported():
    with pytest.raises(ValueError, match='fewer than one batch of 4'):
        ProgressiveBatchSampler(3, _schedule(), seed=0)


def test_loader_with_workers_equals_single_process(tmp_path, photo):
    root = str(tmp_path / 'clean')
    src = photo('astronaut')
    for i in range(6):
        imwrite(src[i * 60:i * 60 + 40, i * 30:i * 30 + 40, ::-1].copy(), os.path.join(root, f'{i}.png'))
    dopt = dict(type='Dataset_GaussianDenoising', phase='train', dataroot_gt=root, in_ch=3, sigma_type='random',
                sigma_range=[0, 50], gt_size=32, geometric_augs=True, io_backend={'type': 'disk'},
                batch_size_per_gpu=4, mini_batch_sizes=[4, 2], iters=[3, 3], gt_sizes=[16, 32], use_shuffle=True)
    ds = build_dataset(dopt)
    sched = ProgressiveSchedule(dopt, 6)
    outs = []
    for workers in (0, 2):
        loader = build_train_loader(ds, dict(dopt, num_worker_per_gpu=workers), sched, seed=11, pin_memory=False)
        outs.append([(b['lq'], b['gt']) for b in loader])
    assert [tuple(x[0].shape) for x in outs[0]] == [(4, 3, 16, 16)] * 3 + [(2, 3, 32, 32)] * 3
    for (lq0, gt0), (lq1, gt1) in zip(*outs):
        assert torch.equal(lq0, lq1) and torch.equal(gt0, gt1)
    resumed = build_train_loader(ds, dict(dopt, num_worker_per_gpu=0), sched, seed=11, start_iter=4, pin_memory=False)
    tail = [(b['lq'], b['gt']) for b in resumed]
    assert len(tail) == 2 and all(torch.equal(a[0], b[0]) for a, b in zip(tail, outs[0][4:]))
    assert np.isfinite(outs[0][0][0].numpy()).all()


def test_official_progressive_crop_same_window_for_the_batch():
    x = torch.arange(8 * 32 * 32, dtype=torch.float32).reshape(8, 1, 32, 32)
    batch = {'lq': x, 'gt': x + 0.5, 'lq_path': ['p'] * 8}
    out = official_progressive_crop(batch, 3, 16, np.random.default_rng(0))
    assert out['lq'].shape == (3, 1, 16, 16) and torch.equal(out['gt'], out['lq'] + 0.5)
    offsets = {(int(t[0, 0, 0]) % 1024) for t in out['lq']}
    assert len(offsets) == 1  # one window for the whole batch
    assert len({int(t[0, 0, 0]) // 1024 for t in out['lq']}) == 3  # three distinct samples
