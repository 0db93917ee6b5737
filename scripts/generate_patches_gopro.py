"""GoPro training patches and validation crops (motion deblurring).

Train: ``<src>/{input,target}`` (blurred / sharp, paired in sorted order) -> 512x512 patches with
overlap 256 (8 per 1280x720 image) in ``<dst>/{input_crops,target_crops}/<name>-<k>.png``.
Val: centre 256x256 crops of the GoPro test set ``<val_src>/{input,target}`` ->
``<val_dst>/{input_crops,target_crops}/<name>.png``.

Default folders are relative to the repository root:
  --src      Motion_Deblurring/Datasets/Downloads/GoPro
  --dst      Motion_Deblurring/Datasets/train/GoPro
  --val_src  Motion_Deblurring/Datasets/test/GoPro
  --val_dst  Motion_Deblurring/Datasets/val/GoPro
A re-run skips the images already done (use --overwrite to redo them).

    python scripts/generate_patches_gopro.py [--num_workers 10] [--splits train val]
"""
import argparse
import os
import sys

import patch_jobs  # sibling module; it also makes the repository importable when basicsr is not installed

from basicsr.utils.file_util import file_stem  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = {'src': 'Motion_Deblurring/Datasets/Downloads/GoPro', 'dst': 'Motion_Deblurring/Datasets/train/GoPro',
            'val_src': 'Motion_Deblurring/Datasets/test/GoPro', 'val_dst': 'Motion_Deblurring/Datasets/val/GoPro'}
LAYOUT = """  {root}/
    input/    blurred images (*.png)
    target/   sharp images, same names (paired in sorted order)
See Motion_Deblurring/Datasets/README.md for where to get the data."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, rel in DEFAULTS.items():
        p.add_argument(f'--{key}', help=f'default: <repo>/{rel}')
    p.add_argument('--patch_size', type=int, default=512)
    p.add_argument('--overlap', type=int, default=256)
    p.add_argument('--val_size', type=int, default=256, help='centre-crop size of the validation pairs')
    p.add_argument('--splits', nargs='+', choices=('train', 'val'), default=['train', 'val'])
    patch_jobs.add_runner_args(p)
    return patch_jobs.fill_default_paths(p.parse_args(argv), REPO_ROOT, DEFAULTS)


def _pairs(root: str, what: str, prefixes=('',)):
    # 'train' also accepts <src>/train/{input,target}, the GoPro archive's own split folder.
    base = patch_jobs.resolve_source(root, ['input', 'target'], LAYOUT.format(root=root), what, prefixes)
    return patch_jobs.pair_by_order([os.path.join(base, 'input'), os.path.join(base, 'target')], what)


def main(argv=None) -> int:
    args = parse_args(argv)
    failed = 0
    if 'train' in args.splits:
        out = (os.path.join(args.dst, 'input_crops'), os.path.join(args.dst, 'target_crops'))
        jobs = [patch_jobs.GridJob(pair, out, file_stem(pair[0]), patch_size=args.patch_size, overlap=args.overlap)
                for pair in _pairs(args.src, 'GoPro training data', ('', 'train'))]
        s = patch_jobs.run_jobs(jobs, desc='GoPro train', **patch_jobs.runner_kwargs(args))
        print(f'GoPro train: {s.jobs} pairs ({s.skipped} done before) -> {s.files // 2} patch pairs in {args.dst}')
        failed += len(s.failed)
    if 'val' in args.splits:
        out = (os.path.join(args.val_dst, 'input_crops'), os.path.join(args.val_dst, 'target_crops'))
        jobs = [patch_jobs.CenterCropJob(pair, out, file_stem(pair[0]), size=args.val_size)
                for pair in _pairs(args.val_src, 'GoPro test data (source of the validation crops)')]
        s = patch_jobs.run_jobs(jobs, desc='GoPro val', **patch_jobs.runner_kwargs(args))
        print(f'GoPro val: {s.jobs} pairs ({s.skipped} done before) -> {s.files // 2} crop pairs in {args.val_dst}')
        failed += len(s.failed)
    if failed:
        print(f'{failed} images failed (see the errors above); run again to retry them', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    patch_jobs.cli_main(main)
