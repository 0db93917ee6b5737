"""The patch job runner (``scripts/patch_jobs.py``) and the four ``scripts/generate_patches_*.py`` scripts end to
end: aligned patches, 16-bit data, the sharpness filter, resuming, layout errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, List

import cv2
import numpy as np
import patch_jobs as patches  # scripts/patch_jobs.py (scripts/ is on sys.path: conftest)
import pytest
from patch_jobs import MANIFEST_NAME, CenterCropJob, GridJob, OutputConflictError, SourceLayoutError, run_jobs

from basicsr.data.patches import center_window, dpdd_windows, fitness_scores, grid_windows, kept_indices
from basicsr.utils.img_util import imread, imwrite


@pytest.fixture(scope='session')
def scene(photo):
    """``scene(h, w, name='astronaut')``: a real photo resized to ``h x w``, uint8 BGR."""
    def resized(h: int, w: int, name: str = 'astronaut') -> np.ndarray:
        return np.ascontiguousarray(cv2.resize(photo(name)[..., ::-1], (w, h), interpolation=cv2.INTER_AREA))
    return resized


def read(path) -> np.ndarray:
    return imread(str(path), flag='unchanged', float32=False)


def mtimes(folder) -> Dict[str, int]:
    return {n: os.stat(os.path.join(folder, n)).st_mtime_ns for n in sorted(os.listdir(folder))}


def pngs(folder) -> List[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith('.png'))


# ------------------------------------------------------------------------------------------------
# GoPro
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope='session')
def make_pairs(scene):
    """``make_pairs(root, n, h, w, sub=('input', 'target'))``: ``n`` blurred/sharp pairs named
    ``GOPR0{i}_000{i}.png``; returns the sharp images."""
    def make(root, n: int, h: int, w: int, sub=('input', 'target')) -> List[np.ndarray]:
        sharp = []
        for i, name in enumerate(['astronaut', 'coffee', 'chelsea', 'rocket'][:n]):
            img = scene(h, w, name)
            imwrite(cv2.GaussianBlur(img, (0, 0), 1.5), str(root / sub[0] / f'GOPR0{i}_000{i}.png'))
            imwrite(img, str(root / sub[1] / f'GOPR0{i}_000{i}.png'))
            sharp.append(img)
        return sharp
    return make


def gopro_args(tmp_path, *extra) -> List[str]:
    return ['--src', str(tmp_path / 'Downloads/GoPro'), '--dst', str(tmp_path / 'train/GoPro'),
            '--val_src', str(tmp_path / 'test/GoPro'), '--val_dst', str(tmp_path / 'val/GoPro'),
            '--patch_size', '64', '--overlap', '32', '--val_size', '32', '--num_workers', '1', '--no_progress',
            *extra]


def test_gopro_end_to_end_aligned_and_resumable(tmp_path, capsys, load_script, make_pairs):
    gopro = load_script('scripts/generate_patches_gopro.py')
    src, test = tmp_path / 'Downloads/GoPro', tmp_path / 'test/GoPro'
    sharp = make_pairs(src, 3, 96, 160)
    make_pairs(test, 2, 70, 90)
    assert gopro.main(gopro_args(tmp_path)) == 0
    train_in, train_gt = tmp_path / 'train/GoPro/input_crops', tmp_path / 'train/GoPro/target_crops'
    wins = grid_windows(96, 160, 64, 32)
    assert len(wins) == 2 * 4
    names = sorted(f'GOPR0{i}_000{i}-{k}.png' for i in range(3) for k in range(1, len(wins) + 1))
    assert pngs(train_in) == names and pngs(train_gt) == names
    for i in range(3):
        blurred = read(src / 'input' / f'GOPR0{i}_000{i}.png')
        for k, (t, x) in enumerate(wins, 1):
            assert np.array_equal(read(train_gt / f'GOPR0{i}_000{i}-{k}.png'), sharp[i][t:t + 64, x:x + 64])
            assert np.array_equal(read(train_in / f'GOPR0{i}_000{i}-{k}.png'), blurred[t:t + 64, x:x + 64])
    t, x = center_window(70, 90, 32)
    val_gt = read(tmp_path / 'val/GoPro/target_crops/GOPR01_0001.png')
    assert np.array_equal(val_gt, read(test / 'target/GOPR01_0001.png')[t:t + 32, x:x + 32])
    assert pngs(tmp_path / 'val/GoPro/input_crops') == ['GOPR00_0000.png', 'GOPR01_0001.png']
    assert 'GoPro train: 3 pairs (0 done before) -> 24 patch pairs' in capsys.readouterr().out

    # a re-run skips everything and touches nothing
    before = mtimes(train_in)
    assert gopro.main(gopro_args(tmp_path)) == 0
    assert mtimes(train_in) == before
    assert '3 pairs (3 done before) -> 24 patch pairs' in capsys.readouterr().out

    # an interrupted run: a patch lost, a half-written temp file and a cut manifest line are left behind
    os.remove(train_gt / 'GOPR01_0001-5.png')
    (train_in / patches.TMP_DIR_NAME).mkdir()
    (train_in / patches.TMP_DIR_NAME / '123-GOPR02_0002-1.png').write_bytes(b'\x89PNG half')
    with open(train_in / MANIFEST_NAME, 'a') as f:
        f.write('{"name": "GOPR02_00')
    assert gopro.main(gopro_args(tmp_path, '--splits', 'train')) == 0
    after = mtimes(train_in)
    redone = {n for n in names if after[n] != before[n]}
    assert redone == {f'GOPR01_0001-{k}.png' for k in range(1, 9)}  # only the incomplete image is redone
    assert np.array_equal(read(train_gt / 'GOPR01_0001-5.png'), sharp[1][32:96, 0:64])
    assert not (train_in / patches.TMP_DIR_NAME).exists()


def test_gopro_real_size_with_defaults_in_worker_processes(tmp_path, load_script, make_pairs):
    gopro = load_script('scripts/generate_patches_gopro.py')
    src = tmp_path / 'GoPro'
    make_pairs(src, 2, 720, 1280, sub=('train/input', 'train/target'))  # the archive's own train/ folder works too
    assert gopro.main(['--src', str(src), '--dst', str(tmp_path / 'out'), '--splits', 'train',
                       '--num_workers', '2', '--no_progress']) == 0
    out = pngs(tmp_path / 'out/target_crops')
    assert len(out) == 16 and out[:2] == ['GOPR00_0000-1.png', 'GOPR00_0000-2.png']
    patch = read(tmp_path / 'out/target_crops/GOPR01_0001-8.png')  # last patch: bottom-right corner
    assert patch.shape == (512, 512, 3)
    assert np.array_equal(patch, read(src / 'train/target/GOPR01_0001.png')[208:, 768:])


def test_bad_layout_names_missing_folder(tmp_path, load_script, make_pairs, scene):
    gopro = load_script('scripts/generate_patches_gopro.py')
    make_pairs(tmp_path / 'Downloads/GoPro', 1, 70, 90, sub=('input', 'sharp'))
    with pytest.raises(SourceLayoutError) as err:
        gopro.main(gopro_args(tmp_path))
    msg = str(err.value)
    assert os.path.join(str(tmp_path / 'Downloads/GoPro'), 'target') in msg
    assert 'Expected layout' in msg and 'input/' in msg and 'target/' in msg
    imwrite(scene(70, 90), str(tmp_path / 'Downloads/GoPro/target/extra.png'))
    imwrite(scene(70, 90), str(tmp_path / 'Downloads/GoPro/target/extra2.png'))
    with pytest.raises(SourceLayoutError, match='same number of images'):
        gopro.main(gopro_args(tmp_path, '--splits', 'train'))


def test_script_cli_from_repo_root(tmp_path, repo_root):
    """``python scripts/generate_patches_gopro.py`` runs from the repo root; layout errors print without traceback."""
    proc = subprocess.run([sys.executable, 'scripts/generate_patches_gopro.py', '--src', str(tmp_path / 'none'),
                           '--splits', 'train'], cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2  # a user error: one line, exit status 2 (as every command line)
    assert 'error: GoPro training data: folder not found' in proc.stderr and 'Traceback' not in proc.stderr


def test_settings_change_and_overwrite(tmp_path, make_pairs):
    src = tmp_path / 'src'
    make_pairs(src, 2, 96, 160)
    pairs = patches.pair_by_order([str(src / 'input'), str(src / 'target')], 'test')
    out = (str(tmp_path / 'in'), str(tmp_path / 'gt'))

    def jobs(p):
        return [GridJob(pair, out, os.path.basename(pair[0])[:-4], patch_size=p, overlap=p // 2) for pair in pairs]

    assert run_jobs(jobs(64), progress=False).written == 2 * 2 * 8
    with pytest.raises(OutputConflictError, match='other settings'):
        run_jobs(jobs(48), progress=False)
    s = run_jobs(jobs(48), overwrite=True, progress=False)
    n48 = len(grid_windows(96, 160, 48, 24))
    assert s.done == 2 and s.skipped == 0 and len(pngs(out[1])) == 2 * n48  # the 64-px patches are gone
    with pytest.raises(OutputConflictError, match='two sources'):
        run_jobs([jobs(48)[0], GridJob(pairs[1], out, jobs(48)[0].name, patch_size=48, overlap=24)], progress=False)


def test_failed_image_is_reported_and_retried(tmp_path, make_pairs, scene):
    src = tmp_path / 'src'
    make_pairs(src, 2, 64, 64)
    (src / 'a.png').write_bytes(b'not a png')
    srcs = [str(src / 'input/GOPR00_0000.png'), str(src / 'a.png'), str(src / 'input/GOPR01_0001.png')]
    jobs = [CenterCropJob((p,), (str(tmp_path / 'out'),), f'img{i}', size=32) for i, p in enumerate(srcs)]
    s = run_jobs(jobs, num_workers=2, progress=False)
    assert s.done == 2 and [f[0] for f in s.failed] == [srcs[1]] and 'Cannot decode' in s.failed[0][1]
    imwrite(scene(64, 64), srcs[1])  # fixed: the re-run only does the failed image
    s = run_jobs(jobs, progress=False)
    assert (s.skipped, s.done, s.failed, s.files) == (2, 1, [], 3)


# ------------------------------------------------------------------------------------------------
# DPDD (16 bit, sharpness filter)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope='session')
def make_dpdd(scene):
    """``make_dpdd(root, names, h, w)``: 16-bit L/R/C/target views; the target's right part is flat, so windows
    there are the least sharp."""
    def make(root, names, h, w) -> Dict[str, Dict[str, np.ndarray]]:
        views: Dict[str, Dict[str, np.ndarray]] = {}
        for j, name in enumerate(names):
            target = scene(h, w, ['astronaut', 'coffee'][j]).astype(np.uint16) * 257 + 7
            target[:, w // 2:] = cv2.GaussianBlur(target[:, w // 2:], (0, 0), 8)
            blurred = cv2.GaussianBlur(target, (0, 0), 2)
            views[name] = {'inputL': np.roll(blurred, 1, axis=1), 'inputR': np.roll(blurred, -1, axis=1),
                           'inputC': blurred, 'target': target}
            for view, img in views[name].items():
                imwrite(img, str(root / view / f'{name}.png'))
        return views
    return make


def test_dpdd_end_to_end_16bit_and_filtered(tmp_path, load_script, make_dpdd):
    dpdd = load_script('scripts/generate_patches_dpdd.py')
    src = tmp_path / 'Downloads/DPDD'
    views = make_dpdd(src / 'train/train', ['1P0A1000', '1P0A1001'], 140, 210)
    make_dpdd(src / 'val/val', ['1P0A2000'], 100, 120)
    args = ['--src', str(src), '--dst', str(tmp_path / 'train'), '--val_dst', str(tmp_path / 'val'),
            '--patch_size', '64', '--stride', '25', '--val_size', '32', '--num_workers', '1', '--no_progress']
    assert dpdd.main(args) == 0
    wins = dpdd_windows(140, 210, 64, 25)
    n_keep = len(wins) - int(0.3 * len(wins))
    for name, v in views.items():
        kept = kept_indices(fitness_scores([v['target'][t:t + 64, x:x + 64] for t, x in wins]), 0.3)
        assert len(kept) == n_keep
        dropped = [wins[i] for i in range(len(wins)) if i not in kept]
        # the dropped windows are the ones reaching furthest into the blurred right half
        assert min(x for _, x in dropped) >= max(x for i, (_, x) in enumerate(wins) if i in kept) - 25
        for view, img in v.items():
            folder = tmp_path / 'train' / f'{view}_crops'
            for k, i in enumerate(kept, 1):
                patch = read(folder / f'{name}-{k}.png')
                t, x = wins[i]
                assert patch.dtype == np.uint16 and np.array_equal(patch, img[t:t + 64, x:x + 64])
            assert not (folder / f'{name}-{n_keep + 1}.png').exists()
    before = mtimes(tmp_path / 'train/target_crops')
    assert dpdd.main(args) == 0  # re-run: nothing redone
    assert mtimes(tmp_path / 'train/target_crops') == before
    val = read(tmp_path / 'val/inputR_crops/1P0A2000.png')
    src_r = read(src / 'val/val/inputR/1P0A2000.png')
    assert val.dtype == np.uint16 and val.max() > 255 and np.array_equal(val, src_r[34:66, 44:76])


def test_dpdd_flat_layout_and_missing_view(tmp_path, load_script, make_dpdd):
    dpdd = load_script('scripts/generate_patches_dpdd.py')
    make_dpdd(tmp_path / 'DPDD/val', ['a'], 64, 64)  # val/ without the doubled folder is accepted
    assert dpdd.main(['--src', str(tmp_path / 'DPDD'), '--val_dst', str(tmp_path / 'v'), '--splits', 'val',
                      '--val_size', '32', '--no_progress', '--num_workers', '1']) == 0
    assert pngs(tmp_path / 'v/target_crops') == ['a.png']
    os.remove(tmp_path / 'DPDD/val/inputL/a.png')
    with pytest.raises(SourceLayoutError, match='inputL'):
        dpdd.main(['--src', str(tmp_path / 'DPDD'), '--val_dst', str(tmp_path / 'v'), '--splits', 'val'])


# ------------------------------------------------------------------------------------------------
# DFWB and SIDD
# ------------------------------------------------------------------------------------------------
def test_dfwb_tiles_large_and_copies_small(tmp_path, load_script, scene, photo):
    dfwb = load_script('scripts/generate_patches_dfwb.py')
    src = tmp_path / 'Downloads'
    big = scene(200, 300, 'coffee')
    imwrite(big, str(src / 'DIV2K/0001.png'))
    imwrite(scene(130, 100, 'rocket'), str(src / 'Flickr2K/000002.png'))  # a side <= 100: copied whole
    for d in ('WaterlooED', 'BSD400'):
        (src / d).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(src / 'WaterlooED/00003.bmp'), scene(120, 150, 'chelsea'))
    gray = photo('camera')[:90, :110]
    imwrite(gray, str(src / 'BSD400/test_004.png'))
    cv2.imwrite(str(src / 'BSD400/test_005.jpg'), scene(110, 140))
    args = ['--src', str(src), '--dst', str(tmp_path / 'DFWB'), '--patch_size', '64', '--overlap', '16',
            '--tile_threshold', '100', '--num_workers', '1', '--no_progress']
    assert dfwb.main(args) == 0
    out = tmp_path / 'DFWB'
    wins = grid_windows(200, 300, 64, 16)
    assert len(wins) == 4 * 6
    expected = {f'DIV2K-0001-{k}.png' for k in range(1, 25)} | {'Flickr2K-000002.png', 'BSD400-test_004.png'}
    expected |= {f'WaterlooED-00003-{k}.png' for k in range(1, len(grid_windows(120, 150, 64, 16)) + 1)}
    expected |= {f'BSD400-test_005-{k}.png' for k in range(1, len(grid_windows(110, 140, 64, 16)) + 1)}
    assert set(pngs(out)) == expected and not [d for d in os.listdir(out) if (out / d).is_dir()]
    for k, (t, x) in enumerate(wins, 1):
        assert np.array_equal(read(out / f'DIV2K-0001-{k}.png'), big[t:t + 64, x:x + 64])
    whole = read(out / 'BSD400-test_004.png')  # small gray image: whole, 3 equal channels (official cv2.imread)
    assert whole.shape == (90, 110, 3) and all(np.array_equal(whole[..., c], gray) for c in range(3))
    jpg = imread(str(src / 'BSD400/test_005.jpg'), float32=False)
    assert np.array_equal(read(out / 'BSD400-test_005-1.png'), jpg[:64, :64])
    with pytest.raises(SourceLayoutError, match='BSD500'):
        dfwb.main(args + ['--datasets', 'DIV2K', 'BSD500'])


def test_sidd_pairs_by_sorted_order_named_after_noisy(tmp_path, load_script, scene):
    sidd = load_script('scripts/generate_patches_sidd.py')
    src = tmp_path / 'SIDD'
    imgs = {}
    for i, (scene_dir, photo_name) in enumerate([('0001_001_S6_00100_00060_3200_L', 'astronaut'),
                                                 ('0002_001_S6_00100_00020_3200_N', 'coffee')], 1):
        gt = scene(100, 180, photo_name)
        noisy = np.clip(gt + np.random.default_rng(i).normal(0, 10, gt.shape), 0, 255).astype(np.uint8)
        for kind, img in (('GT', gt), ('NOISY', noisy)):
            imwrite(img, str(src / scene_dir / f'000{i}_{kind}_SRGB_010.PNG'))
        imgs[i] = (noisy, gt)
    # validation blocks as in ValidationNoisyBlocksSrgb.mat (images x blocks x H x W x RGB)
    from scipy.io import savemat
    rng = np.random.default_rng(5)
    blocks = {k: rng.integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8) for k in ('Noisy', 'Gt')}
    for k, arr in blocks.items():
        savemat(str(tmp_path / f'Validation{k}BlocksSrgb.mat'), {f'Validation{k}BlocksSrgb': arr})
    args = ['--src', str(src), '--dst', str(tmp_path / 'train'), '--patch_size', '64', '--overlap', '16',
            '--val_from_mat', '--val_mat_dir', str(tmp_path), '--val_dst', str(tmp_path / 'val'),
            '--num_workers', '1', '--no_progress']
    assert sidd.main(args) == 0
    wins = grid_windows(100, 180, 64, 16)
    for i, (noisy, gt) in imgs.items():
        for k, (t, x) in enumerate(wins, 1):
            name = f'000{i}_NOISY_SRGB_010-{k}.png'
            assert np.array_equal(read(tmp_path / 'train/input_crops' / name), noisy[t:t + 64, x:x + 64])
            assert np.array_equal(read(tmp_path / 'train/target_crops' / name), gt[t:t + 64, x:x + 64])
    assert len(pngs(tmp_path / 'train/target_crops')) == 2 * len(wins)
    assert np.array_equal(read(tmp_path / 'val/input_crops/0001_02.png'), blocks['Noisy'][1, 2, :, :, ::-1])
    assert np.array_equal(read(tmp_path / 'val/target_crops/0000_00.png'), blocks['Gt'][0, 0, :, :, ::-1])
    assert len(pngs(tmp_path / 'val/target_crops')) == 6
    os.remove(next((src / '0002_001_S6_00100_00020_3200_N').glob('*GT*')))
    with pytest.raises(SourceLayoutError, match='2 NOISY and 1 GT'):
        sidd.main(args)


def test_manifest_records_relative_paths(tmp_path, make_pairs):
    make_pairs(tmp_path / 'src', 1, 64, 64)
    pair = (str(tmp_path / 'src/input/GOPR00_0000.png'), str(tmp_path / 'src/target/GOPR00_0000.png'))
    run_jobs([CenterCropJob(pair, (str(tmp_path / 'o/a'), str(tmp_path / 'o/b')), 'x', size=32)], progress=False)
    lines = [json.loads(x) for x in (tmp_path / 'o/a' / MANIFEST_NAME).read_text().splitlines()]
    assert lines[0] == {'settings': {'job': 'CenterCropJob', 'size': 32, 'flag': 'color'}}
    assert lines[1]['outputs'] == ['x.png', os.path.join('..', 'b', 'x.png')]
    assert not any(os.path.isabs(p) for p in lines[1]['sources'] + lines[1]['outputs'])
