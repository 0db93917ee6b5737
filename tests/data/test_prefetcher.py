"""Prefetchers: plain iteration on CPU, the CUDA stream prefetcher (skipped without a GPU)."""
from __future__ import annotations

import pytest
import torch

from basicsr.data.prefetcher import CPUPrefetcher, CUDAPrefetcher, make_prefetcher

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


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
