"""torch.distributed helpers.  Ranks come from torchrun's environment variables.

A single process never touches ``torch.distributed``; every helper here degrades to the
single-process answer when no process group is initialised.
"""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, List, Tuple, Union

import torch
import torch.distributed as dist

from basicsr.utils.device import select_device

__all__ = ['RunContext', 'init_run_context', 'init_dist', 'get_dist_info', 'is_main_process', 'master_only',
           'barrier', 'all_gather_object', 'broadcast_from_main', 'reduce_mean', 'cleanup_dist']


@dataclass(frozen=True)
class RunContext:
    """What a process derives at start-up: its device and its place among the training processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_run_context(launcher: str = 'none', num_gpu: Union[int, str] = 'auto') -> RunContext:
    """Device and process group of this process.

    Args:
        launcher: ``'pytorch'`` when started by torchrun (initialises the process group), else ``'none'``.
        num_gpu: the ``num_gpu`` option: 0 forces the CPU; otherwise CUDA is used when available.
    """
    want_gpu = num_gpu != 0
    use_cuda = want_gpu and torch.cuda.is_available()
    if want_gpu and not use_cuda and num_gpu != 'auto':
        logging.getLogger('basicsr').warning('num_gpu is %s but CUDA is not available: training on the CPU.', num_gpu)
    if launcher == 'pytorch':
        rank, world, local_rank = init_dist(use_cuda)
    else:
        rank, world, local_rank = 0, 1, 0
    return RunContext(select_device('auto' if use_cuda else 'cpu', local_rank), rank, world, local_rank)


def init_dist(use_cuda: bool, timeout_minutes: int = 60) -> Tuple[int, int, int]:
    """Initialise the default process group from torchrun's env (RANK, WORLD_SIZE, LOCAL_RANK).

    NCCL on CUDA, gloo on CPU.  Returns ``(rank, world_size, local_rank)``.
    """
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f"--launcher pytorch needs torchrun's environment variables ({', '.join(missing)} unset); "
                           'start with ./train.sh or torchrun, or use --launcher none')
    local_rank = int(os.environ['LOCAL_RANK'])
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(f'local rank {local_rank} has no GPU: only {torch.cuda.device_count()} visible; start '
                               'at most that many processes per node (NUM_GPUS / --nproc_per_node)')
        torch.cuda.set_device(local_rank)
    backend = 'nccl' if use_cuda else 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=timeout_minutes))
    return dist.get_rank(), dist.get_world_size(), local_rank


def cleanup_dist() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def get_dist_info() -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return get_dist_info()[0] == 0


def master_only(func: Callable) -> Callable:
    """Run ``func`` on rank 0 only (returns None elsewhere)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_main_process():
            return func(*args, **kwargs)
        return None
    return wrapper


def barrier() -> None:
    if get_dist_info()[1] > 1:
        dist.barrier()


def all_gather_object(obj: Any) -> List[Any]:
    """List of ``obj`` from every rank (``[obj]`` in a single process)."""
    world = get_dist_info()[1]
    if world == 1:
        return [obj]
    out: List[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def broadcast_from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (a decision taken once, shared by all)."""
    return all_gather_object(obj)[0]


def reduce_mean(values: Dict[str, float], device: torch.device) -> Dict[str, float]:
    """Average scalar values over ranks (for logging)."""
    world = get_dist_info()[1]
    if world == 1 or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], device=device, dtype=torch.float64)
    dist.all_reduce(t)
    t /= world
    return {k: float(v) for k, v in zip(keys, t.tolist())}
