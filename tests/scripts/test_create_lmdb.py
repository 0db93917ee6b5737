"""scripts/create_lmdb.py: packing folders into LMDB and reading them back through the datasets."""
from __future__ import annotations

import os
import runpy
import subprocess
import sys

import lmdb
import numpy as np
import pytest
import torch

from basicsr.data.dual_pixel_dataset import Dataset_DefocusDeblur_DualPixel_16bit
from basicsr.data.file_client import lmdb_keys
from basicsr.data.gaussian_denoising_dataset import Dataset_GaussianDenoising
from basicsr.data.paired_image_dataset import Dataset_PairedImage
from basicsr.data.sample_spec import SampleSpec
from basicsr.utils.img_util import img2tensor, imread, imwrite

SIZES = {'img1': (48, 64), 'img2': (64, 80), 'img10': (40, 56)}
PHOTOS = {'img1': 'astronaut', 'img2': 'coffee', 'img10': 'chelsea'}


@pytest.fixture(scope='module')
def create_lmdb(load_script):
    """The script's module (``scripts/create_lmdb.py``)."""
    return load_script('scripts/create_lmdb.py')


@pytest.fixture
def paired(tmp_path, photo):
    """``lq``/``gt`` folders: three photos of different sizes; LQ = 255 - GT (so alignment is checkable)."""
    for stem, (h, w) in SIZES.items():
        gt = np.ascontiguousarray(photo(PHOTOS[stem])[:h, :w, ::-1])
        imwrite(gt, str(tmp_path / 'gt' / f'{stem}.png'))
        imwrite(255 - gt, str(tmp_path / 'lq' / f'{stem}.png'))
    return tmp_path / 'lq', tmp_path / 'gt'


def read_lmdb(path, key: str) -> bytes:
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        value = txn.get(key.encode('ascii'))
    env.close()
    return bytes(value)


def paired_opt(lq, gt, backend: str, phase: str = 'val', **extra):
    return dict(name='t', type='Dataset_PairedImage', phase=phase, dataroot_lq=str(lq), dataroot_gt=str(gt),
                io_backend={'type': backend}, filename_tmpl='{}', **extra)


def test_paired_pack_layout_and_bytes(paired, create_lmdb):
    lq, gt = paired
    assert create_lmdb.main(['--paired', str(lq), str(gt), '--no_progress', '--batch', '2']) == 0
    lq_db, gt_db = f'{lq}.lmdb', f'{gt}.lmdb'
    for db, folder in ((lq_db, lq), (gt_db, gt)):
        assert {'data.mdb', 'meta_info.txt'} <= set(os.listdir(db))
        assert not os.path.exists(db + '.partial')
        meta = open(os.path.join(db, 'meta_info.txt')).read().splitlines()
        assert meta == [f'{s}.png ({h},{w},3) -1' for s, (h, w) in
                        [('img1', SIZES['img1']), ('img2', SIZES['img2']), ('img10', SIZES['img10'])]]
        assert lmdb_keys(db) == ['img1', 'img2', 'img10']  # natural order, like the disk listing
        for stem in SIZES:
            assert read_lmdb(db, stem) == (folder / f'{stem}.png').read_bytes()  # stored as-is, not re-encoded


def test_paired_dataset_reads_lmdb_like_disk(paired, create_lmdb):
    lq, gt = paired
    create_lmdb.write_lmdb([str(lq), str(gt)], progress=False)
    disk = Dataset_PairedImage(paired_opt(lq, gt, 'disk'))
    db = Dataset_PairedImage(paired_opt(f'{lq}.lmdb', f'{gt}.lmdb', 'lmdb'))
    assert len(db) == len(disk) == 3
    for i in range(3):
        a, b = disk[i], db[i]
        stem = os.path.splitext(os.path.basename(a['gt_path']))[0]
        assert b['gt_path'] == b['lq_path'] == stem
        assert torch.equal(a['gt'], b['gt']) and torch.equal(a['lq'], b['lq'])
        expected = img2tensor(imread(str(gt / f'{stem}.png')), bgr2rgb=True)
        assert torch.equal(b['gt'], expected) and b['gt'].shape[1:] == SIZES[stem]
    # training: same crop/augmentation for the same sample spec, LQ and GT crops aligned
    train = dict(gt_size=32, geometric_augs=True)
    disk = Dataset_PairedImage(paired_opt(lq, gt, 'disk', 'train', **train))
    db = Dataset_PairedImage(paired_opt(f'{lq}.lmdb', f'{gt}.lmdb', 'lmdb', 'train', **train))
    for i in range(3):
        item = SampleSpec(i, 24, (7, 0, i))
        a, b = disk[item], db[item]
        assert b['gt'].shape == (3, 24, 24)
        assert torch.equal(a['gt'], b['gt']) and torch.equal(a['lq'], b['lq'])
        torch.testing.assert_close(b['lq'], 1.0 - b['gt'], rtol=0, atol=1e-6)


def test_gaussian_denoising_on_lmdb_of_clean_images(paired, create_lmdb):
    _, gt = paired
    out = create_lmdb.write_lmdb([str(gt)], [str(gt.parent / 'clean.lmdb')], progress=False)
    assert out == [str(gt.parent / 'clean.lmdb')]
    for in_ch in (3, 1):
        base = dict(name='g', type='Dataset_GaussianDenoising', phase='val', sigma_test=25, in_ch=in_ch,
                    dataroot_lq='none')
        disk = Dataset_GaussianDenoising(dict(base, dataroot_gt=str(gt), io_backend={'type': 'disk'}))
        db = Dataset_GaussianDenoising(dict(base, dataroot_gt=out[0], io_backend={'type': 'lmdb'}))
        assert len(db) == 3
        for i in range(3):
            a, b = disk[i], db[i]
            assert torch.equal(a['gt'], b['gt']) and torch.equal(a['lq'], b['lq'])
            assert b['gt'].shape[0] == in_ch and not torch.equal(b['lq'], b['gt'])
        stem = db.paths[0]['gt_path']
        if in_ch == 3:
            assert torch.equal(db[0]['gt'], img2tensor(imread(str(gt / f'{stem}.png')), bgr2rgb=True))
    train = dict(name='g', type='Dataset_GaussianDenoising', phase='train', sigma_type='constant', sigma_range=15,
                 in_ch=3, gt_size=32, geometric_augs=True, dataroot_lq='none')
    disk = Dataset_GaussianDenoising(dict(train, dataroot_gt=str(gt), io_backend={'type': 'disk'}))
    db = Dataset_GaussianDenoising(dict(train, dataroot_gt=out[0], io_backend={'type': 'lmdb'}))
    a, b = disk[SampleSpec(1, 32, (3, 1))], db[SampleSpec(1, 32, (3, 1))]
    assert torch.equal(a['gt'], b['gt']) and torch.equal(a['lq'], b['lq'])
    assert abs(float((b['lq'] - b['gt']).std()) - 15 / 255) < 0.01


def test_dual_pixel_16bit_triplet(tmp_path, create_lmdb):
    rng = np.random.default_rng(1)
    for stem in ('a', 'b'):
        for view in ('L', 'R', 'T'):
            imwrite(rng.integers(0, 65536, (40, 48, 3), dtype=np.uint16), str(tmp_path / view / f'{stem}.png'))
    dbs = create_lmdb.write_lmdb([str(tmp_path / v) for v in 'LRT'], progress=False)
    assert read_lmdb(dbs[0], 'b') == (tmp_path / 'L' / 'b.png').read_bytes()
    opt = dict(name='dp', type='Dataset_DefocusDeblur_DualPixel_16bit', phase='val', filename_tmpl='{}')
    disk = Dataset_DefocusDeblur_DualPixel_16bit(dict(opt, dataroot_lqL=str(tmp_path / 'L'), io_backend={
        'type': 'disk'}, dataroot_lqR=str(tmp_path / 'R'), dataroot_gt=str(tmp_path / 'T')))
    db = Dataset_DefocusDeblur_DualPixel_16bit(dict(opt, dataroot_lqL=dbs[0], dataroot_lqR=dbs[1],
                                                    dataroot_gt=dbs[2], io_backend={'type': 'lmdb'}))
    for i in range(2):
        assert torch.equal(disk[i]['lq'], db[i]['lq']) and torch.equal(disk[i]['gt'], db[i]['gt'])
    img = imread(str(tmp_path / 'T' / 'a.png'), flag='unchanged', float32=False)
    assert torch.equal(db[0]['gt'], img2tensor(img.astype(np.float32) / 65535.0, bgr2rgb=True))


def test_errors_are_clear(paired, tmp_path, create_lmdb):
    lq, gt = paired
    os.rename(gt / 'img2.png', gt / 'img3.png')
    with pytest.raises(create_lmdb.LmdbError, match=r"only in the first: \['img2'\], only in the second: \['img3'\]"):
        create_lmdb.write_lmdb([str(lq), str(gt)], progress=False)
    assert not os.path.exists(f'{lq}.lmdb') and not os.path.exists(f'{lq}.lmdb.partial')
    with pytest.raises(create_lmdb.LmdbError, match='not found'):
        create_lmdb.write_lmdb([str(tmp_path / 'missing')], progress=False)
    with pytest.raises(create_lmdb.LmdbError, match="end with '.lmdb'"):
        create_lmdb.write_lmdb([str(lq)], [str(tmp_path / 'out')], progress=False)
    create_lmdb.write_lmdb([str(lq)], progress=False)
    with pytest.raises(create_lmdb.LmdbError, match='--overwrite'):
        create_lmdb.write_lmdb([str(lq)], progress=False)
    create_lmdb.write_lmdb([str(lq)], overwrite=True, progress=False)
    # a corrupt file fails the run and leaves neither a .lmdb nor a partial folder behind
    (gt / 'img3.png').write_bytes(b'broken')
    with pytest.raises(OSError, match='img3'):
        create_lmdb.write_lmdb([str(gt)], progress=False)
    assert not os.path.exists(f'{gt}.lmdb') and not os.path.exists(f'{gt}.lmdb.partial')
    # size mismatch between paired images
    imwrite(np.zeros((10, 10, 3), np.uint8), str(gt / 'img3.png'))
    os.rename(lq / 'img2.png', lq / 'img3.png')
    with pytest.raises(create_lmdb.LmdbError, match='differ in size'):
        create_lmdb.write_lmdb([str(lq), str(gt)], [str(tmp_path / 'a.lmdb'), str(tmp_path / 'b.lmdb')],
                               progress=False)


def test_full_map_grows(paired, monkeypatch, create_lmdb):
    _, gt = paired
    monkeypatch.setattr(create_lmdb, 'estimate_map_size', lambda total, count: 16 * 4096)
    create_lmdb.write_lmdb([str(gt)], batch=3, progress=False)
    assert read_lmdb(f'{gt}.lmdb', 'img10') == (gt / 'img10.png').read_bytes()


def test_cli(paired, monkeypatch, capsys, repo_root):
    lq, _ = paired
    proc = subprocess.run([sys.executable, 'scripts/create_lmdb.py', '--input', str(lq), '--no_progress'],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip().endswith(f'{lq}.lmdb')
    # the same command again: the output exists -> a one-line error, no traceback (run in-process: faster)
    monkeypatch.setattr(sys, 'argv', ['create_lmdb.py', '--input', str(lq), '--no_progress'])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(os.path.join(repo_root, 'scripts', 'create_lmdb.py'), run_name='__main__')
    assert str(exc.value).startswith('error: ') and '--overwrite' in str(exc.value)
