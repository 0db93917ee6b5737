"""Training patches (and validation crops) from any folder of input/target pairs: your own data.

Pairs are matched by file name (``input/abc.png`` with ``target/abc.png``, any image extension); a
file without a partner, two images of a pair with different sizes, or a gray image next to a colour
one stops with an error that names the files, before anything is written.  Each training pair is cut
into ``--size`` patches with ``--overlap`` (the grid rule of the official scripts; images smaller than
``--size`` are kept whole); the last ``--val`` pairs (natural order) are kept out of training and
centre-cropped to ``--val_size`` for validation::

    python scripts/generate_patches.py --input my_data/degraded --target my_data/clean --out datasets/custom \\
        --size 512 --overlap 128 --val 10

writes ``datasets/custom/train/{input,target}/<name>-<k>.png`` and ``datasets/custom/val/{input,target}``,
the folders that ``options/train_paired_custom.yml`` reads.  A re-run skips the pairs already done.
"""
import argparse
import os
import sys

import patch_jobs  # sibling module; it also makes the repository importable when basicsr is not installed

from basicsr.data.checks import scan_paths  # noqa: E402
from basicsr.data.data_util import paired_paths  # noqa: E402
from basicsr.utils.file_util import file_stem  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--input', required=True, help='folder of degraded images')
    p.add_argument('--target', required=True, help='folder of clean images, same file names')
    p.add_argument('--out', required=True, help='output folder (train/ and val/ are created inside)')
    p.add_argument('--size', type=int, default=512, help='patch size (the official scripts use 512)')
    p.add_argument('--overlap', type=int, default=128, help='overlap between neighbouring patches')
    p.add_argument('--val', type=int, default=0, help='pairs kept out of training for validation (the last ones)')
    p.add_argument('--val_size', type=int, default=256, help='centre-crop size of the validation pairs')
    patch_jobs.add_runner_args(p)
    args = p.parse_args(argv)
    if args.size <= 0 or args.size % 8:
        p.error(f'--size must be a positive multiple of 8 (Restormer takes multiples of 8), got {args.size}')
    if not 0 <= args.overlap < args.size:
        p.error(f'--overlap must be in [0, size), got {args.overlap}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    pairs = paired_paths({'lq': args.input, 'gt': args.target})  # by name; unpaired files are an error
    scan_paths(pairs, 'your pairs')  # readable, and not gray next to colour
    sources = [(p['lq_path'], p['gt_path']) for p in pairs]
    if args.val >= len(sources):
        raise patch_jobs.SourceLayoutError(f'--val {args.val} leaves no pair for training ({len(sources)} pairs).')
    train, val = sources[:len(sources) - args.val], sources[len(sources) - args.val:]
    failed = 0
    out = tuple(os.path.join(args.out, 'train', sub) for sub in ('input', 'target'))
    jobs = [patch_jobs.GridJob(pair, out, file_stem(pair[1]), patch_size=args.size, overlap=args.overlap)
            for pair in train]
    s = patch_jobs.run_jobs(jobs, desc='train patches', **patch_jobs.runner_kwargs(args))
    print(f'train: {s.jobs} pairs ({s.skipped} done before) -> {s.files // 2} patch pairs in {out[0]}')
    failed += len(s.failed)
    if val:
        out = tuple(os.path.join(args.out, 'val', sub) for sub in ('input', 'target'))
        jobs = [patch_jobs.CenterCropJob(pair, out, file_stem(pair[1]), size=args.val_size) for pair in val]
        s = patch_jobs.run_jobs(jobs, desc='val crops', **patch_jobs.runner_kwargs(args))
        print(f'val: {s.jobs} pairs -> {s.files // 2} crop pairs in {out[0]}')
        failed += len(s.failed)
    if failed:
        print(f'{failed} pairs failed (see the errors above); run again to retry them', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    patch_jobs.cli_main(main)
