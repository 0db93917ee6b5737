"""Where computations run: the one device-selection rule, and mixed precision (autocast)."""
from __future__ import annotations

import contextlib
from typing import Union

import torch

from basicsr.utils.errors import OptionError

__all__ = ['AMP_DTYPES', 'select_device', 'autocast_context', 'compile_network', 'missing_inductor_toolchain']

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

    On the CPU inductor also gets ``force_layout_optimization``.  It turns channels-last layout optimisation on
    for graphs that hold convolutions, but a *backward* graph holds only ``convolution_backward`` nodes, so
    there it stays off and each ``convolution_backward`` input is copied to the strides its node was traced
    with; for this network that is a (B, H, C, W) order, i.e. a transposing copy of every saved activation
    and of every gradient ahead of each depth-wise convolution's backward (~15% of a compiled training step).
    Forced on, the saved channels-last tensors are passed as they are.  Left to inductor's own choice on
    CUDA (not measured there).
    """
    backend_name = backend if isinstance(backend, str) else 'inductor'
    device_type = _device_type(net)
    options = None
    if backend_name == 'inductor':
        missing = missing_inductor_toolchain(device_type)
        if missing:
            raise OptionError(f'torch.compile (inductor) cannot run here: {missing}. Turn compilation off '
                              "(train.compile: false, or drop --compile), or use train.compile: aot_eager "
                              '(traced, not code-generated)')
        if device_type == 'cpu':
            options = {'force_layout_optimization': True}
    return torch.compile(net, backend=backend_name, dynamic=False, options=options)


def missing_inductor_toolchain(device_type: str) -> str:
    """What inductor would lack to generate code for ``device_type`` (``''`` when nothing is missing).

    Inductor only finds out at the first call (for training: after the data are loaded and the run is set up);
    asking up front turns that late failure into an option error.  The CPU needs a C++ compiler (``$CXX`` or
    ``g++``), CUDA needs Triton.
    """
    if device_type == 'cpu':
        try:
            from torch._inductor.cpp_builder import get_cpp_compiler
            get_cpp_compiler()
        except ImportError:
            return ''  # another torch layout: leave the question to inductor
        except Exception as e:  # InvalidCxxCompiler and friends
            return f'no working C++ compiler for the CPU code it generates ({type(e).__name__}; install g++ or set CXX)'
    elif device_type == 'cuda':
        try:
            from torch.utils._triton import has_triton
        except ImportError:
            return ''
        if not has_triton():
            return 'Triton, which it needs for CUDA kernels, is not installed (pip install triton)'
    return ''


def _device_type(net: torch.nn.Module) -> str:
    """Where ``net``'s parameters live (``'cpu'`` for a network without any)."""
    param = next(net.parameters(), None)
    return param.device.type if param is not None else 'cpu'
