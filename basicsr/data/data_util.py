"""Discovering image files and pairing degraded/ground-truth images by name.

Pairing rule (official): for every GT file ``<stem>.<ext>`` the matching file in each other folder
has the stem ``filename_tmpl.format(stem)`` (any image extension).  With the default ``'{}'``
the folders hold identical names.  Unlike the official code, listings are sorted and every
mismatch is reported with the files at fault.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Dict, List, Optional, Sequence

from basicsr.data.file_client import lmdb_keys
from basicsr.utils.errors import DatasetLayoutError
from basicsr.utils.file_util import file_stem, list_images

__all__ = ['DatasetLayoutError', 'scandir_images', 'paths_from_folder', 'paths_from_lmdb', 'paired_paths',
           'check_folder', 'resolve_path', 'filter_by_meta_info']

PKG_PREFIX = 'pkg://'


def resolve_path(path: Optional[str]) -> Optional[str]:
    """Expand ``~`` and ``pkg://<package>/<sub/path>`` (a folder inside an installed package).

    ``pkg://skimage/data`` is the folder of photos that scikit-image ships, used by the quick start.
    """
    if not isinstance(path, str):
        return path
    if path.startswith(PKG_PREFIX):
        package, _, sub = path[len(PKG_PREFIX):].partition('/')
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DatasetLayoutError(f"'{path}': package '{package}' is not installed.")
        return os.path.join(list(spec.submodule_search_locations)[0], sub)
    return os.path.expanduser(path)


def filter_by_meta_info(paths: List[str], meta_info_file: str, key: str = 'dataroot_gt') -> List[str]:
    """Keep the paths whose file names (or stems) are listed in ``meta_info_file``, in its order."""
    by_name = {}
    for p in paths:
        by_name[os.path.basename(p)] = p
        by_name.setdefault(file_stem(p), p)
    wanted = _read_meta_info(meta_info_file)
    absent = [n for n in wanted if n not in by_name]
    if absent:
        raise DatasetLayoutError(f"meta_info_file '{meta_info_file}' names {len(absent)} images missing from "
                                 f'{key}: {_format_names(absent)}')
    return [by_name[n] for n in wanted]


def check_folder(folder: Optional[str], key: str) -> str:
    if not folder:
        raise DatasetLayoutError(f"Dataset option '{key}' is not set.")
    if not os.path.isdir(folder):
        raise DatasetLayoutError(f"Dataset folder for '{key}' not found: '{folder}' (resolved to "
                                 f"'{os.path.abspath(folder)}'). See the task's Datasets/README.md for the layout.")
    return folder


def scandir_images(folder: str) -> List[str]:
    """Names of the image files directly inside ``folder``, in natural order."""
    return [os.path.basename(p) for p in list_images(folder, required=False)]


def paths_from_folder(folder: str, key: str = 'dataroot_gt') -> List[str]:
    """Sorted full paths of the images in ``folder`` (error if none)."""
    check_folder(folder, key)
    names = scandir_images(folder)
    if not names:
        raise DatasetLayoutError(f"No images found in '{folder}' ({key}).")
    return [os.path.join(folder, n) for n in names]


def paths_from_lmdb(folder: str, key: str = 'dataroot_gt') -> List[str]:
    """Keys of an LMDB folder (file-name stems from its ``meta_info.txt``)."""
    try:
        keys = lmdb_keys(folder)
    except (FileNotFoundError, ValueError) as e:
        raise DatasetLayoutError(f'{key}: {e}') from e
    if not keys:
        raise DatasetLayoutError(f"LMDB '{folder}' ({key}) lists no images in meta_info.txt.")
    return keys


def _format_names(names: Sequence[str], limit: int = 5) -> str:
    shown = ', '.join(names[:limit])
    return shown + (f' ... ({len(names)} in all)' if len(names) > limit else '')


def _read_meta_info(meta_info_file: str) -> List[str]:
    if not os.path.isfile(meta_info_file):
        raise DatasetLayoutError(f"meta_info_file not found: '{meta_info_file}'")
    with open(meta_info_file, encoding='utf-8') as f:
        return [line.split(' ')[0].strip() for line in f if line.strip()]


def paired_paths(folders: Dict[str, str], gt_key: str = 'gt', filename_tmpl: str = '{}', backend: str = 'disk',
                 meta_info_file: Optional[str] = None) -> List[Dict[str, str]]:
    """Pair files across folders by name.

    Args:
        folders: ``{key: folder}``, e.g. ``{'lq': ..., 'gt': ...}`` or ``{'lqL', 'lqR', 'gt'}``.
        gt_key: the reference key whose file names define the list.
        filename_tmpl: stem template of the non-GT files.
        backend: ``'disk'`` (folders) or ``'lmdb'`` (``.lmdb`` folders; entries are keys).
        meta_info_file: restrict/define the GT list by this file (first token per line).

    Returns:
        One dict per GT image: ``{'<key>_path': path_or_key, ...}``, sorted by GT name.

    Raises:
        DatasetLayoutError: a folder is missing or empty, or a file has no partner.
    """
    listings: Dict[str, Dict[str, str]] = {}
    for key, folder in folders.items():
        opt_key = f'dataroot_{key}'
        if backend == 'lmdb':
            listings[key] = {k: k for k in paths_from_lmdb(folder, opt_key)}
        else:
            check_folder(folder, opt_key)
            names = scandir_images(folder)
            if not names:
                raise DatasetLayoutError(f"No images found in '{folder}' ({opt_key}).")
            by_stem: Dict[str, str] = {}
            for n in names:
                if file_stem(n) in by_stem:
                    raise DatasetLayoutError(f"'{folder}' holds two images with the stem '{file_stem(n)}' "
                                             f"({by_stem[file_stem(n)]}, {n}); pairing by name is ambiguous.")
                by_stem[file_stem(n)] = os.path.join(folder, n)
            listings[key] = by_stem

    gt_stems = sorted(listings[gt_key])
    if meta_info_file:
        wanted = [file_stem(n) for n in _read_meta_info(meta_info_file)]
        absent = [s for s in wanted if s not in listings[gt_key]]
        if absent:
            raise DatasetLayoutError(f"meta_info_file '{meta_info_file}' names {len(absent)} images missing from "
                                     f"'{folders[gt_key]}': {_format_names(absent)}")
        gt_stems = wanted

    pairs = [{f'{gt_key}_path': listings[gt_key][s]} for s in gt_stems]
    for key, listing in listings.items():
        if key == gt_key:
            continue
        expected = [filename_tmpl.format(s) for s in gt_stems]
        missing = [f'{e} (for GT {s})' for e, s in zip(expected, gt_stems) if e not in listing]
        if missing:
            raise DatasetLayoutError(
                f"{len(missing)} of {len(gt_stems)} GT images in '{folders[gt_key]}' have no partner in "
                f"'{folders[key]}' (dataroot_{key}, filename_tmpl '{filename_tmpl}'): {_format_names(missing)}")
        if not meta_info_file and len(listing) != len(gt_stems):
            extra = sorted(set(listing) - set(expected))
            raise DatasetLayoutError(
                f"'{folders[key]}' (dataroot_{key}) has {len(listing)} images but '{folders[gt_key]}' has "
                f"{len(gt_stems)}; unpaired: {_format_names(extra)}")
        for p, e in zip(pairs, expected):
            p[f'{key}_path'] = listing[e]
    return pairs
