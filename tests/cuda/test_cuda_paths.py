"""The CUDA-only paths, end to end (skipped without a GPU; ``scripts/gpu_check.sh`` runs them): training with
bf16/fp16 autocast, channels-last and ``torch.compile`` (inductor), the CUDA prefetcher inside training, the
Restorer API on the GPU (automatic tiling from the free GPU memory), and NCCL with two GPUs."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from basicsr.models.archs import Restormer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')

TINY = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1])


@pytest.mark.parametrize('extra', [
    dict(train__amp='bf16'),
    dict(train__amp='fp16'),
    dict(train__channels_last=True, train__amp='bf16'),
    dict(train__compile=True, train__amp='bf16'),
    dict(datasets__train__prefetch_mode='cuda', datasets__train__num_worker_per_gpu=2),
])
def test_training_on_the_gpu(tmp_path, write_options, extra):
    from basicsr.train import main as train_main
    out = train_main(['-opt', write_options(tmp_path, total_iter=4, num_gpu=1, **extra)])
    assert out['iter'] == 4 and np.all(np.isfinite(out['losses']))
    assert 'ValSet/psnr' in out['best_metrics']
    weights = torch.load(os.path.join(out['experiments_root'], 'models', 'net_g_latest.pth'), weights_only=True)
    assert not any(k.startswith(('_orig_mod.', 'module.')) for k in weights['params'])  # loads anywhere


def test_compiled_inference_matches_eager():
    from basicsr.utils.device import compile_network
    torch.manual_seed(0)
    net = Restormer(**TINY).cuda().eval()
    compiled = compile_network(net)
    with torch.inference_mode():
        for size in [(64, 64), (48, 80)]:  # a second size compiles a second static graph
            x = torch.rand(2, 3, *size, device='cuda')
            assert (net(x) - compiled(x)).abs().max().item() < 1e-4


@pytest.mark.parametrize('amp', [None, 'bf16', 'fp16'])
def test_restorer_on_the_gpu(amp):
    from basicsr.evaluation.restorer import Restorer
    torch.manual_seed(0)
    net = Restormer(**TINY)
    cpu = Restorer(net, dict(TINY), device='cpu', tile=None)
    gpu = Restorer(Restormer(**TINY).eval(), dict(TINY), device='cuda', amp=amp, tile='auto')
    gpu.module.load_state_dict(net.state_dict())
    img = (np.random.default_rng(0).random((90, 130, 3)) * 255).astype(np.uint8)
    diff = np.abs(cpu.restore(img).astype(int) - gpu.restore(img).astype(int)).max()
    assert diff <= (1 if amp is None else 8)
    assert gpu.tile_for(8000, 8000) is not None and gpu.tile_for(64, 64) is None  # tiles only what does not fit


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs two GPUs')
def test_nccl_two_gpus(tmp_path, write_options, repo_root):
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    path = write_options(tmp_path, total_iter=4, name='nccl', num_gpu=2)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2',
           '--master_addr=127.0.0.1', f'--master_port={port}', os.path.join(repo_root, 'basicsr', 'train.py'),
           '-opt', path, '--launcher', 'pytorch']
    proc = subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=repo_root), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = torch.load(os.path.join(str(tmp_path), 'experiments', 'nccl', 'training_states', '4.state'),
                       weights_only=True)
    assert state['world_size'] == 2
