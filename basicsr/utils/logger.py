"""Logging: one ``basicsr`` logger (console + file), progress-bar-friendly output, TensorBoard.

Only rank 0 writes to the console, the log file and TensorBoard.
"""
from __future__ import annotations

import datetime
import logging
import os
import sys
import time
from typing import Any, Dict, Optional

from tqdm import tqdm

__all__ = ['get_root_logger', 'MessageLogger', 'init_tb_logger', 'init_wandb_logger', 'format_eta',
           'close_file_handlers', 'log_exception_to_files', 'last_log_file']

_FORMAT = '%(asctime)s %(levelname)s: %(message)s'
_last_log_file: Optional[str] = None


class _TqdmHandler(logging.StreamHandler):
    """Writes through ``tqdm.write`` so log lines do not break an active progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never raise
            self.handleError(record)


def get_root_logger(log_file: Optional[str] = None, log_level: int = logging.INFO, rank: int = 0) -> logging.Logger:
    """The ``basicsr`` logger; console handler once, a file handler per ``log_file`` (rank 0 only)."""
    logger = logging.getLogger('basicsr')
    logger.propagate = False
    if rank != 0:
        logger.setLevel(logging.ERROR)
        return logger
    logger.setLevel(log_level)
    if not any(isinstance(h, _TqdmHandler) for h in logger.handlers):
        h = _TqdmHandler()
        h.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(h)
    if log_file is not None:
        path = os.path.abspath(log_file)
        if not any(isinstance(h, logging.FileHandler) and h.baseFilename == path for h in logger.handlers):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fh = logging.FileHandler(path, 'a', encoding='utf-8')
            fh.setFormatter(logging.Formatter(_FORMAT))
            logger.addHandler(fh)
        global _last_log_file
        _last_log_file = path
    return logger


def last_log_file() -> Optional[str]:
    """The log file most recently opened by :func:`get_root_logger` (where a failed run's traceback went)."""
    return _last_log_file


def log_exception_to_files(exc: BaseException) -> None:
    """Write ``exc`` with its traceback to the open log files only (the console gets a one-line error)."""
    logger = logging.getLogger('basicsr')
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, f'{type(exc).__name__}: {exc}', (),
                               (type(exc), exc, exc.__traceback__))
    for h in logger.handlers:
        if isinstance(h, logging.FileHandler):
            h.handle(record)


def close_file_handlers() -> None:
    logger = logging.getLogger('basicsr')
    for h in list(logger.handlers):
        if isinstance(h, logging.FileHandler):
            h.close()
            logger.removeHandler(h)


def format_eta(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(max(0, seconds))))


class MessageLogger:
    """Formats the periodic training log line and mirrors scalars to TensorBoard.

    ``[name][epoch:  1, iter:   1,000, lr:(3.000e-04,)] [eta: 1:02:03, time (data): 0.512 (0.011)] l_pix: 2.1e-02``
    """

    def __init__(self, name: str, total_iter: int, start_iter: int, tb_logger: Any = None) -> None:
        self.name = name
        self.total_iter = total_iter
        self.start_iter = start_iter
        self.tb_logger = tb_logger
        self.start_time = time.time()
        self.logger = logging.getLogger('basicsr')

    def __call__(self, log: Dict[str, Any]) -> None:
        epoch, it, lrs = log.pop('epoch'), log.pop('iter'), log.pop('lrs')
        t, data_t = log.pop('time', None), log.pop('data_time', None)
        msg = f"[{self.name[:10]}..][epoch:{epoch:3d}, iter:{it:8,d}, lr:({','.join(f'{v:.3e}' for v in lrs)},)] "
        if t is not None:
            done = max(it - self.start_iter, 1)
            eta = (time.time() - self.start_time) / done * (self.total_iter - it)
            msg += f'[eta: {format_eta(eta)}, time (data): {t:.3f} ({data_t:.3f})] '
        for k, v in log.items():
            msg += f'{k}: {v:.4e} '
            if self.tb_logger is not None:
                self.tb_logger.add_scalar(f'losses/{k}' if k.startswith('l_') else k, v, it)
        if self.tb_logger is not None:
            self.tb_logger.add_scalar('lr', lrs[0], it)
        self.logger.info(msg.rstrip())


def init_tb_logger(log_dir: str) -> Any:
    """TensorBoard ``SummaryWriter`` (None with a warning if tensorboard is not installed)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        logging.getLogger('basicsr').warning('tensorboard is not installed; TensorBoard logging is off.')
        return None
    return SummaryWriter(log_dir=log_dir)


def init_wandb_logger(opt: Dict[str, Any], resume_id: Optional[str] = None) -> Optional[str]:
    """Start (or resume) a wandb run that syncs TensorBoard; returns its id.

    Only when wandb is installed and ``logger.wandb.project`` is set; call it before creating the
    TensorBoard writer.  The run id is ``logger.wandb.resume_id``, else ``resume_id`` (from the
    training state), else a new one.
    """
    wopt = opt['logger'].get('wandb') or {}
    if not wopt.get('project'):
        return None
    logger = logging.getLogger('basicsr')
    try:
        import wandb
    except ImportError:
        logger.warning('logger.wandb.project is set but wandb is not installed; skipping wandb.')
        return None
    run_id = wopt.get('resume_id') or resume_id or wandb.util.generate_id()
    wandb.init(id=run_id, resume='allow', name=opt['name'], config=opt, project=wopt['project'],
               sync_tensorboard=True)
    logger.info('wandb run %s (project %s).', run_id, wopt['project'])
    return run_id
