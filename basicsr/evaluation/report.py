"""Evaluation reports shared by the task test/evaluation scripts.

* pairing of result files with ground-truth files (by name, else in natural order as the official
  scripts do with ``natsort.natsorted``);
* :class:`MetricTable`: per-image metric rows plus summary rows (means), printed as a text table
  and written as CSV and JSON;
* :func:`evaluate_pairs`: apply a protocol function to image pairs read from disk, optionally
  in worker processes (the official MATLAB/Python evaluators use 10-20 workers).
"""
from __future__ import annotations

import csv
import json
import logging
import math
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from basicsr.utils.errors import DatasetLayoutError
from basicsr.utils.file_util import atomic_write, file_stem, list_images, natsorted
from basicsr.utils.img_util import imread

__all__ = ['pair_files', 'MetricTable', 'evaluate_pairs', 'evaluate_folders', 'summary_table']

logger = logging.getLogger('basicsr')


def pair_files(results: Sequence[str], targets: Sequence[str]) -> List[Tuple[str, str]]:
    """Pair result files with ground-truth files.

    If both lists hold the same file names up to the extension (results are saved as PNG under
    the input's name), files are paired by name; otherwise by position in natural order, as the
    official evaluators do.  The lists must have the same length.
    """
    if len(results) != len(targets):
        raise DatasetLayoutError(f'{len(results)} result images but {len(targets)} ground-truth images '
                                 f"(first result: '{results[0] if results else None}', first ground truth: "
                                 f"'{targets[0] if targets else None}')")
    by_stem = {file_stem(p): p for p in results}
    if len(by_stem) == len(results) and set(by_stem) == {file_stem(p) for p in targets}:
        return [(by_stem[file_stem(t)], t) for t in natsorted(targets)]
    logger.info('Result and ground-truth file names differ; pairing them by natural sort order.')
    return list(zip(natsorted(results), natsorted(targets)))


def _fmt(v: Any, digits: int) -> str:
    if isinstance(v, float):
        return f'{v:.{digits}f}'
    return str(v)


class MetricTable:
    """Per-image metric values with named summary rows (e.g. ``mean``, ``indoor``).

    Args:
        title: printed above the table and stored in the JSON file.
        digits: decimals when printing (files keep full precision).
        row_label: header of the name column when printing (``image``, ``set``, ...).
    """

    def __init__(self, title: str = '', digits: int = 4, row_label: str = 'image') -> None:
        self.title = title
        self.digits = digits
        self.row_label = row_label
        self.rows: List[Dict[str, Any]] = []
        self.summaries: Dict[str, Dict[str, float]] = {}
        self.meta: Dict[str, Any] = {}

    @property
    def columns(self) -> List[str]:
        """Metric names in first-seen order."""
        cols: List[str] = []
        for row in list(self.rows) + list(self.summaries.values()):
            cols.extend(k for k in row if k != 'name' and k not in cols)
        return cols

    def add(self, name: str, values: Mapping[str, float]) -> None:
        """Append the row of image ``name``."""
        self.rows.append({'name': name, **{k: float(v) for k, v in values.items()}})

    def mean(self, names: Optional[Sequence[str]] = None) -> Dict[str, float]:
        """Column means over all rows (or over the rows whose name is in ``names``)."""
        rows = self.rows if names is None else [r for r in self.rows if r['name'] in set(names)]
        return {c: float(np.mean([r[c] for r in rows if c in r])) for c in self.columns
                if any(c in r for r in rows)}

    def add_summary(self, label: str, values: Optional[Mapping[str, float]] = None) -> Dict[str, float]:
        """Add a summary row (default: the mean of all rows) and return it."""
        values = dict(self.mean() if values is None else values)
        self.summaries[label] = {k: float(v) for k, v in values.items()}
        return self.summaries[label]

    def format(self, per_image: bool = True, max_rows: Optional[int] = None) -> str:
        """The table as text: one line per image (if ``per_image``; the first ``max_rows``), then the summaries."""
        cols = self.columns
        lines = (self.rows if max_rows is None else self.rows[:max_rows]) if per_image else []
        body = [[str(r['name'])] + [_fmt(r.get(c, ''), self.digits) for c in cols] for r in lines]
        summ = [[label] + [_fmt(v.get(c, ''), self.digits) for c in cols] for label, v in self.summaries.items()]
        header = [self.row_label] + cols
        widths = [max(len(x) for x in col) for col in zip(header, *body, *summ)] if (body or summ) else \
            [len(h) for h in header]

        def line(cells: Sequence[str]) -> str:
            return '  '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        out = [self.title] if self.title else []
        out.append(line(header))
        out.extend(line(r) for r in body)
        if per_image and len(lines) < len(self.rows):
            out.append(f'... {len(self.rows) - len(lines)} more')
        if summ:
            out.append('-' * len(out[-1]))
            out.extend(line(r) for r in summ)
        return '\n'.join(out)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-serialisable content: title, columns, per-image rows, summaries and metadata."""
        return {'title': self.title, 'columns': self.columns, 'images': self.rows, 'summary': self.summaries,
                **({'meta': self.meta} if self.meta else {})}

    def save(self, folder: str, stem: str = 'metrics') -> Tuple[str, str]:
        """Write ``<folder>/<stem>.csv`` (rows, then summary rows) and ``<folder>/<stem>.json``; returns both paths."""
        csv_path, json_path = os.path.join(folder, stem + '.csv'), os.path.join(folder, stem + '.json')
        cols = self.columns
        with atomic_write(csv_path, 'w', newline='', encoding='utf-8') as f:
            writer = csv.writer(f)
            writer.writerow(['name'] + cols)
            for r in self.rows:
                writer.writerow([r['name']] + [repr(r[c]) if c in r else '' for c in cols])
            for label, v in self.summaries.items():
                writer.writerow([label] + [repr(v[c]) if c in v else '' for c in cols])
        with atomic_write(json_path, 'w', encoding='utf-8') as f:
            json.dump(_json_safe(self.to_dict()), f, indent=2)
        return csv_path, json_path


def _json_safe(obj: Any) -> Any:
    # PSNR of identical images is inf; standard JSON has no Infinity, so write it as a string.
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def summary_table(title: str, tables: Mapping[str, MetricTable], label: str = 'mean') -> MetricTable:
    """One row per table (its ``label`` summary), plus their mean as ``average`` (e.g. over test sets)."""
    out = MetricTable(title, row_label='set')
    for name, table in tables.items():
        out.add(name, table.summaries.get(label) or table.mean())
    if out.rows:
        out.add_summary('average')
    return out


def _evaluate_one(args: Tuple[Callable[..., Dict[str, float]], str, str, str]) -> Dict[str, float]:
    fn, result, target, flag = args
    return fn(imread(result, flag=flag, float32=False), imread(target, flag=flag, float32=False))


def evaluate_pairs(pairs: Sequence[Tuple[str, str]], metric_fn: Callable[..., Dict[str, float]],
                   flag: str = 'color', num_workers: int = 0, title: str = '',
                   progress: bool = True) -> MetricTable:
    """Read each (result, ground truth) pair with :func:`imread` (``float32=False``) and apply ``metric_fn``.

    Args:
        pairs: file pairs, e.g. from :func:`pair_files`.
        metric_fn: a module-level protocol function ``(restored, gt) -> {metric: value}``.
        flag: ``imread`` flag (``'color'``, ``'grayscale'`` or ``'unchanged'``).
        num_workers: worker processes (0 or 1: in this process).
        title: table title.
        progress: show a tqdm progress bar.

    Returns:
        A table with one row per result image (named by its file name) and a ``mean`` summary.
    """
    from tqdm import tqdm

    jobs = [(metric_fn, r, t, flag) for r, t in pairs]
    table = MetricTable(title)
    if num_workers and num_workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=num_workers) as ex:
            results = list(tqdm(ex.map(_evaluate_one, jobs), total=len(jobs), disable=not progress, desc=title))
    else:
        results = [_evaluate_one(j) for j in tqdm(jobs, disable=not progress, desc=title)]
    for (r, _), values in zip(pairs, results):
        table.add(os.path.basename(r), values)
    if table.rows:
        table.add_summary('mean')
    return table


def evaluate_folders(result_dir: str, gt_dir: str, metric_fn: Callable[..., Dict[str, float]], flag: str = 'color',
                     num_workers: int = 0, title: str = '') -> MetricTable:
    """Score the images in ``result_dir`` against ``gt_dir`` (paired by :func:`pair_files`) with ``metric_fn``."""
    results = list_images(result_dir, 'Result folder')
    targets = list_images(gt_dir, 'Ground-truth folder')
    return evaluate_pairs(pair_files(results, targets), metric_fn, flag=flag, num_workers=num_workers, title=title)
