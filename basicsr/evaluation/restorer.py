"""The Python API: restore images with an official or your own Restormer in a few lines.

    from basicsr import Restorer
    restorer = Restorer.from_task('Real_Denoising')            # official weights in Denoising/pretrained_models/
    clean = restorer.restore(noisy)                            # numpy HxWx3 RGB uint8 -> same shape and dtype
    restorer.restore_file('noisy.png', 'clean.png')            # or paths

``Restorer.from_options(file, weights)`` uses any option file's ``network_g`` and
``Restorer.from_experiment(folder)`` the newest ``net_g_latest.pth`` of a training run with the options
saved next to it.  Images may be uint8, uint16 or float in [0, 1], gray (HxW, HxWx1) or colour (HxWx3,
alpha is dropped), of any size: they are padded to a multiple of 8 and, when the whole image would not fit
the memory budget, restored in overlapping tiles.  The demo, the web demo, the task test scripts and
``basicsr/test.py`` restore through this class, so they agree to the pixel.
"""
from __future__ import annotations

import glob
import logging
import os
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from basicsr.evaluation.tasks import TaskSpec, get_task, network_options
from basicsr.models.archs import build_network
from basicsr.utils.device import compile_network, select_device
from basicsr.utils.errors import DataMismatchError, MissingInputError, OptionError
from basicsr.utils.file_util import check_outputs_spare_inputs, require_file
from basicsr.utils.img_util import imread_rgb, imwrite, to_unit_float
from basicsr.utils.inference import restore

__all__ = ['Restorer', 'bytes_per_pixel', 'auto_tile']

logger = logging.getLogger('basicsr')

ImageLike = Union[np.ndarray, str, os.PathLike, Tuple[np.ndarray, np.ndarray]]

#: activation memory of a Restormer forward per input pixel and per unit of ``dim`` (float32; measured on the
#: CPU: about 8-10 KB per pixel for dim 48), with a margin
_BYTES_PER_PIXEL_PER_DIM = 240


def bytes_per_pixel(network_opt: Dict[str, Any], amp: Optional[str] = None) -> float:
    """Estimated peak activation memory of one forward pass per input pixel."""
    per_pixel = _BYTES_PER_PIXEL_PER_DIM * int(network_opt.get('dim', 48))
    return per_pixel / 2 if amp else per_pixel


def default_memory_budget(device: torch.device) -> int:
    """Bytes the activations may use: 70% of the free GPU memory, or of the available RAM (at most 16 GiB)."""
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.7)
    try:
        with open('/proc/meminfo') as f:
            available = int(next(line for line in f if line.startswith('MemAvailable')).split()[1]) * 1024
    except (OSError, StopIteration, ValueError):
        available = 8 << 30
    return int(min(available * 0.7, 16 << 30))


def auto_tile(height: int, width: int, per_pixel: float, budget: int, multiple: int = 8,
              tile_batch: int = 1) -> Optional[int]:
    """No tiling (``None``) when the padded image fits ``budget``, else the largest tile (a multiple of
    ``multiple``, at least 64) whose forward pass fits."""
    h, w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    if h * w * per_pixel <= budget:
        return None
    side = int((budget / (per_pixel * tile_batch)) ** 0.5) // multiple * multiple
    return max(side, 64)


class Restorer:
    """A restoration network ready for inference: padding, tiling, self-ensemble, mixed precision.

    Args:
        net: the network (any module mapping NCHW images in [0, 1] to the same size).
        network_opt: its ``network_g`` options (channels and width, for the memory estimate).
        device: ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or a ``torch.device``.
        amp: ``None``, ``'bf16'`` or ``'fp16'`` (autocast; MDTA's attention stays in float32).
        tile: ``'auto'`` (tile only when the image does not fit ``memory_budget``), ``None`` (never) or a
            tile size (a multiple of 8).
        tile_overlap: overlap of neighbouring tiles.
        tile_batch: tiles per forward pass.
        blend: how overlapping tiles are merged, ``'feather'`` (hides seams) or ``'uniform'`` (official).
        self_ensemble: average over the 8 flips/rotations (8x slower, a little better).
        memory_budget: bytes the activations may use with ``tile='auto'`` (default: from the free memory).
        name: what the restorer is (task name or weights file), for messages.
        compile: ``torch.compile`` the network (``True``: inductor; or a backend name).  The first image of
            each new size pays the compilation; worth it for many images of few sizes.
    """

    def __init__(self, net: nn.Module, network_opt: Dict[str, Any], device: Union[str, torch.device] = 'auto',
                 amp: Optional[str] = None, tile: Union[str, int, None] = 'auto', tile_overlap: int = 32,
                 tile_batch: int = 1, blend: str = 'feather', self_ensemble: bool = False,
                 memory_budget: Optional[int] = None, name: str = '', compile: Union[bool, str] = False) -> None:
        if tile not in ('auto', None) and (not isinstance(tile, int) or tile <= 0 or tile % 8):
            raise OptionError(f"tile must be 'auto', None or a positive multiple of 8, got {tile!r}")
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.module = net.eval().to(self.device)
        self.net = compile_network(self.module, compile) if compile else self.module
        self.network_opt = dict(network_opt)
        self.amp, self.tile, self.tile_overlap, self.tile_batch = amp, tile, tile_overlap, tile_batch
        self.blend, self.self_ensemble, self.name = blend, self_ensemble, name
        self.memory_budget = memory_budget
        self.multiple = int(getattr(type(self.module), 'size_multiple', 8))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_options(cls, option_file: str, weights: Optional[str] = None, overrides: Sequence[str] = (),
                     param_key: str = 'params', **kwargs: Any) -> 'Restorer':
        """The network of an option file's ``network_g`` with ``weights`` (default: its ``path.pretrain_network_g``)."""
        from basicsr.config import parse
        opt = parse(require_file(option_file, 'Option file'), is_train=False, overrides=list(overrides))
        weights = weights or opt['path']['pretrain_network_g']
        if not weights:
            raise OptionError(f"No weights for '{option_file}': pass weights=... (or set path.pretrain_network_g).")
        require_file(weights, 'Weights file')
        net = build_network(opt['network_g'], weights, param_key=param_key)
        return cls(net, dict(opt['network_g']), name=kwargs.pop('name', os.path.basename(weights)), **kwargs)

    @classmethod
    def from_task(cls, task: Union[str, TaskSpec], weights: Optional[str] = None, overrides: Sequence[str] = (),
                  **kwargs: Any) -> 'Restorer':
        """An official model by task name (``Restorer.from_task('Deraining')``; names in
        :data:`basicsr.evaluation.tasks.TASKS`), with its official weights unless ``weights`` is given."""
        spec = task if isinstance(task, TaskSpec) else get_task(task)
        network_opt = network_options(spec.option_path, overrides)
        weights = weights or spec.weights_path
        if not os.path.isfile(weights):
            raise MissingInputError(spec.missing_weights_message(weights))
        net = build_network(network_opt, weights, param_key=kwargs.pop('param_key', 'params'))
        return cls(net, network_opt, name=kwargs.pop('name', spec.name), **kwargs)

    @classmethod
    def from_experiment(cls, path: str, checkpoint: str = 'latest', **kwargs: Any) -> 'Restorer':
        """The weights of one of your training runs: ``path`` is its experiment folder (``experiments/<name>``)
        or a ``net_g_*.pth`` inside it; the network comes from the newest ``options_*.yml`` saved there.
        EMA weights (``params_ema``) are used when the run kept them."""
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.dirname(os.path.abspath(path)))
        weights = path if os.path.isfile(path) else os.path.join(folder, 'models', f'net_g_{checkpoint}.pth')
        require_file(weights, 'Weights file')
        options = sorted(glob.glob(os.path.join(folder, 'options_*.yml')))
        if not options:
            raise MissingInputError(f"No options_*.yml in '{folder}': is it an experiment folder of basicsr/train.py? "
                                    'Use Restorer.from_options(option_file, weights) instead.')
        from basicsr.utils.checkpoint import load_checkpoint_file
        key = 'params_ema' if 'params_ema' in load_checkpoint_file(weights) else 'params'
        return cls.from_options(options[-1], weights, param_key=key,
                                name=kwargs.pop('name', os.path.relpath(weights, os.path.dirname(folder))), **kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def in_channels(self) -> int:
        return int(self.network_opt.get('inp_channels', 3))

    @property
    def out_channels(self) -> int:
        return int(self.network_opt.get('out_channels', 3))

    def __repr__(self) -> str:
        return (f'Restorer({self.name!r}, {self.in_channels}->{self.out_channels} channels, device={self.device}, '
                f'tile={self.tile!r}, amp={self.amp})')

    # ------------------------------------------------------------------ tensors
    def tile_for(self, height: int, width: int) -> Optional[int]:
        """The tile size used for an image of this size (``None``: the whole image at once)."""
        if self.tile != 'auto':
            return self.tile
        budget = self.memory_budget or default_memory_budget(self.device)
        return auto_tile(height, width, bytes_per_pixel(self.network_opt, self.amp), budget, self.multiple,
                         self.tile_batch)

    def restore_tensor(self, x: torch.Tensor, tile: Union[str, int, None] = 'default') -> torch.Tensor:
        """Restore an NCHW float batch in [0, 1] (any size); returns it clamped to [0, 1] on ``x``'s device."""
        tile = self.tile_for(*x.shape[-2:]) if tile == 'default' else tile
        return restore(self.net, x.to(self.device), multiple=self.multiple, tile=tile,
                       tile_overlap=self.tile_overlap, tile_batch=self.tile_batch, blend=self.blend,
                       self_ensemble=self.self_ensemble, amp=self.amp, compute_device=self.device).to(x.device)

    def test(self, lq: torch.Tensor, window_size: int = 8, tile: Optional[int] = None, tile_overlap: int = 32,
             self_ensemble: bool = False) -> torch.Tensor:
        """The interface of :meth:`ImageCleanModel.test` (validation), for evaluating a restorer on a dataset."""
        return restore(self.net, lq.to(self.device), multiple=window_size, tile=tile, tile_overlap=tile_overlap,
                       self_ensemble=self_ensemble, amp=self.amp, compute_device=self.device)

    # ------------------------------------------------------------------ images
    def _to_tensor(self, image: ImageLike) -> Tuple[torch.Tensor, np.dtype]:
        if isinstance(image, tuple):  # a dual-pixel (left, right) pair
            image = np.concatenate([_channels_last(v) for v in image], axis=2)
        img = _channels_last(np.asarray(image))
        dtype = img.dtype
        try:
            x = to_unit_float(img).astype(np.float32, copy=False)
        except TypeError:
            raise DataMismatchError(f'Images must be uint8, uint16 or float in [0, 1], got {dtype}.') from None
        c = x.shape[2]
        if c == 4 and self.in_channels != 4:
            x = x[..., :3]  # drop alpha
        elif c == 1 and self.in_channels == 3:
            x = np.repeat(x, 3, axis=2)
        elif c == 3 and self.in_channels == 1:
            x = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None]
        if x.shape[2] != self.in_channels:
            what = 'a left/right dual-pixel pair (6 channels)' if self.in_channels == 6 else \
                f'{self.in_channels}-channel images'
            raise DataMismatchError(f'{self.name or "This network"} restores {what}; got an image with {c} channel(s).')
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None], dtype

    def restore(self, image: ImageLike) -> np.ndarray:
        """Restore one image.

        Args:
            image: an RGB (or gray) array, HxW / HxWxC, uint8, uint16 or float in [0, 1]; a file path; or a
                ``(left, right)`` pair for the dual-pixel model.

        Returns:
            The restored image with the input's dtype (float in, float32 out), RGB HxWx3, or HxW for a gray
            network.
        """
        if isinstance(image, (str, os.PathLike)):
            image = self.read(str(image))
        x, dtype = self._to_tensor(image)
        out = self.restore_tensor(x)[0].float().cpu().numpy().transpose(1, 2, 0)
        if out.shape[2] == 1:
            out = out[..., 0]
        if dtype == np.uint8:
            return np.round(out * 255.0).astype(np.uint8)
        if dtype == np.uint16:
            return np.round(out * 65535.0).astype(np.uint16)
        return out.astype(np.float32)

    def read(self, path: str) -> np.ndarray:
        """An image file as this network takes it: gray for a 1-channel network, RGB otherwise (as the
        official demo reads them), keeping 16-bit files 16-bit."""
        return imread_rgb(path, flag='grayscale' if self.in_channels == 1 else 'color', float32=False,
                          keep_depth=True)

    def restore_file(self, src: str, dst: str) -> np.ndarray:
        """Read ``src``, restore it, write ``dst`` (PNG keeps 16 bits for 16-bit inputs); returns the result.
        ``dst`` may not be ``src``: the input is never replaced."""
        check_outputs_spare_inputs([src], [dst], hint='write the result to another file')
        out = self.restore(self.read(src))
        imwrite(np.ascontiguousarray(out[..., ::-1]) if out.ndim == 3 else out, dst)
        return out


def _channels_last(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        return img[..., None]
    if img.ndim != 3:
        raise DataMismatchError(f'Expected an image HxW or HxWxC, got an array of shape {img.shape}.')
    return img
