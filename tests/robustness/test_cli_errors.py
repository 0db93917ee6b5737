"""Command lines end a user error with one line that names the file or key (exit status 2); the
traceback stays in the log file and shows with --debug; unreadable inputs are skipped and listed
(exit status 1) while the others are processed."""
from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from basicsr.utils.img_util import imwrite

TINY = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
        'network_g.heads=[1,1,1,1]']


def _run(repo_root, *args, **env_extra):
    env = dict(os.environ, PYTHONPATH=repo_root, OMP_NUM_THREADS='1', **env_extra)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=repo_root)


def _one_error_line(proc, message: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]


def test_train_bad_option_and_debug(tmp_path, write_options, repo_root):
    path = write_options(tmp_path, total_iter=2, with_val=False)
    train = os.path.join(repo_root, 'basicsr', 'train.py')
    _one_error_line(_run(repo_root, train, '-opt', path, '--set', 'train.grad_clip_norm=-1'),
                    "Option 'train.grad_clip_norm' is out of range: got -1.0")
    debug = _run(repo_root, train, '-opt', path, '--debug', '--set', 'train.grad_clip_norm=-1')
    assert debug.returncode != 0 and 'Traceback' in debug.stderr and 'OptionError' in debug.stderr


def test_train_missing_data_folder(tmp_path, write_options, repo_root):
    path = write_options(tmp_path, total_iter=2, with_val=False, datasets__train__dataroot_gt=str(tmp_path / 'gone'))
    proc = _run(repo_root, os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', path)
    _one_error_line(proc, "Dataset folder for 'dataroot_gt' not found")
    assert 'traceback in ' in proc.stderr  # where the details are


def test_train_compile_without_a_cpp_compiler_stops_before_the_first_iteration(tmp_path, write_options, repo_root):
    # inductor itself would only fail at the first forward pass, after the run is set up
    path = write_options(tmp_path, total_iter=2, with_val=False, name='nocxx')
    proc = _run(repo_root, os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', path, '--set', 'train.compile=true',
                CXX=str(tmp_path / 'no-such-g++'))
    _one_error_line(proc, 'torch.compile (inductor) cannot run here: no working C++ compiler')
    assert 'train.compile: false' in proc.stderr
    assert not list(tmp_path.rglob('*.pth')) and not list(tmp_path.rglob('*.state'))  # no checkpoint written


def test_train_missing_option_file(tmp_path, repo_root):
    proc = _run(repo_root, os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', str(tmp_path / 'missing.yml'))
    _one_error_line(proc, "Option file not found: '")


@pytest.fixture
def mixed_folder(tmp_path, photo):
    """Three good input/target pairs and one unreadable input."""
    for i in range(3):
        gt = np.ascontiguousarray(photo('astronaut')[i * 40:i * 40 + 32, :32, ::-1])
        imwrite(gt, str(tmp_path / 'gt' / f'{i}.png'))
        imwrite(np.clip(gt.astype(np.int16) + 9, 0, 255).astype(np.uint8), str(tmp_path / 'lq' / f'{i}.png'))
    imwrite(np.ascontiguousarray(photo('astronaut')[200:232, :32, ::-1]), str(tmp_path / 'gt' / '3.png'))
    (tmp_path / 'lq' / '3.png').write_bytes(b'broken')
    return tmp_path


@pytest.fixture
def weights(tmp_path, tiny_net_opt):
    from basicsr.models.archs import build_network
    from basicsr.utils.checkpoint import save_network
    torch.manual_seed(0)
    path = str(tmp_path / 'w.pth')
    save_network(path, build_network(dict(tiny_net_opt, heads=[1, 1, 1, 1])))
    return path


def test_generic_test_entry_skips_unreadable_images(mixed_folder, weights, tiny_net_opt, repo_root):
    opt = {'name': 'mixed', 'num_gpu': 0, 'network_g': dict(tiny_net_opt, heads=[1, 1, 1, 1]),
           'path': {'root': str(mixed_folder)},
           'datasets': {'test': {'name': 'Set', 'type': 'Dataset_PairedImage', 'dataroot_gt': str(mixed_folder / 'gt'),
                                 'dataroot_lq': str(mixed_folder / 'lq')}},
           'val': {'metrics': {'psnr': {'type': 'calculate_psnr'}}}}
    (mixed_folder / 'o.yml').write_text(yaml.safe_dump(opt))
    proc = _run(repo_root, os.path.join(repo_root, 'basicsr', 'test.py'), '-opt', str(mixed_folder / 'o.yml'),
                '--weights', weights, '--device', 'cpu', '--save_img')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert '1 input(s) could not be used and were skipped' in proc.stderr and 'lq/3.png' in proc.stderr
    rows = list(csv.DictReader(open(mixed_folder / 'results' / 'mixed' / 'Set' / 'metrics.csv')))
    assert [r['name'] for r in rows] == ['0', '1', '2', 'mean']
    assert sorted(os.listdir(mixed_folder / 'results' / 'mixed' / 'Set')) == [
        '0.png', '1.png', '2.png', 'metrics.csv', 'metrics.json']


def test_task_script_skips_unreadable_images(mixed_folder, weights, repo_root):
    data = mixed_folder / 'Datasets' / 'test' / 'Rain100L'
    os.makedirs(data)
    os.rename(mixed_folder / 'lq', data / 'input')
    os.rename(mixed_folder / 'gt', data / 'target')
    proc = _run(repo_root, 'Deraining/test.py', '--input_dir', str(mixed_folder / 'Datasets'), '--result_dir',
                str(mixed_folder / 'res'), '--datasets', 'Rain100L', '--weights', weights, '--device', 'cpu',
                '--set', *TINY)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'Rain100L/input/3.png' in proc.stderr.split('were skipped')[-1]
    rows = list(csv.DictReader(open(mixed_folder / 'res' / 'Rain100L' / 'metrics.csv')))
    assert [r['name'] for r in rows] == ['0.png', '1.png', '2.png', 'mean']


def test_task_script_missing_data_is_one_line(tmp_path, weights, repo_root):
    _one_error_line(_run(repo_root, 'Motion_Deblurring/test.py', '--input_dir', str(tmp_path / 'nothing'),
                         '--weights', weights), 'GoPro input folder not found')
