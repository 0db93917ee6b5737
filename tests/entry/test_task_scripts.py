"""Every task test/evaluation script on a tiny synthetic copy of its data layout, with a tiny Restormer.

The data are crops of scikit-image's bundled photos; weights are saved in the official
``{'params': state_dict}`` format; the network is shrunk with ``--set network_g.*`` overrides of
the official option files.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import scipy.io
import skimage.data
import torch

from basicsr.config import parse
from basicsr.data.degradations import add_test_noise
from basicsr.metrics.dpdd import dpdd_metrics
from basicsr.metrics.protocols import get_protocol
from basicsr.models.archs import build_network
from basicsr.utils.img_util import img2tensor, imread, tensor2img
from basicsr.utils.inference import restore

TINY = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
        'network_g.heads=[1,1,1,1]']
_PHOTOS = [skimage.data.astronaut, skimage.data.coffee, skimage.data.chelsea, skimage.data.rocket]


@pytest.fixture
def save_weights(repo_root):
    """``save_weights(opt_rel, path, seed=0)``: random tiny weights for the network of an official option file
    (path relative to the repository root); returns its network_g block."""
    def save(opt_rel: str, path: Path, seed: int = 0) -> dict:
        net_opt = parse(os.path.join(repo_root, opt_rel), is_train=False, overrides=TINY)['network_g']
        torch.manual_seed(seed)
        net = build_network(net_opt)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({'params': net.state_dict()}, path)
        return net_opt
    return save


def model_args(weights: Path) -> list:
    return ['--weights', str(weights), '--device', 'cpu', '--set', *TINY]  # --set last (it takes a list)


def photo(i: int, h: int = 32, w: int = 48, gray: bool = False) -> np.ndarray:
    """A real-content BGR uint8 crop (HxWx3), or a gray one (HxW) from camera()."""
    if gray:
        return np.ascontiguousarray(skimage.data.camera()[100 + 40 * i:100 + 40 * i + h, 200:200 + w])
    img = _PHOTOS[i % len(_PHOTOS)]()
    return np.ascontiguousarray(img[60:60 + h, 120:120 + w, ::-1])


def degrade(img: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blurred = cv2.GaussianBlur(img, (5, 5), 1.2).astype(np.float64)
    return np.clip(blurred + rng.normal(0, 6, img.shape), 0, 255).round().astype(img.dtype)


def write_pairs(folder: Path, names, sizes=((32, 48), (36, 44)), bit16: bool = False, inp: str = 'input',
                tgt: str = 'target'):
    """input/target folders of degraded/clean photo crops (the second size is not a multiple of 8)."""
    for i, (name, (h, w)) in enumerate(zip(names, sizes)):
        clean = photo(i, h, w)
        for sub, img in ((tgt, clean), (inp, degrade(clean, i))):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / sub / name), img.astype(np.uint16) * 257 if bit16 else img)


def read_table(folder: Path, stem: str = 'metrics') -> dict:
    assert (folder / f'{stem}.csv').is_file()
    return json.loads((folder / f'{stem}.json').read_text())


def check_rows(table: dict, result_dir: Path, gt_dir: Path, protocol: str, flag: str = 'color'):
    """Each JSON row equals the protocol recomputed from the saved result and the ground truth."""
    fn = get_protocol(protocol)
    for row in table['images']:
        stem = os.path.splitext(row['name'])[0]
        gt = next(p for p in gt_dir.iterdir() if p.stem == stem)
        expected = fn(imread(str(result_dir / row['name']), flag, float32=False), imread(str(gt), flag, float32=False))
        for k, v in expected.items():
            assert row[k] == pytest.approx(v, rel=1e-9, abs=1e-12)


def test_deraining(tmp_path, load_script, save_weights):
    data, res = tmp_path / 'Datasets', tmp_path / 'results'
    for d in ('Rain100L', 'Test100'):
        write_pairs(data / 'test' / d, ['1.png', '2.png'])
    w = tmp_path / 'deraining.pth'
    save_weights('Deraining/Options/Deraining_Restormer.yml', w)
    common = ['--input_dir', str(data), '--result_dir', str(res), '--datasets', 'Rain100L,Test100']
    tables = load_script('Deraining/test.py').main(common + model_args(w))
    assert set(tables) == {'Rain100L', 'Test100'}
    for d in ('Rain100L', 'Test100'):
        assert sorted(p.name for p in (res / d).glob('*.png')) == ['1.png', '2.png']
        assert imread(str(res / d / '2.png')).shape == (36, 44, 3)
        check_rows(read_table(res / d), res / d, data / 'test' / d / 'target', 'deraining')
    summary = read_table(res, 'summary')
    assert summary['summary']['average']['psnr'] == pytest.approx(
        np.mean([tables[d].summaries['mean']['psnr'] for d in tables]))
    evaluated = load_script('Deraining/evaluate_PSNR_SSIM.py').main(common + ['--num_workers', '1'])
    assert evaluated['Test100'].rows == tables['Test100'].rows


@pytest.mark.parametrize('dataset', ['GoPro', 'RealBlur_J'])
def test_motion_deblurring(tmp_path, dataset, load_script, save_weights):
    data, res = tmp_path / 'Datasets', tmp_path / 'results'
    write_pairs(data / 'test' / dataset, ['scene1.png', 'scene2.png'], sizes=((48, 64), (40, 56)))
    w = tmp_path / 'motion_deblurring.pth'
    save_weights('Motion_Deblurring/Options/Deblurring_Restormer.yml', w)
    common = ['--input_dir', str(data), '--result_dir', str(res)]
    extra = ['--tile', '24', '--tile_overlap', '8', '--self_ensemble'] if dataset == 'GoPro' else []
    table = load_script('Motion_Deblurring/test.py').main(common + ['--dataset', dataset] + extra + model_args(w))
    protocol = 'gopro_hide' if dataset == 'GoPro' else 'realblur'
    check_rows(read_table(res / dataset), res / dataset, data / 'test' / dataset / 'target', protocol)
    if dataset == 'GoPro':
        again = load_script('Motion_Deblurring/evaluate_gopro_hide.py').main(common + ['--datasets', 'GoPro'])['GoPro']
    else:
        evaluate = load_script('Motion_Deblurring/evaluate_realblur.py')
        again = evaluate.main(common + ['--dataset', dataset, '--num_workers', '1'])
    assert again.rows == table.rows


def _direct_restore(net_opt, weights, img_rgb):
    net = build_network(net_opt, str(weights)).eval()
    return restore(net, img2tensor(img_rgb, bgr2rgb=False)[None])


@pytest.mark.parametrize('dual', [False, True])
def test_defocus_deblurring(tmp_path, dual, load_script, save_weights):
    data, res = tmp_path / 'DPDD', tmp_path / 'results'
    names = ['1P0A0001.png', '1P0A0002.png', '1P0A0010.png']
    write_pairs(data, names, sizes=((32, 48), (32, 48), (40, 40)), bit16=True, inp='inputL' if dual else 'inputC')
    if dual:
        write_pairs(data, names, sizes=((32, 48), (32, 48), (40, 40)), bit16=True, inp='inputR')
    np.save(data / 'indoor_labels.npy', np.array([1, 3]))
    np.save(data / 'outdoor_labels.npy', np.array([2]))
    opt = 'DefocusDeblur_DualPixel_16bit_Restormer' if dual else 'DefocusDeblur_Single_8bit_Restormer'
    w = tmp_path / 'defocus.pth'
    net_opt = save_weights(f'Defocus_Deblurring/Options/{opt}.yml', w)
    script = 'test_dual_pixel_defocus_deblur.py' if dual else 'test_single_image_defocus_deblur.py'
    table = load_script(f'Defocus_Deblurring/{script}').main(
        ['--input_dir', str(data), '--result_dir', str(res)] + model_args(w))
    saved = cv2.imread(str(res / names[2]), cv2.IMREAD_UNCHANGED)
    assert saved.dtype == (np.uint16 if dual else np.uint8) and saved.shape == (40, 40, 3)
    report = read_table(res)
    assert list(report['summary']) == ['combined', 'indoor', 'outdoor']
    assert report['summary']['outdoor']['psnr'] == pytest.approx(report['images'][1]['psnr'])
    assert set(report['columns']) == {'psnr', 'ssim', 'mae'}  # no lpips package here
    # Recompute image 3 directly: 8-bit reads drop the low byte of the 16-bit files; dual pixel keeps 16 bit.
    flag = 'unchanged' if dual else 'color'
    views = ['inputL', 'inputR'] if dual else ['inputC']
    inp = np.concatenate([imread(str(data / v / names[2]), flag)[..., ::-1] for v in views], axis=2)
    out = tensor2img(_direct_restore(net_opt, w, inp), out_type=np.float32)
    expected = dpdd_metrics(out, imread(str(data / 'target' / names[2]), flag))
    assert table.rows[2] == pytest.approx({'name': names[2], **expected})


@pytest.mark.parametrize('mode,model_type,sigmas', [('color', 'non_blind', '15,25'), ('gray', 'blind', '15,50')])
def test_gaussian_denoising(tmp_path, mode, model_type, sigmas, load_script, save_weights):
    data, res = tmp_path / 'test', tmp_path / 'results'
    sets = ['CBSD68', 'McMaster'] if mode == 'color' else ['Set12', 'BSD68']
    for k, d in enumerate(sets):
        (data / d).mkdir(parents=True)
        for i, ext in enumerate(['.png', '.tif']):
            img = photo(i + 2 * k, 32, 40, gray=mode == 'gray')
            cv2.imwrite(str(data / d / f'{i + 1:02d}{ext}'), img)
    prefix = tmp_path / 'pretrained' / f'gaussian_{mode}_denoising'
    cap = 'Color' if mode == 'color' else 'Gray'
    nets = {}  # sigma -> (network_g, weights file); non-blind: one random model per sigma
    for seed, s in enumerate(sigmas.split(',')):
        yml, pth = ('Restormer.yml', '_blind.pth') if model_type == 'blind' else (f'RestormerSigma{s}.yml',
                                                                                  f'_sigma{s}.pth')
        weights = Path(str(prefix) + pth)
        if model_type == 'non_blind' or not weights.exists():
            nets[s] = (save_weights(f'Denoising/Options/Gaussian{cap}Denoising_{yml}', weights, seed), weights)
        else:
            nets[s] = nets[next(iter(nets))]
    common = ['--input_dir', str(data), '--result_dir', str(res), '--model_type', model_type, '--sigmas', sigmas,
              '--datasets', ','.join(sets)]
    tables = load_script(f'Denoising/test_gaussian_{mode}_denoising.py').main(common + model_args(prefix))
    assert set(tables) == {(d, int(s)) for d in sets for s in sigmas.split(',')}
    flag = 'color' if mode == 'color' else 'grayscale'
    for d in sets:
        for s in sigmas.split(','):
            out_dir = res / model_type / d / s
            assert sorted(p.name for p in out_dir.iterdir() if p.suffix != '.csv' and p.suffix != '.json') == [
                '01.png', '02.tif']
            check_rows(read_table(out_dir), out_dir, data / d, 'gaussian_denoising', flag)
    # The last sigma's image was restored by that sigma's own weights from the official seed-0 noise.
    s = sigmas.split(',')[-1]
    clean = imread(str(data / sets[0] / '01.png'), flag)
    noisy = add_test_noise(clean[..., ::-1] if mode == 'color' else clean, int(s))
    expected = tensor2img(_direct_restore(nets[s][0], nets[s][1], noisy))
    np.testing.assert_array_equal(imread(str(res / model_type / sets[0] / s / '01.png'), flag, float32=False),
                                  expected.reshape(clean.shape))
    summary = read_table(res / model_type, 'summary')
    assert len(summary['images']) == len(tables)
    evaluated = load_script(f'Denoising/evaluate_gaussian_{mode}_denoising.py').main(common + ['--num_workers', '1'])
    assert {k: t.rows for k, t in evaluated.items()} == {k: t.rows for k, t in tables.items()}


def test_sidd(tmp_path, load_script, save_weights):
    data, res = tmp_path / 'SIDD', tmp_path / 'results'
    gt = np.stack([np.stack([photo(i + j, 24, 24)[..., ::-1] for j in range(3)]) for i in range(2)])  # RGB blocks
    noisy = np.stack([[degrade(b, 7) for b in row] for row in gt])
    data.mkdir()
    scipy.io.savemat(data / 'ValidationNoisyBlocksSrgb.mat', {'ValidationNoisyBlocksSrgb': noisy})
    scipy.io.savemat(data / 'ValidationGtBlocksSrgb.mat', {'ValidationGtBlocksSrgb': gt})
    w = tmp_path / 'real_denoising.pth'
    save_weights('Denoising/Options/RealDenoising_Restormer.yml', w)
    table = load_script('Denoising/test_real_denoising_sidd.py').main(
        ['--input_dir', str(data), '--result_dir', str(res), '--save_images'] + model_args(w))
    den = scipy.io.loadmat(res / 'mat' / 'Idenoised.mat')['Idenoised']
    assert den.shape == gt.shape and den.dtype == np.float32 and 0 <= den.min() and den.max() <= 1
    assert sorted(p.name for p in (res / 'png').iterdir())[-1] == '0002_03.png'
    report = read_table(res)
    assert [r['name'] for r in report['images']][:2] == ['0001_01', '0001_02']
    assert report['images'][4]['psnr'] == pytest.approx(
        get_protocol('dpdd')(den[1, 1], gt[1, 1])['psnr'])  # 10 log10(1/MSE) on [0, 1] = MATLAB psnr on singles
    again = load_script('Denoising/evaluate_sidd.py').main(['--result_dir', str(res), '--input_dir', str(data)])
    assert again.rows == table.rows


def test_dnd(tmp_path, load_script, save_weights):
    data, res = tmp_path / 'DND', tmp_path / 'results'
    (data / 'images_srgb').mkdir(parents=True)
    boxes = [np.array([[1, 1, 24, 32], [9, 17, 32, 48]]), np.array([[5, 3, 28, 34], [1, 1, 16, 16]])]
    with h5py.File(data / 'info.mat', 'w') as f:  # MATLAB v7.3 layout: cell array of references, transposed data
        refs = [f.create_dataset(f'#refs#/b{i}', data=b.T.astype(np.float64)).ref for i, b in enumerate(boxes)]
        f.create_group('info').create_dataset('boundingboxes', data=np.array([refs], dtype=h5py.ref_dtype))
    images = [photo(i, 32, 48)[..., ::-1].astype(np.float32) / 255 for i in range(2)]
    for i, img in enumerate(images):
        with h5py.File(data / 'images_srgb' / f'{i + 1:04d}.mat', 'w') as f:
            f['InoisySRGB'] = img.T
    w = tmp_path / 'real_denoising.pth'
    net_opt = save_weights('Denoising/Options/RealDenoising_Restormer.yml', w)
    written = load_script('Denoising/test_real_denoising_dnd.py').main(
        ['--input_dir', str(data), '--result_dir', str(res), '--save_images'] + model_args(w))
    assert [Path(p).name for p in written] == ['0001.mat', '0002.mat']
    sub = scipy.io.loadmat(res / 'mat' / '0002.mat')
    assert sub['Idenoised'].size == 2 and not sub['israw'].item() and str(sub['eval_version'][0]) == '1.0'
    crop = sub['Idenoised'].ravel()[0]
    assert crop.shape == (24, 32, 3) and crop.dtype == np.float32
    expected = _direct_restore(net_opt, w, images[1][4:28, 2:34])[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(crop, expected, atol=1e-6)
    assert (res / 'png' / '0002_02.png').is_file()


def test_missing_files_are_named(tmp_path, load_script):
    data = tmp_path / 'Datasets'
    write_pairs(data / 'test' / 'GoPro', ['a.png', 'b.png'])
    motion = load_script('Motion_Deblurring/test.py')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        motion.main(['--input_dir', str(data), '--weights', str(tmp_path / 'nope.pth'), '--device', 'cpu'])
    with pytest.raises(FileNotFoundError, match='HIDE input folder'):
        motion.main(['--input_dir', str(data), '--dataset', 'HIDE', '--device', 'cpu'])
    gauss = load_script('Denoising/test_gaussian_color_denoising.py')
    (tmp_path / 'test' / 'CBSD68').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'test' / 'CBSD68' / 'x.png'), photo(0))
    with pytest.raises(FileNotFoundError, match='gc_sigma15.pth'):
        gauss.main(['--input_dir', str(tmp_path / 'test'), '--datasets', 'CBSD68', '--model_type', 'non_blind',
                    '--sigmas', '15', '--weights', str(tmp_path / 'gc'), '--device', 'cpu'])


def test_cli_resolves_defaults_next_to_the_script(tmp_path, repo_root):
    """Run from another folder: the default data folder is looked up next to the script, and named."""
    proc = subprocess.run([sys.executable, os.path.join(repo_root, 'Deraining', 'test.py'), '--datasets', 'Rain100H'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert os.path.join('Deraining', 'Datasets', 'test', 'Rain100H', 'input') in proc.stderr
