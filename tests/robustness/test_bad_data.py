"""Bad data stops training before its first iteration, with an error that names the file and the problem:
missing or mismatched folders, unreadable files, images that do not pair up, and data that would be
misread (a gray target next to a colour input, 12-bit data in 16-bit files, channels the network does not
take)."""
from __future__ import annotations

import os
from typing import Callable, Dict

import cv2
import numpy as np
import pytest
import yaml

from basicsr.train import main as train_main
from basicsr.utils.errors import DataMismatchError, DatasetLayoutError, ImageReadError, OptionError, UserError
from basicsr.utils.img_util import imwrite


@pytest.fixture
def paired_run(tmp_path, photo, tiny_net_opt) -> Callable[..., str]:
    """``paired_run(**options)``: a paired-image training run (train 4 pairs 48x48, val 2 pairs 40x40) whose
    option file is returned; ``options`` are ``__``-separated nested keys; the folders are under tmp_path."""
    src = photo('astronaut')[..., ::-1]
    for split, n, size in (('train', 4, 48), ('val', 2, 40)):
        for i in range(n):
            gt = np.ascontiguousarray(src[i * 60:i * 60 + size, 100:100 + size])
            lq = np.clip(gt.astype(np.int16) + 12, 0, 255).astype(np.uint8)
            imwrite(gt, str(tmp_path / split / 'target' / f'img{i}.png'))
            imwrite(lq, str(tmp_path / split / 'input' / f'img{i}.png'))

    def write(**extra) -> str:
        opt: Dict = {
            'name': 'data', 'num_gpu': 0, 'manual_seed': 1, 'network_g': tiny_net_opt, 'path': {'root': str(tmp_path)},
            'datasets': {
                'train': {'type': 'Dataset_PairedImage', 'dataroot_gt': str(tmp_path / 'train' / 'target'),
                          'dataroot_lq': str(tmp_path / 'train' / 'input'), 'num_worker_per_gpu': 0,
                          'batch_size_per_gpu': 2, 'gt_size': 32},
                'val': {'type': 'Dataset_PairedImage', 'dataroot_gt': str(tmp_path / 'val' / 'target'),
                        'dataroot_lq': str(tmp_path / 'val' / 'input')}},
            'train': {'total_iter': 2, 'optim_g': {'type': 'AdamW', 'lr': 1e-3}},
            'val': {'val_freq': 2, 'metrics': {'psnr': {'type': 'calculate_psnr'}}},
            'logger': {'print_freq': 1, 'save_checkpoint_freq': 1, 'use_tb_logger': False}}
        for dotted, value in extra.items():
            node = opt
            *parents, last = dotted.split('__')
            for k in parents:
                node = node[k]
            node[last] = value
        path = tmp_path / 'data.yml'
        path.write_text(yaml.safe_dump(opt))
        return str(path)
    return write


def _fails_before_training(option_file: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        train_main(['-opt', option_file])
    models = os.path.join(os.path.dirname(option_file), 'experiments', 'data', 'models')
    assert not os.path.isdir(models) or not os.listdir(models)  # not a single iteration was trained or saved


def test_the_clean_run_trains(paired_run):
    assert train_main(['-opt', paired_run()])['iter'] == 2


def test_missing_training_folder(paired_run, tmp_path):
    _fails_before_training(paired_run(datasets__train__dataroot_lq=str(tmp_path / 'nowhere')), DatasetLayoutError,
                           r"dataroot_lq.* not found: '.*nowhere'")


def test_missing_validation_folder(paired_run, tmp_path):
    _fails_before_training(paired_run(datasets__val__dataroot_gt=str(tmp_path / 'val' / 'gt')), DatasetLayoutError,
                           r"dataroot_gt.* not found: '.*val/gt'")


def test_empty_input_folder(paired_run, tmp_path):
    for name in os.listdir(tmp_path / 'train' / 'input'):
        os.remove(tmp_path / 'train' / 'input' / name)
    _fails_before_training(paired_run(), DatasetLayoutError, r"No images found in '.*train/input'")


def test_unpaired_file(paired_run, tmp_path, photo):
    imwrite(photo('astronaut', 48), str(tmp_path / 'train' / 'input' / 'stray.png'))
    _fails_before_training(paired_run(), DatasetLayoutError, r'has 5 images but .* has 4; unpaired: stray')


def test_meta_info_naming_missing_images(paired_run, tmp_path):
    (tmp_path / 'meta.txt').write_text('img0.png\nimg9.png\n')
    _fails_before_training(paired_run(datasets__train__meta_info_file=str(tmp_path / 'meta.txt')),
                           DatasetLayoutError, r'names 1 images missing .*img9')


def test_unreadable_validation_image_fails_now_not_at_the_first_validation(paired_run, tmp_path):
    (tmp_path / 'val' / 'target' / 'img1.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 40)
    _fails_before_training(paired_run(), ImageReadError, r"val/target/img1\.png")


def test_empty_training_image(paired_run, tmp_path):
    (tmp_path / 'train' / 'target' / 'img2.png').write_bytes(b'')
    _fails_before_training(paired_run(), ImageReadError, r"'.*train/target/img2\.png' is empty")


def test_truncated_training_image(paired_run, tmp_path):
    path = tmp_path / 'train' / 'input' / 'img3.png'
    path.write_bytes(path.read_bytes()[:200])  # the header is intact, the pixel data is cut
    _fails_before_training(paired_run(), ImageReadError, r"train/input/img3\.png")


def test_validation_pair_of_different_sizes(paired_run, tmp_path, photo):
    imwrite(photo('astronaut', 48)[..., ::-1].copy(), str(tmp_path / 'val' / 'input' / 'img0.png'))
    _fails_before_training(paired_run(), DataMismatchError, r"LQ and GT differ in size: '.*val/input/img0\.png'")


def test_gray_target_next_to_colour_input(paired_run, tmp_path, photo):
    imwrite(photo('camera', 48), str(tmp_path / 'train' / 'target' / 'img1.png'))
    _fails_before_training(paired_run(), DataMismatchError, r"mix gray and colour: "
                           r".*train/target/img1\.png' \(gray\), .*train/input/img1\.png' \(colour\)")


def test_12_bit_data_in_16_bit_files(paired_run, tmp_path, photo):
    for split in ('input', 'target'):
        img = photo('astronaut', 48)[..., ::-1].astype(np.uint16) * 16  # 12-bit values in a 16-bit container
        cv2.imwrite(str(tmp_path / 'train' / split / 'img0.png'), img)
    _fails_before_training(paired_run(), DataMismatchError, r"img0\.png' is a 16-bit image .* \(12-bit data\?\)")


def test_channels_that_the_network_does_not_take(paired_run):
    _fails_before_training(paired_run(datasets__train__color='gray'), DataMismatchError,
                           r"gives the network 1 input channel\(s\), but network_g\.inp_channels is 3")


def test_odd_sized_validation_images_without_padding(paired_run, tmp_path, photo):
    for split in ('input', 'target'):
        imwrite(photo('astronaut', 44)[..., ::-1].copy(), str(tmp_path / 'val' / split / 'img0.png'))
    _fails_before_training(paired_run(val__window_size=0), DataMismatchError,
                           r"img0\.png' is 44x44, not a multiple of 8 .* set val\.window_size: 8")


def test_training_set_smaller_than_one_batch(paired_run):
    _fails_before_training(paired_run(datasets__train__batch_size_per_gpu=8), OptionError,
                           r'gives 4 samples per process per epoch .* fewer than one batch of 8')


def test_single_image_set_cannot_train(paired_run, tmp_path):
    _fails_before_training(paired_run(datasets__train__type='Dataset_SingleImage',
                                      datasets__train__dataroot_gt=None), UserError, r'no ground truth')
