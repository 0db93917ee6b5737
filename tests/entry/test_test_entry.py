"""basicsr/test.py evaluates saved weights on the sets of an option file and writes the metric tables."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import torch
import yaml

from basicsr.metrics import calculate_psnr
from basicsr.models.archs import build_network
from basicsr.test import main
from basicsr.utils.checkpoint import save_network
from basicsr.utils.errors import OptionError
from basicsr.utils.img_util import imread, imwrite, tensor2img
from basicsr.utils.inference import restore


def test_generic_test_entry(tmp_path, photo, tiny_net_opt):
    for i, name in enumerate(('a', 'b')):
        gt = photo('astronaut')[i * 64:i * 64 + 40, :48, ::-1].copy()
        imwrite(gt, str(tmp_path / 'gt' / f'{name}.png'))
        blurred = np.clip(gt.astype(np.int16) + (i + 1) * 7, 0, 255).astype(np.uint8)
        imwrite(blurred, str(tmp_path / 'lq' / f'{name}.png'))
    torch.manual_seed(0)
    net = build_network(tiny_net_opt)
    weights = str(tmp_path / 'w.pth')
    save_network(weights, net)
    opt = {'name': 'evaluate', 'num_gpu': 0, 'network_g': tiny_net_opt, 'path': {'root': str(tmp_path)},
           'datasets': {'test_1': {'name': 'Tiny', 'type': 'Dataset_PairedImage', 'dataroot_gt': str(tmp_path / 'gt'),
                                   'dataroot_lq': str(tmp_path / 'lq')}},
           'val': {'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 0},
                               'ssim': {'type': 'calculate_ssim', 'crop_border': 0}}}}
    path = tmp_path / 'test.yml'
    path.write_text(yaml.safe_dump(opt))
    summary = main(['-opt', str(path), '--weights', weights, '--save_img', '--device', 'cpu'])
    res = tmp_path / 'results' / 'evaluate'
    # recompute directly: pad/restore/crop, 8-bit images, PSNR on BGR uint8
    expected = []
    for name in ('a', 'b'):
        lq = torch.from_numpy(imread(str(tmp_path / 'lq' / f'{name}.png'))[..., ::-1].transpose(2, 0, 1).copy())[None]
        out = tensor2img(restore(net.eval(), lq))
        gt = (imread(str(tmp_path / 'gt' / f'{name}.png')) * 255).round().astype(np.uint8)
        expected.append(calculate_psnr(out, gt))
        saved = (imread(str(res / 'Tiny' / f'{name}.png')) * 255).round().astype(np.uint8)
        assert np.array_equal(saved, out)
    assert summary['Tiny']['psnr'] == pytest.approx(np.mean(expected), abs=1e-9)
    rows = list(csv.DictReader(open(res / 'Tiny' / 'metrics.csv')))
    assert [r['name'] for r in rows] == ['a', 'b', 'mean']
    assert [float(r['psnr']) for r in rows[:2]] == pytest.approx(expected, abs=1e-9)
    assert json.load(open(res / 'summary.json'))['summary']['average']['psnr'] == pytest.approx(summary['Tiny']['psnr'])
    with pytest.raises(OptionError, match='No weights'):
        main(['-opt', str(path)])
    assert os.path.exists(res / 'test_evaluate.log')
