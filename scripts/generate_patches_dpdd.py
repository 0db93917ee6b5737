"""DPDD training patches and validation crops (single-image and dual-pixel defocus deblurring).

Train: ``<src>/train/train/{inputL,inputR,inputC,target}`` (16-bit PNG, paired in sorted order) ->
512x512 windows every 204 px plus right/bottom/corner edge windows (28 per 1680x1120 image); the
30 % least sharp windows (Sobel sharpness of the target) are dropped from all four views, so 20 are
kept, renumbered 1..20 and named after the ``inputC`` file:
``<dst>/{inputL,inputR,inputC,target}_crops/<name>-<k>.png``.
Val: centre 256x256 crops of ``<src>/val/val/*`` -> ``<val_dst>/{inputL,inputR,inputC,target}_crops``.
The 16-bit depth is preserved (the 8-bit single-image setting reads the same files as 8 bit).
``<src>/train`` and ``<src>/val`` without the doubled folder are accepted too.

Default folders are relative to the repository root:
  --src      Defocus_Deblurring/Datasets/Downloads/DPDD
  --dst      Defocus_Deblurring/Datasets/train/DPDD
  --val_dst  Defocus_Deblurring/Datasets/val/DPDD
A re-run skips the images already done (use --overwrite to redo them).

    python scripts/generate_patches_dpdd.py [--num_workers 10] [--splits train val]
"""
import argparse
import os
import sys

import patch_jobs  # sibling module; it also makes the repository importable when basicsr is not installed

from basicsr.utils.file_util import file_stem  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = {'src': 'Defocus_Deblurring/Datasets/Downloads/DPDD', 'dst': 'Defocus_Deblurring/Datasets/train/DPDD',
            'val_dst': 'Defocus_Deblurring/Datasets/val/DPDD'}
VIEWS = ('inputL', 'inputR', 'inputC', 'target')  # the target must stay last (it is scored for sharpness)
LAYOUT = """  {root}/
    train/train/   (or train/)
      inputL/  inputR/  inputC/  target/    16-bit PNGs, same names in the four folders
    val/val/       (or val/)
      inputL/  inputR/  inputC/  target/
See Defocus_Deblurring/Datasets/README.md for where to get the data."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, rel in DEFAULTS.items():
        p.add_argument(f'--{key}', help=f'default: <repo>/{rel}')
    p.add_argument('--patch_size', type=int, default=512)
    p.add_argument('--stride', type=int, default=204)
    p.add_argument('--remove_ratio', type=float, default=0.3, help='fraction of least sharp patches dropped')
    p.add_argument('--val_size', type=int, default=256, help='centre-crop size of the validation images')
    p.add_argument('--splits', nargs='+', choices=('train', 'val'), default=['train', 'val'])
    patch_jobs.add_runner_args(p)
    return patch_jobs.fill_default_paths(p.parse_args(argv), REPO_ROOT, DEFAULTS)


def _groups(src: str, split: str):
    what = f'DPDD {split} data'
    base = patch_jobs.resolve_source(src, VIEWS, LAYOUT.format(root=src), what, prefixes=(f'{split}/{split}', split))
    return patch_jobs.pair_by_order([os.path.join(base, v) for v in VIEWS], what)


def _out(root: str):
    return tuple(os.path.join(root, f'{v}_crops') for v in VIEWS)


def main(argv=None) -> int:
    args = parse_args(argv)
    failed = 0
    if 'train' in args.splits:
        jobs = [patch_jobs.DPDDJob(g, _out(args.dst), file_stem(g[2]), patch_size=args.patch_size, stride=args.stride,
                                   remove_ratio=args.remove_ratio) for g in _groups(args.src, 'train')]
        s = patch_jobs.run_jobs(jobs, desc='DPDD train', **patch_jobs.runner_kwargs(args))
        print(f'DPDD train: {s.jobs} images ({s.skipped} done before) -> {s.files // 4} patches per view in '
              f'{args.dst}')
        failed += len(s.failed)
    if 'val' in args.splits:
        jobs = [patch_jobs.CenterCropJob(g, _out(args.val_dst), file_stem(g[2]), size=args.val_size, flag='unchanged')
                for g in _groups(args.src, 'val')]
        s = patch_jobs.run_jobs(jobs, desc='DPDD val', **patch_jobs.runner_kwargs(args))
        print(f'DPDD val: {s.jobs} images ({s.skipped} done before) -> {s.files // 4} crops per view in '
              f'{args.val_dst}')
        failed += len(s.failed)
    if failed:
        print(f'{failed} images failed (see the errors above); run again to retry them', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    patch_jobs.cli_main(main)
