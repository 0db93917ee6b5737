"""Command-line entry points end a user error with one line, not a traceback.

A *user* error is bad input or a bad environment: an invalid option, a missing or unreadable file, a
checkpoint of another network, a full disk.  ``run_main`` prints ``error: <message>`` for those (exit
status 2), while the full traceback stays in the run's log file, and on the screen with ``--debug``.
Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import sys
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from basicsr.utils.errors import TrainingInterrupted, UserError
from basicsr.utils.logger import last_log_file

__all__ = ['is_user_error', 'run_main', 'DEBUG_FLAG', 'report_skipped', 'collect_skipped']

logger = logging.getLogger('basicsr')

DEBUG_FLAG = '--debug'
#: OS errors that the user fixes (space, permissions), as opposed to bugs
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}
_SKIPPED: contextvars.ContextVar[Optional[List[Tuple[str, str]]]] = contextvars.ContextVar('skipped', default=None)


def report_skipped(path: str, reason: Any) -> None:
    """An input that could not be used was left out (logged; counted by :func:`collect_skipped`)."""
    logger.error('Skipped %s: %s', path, reason)
    skipped = _SKIPPED.get()
    if skipped is not None:
        skipped.append((path, str(reason)))


@contextlib.contextmanager
def collect_skipped() -> Iterator[List[Tuple[str, str]]]:
    """Collect the ``(path, reason)`` of every :func:`report_skipped` call inside the block."""
    skipped: List[Tuple[str, str]] = []
    token = _SKIPPED.set(skipped)
    try:
        yield skipped
    finally:
        _SKIPPED.reset(token)


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, UserError) or (isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS)


def run_main(main: Callable[[List[str]], Any], argv: Optional[Sequence[str]] = None) -> int:
    """Run ``main(argv)`` and turn its outcome into an exit status.

    ``--debug`` (removed from ``argv`` before ``main`` sees it) re-raises user errors with their traceback.

    Returns:
        0 on success (or ``main``'s own integer status), 1 when some inputs were skipped (unreadable
        images: the others are processed and the list is printed), 2 after a user error, ``128 + signal``
        when training was interrupted by SIGTERM/SIGINT after saving a checkpoint.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    if not logging.getLogger().handlers and not logger.handlers:
        logging.basicConfig(level=logging.INFO, format='%(levelname)s: %(message)s')
    try:
        with collect_skipped() as skipped:
            status = main(args)
    except TrainingInterrupted as e:
        print(f'stopped: {e}', file=sys.stderr)
        return 128 + e.signal_number
    except BaseException as e:
        if debug or not is_user_error(e):
            raise
        log = last_log_file()
        print(f'error: {e}' + (f'\n(traceback in {log}; run with {DEBUG_FLAG} to show it)' if log else
                               f'\n(run with {DEBUG_FLAG} for the traceback)'), file=sys.stderr)
        return 2
    if skipped:
        print(f'{len(skipped)} input(s) could not be used and were skipped:\n'
              + '\n'.join(f'  {path}: {reason}' for path, reason in skipped), file=sys.stderr)
        return 1
    return status if isinstance(status, int) else 0
