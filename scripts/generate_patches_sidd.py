"""SIDD training patches for real-image denoising (and, optionally, validation crops from the .mat blocks).

Train: ``<src>/<scene folder>/*.PNG`` (SIDD-Medium sRGB); files whose name contains ``NOISY`` are
inputs and ``GT`` targets, paired in sorted order -> 512x512 patches with overlap 128 (112 per
5328x3000 image) in ``<dst>/{input_crops,target_crops}/<noisy name>-<k>.png`` (both crops of a
pair are named after the noisy file).
Val: the official validation crops ``Denoising/Datasets/val/SIDD/{input_crops,target_crops}`` are
a download.  ``--val_from_mat`` instead writes the 1280 256x256 blocks of
``<val_mat_dir>/ValidationNoisyBlocksSrgb.mat`` / ``ValidationGtBlocksSrgb.mat`` as
``<val_dst>/{input_crops,target_crops}/<image>_<block>.png`` (same blocks as the SIDD benchmark;
the file names need not match the downloaded set).

Default folders are relative to the repository root:
  --src          Denoising/Datasets/Downloads/SIDD
  --dst          Denoising/Datasets/train/SIDD
  --val_mat_dir  Denoising/Datasets/test/SIDD
  --val_dst      Denoising/Datasets/val/SIDD
A re-run skips the images already done (use --overwrite to redo them).

    python scripts/generate_patches_sidd.py [--num_workers 10] [--val_from_mat]
"""
import argparse
import os
import shutil
import sys

import patch_jobs  # sibling module; it also makes the repository importable when basicsr is not installed

from basicsr.utils.file_util import file_stem, list_images, natural_key  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULTS = {'src': 'Denoising/Datasets/Downloads/SIDD', 'dst': 'Denoising/Datasets/train/SIDD',
            'val_mat_dir': 'Denoising/Datasets/test/SIDD', 'val_dst': 'Denoising/Datasets/val/SIDD'}
LAYOUT = """  {root}/
    0001_001_S6_00100_00060_3200_L/     one folder per scene (SIDD_Medium_Srgb/Data/*)
      0001_GT_SRGB_010.PNG  0001_NOISY_SRGB_010.PNG  ...
    0002_001_S6_00100_00020_3200_N/
      ...
See Denoising/Datasets/README.md for where to get the data."""
MAT_KEYS = (('ValidationNoisyBlocksSrgb', 'input_crops'), ('ValidationGtBlocksSrgb', 'target_crops'))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, rel in DEFAULTS.items():
        p.add_argument(f'--{key}', help=f'default: <repo>/{rel}')
    p.add_argument('--patch_size', type=int, default=512)
    p.add_argument('--overlap', type=int, default=128)
    p.add_argument('--skip_train', action='store_true', help='do not generate the training patches')
    p.add_argument('--val_from_mat', action='store_true', help='write validation crops from the .mat blocks')
    patch_jobs.add_runner_args(p)
    return patch_jobs.fill_default_paths(p.parse_args(argv), REPO_ROOT, DEFAULTS)


def sidd_pairs(src: str):
    """``(noisy, gt)`` paths of ``<src>/*/*``, each list naturally sorted and zipped (the official rule)."""
    what = 'SIDD training data'
    layout = LAYOUT.format(root=src)
    if not os.path.isdir(src):
        raise patch_jobs.SourceLayoutError(f"{what}: folder not found: '{src}'.\nExpected layout:\n{layout}")
    files = [f for d in sorted(os.listdir(src), key=natural_key) if os.path.isdir(os.path.join(src, d))
             for f in list_images(os.path.join(src, d), required=False)]
    noisy = sorted((f for f in files if 'NOISY' in os.path.basename(f)), key=natural_key)
    gt = sorted((f for f in files if 'GT' in os.path.basename(f)), key=natural_key)
    if not noisy or len(noisy) != len(gt):
        raise patch_jobs.SourceLayoutError(f"{what}: found {len(noisy)} NOISY and {len(gt)} GT images in the scene "
                                           f"folders of '{src}'; they must pair up.\nExpected layout:\n{layout}")
    odd = [(n, g) for n, g in zip(noisy, gt) if n.replace('NOISY', 'GT') != g]
    if odd:
        patch_jobs.logger.warning('%s: %d pairs do not match by name (paired by sorted order), e.g. %s / %s',
                                  what, len(odd), *odd[0])
    return list(zip(noisy, gt))


def write_val_from_mat(mat_dir: str, val_dst: str) -> int:
    """Write the validation blocks (N x B x H x W x 3, RGB uint8) as PNG pairs; returns the pair count."""
    from scipy.io import loadmat
    arrays = []
    for key, _ in MAT_KEYS:
        path = os.path.join(mat_dir, f'{key}.mat')
        if not os.path.isfile(path):
            raise patch_jobs.SourceLayoutError(f"SIDD validation blocks: file not found: '{path}'.\nExpected layout:\n"
                                               f'  {mat_dir}/\n    ValidationNoisyBlocksSrgb.mat\n'
                                               '    ValidationGtBlocksSrgb.mat')
        arrays.append(loadmat(path)[key])
    if arrays[0].shape != arrays[1].shape or arrays[0].ndim != 5:
        raise ValueError(f'SIDD validation blocks: unexpected shapes {arrays[0].shape} / {arrays[1].shape}')
    n_img, n_blk = arrays[0].shape[:2]
    for (_, sub), blocks in zip(MAT_KEYS, arrays):
        out_dir = os.path.join(val_dst, sub)
        shutil.rmtree(os.path.join(out_dir, patch_jobs.TMP_DIR_NAME), ignore_errors=True)  # left by an interruption
        for i in range(n_img):
            for b in range(n_blk):
                name = f'{i:04d}_{b:02d}.png'
                if not os.path.isfile(os.path.join(out_dir, name)):
                    patch_jobs.write_image(blocks[i, b, :, :, ::-1], out_dir, name)  # RGB -> BGR
    for _, sub in MAT_KEYS:
        try:
            os.rmdir(os.path.join(val_dst, sub, patch_jobs.TMP_DIR_NAME))
        except OSError:
            pass
    return n_img * n_blk


def main(argv=None) -> int:
    args = parse_args(argv)
    failed = 0
    if not args.skip_train:
        out = (os.path.join(args.dst, 'input_crops'), os.path.join(args.dst, 'target_crops'))
        jobs = [patch_jobs.GridJob(pair, out, file_stem(pair[0]),
                                   patch_size=args.patch_size, overlap=args.overlap) for pair in sidd_pairs(args.src)]
        s = patch_jobs.run_jobs(jobs, desc='SIDD train', **patch_jobs.runner_kwargs(args))
        print(f'SIDD train: {s.jobs} pairs ({s.skipped} done before) -> {s.files // 2} patch pairs in {args.dst}')
        failed = len(s.failed)
    if args.val_from_mat:
        n = write_val_from_mat(args.val_mat_dir, args.val_dst)
        print(f'SIDD val: {n} block pairs in {args.val_dst}')
    if failed:
        print(f'{failed} images failed (see the errors above); run again to retry them', file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    patch_jobs.cli_main(main)
