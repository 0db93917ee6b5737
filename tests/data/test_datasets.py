"""Datasets on small generated images and real photos: pairing, alignment, noise, 16-bit, errors."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from basicsr.data import build_dataset
from basicsr.data.sample_spec import SampleSpec
from basicsr.data.transforms import augment, crop_augment, pad_to_size
from basicsr.utils.errors import DataMismatchError, DatasetLayoutError
from basicsr.utils.img_util import ImageReadError, imwrite


@pytest.fixture
def write_pairs(photo):
    """``write_pairs(root, n=3, size=(40, 56), invert=True, names=None)`` -> (input, target) folders of photo
    crops, input = 255 - target unless ``invert=False``."""
    def write(root, n=3, size=(40, 56), invert=True, names=None):
        lq_dir, gt_dir = os.path.join(root, 'input'), os.path.join(root, 'target')
        src = photo('astronaut')
        names = names or [f'img{i:02d}' for i in range(n)]
        for i, name in enumerate(names):
            gt = src[i * 37:i * 37 + size[0], i * 23:i * 23 + size[1], ::-1].copy()
            imwrite(gt, os.path.join(gt_dir, f'{name}.png'))
            imwrite(255 - gt if invert else gt, os.path.join(lq_dir, f'{name}.png'))
        return lq_dir, gt_dir
    return write


def _paired_opt(lq, gt, phase='train', **kw):
    opt = dict(type='Dataset_PairedImage', phase=phase, dataroot_lq=lq, dataroot_gt=gt, io_backend={'type': 'disk'},
               filename_tmpl='{}', geometric_augs=True, gt_size=32, scale=1)
    opt.update(kw)
    return opt


def test_paired_train_crop_stays_aligned(tmp_path, write_pairs):
    lq, gt = write_pairs(str(tmp_path))
    ds = build_dataset(_paired_opt(lq, gt))
    assert len(ds) == 3
    seen_shapes = set()
    for seed in range(12):
        s = ds[SampleSpec(seed % 3, 24, (7, 0, 0, seed))]
        assert s['lq'].shape == s['gt'].shape == (3, 24, 24)
        assert torch.allclose(s['lq'], 1 - s['gt'], atol=1e-6)  # the LQ is the exact inverse of the GT
        seen_shapes.add(tuple(s['gt'][:, 0, 0].tolist()))
    assert len(seen_shapes) > 3  # different crops/augmentations for different seeds
    a, b = ds[SampleSpec(1, 24, (7, 0, 0, 5))], ds[SampleSpec(1, 24, (7, 0, 0, 5))]
    assert torch.equal(a['gt'], b['gt'])  # deterministic per seed


def test_paired_val_returns_whole_rgb_images(tmp_path, write_pairs):
    lq, gt = write_pairs(str(tmp_path))
    ds = build_dataset(_paired_opt(lq, gt, phase='val'))
    s = ds[2]
    ref = cv2.imread(os.path.join(gt, 'img02.png'))[..., ::-1] / 255.0
    assert s['gt'].shape == (3, 40, 56)
    assert np.allclose(s['gt'].numpy().transpose(1, 2, 0), ref, atol=1e-6)
    assert s['lq_path'].endswith(os.path.join('input', 'img02.png'))


def test_filename_template_and_meta_info(tmp_path, photo):
    src = photo('coffee', 32)
    for name in ('a', 'b'):
        imwrite(src, str(tmp_path / 'gt' / f'{name}.png'))
        imwrite(src, str(tmp_path / 'lq' / f'{name}_rain.jpg'))
    ds = build_dataset(_paired_opt(str(tmp_path / 'lq'), str(tmp_path / 'gt'), phase='val', filename_tmpl='{}_rain'))
    assert [os.path.basename(p['lq_path']) for p in ds.paths] == ['a_rain.jpg', 'b_rain.jpg']
    meta = tmp_path / 'meta.txt'
    meta.write_text('b.png (32,32,3) 1\n')
    ds = build_dataset(_paired_opt(str(tmp_path / 'lq'), str(tmp_path / 'gt'), phase='val', filename_tmpl='{}_rain',
                                   meta_info_file=str(meta)))
    assert len(ds) == 1 and ds.paths[0]['gt_path'].endswith('b.png')


def test_layout_errors_name_the_fault(tmp_path, write_pairs, photo):
    lq, gt = write_pairs(str(tmp_path))
    with pytest.raises(DatasetLayoutError, match="dataroot_lq.*not found: '.*nowhere'"):
        build_dataset(_paired_opt(str(tmp_path / 'nowhere'), gt))
    os.remove(os.path.join(lq, 'img01.png'))
    with pytest.raises(DatasetLayoutError, match=r"1 of 3 GT images .* no partner .*img01 \(for GT img01\)"):
        build_dataset(_paired_opt(lq, gt))
    imwrite(photo('astronaut', 8), os.path.join(lq, 'img01.png'))
    imwrite(photo('astronaut', 8), os.path.join(lq, 'stray.png'))
    with pytest.raises(DatasetLayoutError, match='has 4 images but .* has 3; unpaired: stray'):
        build_dataset(_paired_opt(lq, gt))
    os.remove(os.path.join(lq, 'stray.png'))
    with open(os.path.join(gt, 'img00.png'), 'wb') as f:
        f.write(b'garbage')
    ds = build_dataset(_paired_opt(lq, gt, phase='val'))
    with pytest.raises(ImageReadError, match='img00.png'):
        ds[0]
    with pytest.raises(DataMismatchError, match='differ in size'):
        ds[1]  # img01 LQ was replaced by an 8x8 image
    imwrite(photo('camera', 16), os.path.join(lq, 'img01.png'))
    with pytest.raises(DataMismatchError, match=r"mix gray and colour: '.*input/img01.png' \(gray\)"):
        ds[1]  # a gray input next to a colour target


def test_reflect_padding_of_small_images(photo):
    img = photo('chelsea', 20)[..., ::-1].astype(np.float32) / 255
    padded = pad_to_size(img, 32)
    assert padded.shape == (32, 32, 3)
    assert np.array_equal(padded, cv2.copyMakeBorder(img, 0, 12, 0, 12, cv2.BORDER_REFLECT))
    assert np.array_equal(padded[20, :20], img[19])  # edge pixel repeated (symmetric), not torch 'reflect'
    rng = np.random.default_rng(0)
    out, = crop_augment([img], 32, 16, rng, geometric_augs=False)
    assert out.shape == (16, 16, 3)


def test_augment_modes_are_the_dihedral_group():
    x = np.arange(12).reshape(3, 4, 1)
    expect = [x, np.flipud(x), np.rot90(x), np.flipud(np.rot90(x)), np.rot90(x, 2), np.flipud(np.rot90(x, 2)),
              np.rot90(x, 3), np.flipud(np.rot90(x, 3))]
    outs = [augment(x, m) for m in range(8)]
    for m in range(8):
        assert np.array_equal(outs[m], expect[m])
    assert len({o.tobytes() + bytes(o.shape) for o in outs}) == 8


def test_crop_offsets_follow_the_official_two_step_draw():
    # official: a gt_size window uniformly in the (padded) image, then a patch at int((gt - p) * U[0,1))
    img = np.arange(40 * 40, dtype=np.float32).reshape(40, 40, 1)
    tops = []
    for seed in range(400):
        out, = crop_augment([img], 32, 16, np.random.default_rng(seed), geometric_augs=False)
        tops.append(int(out[0, 0, 0]) // 40)
    tops = np.array(tops)
    assert tops.min() >= 0 and tops.max() <= (40 - 32) + (32 - 16 - 1)
    assert 8 < tops.mean() < 14  # sum of U{0..8} and U{0..15}: mean 4 + 7.5


@pytest.fixture
def write_clean(photo):
    """``write_clean(root, n=2)``: ``n`` 48x64 photo crops in ``root``; returns ``root``."""
    def write(root, n=2):
        src = photo('coffee')
        for i in range(n):
            imwrite(src[i * 50:i * 50 + 48, :64, ::-1].copy(), os.path.join(root, f'c{i}.png'))
        return root
    return write


@pytest.mark.parametrize('sigma_type, sigma_range', [('constant', 25), ('random', [0, 50]), ('choice', [15, 50])])
def test_gaussian_training_noise(tmp_path, sigma_type, sigma_range, write_clean):
    root = write_clean(str(tmp_path / 'clean'))
    ds = build_dataset(dict(type='Dataset_GaussianDenoising', phase='train', dataroot_gt=root, in_ch=3, gt_size=48,
                            sigma_type=sigma_type, sigma_range=sigma_range, geometric_augs=True,
                            io_backend={'type': 'disk'}))
    stds = []
    for seed in range(30):
        s = ds[SampleSpec(seed % 2, 32, (1, 0, 0, seed))]
        noise = (s['lq'] - s['gt']).numpy() * 255
        stds.append(noise.std())
    stds = np.array(stds)
    if sigma_type == 'constant':
        assert np.allclose(stds, 25, rtol=0.05)
    elif sigma_type == 'random':
        assert stds.min() < 15 and stds.max() > 35 and stds.max() < 52
    else:
        assert set(np.round(stds / 5) * 5) <= {15.0, 50.0} and len(set(np.round(stds / 5))) == 2
    noisy = ds[SampleSpec(0, 32, (1, 0, 0, 99))]['lq']
    if sigma_type == 'constant':
        assert noisy.min() < 0 or noisy.max() > 1  # no clipping


def test_gaussian_validation_noise_is_the_official_protocol(tmp_path, write_clean):
    root = write_clean(str(tmp_path / 'clean'))
    ds = build_dataset(dict(type='Dataset_GaussianDenoising', phase='val', dataroot_gt=root, in_ch=3, sigma_test=15,
                            io_backend={'type': 'disk'}))
    s = ds[1]
    img = cv2.cvtColor(cv2.imread(os.path.join(root, 'c1.png')), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    np.random.seed(0)
    img += np.random.normal(0, 15 / 255.0, img.shape)  # the official test-time lines
    assert np.array_equal(s['lq'].numpy().transpose(1, 2, 0), img)
    assert torch.equal(ds[1]['lq'], s['lq'])


def test_gaussian_gray(tmp_path, photo):
    root = str(tmp_path / 'gray')
    imwrite(photo('camera', 40), os.path.join(root, 'cam.png'))
    ds = build_dataset(dict(type='Dataset_GaussianDenoising', phase='val', dataroot_gt=root, in_ch=1, sigma_test=25,
                            io_backend={'type': 'disk'}))
    s = ds[0]
    assert s['gt'].shape == (1, 40, 40)
    assert np.allclose(s['gt'][0].numpy() * 255, photo('camera', 40), atol=1e-3)


def test_dual_pixel_16bit(tmp_path, photo):
    src = photo('astronaut', 64)[..., ::-1].astype(np.uint16) * 257
    for sub, shift in (('inputL', 100), ('inputR', 200), ('target', 0)):
        imwrite(src + shift, str(tmp_path / sub / 'scene.png'))
    opt = dict(type='Dataset_DefocusDeblur_DualPixel_16bit', dataroot_gt=str(tmp_path / 'target'),
               dataroot_lqL=str(tmp_path / 'inputL'), dataroot_lqR=str(tmp_path / 'inputR'), filename_tmpl='{}',
               io_backend={'type': 'disk'}, gt_size=48, geometric_augs=True)
    val = build_dataset(dict(opt, phase='val'))[0]
    assert val['lq'].shape == (6, 64, 64) and val['gt'].shape == (3, 64, 64)
    rgb = src[..., ::-1].transpose(2, 0, 1).astype(np.float64)
    assert np.allclose(val['gt'].numpy(), rgb / 65535, atol=1e-7)
    assert np.allclose(val['lq'][:3].numpy(), (rgb + 100) / 65535, atol=1e-7)
    ds = build_dataset(dict(opt, phase='train'))
    for seed in range(6):
        s = ds[SampleSpec(0, 32, (0, 0, 0, seed))]
        assert s['lq'].shape == (6, 32, 32)
        assert torch.allclose(s['lq'][:3] - s['gt'], torch.full_like(s['gt'], 100 / 65535), atol=1e-6)
        assert torch.allclose(s['lq'][3:] - s['gt'], torch.full_like(s['gt'], 200 / 65535), atol=1e-6)


def test_single_image_dataset(tmp_path, photo):
    imwrite(photo('camera', 24), str(tmp_path / 'x.png'))
    ds = build_dataset(dict(type='Dataset_SingleImage', phase='test', dataroot_lq=str(tmp_path),
                            io_backend={'type': 'disk'}, color='gray'))
    assert ds[0]['lq'].shape == (1, 24, 24)
    with pytest.raises(ValueError, match='cannot be used for training'):
        build_dataset(dict(type='Dataset_SingleImage', phase='train', dataroot_lq=str(tmp_path)))


def test_pkg_paths_resolve_to_bundled_photos(repo_root):
    ds = build_dataset(dict(type='Dataset_GaussianDenoising', phase='val', dataroot_gt='pkg://skimage/data',
                            meta_info_file=os.path.join(repo_root, 'options/quickstart/val.txt'), in_ch=3,
                            sigma_test=25, io_backend={'type': 'disk'}))
    assert [os.path.basename(p['gt_path']) for p in ds.paths] == ['chelsea.png', 'coffee.png', 'camera.png']
    with pytest.raises(DatasetLayoutError, match='not installed'):
        build_dataset(dict(type='Dataset_GaussianDenoising', phase='val', dataroot_gt='pkg://no_such_pkg/data',
                           in_ch=3, sigma_test=25))


def test_basicsr_compatible_helpers(photo):
    from basicsr.data.transforms import paired_random_crop, random_augmentation
    gt = photo('astronaut', 64)[..., ::-1].astype(np.float32) / 255
    lq = 1 - gt
    c_gt, c_lq = paired_random_crop(gt, lq, 32, 1, 'gt.png', rng=np.random.default_rng(0))
    assert c_gt.shape == c_lq.shape == (32, 32, 3) and np.allclose(c_lq, 1 - c_gt)
    l_gt, l_lq = paired_random_crop([gt], [lq], 32, rng=np.random.default_rng(0))
    assert isinstance(l_gt, list) and np.array_equal(l_gt[0], c_gt)
    a, b = random_augmentation(gt, lq, rng=np.random.default_rng(1))
    assert np.allclose(b, 1 - a)
