"""Tests of the root ``demo.py``: tasks from option files, folders/single files, gray/colour, tiling, errors."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import Any, Dict, List, Tuple

import cv2
import numpy as np
import pytest
import torch
from skimage import data

import demo  # the repository's demo.py (the root is on sys.path: conftest)
from basicsr.evaluation.tasks import network_options
from basicsr.models.archs import Restormer, build_network
from basicsr.utils.errors import UserError
from basicsr.utils.img_util import img2tensor, imread, tensor2img
from basicsr.utils.inference import restore

TINY_SET = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
            'network_g.heads=[1,1,1,1]']
TINY: Dict[str, Any] = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1])


def save_tiny_weights(path: str, seed: int = 0, **kwargs: Any) -> Restormer:
    """A tiny Restormer saved in the official ``{'params': state_dict}`` format."""
    torch.manual_seed(seed)
    net = Restormer(**TINY, **kwargs).eval()
    torch.save({'params': net.state_dict()}, path)
    return net


@pytest.fixture(scope='module')
def images(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with a colour jpg, a gray png, a colour bmp (odd sizes) and a non-image file."""
    folder = tmp_path_factory.mktemp('inputs')
    photo = data.astronaut()[100:150, 180:241, ::-1]  # RGB -> BGR for OpenCV
    cv2.imwrite(str(folder / 'astro.jpg'), photo)
    cv2.imwrite(str(folder / 'cam.png'), data.camera()[200:240, 200:233])
    cv2.imwrite(str(folder / 'cat.bmp'), data.chelsea()[50:77, 100:140, ::-1])
    (folder / 'notes.txt').write_text('not an image')
    return str(folder)


@pytest.fixture(scope='module')
def weights(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    folder = tmp_path_factory.mktemp('weights')
    out = {'color': str(folder / 'color.pth'), 'gray': str(folder / 'gray.pth')}
    save_tiny_weights(out['color'])
    save_tiny_weights(out['gray'], seed=1, inp_channels=1, out_channels=1, LayerNorm_type='BiasFree')
    return out


def run_demo(task: str, input_path: str, result_dir: str, weights_file: str, *extra: str) -> int:
    return demo.main(['--task', task, '--input_dir', input_path, '--result_dir', result_dir, '--weights',
                      weights_file, '--device', 'cpu', '--set', *TINY_SET, *extra])


@functools.lru_cache(maxsize=None)
def task_net(task: str, weights_file: str) -> Tuple[Dict[str, Any], torch.nn.Module]:
    opt = network_options(demo.DEMO_TASKS[task].option_path, TINY_SET)
    return opt, build_network(opt, weights_file).eval()


def expected_output(task: str, weights_file: str, image: str, **kwargs: Any) -> np.ndarray:
    """What the demo should write: the image read as the task expects, through ``restore``, as uint8."""
    opt, net = task_net(task, weights_file)
    img = imread(image, flag='grayscale' if opt['inp_channels'] == 1 else 'color')
    return tensor2img(restore(net, img2tensor(img)[None], **kwargs))


def read_back(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def image_names(folder: str) -> List[str]:
    return sorted(os.path.splitext(f)[0] for f in os.listdir(folder) if not f.endswith('.txt'))


# ---------------------------------------------------------------- task table

@pytest.mark.parametrize('task,cin,ln', [('Motion_Deblurring', 3, 'WithBias'),
                                         ('Single_Image_Defocus_Deblurring', 3, 'WithBias'),
                                         ('Deraining', 3, 'WithBias'), ('Real_Denoising', 3, 'BiasFree'),
                                         ('Gaussian_Color_Denoising', 3, 'BiasFree'),
                                         ('Gaussian_Gray_Denoising', 1, 'BiasFree')])
def test_task_network_settings_come_from_option_files(task: str, cin: int, ln: str) -> None:
    opt = network_options(demo.DEMO_TASKS[task].option_path)
    assert (opt['inp_channels'], opt['out_channels'], opt['LayerNorm_type']) == (cin, cin, ln)
    assert opt['dim'] == 48 and list(opt['num_blocks']) == [4, 6, 6, 8] and opt['dual_pixel_task'] is False
    assert demo.DEMO_TASKS[task].weights_path.endswith(os.path.join('pretrained_models', os.path.basename(
        demo.DEMO_TASKS[task].weights)))


# ---------------------------------------------------------------- restoring

@pytest.mark.parametrize('tile', [None, 32])
def test_demo_colour_folder(images: str, weights: Dict[str, str], tmp_path, tile) -> None:
    extra = ['--tile', str(tile), '--tile_overlap', '8'] if tile else []
    assert run_demo('Deraining', images, str(tmp_path), weights['color'], *extra) == 0
    out_dir = tmp_path / 'Deraining'
    assert image_names(str(out_dir)) == image_names(images)
    for name in ('astro.jpg', 'cam.png', 'cat.bmp'):
        src = os.path.join(images, name)
        got = read_back(str(out_dir / (os.path.splitext(name)[0] + '.png')))
        h, w = cv2.imread(src, cv2.IMREAD_UNCHANGED).shape[:2]
        assert got.shape == (h, w, 3) and got.dtype == np.uint8  # gray inputs become 3-channel for colour tasks
        kwargs = dict(tile=tile, tile_overlap=8, tile_batch=1) if tile else {}
        np.testing.assert_array_equal(got, expected_output('Deraining', weights['color'], src, **kwargs))


@pytest.mark.parametrize('tile', [None, 24])
def test_demo_gray_single_file(images: str, weights: Dict[str, str], tmp_path, tile) -> None:
    src = os.path.join(images, 'astro.jpg')  # a colour file given to the gray task is read as gray
    extra = ['--tile', str(tile), '--tile_overlap', '8', '--blend', 'feather'] if tile else []
    assert run_demo('Gaussian_Gray_Denoising', src, str(tmp_path), weights['gray'], *extra) == 0
    out_files = os.listdir(tmp_path / 'Gaussian_Gray_Denoising')
    assert out_files == ['astro.png']
    got = read_back(str(tmp_path / 'Gaussian_Gray_Denoising' / 'astro.png'))
    assert got.shape == (50, 61) and got.dtype == np.uint8  # one channel
    kwargs = dict(tile=tile, tile_overlap=8, tile_batch=1, blend='feather') if tile else {}
    np.testing.assert_array_equal(got, expected_output('Gaussian_Gray_Denoising', weights['gray'], src, **kwargs))


def test_demo_self_ensemble_runs(images: str, weights: Dict[str, str], tmp_path) -> None:
    src = os.path.join(images, 'cat.bmp')
    assert run_demo('Real_Denoising', src, str(tmp_path), weights['color'],
                    '--self_ensemble', '--set', 'network_g.LayerNorm_type=WithBias') == 0
    got = read_back(str(tmp_path / 'Real_Denoising' / 'cat.png'))
    assert got.shape == (27, 40, 3)


def test_demo_runs_from_another_directory(images: str, weights: Dict[str, str], tmp_path, repo_root) -> None:
    """Option files are found relative to demo.py, not to the working directory."""
    cmd = [sys.executable, os.path.join(repo_root, 'demo.py'), '--task', 'Gaussian_Gray_Denoising', '--input_dir',
           os.path.join(images, 'cam.png'), '--result_dir', 'out', '--weights', weights['gray'], '--device', 'cpu',
           '--set', *TINY_SET]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_back(str(tmp_path / 'out' / 'Gaussian_Gray_Denoising' / 'cam.png')).shape == (40, 33)


# ---------------------------------------------------------------- errors

def test_missing_weights_gives_helpful_error(images: str, tmp_path) -> None:
    missing = str(tmp_path / 'nowhere' / 'motion_deblurring.pth')
    with pytest.raises(UserError) as err:
        demo.main(['--task', 'Motion_Deblurring', '--input_dir', images, '--result_dir', str(tmp_path),
                   '--weights', missing])
    msg = str(err.value)
    assert missing in msg and 'Motion_Deblurring/pretrained_models/' in msg
    assert 'github.com/swz30/Restormer' in msg and 'drive.google.com' in msg


def test_default_weights_path_in_error(images: str, tmp_path, repo_root) -> None:
    if os.path.exists(demo.DEMO_TASKS['Gaussian_Gray_Denoising'].weights_path):
        pytest.skip('the official weights are installed here')
    with pytest.raises(UserError, match='Denoising/pretrained_models/gaussian_gray_denoising_blind.pth'):
        demo.main(['--task', 'Gaussian_Gray_Denoising', '--input_dir', images, '--result_dir', str(tmp_path),
                   '--opt', os.path.join(repo_root, 'Denoising/Options/GaussianGrayDenoising_Restormer.yml')])


@pytest.mark.parametrize('tile', ['36', '0', '-8'])
def test_tile_must_be_multiple_of_8(images: str, tmp_path, capsys, tile: str) -> None:
    with pytest.raises(SystemExit):
        demo.main(['--task', 'Deraining', '--input_dir', images, '--result_dir', str(tmp_path), '--tile', tile])
    assert 'multiple of 8' in capsys.readouterr().err


def test_bad_inputs(images: str, weights: Dict[str, str], tmp_path) -> None:
    with pytest.raises(UserError, match='not found'):
        run_demo('Deraining', str(tmp_path / 'missing'), str(tmp_path), weights['color'])
    with pytest.raises(UserError, match='not an image'):
        run_demo('Deraining', os.path.join(images, 'notes.txt'), str(tmp_path), weights['color'])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(UserError, match='contains no images'):
        run_demo('Deraining', str(empty), str(tmp_path), weights['color'])
    with pytest.raises(UserError, match='does not match'):  # gray weights for a colour task
        run_demo('Deraining', images, str(tmp_path), weights['gray'])


def test_unreadable_image_is_skipped(weights: Dict[str, str], tmp_path) -> None:
    folder = tmp_path / 'in'
    folder.mkdir()
    (folder / 'broken.png').write_bytes(b'not really a png')
    cv2.imwrite(str(folder / 'ok.png'), data.camera()[:16, :24])
    assert run_demo('Gaussian_Gray_Denoising', str(folder), str(tmp_path / 'out'), weights['gray']) == 1
    assert os.listdir(tmp_path / 'out' / 'Gaussian_Gray_Denoising') == ['ok.png']
