"""Checkpoint files: loading network weights (official ``.pth`` files included) and atomic saving.

Official Restormer weights are ``{'params': state_dict}`` (optionally ``'params_ema'``).  A raw
state dict, or one saved from a ``DistributedDataParallel``/``torch.compile`` wrapper
(``module.``/``_orig_mod.`` prefixes), loads too.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch
import torch.nn as nn

from basicsr.utils.errors import CheckpointError
from basicsr.utils.file_util import atomic_write

__all__ = ['CheckpointError', 'atomic_save', 'load_checkpoint_file', 'extract_state_dict', 'load_network',
           'unwrap_model', 'network_state_dict', 'save_network']

logger = logging.getLogger('basicsr')

_WRAPPER_PREFIXES = ('module.', '_orig_mod.')
_PARAM_KEYS = ('params', 'params_ema', 'state_dict', 'model')


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    A crash during the write leaves the previous file (or nothing) at ``path``, never a
    truncated one.
    """
    with atomic_write(path, 'wb', durable=True) as f:
        torch.save(obj, f)


def load_checkpoint_file(path: str, weights_only: bool = True) -> Any:
    """``torch.load`` onto the CPU with an error that names the file."""
    if not os.path.isfile(path):
        raise CheckpointError(f"Checkpoint file not found: '{path}'")
    try:
        return torch.load(path, map_location='cpu', weights_only=weights_only)
    except Exception as e:  # torch raises many types for corrupt files (EOFError, RuntimeError, UnpicklingError)
        raise CheckpointError(f"Cannot read checkpoint '{path}' ({type(e).__name__}: {e}). The file may be "
                              'truncated or not a PyTorch checkpoint.') from e


def _strip_prefixes(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        changed = True
        while changed:
            changed = False
            for p in _WRAPPER_PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p):], True
        out[k] = v
    return out


def extract_state_dict(ckpt: Any, param_key: Optional[str] = 'params',
                       path: str = '<memory>') -> Dict[str, torch.Tensor]:
    """Return the network state dict inside a loaded checkpoint.

    Args:
        ckpt: a raw state dict, or a dict holding one under ``params``/``params_ema``/...
        param_key: key to use; if absent, the other known keys are tried (``params_ema`` falls
            back to ``params`` and vice versa).  ``None`` means the checkpoint is a raw state dict.
        path: file name for error messages.
    """
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"Checkpoint '{path}' holds a {type(ckpt).__name__}, not a state dict.")
    if param_key is not None and not all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        order = [param_key] + [k for k in _PARAM_KEYS if k != param_key]
        for key in order:
            if key in ckpt and isinstance(ckpt[key], Mapping):
                if key != param_key:
                    logger.info("Checkpoint '%s' has no '%s'; using '%s'.", path, param_key, key)
                ckpt = ckpt[key]
                break
        else:
            raise CheckpointError(f"Checkpoint '{path}' has none of the keys {order}; top-level keys: "
                                  f'{sorted(map(str, ckpt))[:20]}')
    if not all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        raise CheckpointError(f"Checkpoint '{path}' does not hold a state dict of tensors.")
    return _strip_prefixes(ckpt)


def unwrap_model(net: nn.Module) -> nn.Module:
    """Strip ``DistributedDataParallel``/``DataParallel``/``torch.compile`` wrappers."""
    while True:
        if isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            net = net.module
        elif hasattr(net, '_orig_mod'):
            net = net._orig_mod
        else:
            return net


def _describe_mismatch(net: nn.Module, state: Mapping[str, torch.Tensor]) -> Tuple[List[str], List[str], List[str]]:
    own = unwrap_model(net).state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f'{k}: checkpoint {tuple(state[k].shape)} vs network {tuple(own[k].shape)}'
             for k in own if k in state and state[k].shape != own[k].shape]
    return missing, unexpected, wrong


def _format_keys(title: str, keys: List[str], limit: int = 15) -> str:
    if not keys:
        return ''
    shown = '\n    '.join(keys[:limit])
    more = f'\n    ... and {len(keys) - limit} more' if len(keys) > limit else ''
    return f'\n  {title} ({len(keys)}):\n    {shown}{more}'


def load_network(net: nn.Module, path: str, strict: bool = True, param_key: Optional[str] = 'params') -> nn.Module:
    """Load weights from ``path`` into ``net`` (wrappers are unwrapped).

    Args:
        net: the network.
        path: ``.pth`` file (official ``{'params': ...}`` format, or a raw state dict).
        strict: raise on any missing, unexpected or wrong-shape key.  With ``strict=False``
            matching tensors are loaded and the rest is logged.
        param_key: which entry of the checkpoint to load (``params`` or ``params_ema``).

    Raises:
        CheckpointError: naming the file and listing missing, unexpected and wrong-shape keys.
    """
    state = extract_state_dict(load_checkpoint_file(path), param_key, path)
    target = unwrap_model(net)
    missing, unexpected, wrong = _describe_mismatch(target, state)
    if missing or unexpected or wrong:
        details = (_format_keys('missing in checkpoint', missing) + _format_keys('unexpected in checkpoint', unexpected)
                   + _format_keys('wrong shape', wrong))
        msg = (f"Checkpoint '{path}' does not match {type(target).__name__}: is it from another architecture or "
               f'configuration (e.g. LayerNorm_type, inp_channels, dual_pixel_task)?{details}')
        if strict:
            raise CheckpointError(msg)
        logger.warning('%s\nLoading the %d matching tensors (strict=False).', msg,
                       len(state) - len(unexpected) - len(wrong))
        own = target.state_dict()
        state = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    target.load_state_dict(state, strict=strict)
    logger.info("Loaded '%s' [%s] into %s.", path, param_key, type(target).__name__)
    return net


def network_state_dict(net: nn.Module) -> Dict[str, torch.Tensor]:
    """CPU copy of the unwrapped network's state dict (no ``module.`` prefixes)."""
    return {k: v.detach().cpu().clone() for k, v in unwrap_model(net).state_dict().items()}


def save_network(path: str, params: nn.Module, params_ema: Optional[nn.Module] = None) -> None:
    """Write ``{'params': ..., ['params_ema': ...]}`` (official format) atomically."""
    ckpt = {'params': network_state_dict(params)}
    if params_ema is not None:
        ckpt['params_ema'] = network_state_dict(params_ema)
    atomic_save(ckpt, path)
