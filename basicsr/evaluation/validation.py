"""Validation: restore every image of a validation set and compute the configured metrics.

Images are split over the ranks (image i on rank ``i % world_size``) and the per-image results
are gathered, so every rank returns the same averages.  Metrics follow the official semantics:
with ``use_image: true`` they are computed on the saved 8-bit BGR images; otherwise on the float
output (clamped, scaled to [0, 255] so Y-channel metrics stay valid; PSNR/SSIM are unchanged by
the scaling).
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

from basicsr.evaluation.report import MetricTable
from basicsr.evaluation.visuals import save_comparison
from basicsr.metrics import calculate_metric
from basicsr.utils.cli import report_skipped
from basicsr.utils.dist import all_gather_object, get_dist_info
from basicsr.utils.errors import DataMismatchError, ImageReadError
from basicsr.utils.file_util import file_stem
from basicsr.utils.img_util import imwrite, tensor2img

__all__ = ['validate', 'shard_loader', 'run_validation', 'update_best']

logger = logging.getLogger('basicsr')


class _SkipUnreadable(Dataset):
    """A dataset whose unreadable or mismatched items come back as ``{'error', 'lq_path'}`` instead of raising,
    so that one bad image does not end an evaluation."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        try:
            return self.dataset[index]
        except (ImageReadError, DataMismatchError) as e:
            paths = getattr(self.dataset, 'paths', None)
            first = next(iter(paths[index].values())) if paths else f'item {index}'
            return {'error': str(e), 'lq_path': first}

    def __getattr__(self, name: str) -> Any:  # bit_depth and the like of the wrapped dataset
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)


def shard_loader(dataset: Any, rank: int, world_size: int, num_workers: int = 0) -> DataLoader:
    """Batch-1 loader over this rank's images (``rank, rank + W, ...``); unreadable images are skipped
    (:func:`validate` reports them)."""
    subset = Subset(_SkipUnreadable(dataset), list(range(rank, len(dataset), world_size)))
    return DataLoader(subset, batch_size=1, shuffle=False, num_workers=num_workers)


def _metric_images(out: torch.Tensor, gt: torch.Tensor, rgb2bgr: bool,
                   use_image: bool) -> Tuple[np.ndarray, np.ndarray]:
    if use_image:
        return tensor2img(out, rgb2bgr=rgb2bgr), tensor2img(gt, rgb2bgr=rgb2bgr)
    sr = tensor2img(out, rgb2bgr=rgb2bgr, out_type=np.float64) * 255.0
    hr = tensor2img(gt, rgb2bgr=rgb2bgr, out_type=np.float64) * 255.0
    return sr, hr


def _preview(t: torch.Tensor) -> torch.Tensor:
    """CHW preview for TensorBoard (first 3 channels of a 6-channel dual-pixel input)."""
    t = t[0].detach().float().cpu().clamp(0, 1)
    return t[:3] if t.shape[0] > 3 else t


def validate(model: Any, loader: DataLoader, dataset_name: str, val_opt: Dict[str, Any], current_iter: Optional[int],
             visualization_dir: Optional[str] = None, tb_logger: Any = None, show_progress: bool = True,
             input_metrics: bool = False, compare_dir: Optional[str] = None) -> MetricTable:
    """Run validation on this rank's shard; returns the per-image table of all ranks with its ``mean`` row.

    Args:
        model: object with ``test(lq, window_size, tile, tile_overlap, self_ensemble)``.
        loader: this rank's shard (see :func:`shard_loader`).
        dataset_name: used in logs, TensorBoard tags and image folders.
        val_opt: the ``val`` options.
        current_iter: iteration (for names and TensorBoard steps); ``None`` when testing.
        visualization_dir: where ``save_img`` writes images (``<img>/<img>_<iter>.png`` while training,
            ``<img>.png`` when testing).
        tb_logger: TensorBoard writer (rank 0) for metrics and a few images.
        input_metrics: also measure the degraded input against the target (``<metric>_input``), as a
            baseline; skipped when the input and target differ in shape (dual-pixel).
        compare_dir: write an ``input | restored | target`` picture of every image into ``<compare_dir>/compare/``.
    """
    rank, _ = get_dist_info()
    metrics = val_opt.get('metrics') or {}
    bit_depth = getattr(getattr(loader.dataset, 'dataset', loader.dataset), 'bit_depth', 8)
    out_type = np.uint16 if bit_depth == 16 else np.uint8
    rows: List[Tuple[str, Dict[str, float]]] = []
    bar = tqdm(total=len(loader), desc=f'val {dataset_name}', unit='img', leave=False,
               disable=(rank != 0) or not show_progress)
    for n, batch in enumerate(loader):
        if 'error' in batch:
            report_skipped(batch['lq_path'][0], batch['error'][0])
            bar.update(1)
            continue
        name = file_stem(batch['lq_path'][0])
        out = model.test(batch['lq'], window_size=val_opt.get('window_size') or 0, tile=val_opt.get('tile'),
                         tile_overlap=val_opt.get('tile_overlap', 32),
                         self_ensemble=val_opt.get('self_ensemble', False))
        values: Dict[str, float] = {}
        if 'gt' in batch and metrics:
            sr, hr = _metric_images(out, batch['gt'], val_opt.get('rgb2bgr', True), val_opt.get('use_image', True))
            for mname, mopt in metrics.items():
                values[mname] = float(calculate_metric({'img': sr, 'img2': hr}, mopt))
            if input_metrics and batch['lq'].shape == batch['gt'].shape:
                lq, _ = _metric_images(batch['lq'].clamp(0, 1), batch['gt'], val_opt.get('rgb2bgr', True),
                                       val_opt.get('use_image', True))
                for mname, mopt in metrics.items():
                    values[f'{mname}_input'] = float(calculate_metric({'img': lq, 'img2': hr}, mopt))
        rows.append((name, values))
        if val_opt.get('save_img') and visualization_dir:
            suffix = f"_{val_opt['suffix']}" if val_opt.get('suffix') else ''
            rel = (f'{name}{suffix}.png' if current_iter is None
                   else os.path.join(name, f'{name}_{current_iter}{suffix}.png'))
            imwrite(tensor2img(out, rgb2bgr=val_opt.get('rgb2bgr', True), out_type=out_type),
                    os.path.join(visualization_dir, rel))
        if compare_dir is not None:
            save_comparison(compare_dir, name, _preview(batch['lq']).permute(1, 2, 0).numpy(),
                            _preview(out).permute(1, 2, 0).numpy(),
                            _preview(batch['gt']).permute(1, 2, 0).numpy() if 'gt' in batch else None)
        if tb_logger is not None and current_iter is not None and n < val_opt.get('tb_images', 3):
            images = [_preview(batch['lq']), _preview(out)] + ([_preview(batch['gt'])] if 'gt' in batch else [])
            if len({i.shape for i in images}) == 1:
                tb_logger.add_images(f'val_{dataset_name}/{name}', torch.stack(images), current_iter)
        bar.update(1)
    bar.close()
    table = MetricTable(dataset_name)
    for name, values in (r for part in all_gather_object(rows) for r in part):
        table.add(name, values)
    means = table.add_summary('mean') if table.rows and table.columns else {}
    if tb_logger is not None and current_iter is not None:
        for m, v in means.items():
            if not m.endswith('_input'):
                tb_logger.add_scalar(f'metrics/{dataset_name}/{m}', v, current_iter)
    return table


def update_best(best: Dict[str, Dict[str, Any]], set_name: str, means: Dict[str, float],
                metric_opts: Dict[str, Any], it: int) -> str:
    """Record new best values in ``best`` (``{'<set>/<metric>': {'val', 'iter'}}``); returns the log text."""
    parts = []
    for m, v in means.items():
        if m.endswith('_input'):
            continue
        key = f'{set_name}/{m}'
        record = best.get(key)
        higher_better = metric_opts[m].get('better', 'higher') == 'higher'
        if record is None or (v > record['val'] if higher_better else v < record['val']):
            best[key] = record = {'val': v, 'iter': it}
        parts.append(f"{m}: {v:.4f} (best {record['val']:.4f} @ iter {record['iter']})")
    return ' | '.join(parts) if parts else '(no metrics)'


def run_validation(model: Any, val_sets: List[Tuple[str, DataLoader]], val_opt: Dict[str, Any], it: int,
                   visualization_dir: Optional[str], tb_logger: Any, best: Dict[str, Dict[str, Any]],
                   final: bool = False) -> None:
    """Validate on every set, log the means (and, when ``final``, the per-image table with the input baseline)."""
    for name, loader in val_sets:
        table = validate(model, loader, name, val_opt, it, visualization_dir, tb_logger,
                         show_progress=val_opt.get('pbar', True), input_metrics=final)
        if final and table.rows:
            logger.info('Final validation on %s (iteration %d; *_input = the degraded input):\n%s', name, it,
                        table.format(max_rows=50))
        means = table.summaries.get('mean', {})
        logger.info('Validation %s at iter %d # %s', name, it, update_best(best, name, means, val_opt['metrics'], it))
