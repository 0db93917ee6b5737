"""Image I/O and image <-> tensor conversion: the one place where images are decoded and encoded.

Conventions (the official Restormer ones): arrays are HWC, **BGR** (OpenCV order), float32 in
[0, 1] after reading; tensors are CHW (or NCHW), RGB, float32 in [0, 1].

Bit depth: ``imfrombytes``/``imread`` with ``flag='color'`` or ``'grayscale'`` decode to 8 bit
(OpenCV drops the low byte of a 16-bit PNG, as the official 8-bit defocus setting relies on) and
divide by 255.  ``flag='unchanged'`` keeps the stored depth and divides by the depth's maximum
(65535 for 16-bit), which is what the dual-pixel data needs.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from basicsr.utils.errors import DataMismatchError, ImageReadError
from basicsr.utils.file_util import atomic_write

__all__ = ['ImageReadError', 'imfrombytes', 'imfrombytesDP', 'imread', 'imwrite', 'img2tensor', 'tensor2img',
           'read_bytes', 'to_unit_float', 'stored_format', 'check_8bit_reading', 'imread_rgb']

_FLAGS = {'color': cv2.IMREAD_COLOR, 'grayscale': cv2.IMREAD_GRAYSCALE, 'unchanged': cv2.IMREAD_UNCHANGED}
_PEAK = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _decode(content: bytes, flag: str, path: Optional[str], keep_depth: bool = False) -> np.ndarray:
    if flag not in _FLAGS:
        raise ValueError(f"flag must be one of {sorted(_FLAGS)}, got {flag!r}")
    where = f" '{path}'" if path else ''
    if not content:
        raise ImageReadError(f'Image file{where} is empty.')
    mode = _FLAGS[flag] | (cv2.IMREAD_ANYDEPTH if keep_depth and flag != 'unchanged' else 0)
    img = cv2.imdecode(np.frombuffer(content, np.uint8), mode)
    if img is None:
        raise ImageReadError(f'Cannot decode image{where}: not an image format OpenCV can read, or the file is '
                             'truncated/corrupted.')
    if img.ndim == 2:
        img = img[:, :, None]
    elif img.shape[2] == 4 and flag == 'unchanged':
        img = img[:, :, :3]  # drop alpha
    return img


_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # IHDR colour type -> samples per pixel


def stored_format(content: bytes) -> Optional[Tuple[int, int]]:
    """``(channels, bits per sample)`` stored in an encoded image, read from its header without decoding.

    PNG headers are read directly (they hold the bit depth); other formats through Pillow.  Returns
    ``None`` when the header cannot be read (the decoder then has the last word).
    """
    if content[:8] == _PNG_SIGNATURE and content[12:16] == b'IHDR' and len(content) >= 26:
        return _PNG_CHANNELS.get(content[25], 3), int(content[24])
    try:
        import io

        from PIL import Image
        with Image.open(io.BytesIO(content)) as im:
            bits = 16 if im.mode.startswith('I;16') else 32 if im.mode in ('I', 'F') else 8
            return len(im.getbands()), bits
    except Exception:  # any format Pillow does not know: no information, not an error
        return None


def check_8bit_reading(img: np.ndarray, stored_bits: int, path: Optional[str]) -> None:
    """Refuse a 16-bit file that an 8-bit reading would turn nearly black.

    Reading a 16-bit image as 8 bit keeps the high byte (the official behaviour, which the 8-bit
    single-image defocus recipe relies on).  Data that only uses the low 12 bits (many camera raws)
    then ends below 16 of 255: the network would be trained on black images.
    """
    if stored_bits == 16 and img.size and int(img.max()) < 16:
        raise DataMismatchError(
            f"'{path}' is a 16-bit image whose values stay below 4096 (12-bit data?): read as 8 bit (the high byte, "
            f'as the official code reads 16-bit files) it is nearly black (max {int(img.max())} of 255). Rescale '
            'the file to the full 16-bit range, or convert it to 8 bit yourself.')


def to_unit_float(img: np.ndarray) -> np.ndarray:
    """uint8 -> /255, uint16 -> /65535 as float32; float images (assumed in [0, 1]) are returned as they are."""
    img = np.asarray(img)
    if np.issubdtype(img.dtype, np.floating):
        return img
    peak = _PEAK.get(img.dtype)
    if peak is None:
        raise TypeError(f'expected a uint8/uint16 image or a float image in [0, 1], got {img.dtype}')
    return img.astype(np.float32) / np.float32(peak)


def _to_float(img: np.ndarray, path: Optional[str]) -> np.ndarray:
    try:
        return to_unit_float(img).astype(np.float32, copy=False)
    except TypeError:
        raise ImageReadError(f"Unsupported image sample type {img.dtype} in '{path}' (expected 8 or 16 bit).") from None


def imfrombytes(content: bytes, flag: str = 'color', float32: bool = False,
                path: Optional[str] = None, keep_depth: bool = False) -> np.ndarray:
    """Decode image bytes to an HWC BGR array (HW1 for gray).

    Args:
        content: encoded image bytes.
        flag: ``'color'`` (3 channels, 8 bit), ``'grayscale'`` (1 channel, 8 bit) or ``'unchanged'``
            (stored channels and depth).
        float32: convert to float32 in [0, 1] (dividing by 255, or 65535 for 16-bit data).
        path: file name for error messages.
        keep_depth: with ``'color'``/``'grayscale'``, keep 16-bit data 16-bit (the official 8-bit
            reading keeps the high byte only).
    """
    img = _decode(content, flag, path, keep_depth)
    return _to_float(img, path) if float32 else img


def imfrombytesDP(content: bytes, path: Optional[str] = None) -> np.ndarray:
    """Decode a 16-bit image (dual-pixel data) to float32 in [0, 1] (divided by 65535)."""
    img = _decode(content, 'unchanged', path)
    if img.dtype != np.uint16:
        raise ImageReadError(f"Expected a 16-bit image for dual-pixel data, got {img.dtype} in '{path}'.")
    return img.astype(np.float32) / np.float32(65535.0)


def read_bytes(path: str) -> bytes:
    """Read a file, raising ``ImageReadError`` that names the file when it is missing or unreadable."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise ImageReadError(f"Image file not found: '{path}'") from None
    except OSError as e:
        raise ImageReadError(f"Cannot read image file '{path}': {e}") from e


def imread(path: str, flag: str = 'color', float32: bool = True, keep_depth: bool = False) -> np.ndarray:
    """Read an image file to an HWC BGR array (float32 in [0, 1] by default); see :func:`imfrombytes`."""
    return imfrombytes(read_bytes(path), flag=flag, float32=float32, path=path, keep_depth=keep_depth)


def imread_rgb(path: str, flag: str = 'color', float32: bool = True, keep_depth: bool = False) -> np.ndarray:
    """:func:`imread` in RGB order (HxWx3; gray images stay HxWx1), the order the networks and the API use."""
    img = imread(path, flag=flag, float32=float32, keep_depth=keep_depth)
    return np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img


def imwrite(img: np.ndarray, path: str, auto_mkdir: bool = True) -> None:
    """Write a uint8 or uint16 HWC BGR (or HW/HW1 gray) array, atomically (no half-written file on a crash
    or a full disk); raises ``OSError`` naming the file on failure."""
    if img.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"imwrite expects uint8 or uint16 data, got {img.dtype} for '{path}'; "
                        'use tensor2img(..., out_type=np.uint8/np.uint16) first')
    if not auto_mkdir and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise FileNotFoundError(f"Folder of '{path}' does not exist.")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    ext = os.path.splitext(path)[1] or '.png'
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise OSError(f"Failed to encode image for '{path}'.")
    with atomic_write(path) as f:
        f.write(buf.tobytes())


def img2tensor(imgs: Union[np.ndarray, Sequence[np.ndarray]], bgr2rgb: bool = True,
               float32: bool = True) -> Union[torch.Tensor, List[torch.Tensor]]:
    """HWC numpy image(s) -> CHW tensor(s), optionally swapping BGR to RGB (3-channel images only)."""

    def _convert(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = img[:, :, None]
        if bgr2rgb and img.shape[2] == 3:
            img = img[:, :, ::-1]
        t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        return t.float() if float32 else t

    if isinstance(imgs, np.ndarray):
        return _convert(imgs)
    return [_convert(img) for img in imgs]


def tensor2img(tensor: torch.Tensor, rgb2bgr: bool = True, out_type: type = np.uint8,
               min_max: Tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """CHW or 1CHW tensor -> HWC numpy image (HW for one channel).

    Values are clamped to ``min_max`` and rescaled to [0, 1]; integer outputs are rounded
    (round-half-to-even, as ``np.round``) to the range of ``out_type``; float outputs stay in [0, 1].
    """
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f'tensor2img takes one image, got a batch of {tensor.shape[0]}')
        tensor = tensor[0]
    if tensor.dim() != 3:
        raise ValueError(f'tensor2img expects CHW or 1CHW, got shape {tuple(tensor.shape)}')
    t = tensor.detach().float().cpu().clamp_(*min_max)
    t = (t - min_max[0]) / (min_max[1] - min_max[0])
    img = t.numpy().transpose(1, 2, 0)
    if img.shape[2] == 3 and rgb2bgr:
        img = img[:, :, ::-1]
    if img.shape[2] == 1:
        img = img[:, :, 0]
    if out_type == np.uint8:
        return np.round(img * 255.0).astype(np.uint8)
    if out_type == np.uint16:
        return np.round(img * 65535.0).astype(np.uint16)
    return np.ascontiguousarray(img.astype(out_type))
