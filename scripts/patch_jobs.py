"""Offline tooling behind the ``generate_patches_*.py`` scripts: parallel, resumable patch jobs.

The cropping rules themselves are in :mod:`basicsr.data.patches`.  Here, work is split into small
picklable jobs (one per source image or aligned image group) that :func:`run_jobs` executes in a
process pool.  Every file is written to a temporary name and then renamed, and a manifest
(``.patches_manifest.jsonl`` in the first output folder) records each finished job with its
outputs.  A re-run skips the jobs whose recorded outputs all exist, so an interrupted run resumes
where it stopped and never keeps a half-written patch.  Patches are named ``<name>-<k>.png`` (``k``
from 1) or ``<name>.png`` for images kept whole.

The scripts import this module as a sibling (``scripts/`` is on ``sys.path`` when one of them runs).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import basicsr  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from basicsr.data.patches import (Window, center_window, dpdd_windows, fitness_scores, grid_windows,  # noqa: E402
                                  kept_indices)
from basicsr.utils.cli import run_main  # noqa: E402
from basicsr.utils.errors import DatasetLayoutError, OutputConflictError  # noqa: E402
from basicsr.utils.file_util import list_images  # noqa: E402
from basicsr.utils.img_util import imread, imwrite  # noqa: E402

__all__ = ['SourceLayoutError', 'OutputConflictError', 'resolve_source', 'pair_by_order',
           'write_image', 'GridJob', 'DPDDJob', 'CenterCropJob', 'RunSummary', 'run_jobs', 'default_workers',
           'add_runner_args', 'runner_kwargs', 'fill_default_paths', 'MANIFEST_NAME', 'cli_main']

logger = logging.getLogger('basicsr')

MANIFEST_NAME = '.patches_manifest.jsonl'
TMP_DIR_NAME = '.tmp_patches'  # temporary files live here (not listed by the datasets: they scan one level)


class SourceLayoutError(DatasetLayoutError):
    """The source folders of a data set are missing or do not match the expected layout."""


def resolve_source(root: str, subfolders: Sequence[str], layout: str, what: str,
                   prefixes: Sequence[str] = ('',)) -> str:
    """Find the folder under ``root`` that holds all ``subfolders`` (each with images).

    Args:
        root: the data set's source root.
        subfolders: folders that must exist (and contain images) below the base folder.
        layout: the expected layout, shown in the error message.
        what: what is being looked for (e.g. ``'GoPro training data'``), for the message.
        prefixes: candidate base folders relative to ``root``, tried in order (e.g.
            ``('train/train', 'train')`` accepts both the official doubled folder and a flat one).

    Returns:
        The first ``root/prefix`` that has every subfolder.

    Raises:
        SourceLayoutError: naming the missing (or empty) folder and showing ``layout``.
    """
    first_problem = None
    for prefix in prefixes:
        base = os.path.join(root, prefix) if prefix else root
        problem = None
        for sub in subfolders:
            path = os.path.join(base, sub) if sub else base
            if not os.path.isdir(path):
                problem = f"folder not found: '{path}'"
            elif not list_images(path, required=False):
                problem = f"no images in '{path}'"
            if problem:
                break
        if problem is None:
            return base
        first_problem = first_problem or problem
    where = '' if os.path.isabs(root) else f"\n(relative paths are resolved from '{os.getcwd()}')"
    raise SourceLayoutError(f'{what}: {first_problem}.\nExpected layout:\n{layout}{where}')


def pair_by_order(folders: Sequence[str], what: str) -> List[Tuple[str, ...]]:
    """Zip the naturally sorted image lists of ``folders`` (the official pairing rule).

    Raises ``SourceLayoutError`` if the folders hold different numbers of images; logs a warning
    when paired files have different names (the official scripts pair by order only).
    """
    lists = [list_images(f, required=False) for f in folders]
    counts = {f: len(lst) for f, lst in zip(folders, lists)}
    if len(set(counts.values())) != 1:
        detail = ', '.join(f"'{f}': {n}" for f, n in counts.items())
        raise SourceLayoutError(f'{what}: the folders must hold the same number of images to pair up ({detail}).')
    pairs = list(zip(*lists))
    odd = [p for p in pairs if len({os.path.splitext(os.path.basename(x))[0] for x in p}) != 1]
    if odd:
        logger.warning('%s: %d of %d pairs have different file names (paired by sorted order), e.g. %s',
                       what, len(odd), len(pairs), ', '.join(os.path.basename(x) for x in odd[0]))
    return pairs


def write_image(img: np.ndarray, out_dir: str, filename: str) -> str:
    """Write ``img`` to ``out_dir/filename`` atomically (temporary file + rename); returns the path."""
    tmp = os.path.join(out_dir, TMP_DIR_NAME, f'{os.getpid()}-{filename}')
    imwrite(np.ascontiguousarray(img), tmp)
    final = os.path.join(out_dir, filename)
    os.replace(tmp, final)
    return final


def _read_aligned(sources: Sequence[str], flag: str) -> List[np.ndarray]:
    imgs = [imread(p, flag=flag, float32=False) for p in sources]
    if len({img.shape[:2] for img in imgs}) != 1:
        detail = ', '.join(f"'{p}' {img.shape[1]}x{img.shape[0]}" for p, img in zip(sources, imgs))
        raise ValueError(f'aligned images differ in size: {detail}')
    return imgs


def _crop(img: np.ndarray, win: Window, size: int) -> np.ndarray:
    return img[win[0]:win[0] + size, win[1]:win[1] + size]


@dataclass(frozen=True)
class _Job:
    """Common fields: aligned ``sources`` (one per output folder), ``out_dirs`` and output stem ``name``."""

    sources: Tuple[str, ...]
    out_dirs: Tuple[str, ...]
    name: str

    def __post_init__(self) -> None:
        if len(self.sources) != len(self.out_dirs):
            raise ValueError(f'{len(self.sources)} sources but {len(self.out_dirs)} output folders')

    def settings(self) -> Dict[str, Any]:
        """Parameters that define the outputs (stored in the manifest; a change invalidates old outputs)."""
        params = {k: v for k, v in asdict(self).items() if k not in ('sources', 'out_dirs', 'name')}
        return {'job': type(self).__name__, **params}

    def _save(self, imgs: Sequence[np.ndarray], filename: str) -> List[str]:
        return [write_image(img, d, filename) for img, d in zip(imgs, self.out_dirs)]


@dataclass(frozen=True)
class GridJob(_Job):
    """Tile aligned images with the sliding-window grid (see the module docstring)."""

    patch_size: int = 512
    overlap: int = 256
    tile_threshold: int = 0
    flag: str = 'color'

    def run(self) -> List[str]:
        imgs = _read_aligned(self.sources, self.flag)
        h, w = imgs[0].shape[:2]
        if min(h, w) <= self.tile_threshold or min(h, w) < self.patch_size:
            return self._save(imgs, f'{self.name}.png')
        outputs: List[str] = []
        for k, win in enumerate(grid_windows(h, w, self.patch_size, self.overlap), 1):
            outputs += self._save([_crop(img, win, self.patch_size) for img in imgs], f'{self.name}-{k}.png')
        return outputs


@dataclass(frozen=True)
class DPDDJob(_Job):
    """DPDD patches of aligned views; ``sharpness_index`` selects the view scored for sharpness (the target)."""

    patch_size: int = 512
    stride: int = 204
    remove_ratio: float = 0.3
    kernel_sizes: Tuple[int, ...] = (3, 7, 11, 15)
    sharpness_index: int = -1
    flag: str = 'unchanged'

    def run(self) -> List[str]:
        imgs = _read_aligned(self.sources, self.flag)
        wins = dpdd_windows(*imgs[0].shape[:2], self.patch_size, self.stride)
        scores = fitness_scores([_crop(imgs[self.sharpness_index], w, self.patch_size) for w in wins],
                                self.kernel_sizes)
        outputs: List[str] = []
        for k, i in enumerate(kept_indices(scores, self.remove_ratio), 1):
            outputs += self._save([_crop(img, wins[i], self.patch_size) for img in imgs], f'{self.name}-{k}.png')
        return outputs


@dataclass(frozen=True)
class CenterCropJob(_Job):
    """Centre ``size x size`` crop of aligned images, saved as ``<name>.png`` (validation sets)."""

    size: int = 256
    flag: str = 'color'

    def run(self) -> List[str]:
        imgs = _read_aligned(self.sources, self.flag)
        win = center_window(*imgs[0].shape[:2], self.size)
        return self._save([_crop(img, win, self.size) for img in imgs], f'{self.name}.png')


@dataclass
class RunSummary:
    """Outcome of :func:`run_jobs`. ``files`` counts the outputs of all finished jobs (old and new)."""

    jobs: int = 0
    skipped: int = 0
    done: int = 0
    written: int = 0
    files: int = 0
    failed: List[Tuple[str, str]] = field(default_factory=list)


def default_workers() -> int:
    """The official scripts use 10 processes; never more than the CPUs available."""
    return max(1, min(10, os.cpu_count() or 1))


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Add the options every patch script shares: ``--num_workers``, ``--overwrite``, ``--no_progress``."""
    parser.add_argument('--num_workers', type=int, default=default_workers(),
                        help='worker processes (default: %(default)s; 1 = no pool)')
    parser.add_argument('--overwrite', action='store_true',
                        help='delete earlier outputs and redo every image (default: resume, skipping finished images)')
    parser.add_argument('--no_progress', action='store_true', help='hide the progress bar')


def runner_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """The :func:`run_jobs` keyword arguments given by the :func:`add_runner_args` options."""
    return {'num_workers': args.num_workers, 'overwrite': args.overwrite, 'progress': not args.no_progress}


def fill_default_paths(args: argparse.Namespace, root: str, defaults: Dict[str, str]) -> argparse.Namespace:
    """Set each unset path option ``key`` of ``args`` to ``root/defaults[key]``."""
    for key, rel in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, os.path.join(root, rel))
    return args


def _execute(job: _Job) -> List[str]:
    return job.run()


class _Manifest:
    """Append-only record of finished jobs: a settings line, then one JSON line per job."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = os.path.join(folder, MANIFEST_NAME)
        self.settings: Optional[Dict[str, Any]] = None
        self.entries: Dict[str, Dict[str, Any]] = {}
        if os.path.isfile(self.path):
            with open(self.path, encoding='utf-8') as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:  # a line cut short by an interruption
                        continue
                    if 'settings' in rec:
                        self.settings = rec['settings']
                    elif 'name' in rec:
                        self.entries[rec['name']] = rec

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.folder)

    def is_done(self, job: _Job) -> bool:
        rec = self.entries.get(job.name)
        return (rec is not None and rec.get('sources') == [self.rel(s) for s in job.sources]
                and all(os.path.isfile(os.path.join(self.folder, o)) for o in rec.get('outputs', [])))

    def reset(self, settings: Dict[str, Any]) -> None:
        """Delete the recorded outputs and start a new manifest with ``settings``."""
        for rec in self.entries.values():
            for o in rec.get('outputs', []):
                path = os.path.join(self.folder, o)
                if os.path.isfile(path):
                    os.remove(path)
        self.entries, self.settings = {}, settings
        with open(self.path, 'w', encoding='utf-8') as f:
            f.write(json.dumps({'settings': settings}) + '\n')

    def record(self, job: _Job, outputs: Iterable[str]) -> None:
        rec = {'name': job.name, 'sources': [self.rel(s) for s in job.sources],
               'outputs': [self.rel(o) for o in outputs]}
        self.entries[job.name] = rec
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(rec) + '\n')


def _check_jobs(jobs: Sequence[_Job]) -> None:
    sources = {os.path.realpath(os.path.dirname(s)) for j in jobs for s in j.sources}
    for d in jobs[0].out_dirs if jobs else ():
        if os.path.realpath(d) in sources:
            raise OutputConflictError(f"output folder '{d}' is also a source folder: patches would be written "
                                      'among (and over) the source images; choose another output folder')
    if len({j.out_dirs for j in jobs}) != 1:
        raise ValueError('run_jobs expects jobs that share their output folders; run each split separately')
    if len({json.dumps(j.settings(), sort_keys=True) for j in jobs}) != 1:
        raise ValueError('run_jobs expects jobs with identical settings')
    by_name: Dict[str, _Job] = {}
    for job in jobs:
        if job.name in by_name:
            raise OutputConflictError(f"two sources would write outputs named '{job.name}*': "
                                      f"'{by_name[job.name].sources[0]}' and '{job.sources[0]}'")
        by_name[job.name] = job


def run_jobs(jobs: Sequence[_Job], num_workers: int = 1, desc: str = 'patches', overwrite: bool = False,
             progress: bool = True) -> RunSummary:
    """Run patch jobs in ``num_workers`` processes, skipping jobs finished by an earlier run.

    Args:
        jobs: jobs of one split (same output folders and settings, unique names).
        num_workers: worker processes; ``<= 1`` runs in this process.
        desc: progress-bar label.
        overwrite: delete the outputs recorded by an earlier run and redo every job.  Without it,
            outputs recorded with different settings raise ``OutputConflictError``.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`RunSummary`; jobs that raised are listed in ``failed`` (the others still run,
        and a re-run retries only the failed ones).
    """
    summary = RunSummary(jobs=len(jobs))
    if not jobs:
        return summary
    _check_jobs(jobs)
    out_dirs = jobs[0].out_dirs
    settings = json.loads(json.dumps(jobs[0].settings()))  # as stored in the manifest (tuples -> lists)
    for d in out_dirs:
        os.makedirs(d, exist_ok=True)
        shutil.rmtree(os.path.join(d, TMP_DIR_NAME), ignore_errors=True)  # left by an interrupted run
    manifest = _Manifest(out_dirs[0])
    if overwrite or manifest.settings is None:
        manifest.reset(settings)
    elif manifest.settings != settings:
        raise OutputConflictError(f"'{out_dirs[0]}' holds outputs made with other settings "
                                  f'({manifest.settings}, now {settings}); pass --overwrite to replace them '
                                  'or choose another output folder')

    todo = [j for j in jobs if not manifest.is_done(j)]
    summary.skipped = len(jobs) - len(todo)
    if summary.skipped:
        logger.info('%s: %d of %d images already done, skipping them', desc, summary.skipped, len(jobs))

    def finish(job: _Job, outputs: Optional[List[str]], error: Optional[BaseException]) -> None:
        if error is not None:
            logger.error('%s: %s failed: %s', desc, job.sources[0], error)
            summary.failed.append((job.sources[0], f'{type(error).__name__}: {error}'))
        else:
            manifest.record(job, outputs)
            summary.done += 1
            summary.written += len(outputs)

    with tqdm(total=len(todo), desc=desc, unit='img', disable=not progress) as bar:
        if num_workers <= 1 or len(todo) <= 1:
            for job in todo:
                try:
                    outputs, error = job.run(), None
                except Exception as e:  # reported in the summary; the other jobs go on
                    outputs, error = None, e
                finish(job, outputs, error)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=min(num_workers, len(todo))) as pool:
                futures = {pool.submit(_execute, job): job for job in todo}
                try:
                    for fut in as_completed(futures):
                        finish(futures[fut], None if fut.exception() else fut.result(), fut.exception())
                        bar.update()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    for d in out_dirs:
        try:
            os.rmdir(os.path.join(d, TMP_DIR_NAME))
        except OSError:
            pass
    summary.files = sum(len(manifest.entries[j.name]['outputs']) for j in jobs if j.name in manifest.entries)
    return summary


def cli_main(main: Any) -> None:
    """Entry point of the patch scripts: INFO logging, and bad data or arguments as one ``error: ...`` line
    (exit status 2; :func:`basicsr.utils.cli.run_main`)."""
    sys.exit(run_main(main))
