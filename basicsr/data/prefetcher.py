"""Batch prefetchers: overlap host-to-device copies with compute.

``CPUPrefetcher`` just iterates the loader.  ``CUDAPrefetcher`` copies the next batch on a side
CUDA stream while the current one is being used (needs ``pin_memory`` to overlap); without CUDA
it falls back to the CPU prefetcher.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Iterator, Optional

import torch

__all__ = ['CPUPrefetcher', 'CUDAPrefetcher', 'make_prefetcher', 'to_device']


def to_device(batch: Dict[str, Any], device: torch.device, non_blocking: bool = False) -> Dict[str, Any]:
    return {k: v.to(device, non_blocking=non_blocking) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}


class CPUPrefetcher:
    """Iterates the loader; ``next()`` returns ``None`` when it is exhausted (BasicSR interface)."""

    def __init__(self, loader: Iterable) -> None:
        self.loader = loader
        self._it: Optional[Iterator] = None

    def next(self) -> Optional[Dict[str, Any]]:
        if self._it is None:
            self._it = iter(self.loader)
        try:
            return next(self._it)
        except StopIteration:
            return None

    def reset(self) -> None:
        self._it = iter(self.loader)


class CUDAPrefetcher(CPUPrefetcher):
    """Keeps one batch in flight on a separate CUDA stream."""

    def __init__(self, loader: Iterable, device: torch.device) -> None:
        super().__init__(loader)
        self.device = device
        self.stream = torch.cuda.Stream(device=device)
        self._next: Optional[Dict[str, Any]] = None
        self._started = False

    def _preload(self) -> None:
        batch = super().next()
        if batch is None:
            self._next = None
            return
        with torch.cuda.stream(self.stream):
            self._next = to_device(batch, self.device, non_blocking=True)

    def next(self) -> Optional[Dict[str, Any]]:
        if not self._started:
            self._preload()
            self._started = True
        torch.cuda.current_stream(self.device).wait_stream(self.stream)
        batch = self._next
        if batch is not None:
            for v in batch.values():
                if isinstance(v, torch.Tensor):
                    v.record_stream(torch.cuda.current_stream(self.device))
            self._preload()
        return batch

    def reset(self) -> None:
        super().reset()
        self._started = False


def make_prefetcher(loader: Iterable, mode: Optional[str], device: torch.device) -> CPUPrefetcher:
    """``CUDAPrefetcher`` for ``mode == 'cuda'`` on a CUDA device, else ``CPUPrefetcher``."""
    if mode == 'cuda' and device.type == 'cuda' and torch.cuda.is_available():
        return CUDAPrefetcher(loader, device)
    return CPUPrefetcher(loader)
