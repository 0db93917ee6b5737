"""Checkpoints of a training run and automatic resume.

Files (official names): ``models/net_g_<iter>.pth`` = ``{'params': ..., ['params_ema': ...]}`` and
``training_states/<iter>.state`` = optimizer, scheduler, grad-scaler, iteration, epoch, random
states, best metrics and the resolved options.  Both are written atomically, the network first:
a ``.state`` file is only ever present once its weights are complete, so the newest readable
``.state`` is always a consistent resume point.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Dict, List, Optional, Tuple

import torch

from basicsr.utils.checkpoint import atomic_save, load_checkpoint_file
from basicsr.utils.errors import CheckpointError

__all__ = ['net_path', 'state_path', 'save_checkpoint', 'find_resume_state', 'prune_checkpoints', 'checkpoint_files',
           'set_aside_newer', 'rng_state', 'set_rng_state']

logger = logging.getLogger('basicsr')
_STATE_RE = re.compile(r'^(\d+)\.state$')
_NET_RE = re.compile(r'^net_g_(\d+)\.pth$')


def net_path(models_dir: str, it: Any) -> str:
    return os.path.join(models_dir, f'net_g_{it}.pth')


def state_path(states_dir: str, it: int) -> str:
    return os.path.join(states_dir, f'{it}.state')


def save_checkpoint(model: Any, opt: Dict[str, Any], current_iter: int, extra: Dict[str, Any]) -> None:
    """Write ``net_g_<iter>.pth`` then ``<iter>.state`` (both atomic)."""
    paths = opt['path']
    model.save_network(net_path(paths['models'], current_iter))
    state = {'iter': current_iter, **model.training_state(), **extra}
    atomic_save(state, state_path(paths['training_states'], current_iter))
    keep = opt['logger'].get('keep_last')
    if keep:
        prune_checkpoints(paths['models'], paths['training_states'], keep)


def _state_iters(states_dir: str) -> List[int]:
    if not os.path.isdir(states_dir):
        return []
    return sorted((int(m.group(1)) for m in map(_STATE_RE.match, os.listdir(states_dir)) if m), reverse=True)


def prune_checkpoints(models_dir: str, states_dir: str, keep: int) -> None:
    """Keep the newest ``keep`` iteration checkpoints (``net_g_latest.pth`` is never removed)."""
    for it in _state_iters(states_dir)[keep:]:
        for p in (state_path(states_dir, it), net_path(models_dir, it)):
            if os.path.exists(p):
                os.remove(p)


def _numbered(folder: str, pattern: 're.Pattern[str]') -> List[Tuple[int, str]]:
    if not os.path.isdir(folder):
        return []
    found = ((pattern.match(n), n) for n in os.listdir(folder))
    return sorted((int(m.group(1)), os.path.join(folder, n)) for m, n in found if m)


def checkpoint_files(models_dir: str, states_dir: str) -> List[str]:
    """The iteration checkpoints (``net_g_<iter>.pth``, ``<iter>.state``) of an experiment, oldest first."""
    return [p for _, p in sorted(_numbered(models_dir, _NET_RE) + _numbered(states_dir, _STATE_RE))]


def set_aside_newer(models_dir: str, states_dir: str, iteration: int, stamp: str) -> List[str]:
    """Move the checkpoints of iterations after ``iteration`` into ``set_aside_<stamp>/`` sub-folders.

    A run resumed from an older state would otherwise overwrite them when it reaches their iteration
    (they are newer but unusable: a damaged state, or weights whose state was deleted).  Returns the new paths.
    """
    moved = []
    for folder, pattern in ((models_dir, _NET_RE), (states_dir, _STATE_RE)):
        for it, path in _numbered(folder, pattern):
            if it > iteration:
                target = os.path.join(folder, f'set_aside_{stamp}', os.path.basename(path))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(path, target)
                moved.append(target)
    return moved


def find_resume_state(models_dir: str, states_dir: str) -> Optional[Tuple[str, Dict[str, Any]]]:
    """Newest ``(state_path, state)`` whose state and weights both load; unreadable ones are skipped."""
    for it in _state_iters(states_dir):
        spath = state_path(states_dir, it)
        try:
            state = load_checkpoint_file(spath)
            if not isinstance(state, dict) or 'iter' not in state:
                raise CheckpointError(f"'{spath}' is not a training state")
            load_checkpoint_file(net_path(models_dir, state['iter']))
        except CheckpointError as e:
            logger.warning('Skipping unusable checkpoint at iteration %d: %s', it, e)
            continue
        return spath, state
    return None


def rng_state() -> Dict[str, Any]:
    """Global torch random states (CPU and CUDA)."""
    state: Dict[str, Any] = {'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    if 'torch' in state:
        torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])
