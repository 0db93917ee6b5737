"""Finding files: image listings in natural order, file stems, and existence checks with clear errors."""
from __future__ import annotations

import os
import re
from typing import Iterable, List, Sequence, Union

from basicsr.utils.errors import MissingInputError

__all__ = ['IMG_EXTENSIONS', 'is_image_file', 'natural_key', 'natsorted', 'file_stem', 'require_dir', 'require_file',
           'list_images']

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
