"""Command-line entry points end a user error with one line, not a traceback.

A *user* error is bad input or a bad environment: an invalid option, a missing or unreadable file, a
checkpoint of another network, a full disk.  ``run_main`` prints ``error: <message>`` for those (exit
status 2), while the full traceback stays in the run's log file, and on the screen with ``--debug``.
Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import errno
import sys
from typing import Any, Callable, List, Optional, Sequence

from basicsr.utils.errors import TrainingInterrupted, UserError
from basicsr.utils.logger import last_log_file

__all__ = ['is_user_error', 'run_main', 'DEBUG_FLAG']

DEBUG_FLAG = '--debug'
#: OS errors that the user fixes (space, permissions), as opposed to bugs
_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}


def is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, UserError) or (isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS)


def run_main(main: Callable[[List[str]], Any], argv: Optional[Sequence[str]] = None) -> int:
    """Run ``main(argv)`` and turn its outcome into an exit status.

    ``--debug`` (removed from ``argv`` before ``main`` sees it) re-raises user errors with their traceback.

    Returns:
        0 on success (or ``main``'s own integer status), 2 after a user error, ``128 + signal`` when
        training was interrupted by SIGTERM/SIGINT after saving a checkpoint.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    try:
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
    return status if isinstance(status, int) else 0
