"""Options are read-only after parsing, and the options a run saves (its ``options_<time>.yml`` and the
``options`` inside every training state) parse again and continue the same run."""
from __future__ import annotations

import copy
import glob
import os

import numpy as np
import pytest
import torch
import yaml

from basicsr.config import FrozenDict, parse, parse_options, to_plain
from basicsr.train import main as train_main
from basicsr.utils.img_util import imwrite

NET = dict(type='Restormer', inp_channels=3, out_channels=3, dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
           heads=[1, 2, 2, 4], ffn_expansion_factor=2.66, bias=False, LayerNorm_type='BiasFree')


def _write_run(tmp_path, total_iter: int = 6) -> str:
    from skimage import data
    src = data.astronaut()
    folder = tmp_path / 'clean'
    for i in range(4):
        imwrite(np.ascontiguousarray(src[i * 40:i * 40 + 40, :40, ::-1]), str(folder / f'{i}.png'))
    opt = {'name': 'saved', 'num_gpu': 0, 'manual_seed': 3, 'network_g': NET, 'path': {'root': str(tmp_path)},
           'datasets': {'train': {'type': 'Dataset_GaussianDenoising', 'dataroot_gt': str(folder), 'sigma_type':
                                  'constant', 'sigma_range': 25, 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2,
                                  'gt_size': 16}},
           'train': {'total_iter': total_iter, 'optim_g': {'type': 'AdamW', 'lr': 1e-3}},
           'logger': {'print_freq': 1, 'save_checkpoint_freq': 2, 'use_tb_logger': False}}
    path = tmp_path / 'run.yml'
    path.write_text(yaml.safe_dump(opt))
    return str(path)


def test_parsed_options_are_read_only(tmp_path):
    opt = parse(_write_run(tmp_path))
    assert isinstance(opt, FrozenDict) and opt['train']['optim_g']['lr'] == 1e-3
    for change in (lambda: opt.__setitem__('dist', True), lambda: opt['train'].update(total_iter=1),
                   lambda: opt['network_g']['num_blocks'].append(2), lambda: opt['datasets'].pop('train')):
        with pytest.raises(TypeError, match='read-only'):
            change()
    derived = dict(opt['val'], save_img=True)  # deriving a changed copy is the way
    assert derived['save_img'] and not opt['val']['save_img']
    assert to_plain(opt) == opt and type(to_plain(opt)['train']) is dict


def test_saved_options_and_checkpoint_options_reparse_and_resume(tmp_path):
    path = _write_run(tmp_path)
    before = to_plain(parse(path))
    out = train_main(['-opt', path, '--set', 'train.total_iter=4'])
    exp = out['experiments_root']
    saved = glob.glob(os.path.join(exp, 'options_*.yml'))
    assert len(saved) == 1
    # 1. the saved options file parses to the options of the run (a fresh parse of the same input is unchanged)
    reparsed = parse(saved[0])
    assert reparsed['train']['total_iter'] == 4 and reparsed['path']['experiments_root'] == exp
    assert to_plain(parse(path)) == before
    # 2. so do the options stored in the training state
    state = torch.load(os.path.join(exp, 'training_states', '4.state'), weights_only=True)
    from_state = parse_options(state['options'], source='4.state')
    assert to_plain(from_state) == to_plain(reparsed)
    # 3. and they continue the run: resume from the saved file with a longer schedule
    resumed = train_main(['-opt', saved[0], '--auto_resume', '--set', 'train.total_iter=6'])
    assert resumed['iter'] == 6 and len(resumed['losses']) == 2 and resumed['experiments_root'] == exp
    assert sorted(os.listdir(os.path.join(exp, 'training_states'))) == ['2.state', '4.state', '6.state']


def test_training_does_not_change_the_options(tmp_path, monkeypatch):
    import basicsr.train as train_module
    seen = {}
    real_do_train = train_module.do_train

    def spy(opt, *args, **kwargs):
        seen['before'] = copy.deepcopy(to_plain(opt))
        real_do_train(opt, *args, **kwargs)
        seen['after'] = to_plain(opt)

    monkeypatch.setattr(train_module, 'do_train', spy)
    train_main(['-opt', _write_run(tmp_path, total_iter=2)])
    assert seen['before'] == seen['after'] and 'dist' not in seen['after'] and 'rank' not in seen['after']
