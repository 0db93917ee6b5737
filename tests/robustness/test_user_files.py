"""A user's files are never written over: no script replaces its inputs, and no run reuses an earlier
run's folder silently."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import torch
import yaml

from basicsr.utils.errors import ExperimentExistsError, OutputConflictError
from basicsr.utils.img_util import imwrite

TINY = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
        'network_g.heads=[1,1,1,1]']


def _snapshot(folder) -> dict:
    files = glob.glob(os.path.join(str(folder), '**', '*'), recursive=True)
    return {p: open(p, 'rb').read() for p in files if os.path.isfile(p)}


def _photos(folder, photo, n=2, size=32):
    for i in range(n):
        imwrite(np.ascontiguousarray(photo('astronaut')[i * 40:i * 40 + size, :size, ::-1]), str(folder / f'{i}.png'))


@pytest.fixture
def tiny_weights(tmp_path, repo_root):
    from basicsr.config import parse
    from basicsr.models.archs import build_network
    net_opt = parse(os.path.join(repo_root, 'Deraining/Options/Deraining_Restormer.yml'), is_train=False,
                    overrides=TINY)['network_g']
    torch.manual_seed(0)
    path = tmp_path / 'w.pth'
    torch.save({'params': build_network(net_opt).state_dict()}, path)
    return str(path)


def test_demo_never_writes_over_its_inputs(tmp_path, photo, tiny_weights):
    import demo
    photos = tmp_path / 'X' / 'Deraining'
    _photos(photos, photo)
    before = _snapshot(tmp_path / 'X')
    with pytest.raises(OutputConflictError,
                       match=r"Refusing to write '.*X/Deraining/0\.png': it would replace the input"):
        demo.main(['--task', 'Deraining', '--input_dir', str(photos), '--result_dir', str(tmp_path / 'X'),
                   '--weights', tiny_weights, '--device', 'cpu', '--set', *TINY])
    assert _snapshot(tmp_path / 'X') == before


def test_task_script_never_writes_over_its_inputs(tmp_path, photo, tiny_weights, load_script):
    data = tmp_path / 'Datasets'
    for sub in ('input', 'target'):
        _photos(data / 'test' / 'input' / sub, photo)
    before = _snapshot(data)
    with pytest.raises(OutputConflictError, match=r"it would replace the input '.*test/input/input/0\.png'"):
        load_script('Deraining/test.py').main(['--input_dir', str(data), '--result_dir', str(data / 'test' / 'input'),
                                               '--datasets', 'input', '--weights', tiny_weights, '--device', 'cpu',
                                               '--set', *TINY])
    assert _snapshot(data) == before


def test_generic_test_entry_never_writes_over_the_test_set(tmp_path, photo, tiny_weights, tiny_net_opt):
    from basicsr.test import main as test_main
    for sub in ('lq', 'gt'):
        _photos(tmp_path / sub, photo)
    opt = {'name': 'x', 'num_gpu': 0, 'network_g': dict(tiny_net_opt, heads=[1, 1, 1, 1]),
           'path': {'results_root': str(tmp_path)},
           'datasets': {'test': {'name': 'lq', 'type': 'Dataset_PairedImage', 'dataroot_gt': str(tmp_path / 'gt'),
                                 'dataroot_lq': str(tmp_path / 'lq')}}}
    (tmp_path / 'o.yml').write_text(yaml.safe_dump(opt))
    before = _snapshot(tmp_path / 'lq')
    with pytest.raises(OutputConflictError, match=r"lq/0\.png': it would replace the input"):
        test_main(['-opt', str(tmp_path / 'o.yml'), '--weights', tiny_weights, '--save_img', '--device', 'cpu'])
    assert _snapshot(tmp_path / 'lq') == before


def test_patch_jobs_never_write_into_their_source_folder(tmp_path, photo):
    import patch_jobs
    _photos(tmp_path / 'src', photo, size=64)
    jobs = [patch_jobs.GridJob((str(tmp_path / 'src' / f'{i}.png'),), (str(tmp_path / 'src'),), str(i),
                               patch_size=64, overlap=0) for i in range(2)]
    before = _snapshot(tmp_path / 'src')
    with pytest.raises(OutputConflictError, match=r"output folder '.*src' is also a source folder"):
        patch_jobs.run_jobs(jobs)
    assert _snapshot(tmp_path / 'src') == before


def test_earlier_run_is_kept(tmp_path, write_options):
    from basicsr.train import main as train_main
    path = write_options(tmp_path, total_iter=2, with_val=False)
    train_main(['-opt', path])
    exp = tmp_path / 'experiments' / 'tiny'
    before = _snapshot(exp / 'models')
    with pytest.raises(ExperimentExistsError, match=r"'.*experiments/tiny' already exists.*--auto_resume"):
        train_main(['-opt', path])
    assert _snapshot(exp / 'models') == before
    train_main(['-opt', path, '--archive_existing'])
    archived = glob.glob(str(tmp_path / 'experiments' / 'tiny_archived_*'))
    assert len(archived) == 1
    assert {os.path.relpath(p, archived[0]): v for p, v in _snapshot(os.path.join(archived[0], 'models')).items()} \
        == {os.path.relpath(p, str(exp)): v for p, v in before.items()}
