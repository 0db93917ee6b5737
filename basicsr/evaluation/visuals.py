"""Pictures of an evaluation: one ``input | restored | target`` strip per image, and an HTML page of the
best and the worst images by a metric (``--compare`` of the task scripts and ``basicsr/test.py``)."""
from __future__ import annotations

import html
import os
from typing import Dict, Optional, Sequence

import numpy as np

from basicsr.evaluation.report import MetricTable
from basicsr.utils.file_util import atomic_write
from basicsr.utils.img_util import imwrite

__all__ = ['side_by_side', 'save_comparison', 'write_html_summary', 'COMPARE_DIR']

COMPARE_DIR = 'compare'
_GAP = 4  # white pixels between the panels


def _as_rgb8(img: np.ndarray) -> np.ndarray:
    """HxW / HxWxC in uint8, uint16 or float [0, 1] -> uint8 HxWx3 (a 6-channel dual-pixel input shows its
    left view)."""
    img = np.asarray(img)
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 65535.0)
    if img.dtype != np.uint8:
        img = np.round(np.clip(img, 0, 1) * 255.0).astype(np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def side_by_side(*panels: Optional[np.ndarray]) -> np.ndarray:
    """RGB images (any of the dtypes above; ``None`` panels are left out) next to each other on white."""
    imgs = [_as_rgb8(p) for p in panels if p is not None]
    height = max(i.shape[0] for i in imgs)
    width = sum(i.shape[1] for i in imgs) + _GAP * (len(imgs) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    x = 0
    for img in imgs:
        canvas[:img.shape[0], x:x + img.shape[1]] = img
        x += img.shape[1] + _GAP
    return canvas


def save_comparison(folder: str, name: str, inp: np.ndarray, restored: np.ndarray,
                    target: Optional[np.ndarray] = None) -> str:
    """Write ``<folder>/compare/<name>.png`` (input | restored | target, RGB arrays); returns its path."""
    path = os.path.join(folder, COMPARE_DIR, os.path.splitext(name)[0] + '.png')
    imwrite(np.ascontiguousarray(side_by_side(inp, restored, target)[..., ::-1]), path)
    return path


def write_html_summary(table: MetricTable, folder: str, metric: str = 'psnr', count: int = 5,
                       images: Optional[Dict[str, str]] = None, stem: str = 'summary') -> Optional[str]:
    """An HTML page with the ``count`` worst and best rows of ``table`` by ``metric``, their values and their
    comparison strips (``images``: row name -> path, default ``<folder>/compare/<name>.png``).

    Returns the page's path, or ``None`` when the table has no such metric.
    """
    rows = [r for r in table.rows if metric in r]
    if not rows:
        return None
    higher_is_better = not metric.lower().startswith(('mae', 'lpips'))
    ranked = sorted(rows, key=lambda r: r[metric], reverse=not higher_is_better)  # worst first
    columns = table.columns

    def section(title: str, chosen: Sequence[dict]) -> str:
        parts = [f'<h2>{html.escape(title)}</h2>']
        for r in chosen:
            name = str(r['name'])
            picture = (images or {}).get(name) or os.path.join(folder, COMPARE_DIR, os.path.splitext(name)[0] + '.png')
            values = ', '.join(f'{c} {r[c]:.4f}' for c in columns if c in r)
            parts.append(f'<figure><figcaption><b>{html.escape(name)}</b>: {html.escape(values)}</figcaption>')
            if os.path.isfile(picture):
                rel = os.path.relpath(picture, folder).replace(os.sep, '/')
                parts.append(f'<img src="{html.escape(rel)}" alt="{html.escape(name)}">')
            parts.append('</figure>')
        return '\n'.join(parts)

    mean = table.summaries.get('mean', {})
    means = ', '.join(f'{k} {v:.4f}' for k, v in mean.items())
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(table.title or stem)}</title>'
            '<style>body{font-family:sans-serif;margin:1.5em} img{max-width:100%;border:1px solid #ccc}'
            'figure{margin:0 0 1.5em}</style></head><body>'
            f'<h1>{html.escape(table.title or stem)}</h1><p>{len(rows)} images; mean {html.escape(means)}. '
            'Each picture: input | restored | target.</p>'
            + section(f'Worst {min(count, len(ranked))} by {metric}', ranked[:count])
            + section(f'Best {min(count, len(ranked))} by {metric}', ranked[::-1][:count]) + '</body></html>')
    path = os.path.join(folder, f'{stem}.html')
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return path
