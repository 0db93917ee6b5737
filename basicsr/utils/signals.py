"""Stop requests from the outside world: SIGTERM (SLURM, Kubernetes and torchrun send it before a kill)
and SIGINT (Ctrl-C) become a flag that the training loop reads between iterations, so it can save a
checkpoint and exit cleanly instead of dying in the middle of a step.  A second Ctrl-C interrupts at once.
"""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, Dict, Optional

import torch
import torch.distributed as dist

__all__ = ['StopRequest', 'ignore_stop_signals', 'SIGNAL_NAMES']

logger = logging.getLogger('basicsr')

SIGNAL_NAMES = {signal.SIGTERM: 'SIGTERM', signal.SIGINT: 'SIGINT'}


def ignore_stop_signals(worker_id: Optional[int] = None) -> None:
    """``worker_init_fn`` of data-loader workers: leave SIGTERM/SIGINT to the main process, which stops the run
    (a worker killed by the Ctrl-C sent to the whole process group would fail the next batch)."""
    for sig in SIGNAL_NAMES:
        signal.signal(sig, signal.SIG_IGN)


class StopRequest:
    """Context manager that records SIGTERM/SIGINT instead of dying on them.

    Call :meth:`requested` once per iteration on every rank: it returns the signal number once a stop
    was asked for on *any* process, else 0.  In a distributed run the flags are combined with an
    asynchronous all-reduce on a CPU (gloo) group, started at one call and read at the next, so the
    check never waits for the GPU and every rank stops after the same iteration (one iteration after
    the signal).
    """

    def __init__(self) -> None:
        self.signal_number = 0
        self._previous: Dict[int, Any] = {}
        self._group: Any = None
        self._buffer: Optional[torch.Tensor] = None
        self._pending: Any = None
        self._announced = False

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        # only set a flag: logging (or any I/O) from a signal handler can re-enter a write in progress
        if signum == signal.SIGINT and self.signal_number == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now
        self.signal_number = signum

    def _announce(self, signum: int) -> int:
        if signum and not self._announced:
            self._announced = True
            logger.warning('%s received: stopping after the current iteration (a checkpoint will be saved).',
                           SIGNAL_NAMES.get(signum, signum))
        return signum

    def __enter__(self) -> 'StopRequest':
        if threading.current_thread() is threading.main_thread():  # signals can only be caught there
            for sig in SIGNAL_NAMES:
                self._previous[sig] = signal.signal(sig, self._handle)
        if _distributed():
            self._group = dist.new_group(backend='gloo')  # a collective: every rank enters together
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pending is not None:
            self._pending.wait()
            self._pending = None
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def requested(self) -> int:
        """The signal that asked the run to stop (agreed over all ranks), or 0."""
        if self._group is None:
            return self._announce(self.signal_number)
        agreed = 0
        if self._pending is not None:
            self._pending.wait()
            agreed = int(self._buffer.item())
        self._buffer = torch.tensor([self.signal_number], dtype=torch.int64)
        self._pending = dist.all_reduce(self._buffer, op=dist.ReduceOp.MAX, group=self._group, async_op=True)
        return self._announce(agreed)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
