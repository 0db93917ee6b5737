"""The experiment folder of a training run: created once, locked while a run uses it, never silently
reused or overwritten."""
from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import socket
from typing import Any, List, Mapping, Optional, Tuple

from basicsr.utils.dist import broadcast_from_main
from basicsr.utils.errors import ExperimentExistsError, UnwritableOutputError
from basicsr.utils.file_util import remove_stale_temp_files

__all__ = ['tb_log_dir', 'timestamp', 'prepare_experiment_dir', 'ExperimentLock', 'LOCK_NAME']

logger = logging.getLogger('basicsr')

#: the folders of ``opt['path']`` that a training run writes into
RUN_FOLDERS = ('experiments_root', 'models', 'training_states', 'visualization')
LOCK_NAME = '.train.lock'


def timestamp() -> str:
    return datetime.datetime.now().strftime('%Y%m%d_%H%M%S')


def tb_log_dir(opt: Mapping[str, Any]) -> str:
    """TensorBoard folder of a run: ``<root>/tb_logger/<name>`` (BasicSR layout)."""
    return os.path.join(opt['path']['root'], 'tb_logger', opt['name'])


class ExperimentLock:
    """An exclusive, advisory lock on an experiment folder for the life of one training run.

    Uses ``fcntl.flock`` on ``<folder>/.train.lock``: the kernel drops it when the process ends, so a run
    that crashed or was killed never leaves the folder locked.  The file records who holds the lock,
    for the message another process gets.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = os.path.join(folder, LOCK_NAME)
        self._fd: Optional[int] = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            ExperimentExistsError: another live process holds it (naming the folder and that process).
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks; run unprotected rather than not at all
            logger.warning('No file locking on this system: nothing stops a second run from using %s.', self.folder)
            return
        os.makedirs(self.folder, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode('utf-8', 'replace').strip()
            os.close(fd)
            try:
                info = json.loads(holder)
                who = f"process {info.get('pid')} on {info.get('host')} (started {info.get('started')})"
            except ValueError:
                who = 'another process'
            raise ExperimentExistsError(f"Experiment folder '{self.folder}' is in use by {who}. Two runs must not "
                                        'write into one folder: wait for it to finish, stop it, or choose another '
                                        'name (--set name=...).') from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({'pid': os.getpid(), 'host': socket.gethostname(), 'started': timestamp()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _has_content(folder: str) -> bool:
    return os.path.isdir(folder) and any(e.name != LOCK_NAME for e in os.scandir(folder))


def prepare_experiment_dir(opt: Mapping[str, Any], resuming: bool, archive_existing: bool,
                           is_main: bool) -> Tuple[Optional[ExperimentLock], List[str]]:
    """Lock and create the run's folders (on the main process); refuse to reuse a non-empty one unless resuming.

    With ``archive_existing`` an earlier run's folder (and its TensorBoard folder) is renamed to
    ``<folder>_archived_<time>`` first.  When resuming, temporary files that an interrupted checkpoint
    write left behind are removed.  The main process decides and every process raises the same error, so
    none is left waiting in a barrier.

    Returns:
        The lock (main process; release it when the run ends), else ``None``, and the temporary files
        that were removed.

    Raises:
        ExperimentExistsError: the folder holds an earlier run and neither resuming nor archiving, or
            another process is training into it.
    """
    exp = opt['path']['experiments_root']
    error: Optional[Tuple[str, str]] = None
    lock, removed = None, []
    if is_main:
        try:
            lock = ExperimentLock(exp)
            lock.acquire()
            if _has_content(exp) and not resuming and not archive_existing:
                error = ('exists', f"Experiment folder '{exp}' already exists. Continue it with --auto_resume, start "
                         f"over with --archive_existing (renames it), or pick another name (--set name=...).")
            elif _has_content(exp) and not resuming:
                lock.release()
                stamp = timestamp()
                for folder in (exp, tb_log_dir(opt)):
                    if os.path.isdir(folder):
                        shutil.move(folder, f'{folder}_archived_{stamp}')
                        logger.info("Archived the earlier run: '%s' -> '%s_archived_%s'.", folder, folder, stamp)
                lock = ExperimentLock(exp)
                lock.acquire()
            if error is None:
                for key in RUN_FOLDERS:
                    os.makedirs(opt['path'][key], exist_ok=True)
                for key in ('models', 'training_states'):
                    removed += remove_stale_temp_files(opt['path'][key])
        except ExperimentExistsError as e:
            error = ('exists', str(e))
        except OSError as e:
            error = ('unwritable', f"Cannot create the experiment folder '{exp}': {e}. Choose a writable folder "
                     '(--set path.root=DIR).')
    error = broadcast_from_main(error)
    if error:
        if lock is not None:
            lock.release()
        raise (ExperimentExistsError if error[0] == 'exists' else UnwritableOutputError)(error[1])
    return lock, removed
