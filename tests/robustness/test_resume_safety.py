"""Resuming never loses or overwrites an earlier run's checkpoints, refuses what cannot be resumed, and says
what changed; a second process cannot train into a folder in use, and a crashed one does not leave it locked."""
from __future__ import annotations

import glob
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from basicsr.train import main as train_main
from basicsr.utils.errors import CheckpointError, ExperimentExistsError, OptionError, UnwritableOutputError


def _exp(tmp_path, name='tiny') -> str:
    return os.path.join(str(tmp_path), 'experiments', name)


def _log(exp: str) -> str:
    return ''.join(open(p).read() for p in sorted(glob.glob(os.path.join(exp, '*.log'))))


def _snapshot(folder: str) -> dict:
    files = glob.glob(os.path.join(folder, '**', '*'), recursive=True)
    return {os.path.relpath(p, folder): open(p, 'rb').read() for p in files if os.path.isfile(p)}


def test_auto_resume_without_a_usable_state_keeps_the_earlier_weights(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=4, with_val=False)
    train_main(['-opt', path])
    exp = _exp(tmp_path)
    for state in glob.glob(os.path.join(exp, 'training_states', '*.state')):
        os.remove(state)  # "deleted to save disk"
    before = _snapshot(os.path.join(exp, 'models'))
    with pytest.raises(CheckpointError, match=r'no usable training state .* would overwrite them.*--archive_existing'):
        train_main(['-opt', path, '--auto_resume'])
    assert _snapshot(os.path.join(exp, 'models')) == before


def test_unusable_newer_checkpoints_are_set_aside_not_overwritten(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=4, with_val=False, logger__save_checkpoint_freq=1)
    train_main(['-opt', path])
    exp = _exp(tmp_path)
    states = os.path.join(exp, 'training_states')
    with open(os.path.join(states, '3.state'), 'wb') as f:
        f.write(b'\x80\x02 truncated')
    newer = {n: open(os.path.join(exp, 'models', n), 'rb').read() for n in ('net_g_3.pth', 'net_g_4.pth')}
    os.remove(os.path.join(states, '4.state'))
    out = train_main(['-opt', path, '--auto_resume'])
    assert out['iter'] == 4 and len(out['losses']) == 2  # resumed from 2.state
    aside = glob.glob(os.path.join(exp, 'models', 'set_aside_*', '*.pth'))
    assert sorted(os.path.basename(p) for p in aside) == ['net_g_3.pth', 'net_g_4.pth']
    assert {os.path.basename(p): open(p, 'rb').read() for p in aside} == newer
    assert glob.glob(os.path.join(states, 'set_aside_*', '3.state'))
    assert 'Kept a checkpoint newer than the resumed one out of the way' in _log(exp)


def test_resume_state_must_be_a_training_state(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=2, with_val=False)
    train_main(['-opt', path])
    net = os.path.join(_exp(tmp_path), 'models', 'net_g_2.pth')
    with pytest.raises(CheckpointError, match=r"net_g_2\.pth' is not a training state"):
        train_main(['-opt', path, '--set', f'path.resume_state={net}', 'train.total_iter=4',
                    'datasets.train.iters=[2, 2]', 'train.scheduler.periods=[2, 2]'])


def test_resume_with_another_network_is_refused(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=2, with_val=False)
    train_main(['-opt', path])
    with pytest.raises(OptionError, match=r'Cannot resume .* another network \(network_g\.dim: 8 -> 16\)'):
        train_main(['-opt', path, '--auto_resume', '--set', 'network_g.dim=16'])


def test_resume_with_a_changed_learning_rate_applies_it_and_says_so(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=8, with_val=False)
    train_main(['-opt', path, '--set', 'train.total_iter=4', 'datasets.train.iters=[2, 2]',
                'train.scheduler.periods=[4, 4]'])
    train_main(['-opt', path, '--auto_resume', '--set', 'train.optim_g.lr=1e-3'])
    log = _log(_exp(tmp_path))
    assert 'Resuming with a changed option: train.optim_g.lr = 0.001 (was 0.002' in log
    assert 'Resuming with a changed option: train.total_iter = 8 (was 4' in log
    # iteration 6 = scheduler step 5: 1e-5 + (1e-3 - 1e-5) / 2 * (1 + cos(pi / 4)) with the *new* base LR
    expected = 1e-5 + (1e-3 - 1e-5) / 2 * (1 + math.cos(math.pi / 4))
    assert f'iter:       6, lr:({expected:.3e},)' in log


def test_weights_of_another_configuration_are_refused_before_training(tmp_path, write_options, tiny_net_opt):
    from basicsr.models.archs import build_network
    from basicsr.utils.checkpoint import save_network
    other = str(tmp_path / 'other.pth')
    save_network(other, build_network(dict(tiny_net_opt, dim=16)))
    with pytest.raises(CheckpointError, match=r"(?s)other\.pth' does not match Restormer.*wrong shape"):
        train_main(['-opt', write_options(tmp_path, total_iter=2, with_val=False), '--set',
                    f'path.pretrain_network_g={other}'])
    (tmp_path / 'notes.pth').write_text('not a checkpoint')
    with pytest.raises(CheckpointError, match=r"Cannot read checkpoint '.*notes\.pth'"):
        train_main(['-opt', str(tmp_path / 'tiny.yml'), '--archive_existing', '--set',
                    f"path.pretrain_network_g={tmp_path / 'notes.pth'}"])


def test_temporary_files_of_an_interrupted_write_are_removed_on_resume(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=2, with_val=False)
    train_main(['-opt', path])
    exp = _exp(tmp_path)
    stale = os.path.join(exp, 'models', '.net_g_4.pth.x1y2z3.tmp')
    with open(stale, 'wb') as f:
        f.write(b'half a checkpoint')
    train_main(['-opt', path, '--auto_resume', '--set', 'train.total_iter=4', 'datasets.train.iters=[2, 2]',
                'train.scheduler.periods=[2, 2]'])
    assert not os.path.exists(stale) and 'Removed a temporary file left by an interrupted write' in _log(exp)


def test_a_folder_in_use_is_refused_and_a_crashed_holder_leaves_no_stuck_lock(tmp_path, write_options, repo_root):
    path = write_options(tmp_path, total_iter=2, with_val=False)
    exp = _exp(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\nfrom basicsr.utils.experiment import ExperimentLock\n'
         'ExperimentLock(sys.argv[1]).acquire(); print("locked", flush=True); time.sleep(120)', exp],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=repo_root))
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(ExperimentExistsError, match=rf"'{exp}' is in use by process {holder.pid} on "):
            train_main(['-opt', path, '--auto_resume'])
    finally:
        holder.kill()  # a crash: the process never releases the lock itself
        holder.wait()
    time.sleep(0.1)
    assert train_main(['-opt', path, '--auto_resume'])['iter'] == 2


def test_experiment_folder_that_cannot_be_created(tmp_path, write_options):
    (tmp_path / 'afile').write_text('x')
    with pytest.raises(UnwritableOutputError, match=r'Cannot create the experiment folder .*afile.*--set path\.root'):
        train_main(['-opt', write_options(tmp_path, total_iter=2, with_val=False), '--set',
                    f"path.root={tmp_path / 'afile' / 'sub'}"])


def test_non_finite_training_stops_without_saving_the_broken_weights(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=6, with_val=False, logger__save_checkpoint_freq=1,
                         logger__print_freq=1, train__optim_g={'type': 'AdamW', 'lr': 1e30},
                         train__use_grad_clip=False, train__scheduler=None)
    with pytest.raises(FloatingPointError, match=r'non-finite .*the last checkpoint is intact'):
        train_main(['-opt', path])
    exp = _exp(tmp_path)
    for state in glob.glob(os.path.join(exp, 'models', 'net_g_*.pth')):
        params = torch.load(state, weights_only=True)['params']
        assert all(torch.isfinite(v).all() for v in params.values()), state
    assert not os.path.exists(os.path.join(exp, 'models', 'net_g_latest.pth'))
