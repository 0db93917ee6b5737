"""Pack image folders into LMDB databases readable with ``io_backend: {type: lmdb}``.

Layout written (the one ``basicsr/data/file_client.py`` reads): a folder ``<name>.lmdb`` holding
``data.mdb``/``lock.mdb`` and ``meta_info.txt``.  Keys are the file-name stems (ASCII, no spaces);
values are the image files' bytes exactly as stored on disk (never re-encoded, so 16-bit PNGs
stay 16-bit and every pixel is unchanged).  ``meta_info.txt`` has one line per image,
``<file name> (<h>,<w>,<c>) <compression>``, where ``<compression>`` is ``-1`` because the bytes
are stored as they are (BasicSR writes the PNG level it re-encoded with; no reader uses the field).

Single folder (e.g. the DFWB clean images for Gaussian denoising)::

    python scripts/create_lmdb.py --input Denoising/Datasets/train/DFWB
        # -> Denoising/Datasets/train/DFWB.lmdb

Aligned folders (identical file stems; e.g. LQ and GT, or inputL, inputR and target)::

    python scripts/create_lmdb.py --paired Motion_Deblurring/Datasets/train/GoPro/input_crops \\
        Motion_Deblurring/Datasets/train/GoPro/target_crops
        # -> .../input_crops.lmdb and .../target_crops.lmdb, with the same keys

then point ``dataroot_lq``/``dataroot_gt`` at the ``.lmdb`` folders and set ``io_backend: {type: lmdb}``.
The database is built in ``<name>.lmdb.partial`` and renamed when complete, so an interrupted run
never leaves a ``.lmdb`` folder that looks finished.
"""
import argparse
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lmdb  # noqa: E402
from tqdm import tqdm  # noqa: E402

from basicsr.data.data_util import scandir_images  # noqa: E402
from basicsr.utils.errors import ImageReadError, UserError  # noqa: E402
from basicsr.utils.img_util import imfrombytes, read_bytes  # noqa: E402

PAGE = 4096
COMPRESSION = -1  # values are the files as stored, not re-encoded


class LmdbError(UserError, ValueError):
    """The input folders cannot be packed (missing, empty, bad names, unpaired files, existing output)."""


def list_folder(folder: str) -> Dict[str, str]:
    """``{stem: file name}`` of the images directly inside ``folder``, in natural order.

    The order is the one the disk backend lists (``basicsr.data.data_util.scandir_images``), so a
    dataset indexes the same images whether it reads the folder or its LMDB.
    """
    if not os.path.isdir(folder):
        raise LmdbError(f"input folder not found: '{folder}'")
    names = scandir_images(folder)
    if not names:
        raise LmdbError(f"no images in '{folder}'")
    stems: Dict[str, str] = {}
    for n in names:
        stem = os.path.splitext(n)[0]
        if not n.isascii() or any(ch.isspace() for ch in n):
            raise LmdbError(f"'{os.path.join(folder, n)}': LMDB keys must be ASCII without spaces; rename the file")
        if stem in stems:
            raise LmdbError(f"'{folder}' holds '{stems[stem]}' and '{n}' with the same stem '{stem}' (keys must be "
                            'unique)')
        stems[stem] = n
    return stems


def default_output(folder: str) -> str:
    """``<folder>.lmdb`` (trailing separators ignored)."""
    return os.path.normpath(folder) + '.lmdb'


def estimate_map_size(total_bytes: int, count: int) -> int:
    """LMDB map size for ``count`` values of ``total_bytes`` in all: page-rounded data, 50 % slack, 64 MiB floor.

    The map is a virtual reservation (the file grows only as pages are used), so generous is cheap;
    a full map is still handled by :func:`write_lmdb`, which grows it and retries.
    """
    pages = total_bytes // PAGE + 2 * count
    return int(pages * PAGE * 1.5) + (64 << 20)


def _load(path: str) -> Tuple[bytes, Tuple[int, int, int]]:
    data = read_bytes(path)
    img = imfrombytes(data, flag='unchanged', path=path)  # validates the file and gives its shape
    return data, (img.shape[0], img.shape[1], img.shape[2])


def _prepare_output(path: str, overwrite: bool) -> str:
    if not path.endswith('.lmdb'):
        raise LmdbError(f"output folder names must end with '.lmdb' (the datasets check it), got '{path}'")
    if os.path.exists(path):
        if not overwrite:
            raise LmdbError(f"'{path}' exists; pass --overwrite to replace it")
        if not os.path.isfile(os.path.join(path, 'data.mdb')):
            raise LmdbError(f"'{path}' exists but is not an LMDB folder (no data.mdb); refusing to delete it")
        shutil.rmtree(path)
    partial = path + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return partial


def write_lmdb(folders: Sequence[str], outputs: Optional[Sequence[str]] = None, batch: int = 500,
               num_workers: int = 4, overwrite: bool = False, progress: bool = True) -> List[str]:
    """Pack each folder into an LMDB; several folders must hold the same stems (and image sizes).

    Args:
        folders: image folders (one, or several aligned ones).
        outputs: ``.lmdb`` folders, one per input (default ``<folder>.lmdb``).
        batch: images per write transaction.
        num_workers: threads reading and validating files.
        overwrite: replace existing outputs.
        progress: show a tqdm progress bar.

    Returns:
        The ``.lmdb`` folders written.
    """
    outputs = list(outputs) if outputs else [default_output(f) for f in folders]
    if len(outputs) != len(folders):
        raise LmdbError(f'{len(folders)} input folders but {len(outputs)} outputs')
    if len(set(map(os.path.abspath, outputs))) != len(outputs):
        raise LmdbError('the output folders must differ')
    listings = [list_folder(f) for f in folders]
    keys = list(listings[0])
    for folder, listing in zip(folders[1:], listings[1:]):
        if set(listing) != set(keys):
            only_a = sorted(set(keys) - set(listing))[:5]
            only_b = sorted(set(listing) - set(keys))[:5]
            raise LmdbError(f"'{folders[0]}' and '{folder}' must hold the same file stems to be paired; "
                            f'only in the first: {only_a}, only in the second: {only_b}')
    partials = [_prepare_output(o, overwrite) for o in outputs]
    sizes = [sum(os.path.getsize(os.path.join(f, lst[k])) for k in keys) for f, lst in zip(folders, listings)]
    envs = [lmdb.open(p, map_size=estimate_map_size(s, len(keys))) for p, s in zip(partials, sizes)]
    metas: List[List[str]] = [[] for _ in folders]
    try:
        with ThreadPoolExecutor(max(1, num_workers)) as pool, \
                tqdm(total=len(keys), unit='img', desc='lmdb', disable=not progress) as bar:
            for start in range(0, len(keys), batch):
                chunk = keys[start:start + batch]
                loaded = [list(pool.map(_load, [os.path.join(f, lst[k]) for k in chunk]))
                          for f, lst in zip(folders, listings)]
                for i, key in enumerate(chunk):
                    shapes = [items[i][1] for items in loaded]
                    if len({s[:2] for s in shapes}) != 1:
                        detail = ', '.join(f"'{os.path.join(f, lst[key])}' {s[1]}x{s[0]}"
                                           for f, lst, s in zip(folders, listings, shapes))
                        raise LmdbError(f'paired images differ in size: {detail}')
                for env, items, listing, meta in zip(envs, loaded, listings, metas):
                    _put_batch(env, [(k.encode('ascii'), data) for k, (data, _) in zip(chunk, items)])
                    meta += [f'{listing[k]} ({h},{w},{c}) {COMPRESSION}' for k, (_, (h, w, c)) in zip(chunk, items)]
                bar.update(len(chunk))
    except BaseException:
        for env in envs:
            env.close()
        for p in partials:
            shutil.rmtree(p, ignore_errors=True)
        raise
    for env, partial, output, meta in zip(envs, partials, outputs, metas):
        env.close()
        with open(os.path.join(partial, 'meta_info.txt'), 'w', encoding='utf-8') as f:
            f.write('\n'.join(meta) + '\n')
        os.replace(partial, output)
    return outputs


def _put_batch(env, items: Sequence[Tuple[bytes, bytes]]) -> None:
    """Write one transaction; if the map is full, grow it and retry."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in items:
                    txn.put(key, value)
            return
        except lmdb.MapFullError:
            env.set_mapsize(env.info()['map_size'] * 2)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--input', metavar='DIR', help='one image folder')
    src.add_argument('--paired', nargs='+', metavar='DIR',
                     help='two or more aligned folders with identical file stems (e.g. LQ_DIR GT_DIR)')
    p.add_argument('--output', nargs='+', metavar='OUT.lmdb',
                   help='output folder(s), one per input (default: <input>.lmdb)')
    p.add_argument('--batch', type=int, default=500, help='images per commit (default: %(default)s)')
    p.add_argument('--num_workers', type=int, default=4, help='reader threads (default: %(default)s)')
    p.add_argument('--overwrite', action='store_true', help='replace existing .lmdb folders')
    p.add_argument('--no_progress', action='store_true')
    args = p.parse_args(argv)
    if args.paired is not None and len(args.paired) < 2:
        p.error('--paired needs at least two folders')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    folders = [args.input] if args.input else args.paired
    outputs = write_lmdb(folders, args.output, batch=args.batch, num_workers=args.num_workers,
                         overwrite=args.overwrite, progress=not args.no_progress)
    for folder, out in zip(folders, outputs):
        print(f'{folder} -> {out}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (LmdbError, ImageReadError) as e:
        sys.exit(f'error: {e}')
