"""Finding files: image listings in natural order, file stems, and existence checks with clear errors."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from typing import IO, Iterable, Iterator, List, Optional, Sequence, Union

from basicsr.utils.errors import MissingInputError, OutputConflictError

__all__ = ['IMG_EXTENSIONS', 'is_image_file', 'natural_key', 'natsorted', 'file_stem', 'require_dir', 'require_file',
           'list_images', 'atomic_write', 'remove_stale_temp_files', 'check_outputs_spare_inputs', 'TMP_SUFFIX']

#: suffix of the temporary files that :func:`atomic_write` renames into place
TMP_SUFFIX = '.tmp'

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.ppm', '.pgm', '.webp')

_DIGITS = re.compile(r'(\d+)')


def is_image_file(path: str, extensions: Sequence[str] = IMG_EXTENSIONS) -> bool:
    """Whether ``path`` ends with one of ``extensions`` (case-insensitive)."""
    return path.lower().endswith(tuple(e.lower() for e in extensions))


def natural_key(text: str) -> List[Union[str, int]]:
    """Sort key that orders digit runs by value: ``img2.png`` < ``img10.png`` (like ``natsort``)."""
    return [int(p) if i % 2 else p for i, p in enumerate(_DIGITS.split(text))]


def natsorted(items: Iterable[str]) -> List[str]:
    """``items`` in natural order (what the official scripts get from ``natsort.natsorted``)."""
    return sorted(items, key=natural_key)


def file_stem(path: str) -> str:
    """File name without folder and extension: ``'a/b/img.png'`` -> ``'img'``."""
    return os.path.splitext(os.path.basename(path))[0]


def _missing(what: str, path: str, hint: str) -> MissingInputError:
    resolved = os.path.abspath(path)
    where = f"'{path}'" + (f" (resolved to '{resolved}')" if resolved != path else '')
    return MissingInputError(f'{what} not found: {where}.' + (f' {hint}' if hint else ''))


def require_dir(path: str, what: str = 'Folder', hint: str = '') -> str:
    """Return ``path`` if it is a folder; ``MissingInputError`` naming it (and ``what`` it is) otherwise."""
    if not os.path.isdir(path):
        raise _missing(what, path, hint)
    return path


def require_file(path: str, what: str = 'File', hint: str = '') -> str:
    """Return ``path`` if it is a file; ``MissingInputError`` naming it (and ``what`` it is) otherwise."""
    if not os.path.isfile(path):
        raise _missing(what, path, hint)
    return path


def list_images(path: str, what: str = 'Image folder', extensions: Sequence[str] = IMG_EXTENSIONS,
                allow_file: bool = False, required: bool = True) -> List[str]:
    """Full paths of the image files directly inside folder ``path``, in natural order.

    Args:
        path: a folder (or, with ``allow_file``, one image file, returned as a one-element list).
        what: what the folder is, for error messages (e.g. ``'GoPro input folder'``).
        extensions: accepted file endings.
        allow_file: accept a single image file as well as a folder.
        required: raise when the folder holds no image (else return ``[]``).

    Raises:
        MissingInputError: naming ``path`` when it does not exist, is not an image, or holds no image.
    """
    if allow_file and os.path.isfile(path):
        if not is_image_file(path, extensions):
            raise MissingInputError(f"'{path}' is not an image file (expected one of {', '.join(extensions)}).")
        return [path]
    require_dir(path, what)
    files = natsorted(os.path.join(path, n) for n in os.listdir(path)
                      if is_image_file(n, extensions) and os.path.isfile(os.path.join(path, n)))
    if required and not files:
        raise MissingInputError(f"{what} '{path}' contains no images ({', '.join(extensions)}).")
    return files


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'wb', durable: bool = False, **open_kwargs: object) -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; rename it over ``path`` once the block succeeds.

    A crash, a full disk or an exception inside the block leaves the earlier ``path`` (or none), never a
    truncated file that looks like a result; the temporary file is removed.  ``durable`` also flushes the
    data to the disk before the rename (checkpoints), at some cost in speed.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(path)}.', suffix=TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(e, OSError) and e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror, path) from e  # say which file could not be written
        raise


def remove_stale_temp_files(folder: str) -> List[str]:
    """Delete the temporary files that an interrupted :func:`atomic_write` left in ``folder``; returns them."""
    if not os.path.isdir(folder):
        return []
    stale = [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith('.') and n.endswith(TMP_SUFFIX)]
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return stale


def check_outputs_spare_inputs(inputs: Iterable[str], outputs: Iterable[str],
                               hint: Optional[str] = 'choose another --result_dir') -> None:
    """Refuse to write any of ``outputs`` that is one of ``inputs`` (same file after resolving links).

    Raises:
        OutputConflictError: naming the first output that would replace an input.
    """
    def key(p: str) -> str:
        return os.path.normcase(os.path.realpath(p))

    protected = {key(p): p for p in inputs}
    for out in outputs:
        if key(out) in protected:
            raise OutputConflictError(f"Refusing to write '{out}': it would replace the input "
                                      f"'{protected[key(out)]}'" + (f'; {hint}.' if hint else '.'))
