"""Inference shared by validation, the task test scripts and the demo.

``restore`` = pad to a multiple of 8 (reflect, bottom/right) -> forward (whole image, or tiles) ->
crop back -> clamp to [0, 1], under ``torch.inference_mode()``.

Tiling follows the official demo: tiles of ``tile`` pixels (a multiple of 8) with ``tile_overlap``
pixels of overlap, starting at ``0, stride, 2*stride, ...`` plus a last tile flush with the
bottom/right edge.  Overlapping outputs are averaged (``blend='uniform'``, the official rule) or
weighted by a window that ramps down towards tile edges (``blend='feather'``), which hides seams.
Tiles are run in batches of ``tile_batch``; peak memory grows with the tile size and batch, not
the image size (the image and the output accumulators stay on ``accumulate_device``).
"""
from __future__ import annotations

from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from basicsr.utils.device import autocast_context

__all__ = ['pad_to_multiple', 'tile_starts', 'tiled_forward', 'self_ensemble_forward', 'restore', 'dihedral',
           'inverse_dihedral']


def pad_to_multiple(x: torch.Tensor, multiple: int = 8) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Pad an NCHW tensor at the bottom/right to a multiple of ``multiple``; returns ``(padded, (h, w))``.

    Reflect padding (as the official test scripts); replicate where the image is too small to reflect.
    """
    h, w = x.shape[-2:]
    if not multiple or multiple <= 1:
        return x, (h, w)
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = 'reflect' if ph < h and pw < w else 'replicate'
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def tile_starts(length: int, tile: int, stride: int) -> List[int]:
    """Tile origins along one axis: ``range(0, length - tile, stride)`` plus ``length - tile``."""
    if tile >= length:
        return [0]
    return list(range(0, length - tile, stride)) + [length - tile]


def _feather(h: int, w: int, overlap: int, device: torch.device) -> torch.Tensor:
    """Window that is 1 inside and ramps linearly (never to 0) over ``overlap`` pixels at each edge."""
    def ramp(n: int) -> torch.Tensor:
        d = torch.minimum(torch.arange(n, device=device), torch.arange(n - 1, -1, -1, device=device)).float()
        return ((d + 1) / (overlap + 1)).clamp(max=1.0) if overlap > 0 else torch.ones(n, device=device)
    return ramp(h)[:, None] * ramp(w)[None, :]


def tiled_forward(net: nn.Module, x: torch.Tensor, tile: int, tile_overlap: int = 32, tile_batch: int = 4,
                  blend: str = 'uniform', compute_device: Optional[torch.device] = None,
                  out_channels: Optional[int] = None) -> torch.Tensor:
    """Run ``net`` on overlapping tiles of an NCHW tensor whose sides are multiples of 8.

    Args:
        net: image-to-image network (same spatial size in and out).
        x: input, on the device where the full-size tensors should live (CPU for huge images).
        tile: tile size, a multiple of 8; clipped to the image size per axis.
        tile_overlap: overlap between neighbouring tiles (< tile).
        tile_batch: tiles per forward pass.
        blend: ``'uniform'`` (average, official) or ``'feather'``.
        compute_device: where the network runs (default: ``x.device``).
        out_channels: output channels (default: inferred from the first tile).
    """
    if tile <= 0 or tile % 8:
        raise ValueError(f'tile must be a positive multiple of 8, got {tile}')
    if not 0 <= tile_overlap < tile:
        raise ValueError(f'tile_overlap must be in [0, tile), got {tile_overlap} for tile {tile}')
    if blend not in ('uniform', 'feather'):
        raise ValueError(f"blend must be 'uniform' or 'feather', got {blend!r}")
    compute_device = compute_device or x.device
    b, _, h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    stride_h, stride_w = max(th - tile_overlap, 1), max(tw - tile_overlap, 1)
    boxes = [(i, j) for i in tile_starts(h, th, stride_h) for j in tile_starts(w, tw, stride_w)]
    weight = (_feather(th, tw, tile_overlap, x.device) if blend == 'feather'
              else torch.ones(th, tw, device=x.device))
    out: Optional[torch.Tensor] = None
    count = torch.zeros(1, 1, h, w, device=x.device)
    for k in range(0, len(boxes), tile_batch):
        chunk = boxes[k:k + tile_batch]
        tiles = torch.cat([x[..., i:i + th, j:j + tw] for i, j in chunk], dim=0).to(compute_device)
        pred = net(tiles).to(x.device, torch.float32)
        if out is None:
            out = torch.zeros(b, out_channels or pred.shape[1], h, w, device=x.device)
        for n, (i, j) in enumerate(chunk):
            out[..., i:i + th, j:j + tw] += pred[n * b:(n + 1) * b] * weight
            count[..., i:i + th, j:j + tw] += weight
    return out.div_(count)


def dihedral(x: torch.Tensor, mode: int) -> torch.Tensor:
    """The 8 flip/rotation modes of :func:`basicsr.data.transforms.augment` on NCHW tensors."""
    out = torch.rot90(x, k=mode // 2, dims=(-2, -1)) if mode >= 2 else x
    return torch.flip(out, dims=(-2,)) if mode % 2 else out


def inverse_dihedral(x: torch.Tensor, mode: int) -> torch.Tensor:
    out = torch.flip(x, dims=(-2,)) if mode % 2 else x
    return torch.rot90(out, k=-(mode // 2), dims=(-2, -1)) if mode >= 2 else out


def self_ensemble_forward(forward, x: torch.Tensor) -> torch.Tensor:
    """Average of ``forward`` over the 8 dihedral transforms of ``x`` (x8 self-ensemble)."""
    acc = None
    for mode in range(8):
        y = inverse_dihedral(forward(dihedral(x, mode)), mode).float()
        acc = y if acc is None else acc + y
    return acc / 8


def restore(net: nn.Module, x: torch.Tensor, multiple: int = 8, tile: Optional[int] = None,
            tile_overlap: int = 32, tile_batch: int = 4, blend: str = 'uniform', self_ensemble: bool = False,
            amp: Union[None, bool, str] = None, compute_device: Optional[torch.device] = None,
            clamp: bool = True) -> torch.Tensor:
    """Restore an NCHW batch in [0, 1]: pad, forward (optionally tiled / x8 ensemble), crop, clamp.

    Runs under ``torch.inference_mode()``; the network should be in ``eval()`` mode.
    """
    param = next(net.parameters(), None)
    compute_device = compute_device or (param.device if param is not None else x.device)
    with torch.inference_mode():
        padded, (h, w) = pad_to_multiple(x, multiple)

        def forward(inp: torch.Tensor) -> torch.Tensor:
            with autocast_context(compute_device, amp):
                if tile is not None:
                    return tiled_forward(net, inp, tile, tile_overlap, tile_batch, blend, compute_device)
                return net(inp.to(compute_device)).to(inp.device, torch.float32)

        out = self_ensemble_forward(forward, padded) if self_ensemble else forward(padded)
        out = out[..., :h, :w]
        return out.clamp_(0, 1) if clamp else out
