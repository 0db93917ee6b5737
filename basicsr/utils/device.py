"""Where computations run: the one device-selection rule, and mixed precision (autocast)."""
from __future__ import annotations

import contextlib
from typing import Union

import torch

from basicsr.utils.errors import OptionError

__all__ = ['AMP_DTYPES', 'select_device', 'autocast_context']

#: ``train.amp`` / ``--amp`` values and the autocast dtype each one means
AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


def select_device(name: str = 'auto', local_rank: int = 0) -> torch.device:
    """The ``torch.device`` for a ``--device``/``num_gpu`` choice.

    Args:
        name: ``'auto'`` (CUDA when available, else the CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        local_rank: the GPU ``'auto'`` and ``'cuda'`` pick (one process per GPU under torchrun).

    Raises:
        OptionError: CUDA was asked for by name but is not available, or the name is not a device.
    """
    if name == 'auto':
        return torch.device('cuda', local_rank) if torch.cuda.is_available() else torch.device('cpu')
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise OptionError(f"'{name}' is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from e
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise OptionError(f"device '{name}' was requested but CUDA is not available on this machine; use 'cpu'")
        if device.index is None:
            device = torch.device('cuda', local_rank)
        if device.index >= torch.cuda.device_count():
            raise OptionError(f"device '{name}': only {torch.cuda.device_count()} GPU(s) are visible")
    return device


def autocast_context(device: torch.device, amp: Union[None, bool, str]) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for ``amp`` in {'bf16', 'fp16'}; a null context for ``None``/``False``."""
    if not amp:
        return contextlib.nullcontext()
    if amp not in AMP_DTYPES:
        raise ValueError(f"amp must be false, 'bf16' or 'fp16', got {amp!r}")
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def compile_network(net: torch.nn.Module, backend: Union[bool, str] = True) -> torch.nn.Module:
    """``torch.compile`` a network the way training and inference use it: ``True`` means inductor, a string
    names another backend (e.g. ``'aot_eager'``).

    Shapes are static (``dynamic=False``): each new input size (a progressive stage, a test image of another
    size) gets its own graph.  With automatic dynamic shapes the second size compiles a symbolic graph, which
    inductor (torch 2.14) fails to generate for this network's channels-last strides; static graphs are also
    the faster ones.  After ``torch._dynamo.config.recompile_limit`` sizes (8), further sizes run eagerly.
    """
    return torch.compile(net, backend=backend if isinstance(backend, str) else 'inductor', dynamic=False)
