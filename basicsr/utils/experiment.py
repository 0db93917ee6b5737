"""The experiment folder of a training run: created once, never silently reused or overwritten."""
from __future__ import annotations

import datetime
import os
import shutil
from typing import Any, Mapping, Optional

from basicsr.utils.dist import broadcast_from_main

__all__ = ['tb_log_dir', 'timestamp', 'prepare_experiment_dir']

#: the folders of ``opt['path']`` that a training run writes into
RUN_FOLDERS = ('experiments_root', 'models', 'training_states', 'visualization')


def timestamp() -> str:
    return datetime.datetime.now().strftime('%Y%m%d_%H%M%S')


def tb_log_dir(opt: Mapping[str, Any]) -> str:
    """TensorBoard folder of a run: ``<root>/tb_logger/<name>`` (BasicSR layout)."""
    return os.path.join(opt['path']['root'], 'tb_logger', opt['name'])


def prepare_experiment_dir(opt: Mapping[str, Any], resuming: bool, archive_existing: bool, is_main: bool) -> None:
    """Create the run's folders (on the main process); refuse to reuse a non-empty one unless resuming.

    With ``archive_existing`` an earlier run's folder (and its TensorBoard folder) is renamed to
    ``<folder>_archived_<time>`` first.  The main process decides and every process raises the same
    error, so none is left waiting in a barrier.

    Raises:
        FileExistsError: the experiment folder holds an earlier run and neither resuming nor archiving.
    """
    exp = opt['path']['experiments_root']
    error: Optional[str] = None
    if is_main:
        has_content = os.path.isdir(exp) and any(os.scandir(exp))
        if has_content and not resuming and not archive_existing:
            error = (f"Experiment folder '{exp}' already exists. Continue it with --auto_resume, start over with "
                     f"--archive_existing (renames it), or pick another name (--set name=...).")
        elif has_content and not resuming:
            stamp = timestamp()
            for folder in (exp, tb_log_dir(opt)):
                if os.path.isdir(folder):
                    shutil.move(folder, f'{folder}_archived_{stamp}')
        if error is None:
            for key in RUN_FOLDERS:
                os.makedirs(opt['path'][key], exist_ok=True)
    error = broadcast_from_main(error)
    if error:
        raise FileExistsError(error)
