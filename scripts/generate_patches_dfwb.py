"""DFWB training set for Gaussian denoising (DIV2K + Flickr2K + WED + BSD400 clean images).

``<src>/{DIV2K,Flickr2K,WaterlooED,BSD400}/*`` (png/jpg/bmp) -> one flat folder ``<dst>``:
images whose both sides exceed 800 px are cut into 512x512 patches with overlap 96
(``<folder>-<name>-<k>.png``, 20 per 2040x1356 image); smaller images are copied whole
(``<folder>-<name>.png``) and are reflect-padded to the training patch size by the data loader.
Images are stored as 8-bit 3-channel PNG (gray BSD400 images become 3 equal channels, which the
``in_ch: 1`` grayscale setting reads back unchanged).  There is no validation split: the
options validate on the CBSD68 / BSD68 test sets.

Default folders are relative to the repository root:
  --src  Denoising/Datasets/Downloads
  --dst  Denoising/Datasets/train/DFWB
A re-run skips the images already done (use --overwrite to redo them).

    python scripts/generate_patches_dfwb.py [--num_workers 10] [--datasets DIV2K Flickr2K WaterlooED BSD400]
"""
import argparse
import os
import sys

import patch_jobs  # sibling module; it also makes the repository importable when basicsr is not installed

from basicsr.utils.file_util import list_images  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = {'src': 'Denoising/Datasets/Downloads', 'dst': 'Denoising/Datasets/train/DFWB'}
DATASETS = ('DIV2K', 'Flickr2K', 'WaterlooED', 'BSD400')
LAYOUT = """  {root}/
    DIV2K/        DIV2K training HR images (*.png)
    Flickr2K/     Flickr2K HR images (*.png)
    WaterlooED/   Waterloo Exploration Database images (*.bmp)
    BSD400/       the 400 BSD training images (*.png / *.jpg)
(all images directly inside each folder; use --datasets to pick a subset)
See Denoising/Datasets/README.md for where to get the data."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, rel in DEFAULTS.items():
        p.add_argument(f'--{key}', help=f'default: <repo>/{rel}')
    p.add_argument('--datasets', nargs='+', default=list(DATASETS), help='source folders under --src')
    p.add_argument('--patch_size', type=int, default=512)
    p.add_argument('--overlap', type=int, default=96)
    p.add_argument('--tile_threshold', type=int, default=800,
                   help='only images with both sides larger than this are tiled; smaller ones are copied whole')
    patch_jobs.add_runner_args(p)
    return patch_jobs.fill_default_paths(p.parse_args(argv), REPO_ROOT, DEFAULTS)


def main(argv=None) -> int:
    args = parse_args(argv)
    layout = LAYOUT.format(root=args.src)
    jobs = []
    for name in args.datasets:
        folder = patch_jobs.resolve_source(os.path.join(args.src, name), [''], layout, f'DFWB source {name}')
        for path in list_images(folder, required=False):
            stem = os.path.splitext(os.path.basename(path))[0]
            jobs.append(patch_jobs.GridJob((path,), (args.dst,), f'{name}-{stem}', patch_size=args.patch_size,
                                           overlap=args.overlap, tile_threshold=args.tile_threshold))
    s = patch_jobs.run_jobs(jobs, desc='DFWB', **patch_jobs.runner_kwargs(args))
    print(f'DFWB: {s.jobs} images ({s.skipped} done before) -> {s.files} training images in {args.dst}')
    if s.failed:
        print(f'{len(s.failed)} images failed (see the errors above); run again to retry them', file=sys.stderr)
    return 1 if s.failed else 0


if __name__ == '__main__':
    patch_jobs.cli_main(main)
