"""Pictures of an evaluation: input | restored | target strips and the HTML page of the best and worst images,
from the task scripts (--compare) and basicsr/test.py (--compare)."""
from __future__ import annotations

import os
import re

import numpy as np
import torch
import yaml

from basicsr.evaluation.report import MetricTable
from basicsr.evaluation.visuals import side_by_side, write_html_summary
from basicsr.utils.img_util import imread, imwrite

TINY = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
        'network_g.heads=[1,1,1,1]']


def test_side_by_side_kinds():
    a = np.full((4, 5, 3), 200, np.uint8)
    b = np.full((4, 5), 0.5, np.float32)                       # gray float
    c = np.full((6, 5, 6), 65535, np.uint16)                   # a taller 16-bit dual-pixel input: left view
    out = side_by_side(a, b, None, c)
    assert out.shape == (6, 5 * 3 + 2 * 4, 3) and out.dtype == np.uint8
    assert (out[:4, :5] == 200).all() and (out[:4, 9:14] == 128).all() and (out[:, 18:] == 255).all()
    assert (out[4:, :5] == 255).all()  # shorter panels sit on white


def test_html_page_lists_worst_then_best(tmp_path):
    table = MetricTable('Set')
    for name, psnr in (('a.png', 30.0), ('b.png', 20.0), ('c.png', 40.0)):
        table.add(name, {'psnr': psnr, 'ssim': psnr / 50})
    table.add_summary('mean')
    imwrite(np.zeros((4, 4, 3), np.uint8), str(tmp_path / 'compare' / 'b.png'))
    page = open(write_html_summary(table, str(tmp_path), count=2)).read()
    worst, best = page.split('Best 2 by psnr')
    assert re.findall(r'<b>(\w\.png)</b>', worst) == ['b.png', 'a.png']
    assert re.findall(r'<b>(\w\.png)</b>', best) == ['c.png', 'a.png']
    assert '<img src="compare/b.png"' in worst and 'psnr 20.0000, ssim 0.4000' in worst and 'mean psnr 30.0000' in page


def _tiny_weights(path, repo_root):
    from basicsr.config import parse
    from basicsr.models.archs import build_network
    opt = parse(os.path.join(repo_root, 'Deraining/Options/Deraining_Restormer.yml'), is_train=False, overrides=TINY)
    torch.manual_seed(0)
    torch.save({'params': build_network(opt['network_g']).state_dict()}, path)


def _pairs(folder, photo, n=3):
    for i in range(n):
        gt = np.ascontiguousarray(photo('astronaut')[i * 40:i * 40 + 32, :40, ::-1])
        imwrite(gt, str(folder / 'target' / f'{i}.png'))
        lq = np.clip(gt.astype(np.int16) + 10 * (i + 1), 0, 255).astype(np.uint8)
        imwrite(lq, str(folder / 'input' / f'{i}.png'))


def test_task_script_compare(tmp_path, photo, load_script, repo_root):
    _pairs(tmp_path / 'Datasets' / 'test' / 'Rain100L', photo)
    _tiny_weights(tmp_path / 'w.pth', repo_root)
    load_script('Deraining/test.py').main(['--input_dir', str(tmp_path / 'Datasets'), '--result_dir',
                                           str(tmp_path / 'res'), '--datasets', 'Rain100L', '--compare', '--weights',
                                           str(tmp_path / 'w.pth'), '--device', 'cpu', '--set', *TINY])
    res = tmp_path / 'res' / 'Rain100L'
    assert sorted(os.listdir(res / 'compare')) == ['0.png', '1.png', '2.png']
    strip = imread(str(res / 'compare' / '1.png'), float32=False)
    assert strip.shape == (32, 3 * 40 + 2 * 4, 3)
    np.testing.assert_array_equal(strip[:, :40], imread(str(tmp_path / 'Datasets/test/Rain100L/input/1.png'),
                                                        float32=False))
    np.testing.assert_array_equal(strip[:, 44:84], imread(str(res / '1.png'), float32=False))  # the saved result
    np.testing.assert_array_equal(strip[:, 88:], imread(str(tmp_path / 'Datasets/test/Rain100L/target/1.png'),
                                                        float32=False))
    page = open(res / 'summary.html').read()
    assert 'Worst 3 by psnr' in page and page.count('<img src="compare/') == 6


def test_generic_test_entry_compare(tmp_path, photo, tiny_net_opt):
    from basicsr.models.archs import build_network
    from basicsr.test import main as test_main
    from basicsr.utils.checkpoint import save_network
    _pairs(tmp_path / 'data', photo)
    net_opt = dict(tiny_net_opt, heads=[1, 1, 1, 1])
    save_network(str(tmp_path / 'w.pth'), build_network(net_opt))
    opt = {'name': 'cmp', 'num_gpu': 0, 'network_g': net_opt, 'path': {'root': str(tmp_path)},
           'datasets': {'test': {'name': 'Set', 'type': 'Dataset_PairedImage',
                                 'dataroot_gt': str(tmp_path / 'data/target'),
                                 'dataroot_lq': str(tmp_path / 'data/input')}},
           'val': {'metrics': {'psnr': {'type': 'calculate_psnr'}}}}
    (tmp_path / 'o.yml').write_text(yaml.safe_dump(opt))
    test_main(['-opt', str(tmp_path / 'o.yml'), '--weights', str(tmp_path / 'w.pth'), '--device', 'cpu', '--compare'])
    folder = tmp_path / 'results' / 'cmp' / 'Set'
    assert sorted(os.listdir(folder / 'compare')) == ['0.png', '1.png', '2.png']
    assert 'Best 3 by psnr' in open(folder / 'summary.html').read()
