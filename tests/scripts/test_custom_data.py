"""Your own data: the generic patch script on a folder of pairs, then the custom option template trained
from scratch and fine-tuned from the resulting checkpoint (tiny network, a few iterations)."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from basicsr.utils.errors import DataMismatchError, DatasetLayoutError
from basicsr.utils.img_util import imread, imwrite


@pytest.fixture
def pairs(tmp_path, photo):
    """Six degraded/clean pairs (96x128 crops of a real photo, degraded = blurred + noise)."""
    import cv2
    rng = np.random.default_rng(0)
    src = photo('astronaut')[..., ::-1]
    for i in range(6):
        clean = np.ascontiguousarray(src[i * 50:i * 50 + 96, i * 40:i * 40 + 128])
        blurred = cv2.GaussianBlur(clean, (5, 5), 1.5).astype(np.float32) + rng.normal(0, 5, clean.shape)
        imwrite(clean, str(tmp_path / 'clean' / f'shot{i}.png'))
        imwrite(np.clip(blurred, 0, 255).astype(np.uint8), str(tmp_path / 'degraded' / f'shot{i}.png'))
    return tmp_path


def _patches(load_script, tmp_path, *extra):
    script = load_script('scripts/generate_patches.py')
    return script.main(['--input', str(tmp_path / 'degraded'), '--target', str(tmp_path / 'clean'), '--out',
                        str(tmp_path / 'custom'), '--size', '64', '--overlap', '16', '--val', '2', '--val_size', '32',
                        '--num_workers', '1', '--no_progress', *extra])


def test_generic_patch_script(pairs, load_script):
    assert _patches(load_script, pairs) == 0
    train_in = sorted(n for n in os.listdir(pairs / 'custom' / 'train' / 'input') if n.endswith('.png'))
    assert train_in == sorted(n for n in os.listdir(pairs / 'custom' / 'train' / 'target') if n.endswith('.png'))
    assert len(train_in) == 4 * 2 * 3 and 'shot0-1.png' in train_in  # 4 pairs x (2 x 3 windows of 64 in 96x128)
    val = sorted(n for n in os.listdir(pairs / 'custom' / 'val' / 'input') if n.endswith('.png'))
    assert val == ['shot4.png', 'shot5.png']
    a = imread(str(pairs / 'custom' / 'train' / 'target' / 'shot0-1.png'), float32=False)
    b = imread(str(pairs / 'clean' / 'shot0.png'), float32=False)[:64, :64]
    np.testing.assert_array_equal(a, b)  # the first window, aligned
    assert imread(str(pairs / 'custom' / 'val' / 'target' / 'shot5.png')).shape == (32, 32, 3)


def test_generic_patch_script_checks_the_pairs(pairs, load_script, photo):
    imwrite(photo('astronaut', 96), str(pairs / 'degraded' / 'stray.png'))
    with pytest.raises(DatasetLayoutError, match=r'unpaired: stray'):
        _patches(load_script, pairs)
    os.remove(pairs / 'degraded' / 'stray.png')
    imwrite(photo('camera', 96), str(pairs / 'clean' / 'shot2.png'))
    with pytest.raises(DataMismatchError, match=r"clean/shot2\.png' \(gray\)"):
        _patches(load_script, pairs)
    assert not os.path.exists(pairs / 'custom')  # nothing written
    with pytest.raises(SystemExit):
        _patches(load_script, pairs, '--size', '60')


def test_template_from_scratch_then_fine_tuned(pairs, load_script, repo_root):
    from basicsr.train import main as train_main
    assert _patches(load_script, pairs) == 0
    template = os.path.join(repo_root, 'options', 'train_paired_custom.yml')
    common = ['num_gpu=0', f'path.root={pairs}', f'datasets.train.dataroot_lq={pairs}/custom/train/input',
              f'datasets.train.dataroot_gt={pairs}/custom/train/target',
              f'datasets.val.dataroot_lq={pairs}/custom/val/input',
              f'datasets.val.dataroot_gt={pairs}/custom/val/target',
              'network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
              'network_g.heads=[1,1,1,1]', 'train.total_iter=4', 'datasets.train.iters=[2,2]',
              'datasets.train.gt_sizes=[32,64]', 'datasets.train.gt_size=64', 'datasets.train.mini_batch_sizes=[2,1]',
              'datasets.train.num_worker_per_gpu=0', 'train.scheduler.periods=[4]', 'val.val_freq=4',
              'logger.save_checkpoint_freq=4', 'logger.print_freq=2']
    scratch = train_main(['-opt', template, '--set', *common, 'name=scratch', 'path.pretrain_network_g=~'])
    weights = os.path.join(scratch['experiments_root'], 'models', 'net_g_latest.pth')
    tuned = train_main(['-opt', template, '--set', *common, 'name=tuned', f'path.pretrain_network_g={weights}'])
    assert tuned['iter'] == 4 and 'ValSet/psnr' in tuned['best_metrics']
    log = open(glob.glob(os.path.join(tuned['experiments_root'], '*.log'))[0]).read()
    assert f"Loaded '{weights}' [params] into Restormer" in log
    assert os.listdir(os.path.join(tuned['experiments_root'], 'visualization'))  # save_img: restored val images
