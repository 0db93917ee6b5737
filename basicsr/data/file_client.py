"""Byte readers for the storage backends (``io_backend.type``): ``disk`` and ``lmdb``.

LMDB environments are opened lazily on first use, so each DataLoader worker opens its own
handle after the fork (LMDB handles must not cross a fork).

LMDB layout (BasicSR convention): a folder ``name.lmdb`` with ``data.mdb`` and a
``meta_info.txt`` whose lines are ``<file name> (<h>,<w>,<c>) <png compression>``; the key of
an image is its file name without extension.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

from basicsr.utils.errors import ImageReadError
from basicsr.utils.img_util import read_bytes

__all__ = ['FileClient', 'lmdb_keys']


def lmdb_keys(db_path: str) -> List[str]:
    """Keys listed in ``<db_path>/meta_info.txt`` (file-name stems), with clear errors."""
    if not db_path.endswith('.lmdb'):
        raise ValueError(f"LMDB folder names must end with '.lmdb', got '{db_path}'")
    if not os.path.isdir(db_path):
        raise FileNotFoundError(f"LMDB folder not found: '{db_path}' (create it with scripts/create_lmdb.py)")
    meta = os.path.join(db_path, 'meta_info.txt')
    if not os.path.isfile(meta):
        raise FileNotFoundError(f"'{meta}' is missing; LMDB folders written by scripts/create_lmdb.py have one.")
    with open(meta, encoding='utf-8') as f:
        return [os.path.splitext(line.split(' ')[0])[0] for line in f if line.strip()]


class FileClient:
    """Reads raw bytes by path (disk) or by key (lmdb).

    Args:
        backend: ``'disk'`` or ``'lmdb'``.
        db_paths: for lmdb, ``{client_key: path.lmdb}`` (e.g. ``{'gt': ..., 'lq': ...}``).
    """

    def __init__(self, backend: str = 'disk', db_paths: Optional[Dict[str, str]] = None) -> None:
        if backend not in ('disk', 'lmdb'):
            raise ValueError(f"io_backend type must be 'disk' or 'lmdb', got {backend!r}")
        if backend == 'lmdb' and not db_paths:
            raise ValueError('the lmdb backend needs db_paths')
        self.backend = backend
        self.db_paths = dict(db_paths or {})
        self._envs: Dict[str, object] = {}
        self._pid = None

    def __getstate__(self) -> dict:
        # Never ship open LMDB handles to worker processes.
        state = self.__dict__.copy()
        state['_envs'] = {}
        state['_pid'] = None
        return state

    def _env(self, client_key: str):
        if self._pid != os.getpid():  # opened in a parent process: reopen here
            self._envs, self._pid = {}, os.getpid()
        env = self._envs.get(client_key)
        if env is None:
            import lmdb
            path = self.db_paths[client_key]
            try:
                env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False, max_readers=512)
            except lmdb.Error as e:
                raise ImageReadError(f"Cannot open LMDB '{path}': {e}") from e
            self._envs[client_key] = env
        return env

    def get(self, filepath: str, client_key: str = 'gt') -> bytes:
        """Bytes of ``filepath`` (disk) or of key ``filepath`` in the ``client_key`` database (lmdb)."""
        if self.backend == 'disk':
            return read_bytes(filepath)
        if client_key not in self.db_paths:
            raise KeyError(f"No LMDB configured for '{client_key}'; known: {sorted(self.db_paths)}")
        with self._env(client_key).begin(write=False) as txn:
            buf = txn.get(filepath.encode('ascii'))
        if buf is None:
            raise ImageReadError(f"Key '{filepath}' not found in LMDB '{self.db_paths[client_key]}'.")
        return bytes(buf)
