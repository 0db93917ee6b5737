"""Faults of a real cluster: preemption (SIGTERM), Ctrl-C (SIGINT), a full disk, a failure at the very end.
The work done is saved, what is written is never half a file, and the run continues exactly."""
from __future__ import annotations

import errno
import glob
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from basicsr.train import main as train_main
from basicsr.utils.cli import run_main


def _env(repo_root: str) -> dict:
    # CPU results are reproducible for a fixed thread count; the in-process runs use 1 thread (conftest)
    return dict(os.environ, PYTHONPATH=repo_root, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _weights(exp: str, tag: str = 'latest') -> dict:
    return torch.load(os.path.join(exp, 'models', f'net_g_{tag}.pth'), weights_only=True)['params']


def _max_diff(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def _interrupt_after(cmd, env, signum: int, marker: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``cmd``, send ``signum`` once ``marker`` appears on its stderr, return what it printed."""
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines, start = [], time.time()
    for line in proc.stderr:
        lines.append(line)
        if marker in line:
            proc.send_signal(signum)
            break
        assert time.time() - start < timeout, 'the run did not reach the marker'
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, ''.join(lines) + err)


@pytest.mark.parametrize('signum,code', [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_saves_a_checkpoint_and_the_run_continues_exactly(tmp_path, write_options, repo_root, signum, code):
    common = dict(total_iter=30, with_val=False, logger__print_freq=1, logger__save_checkpoint_freq=100,
                  datasets__train__num_worker_per_gpu=2)
    straight = train_main(['-opt', write_options(tmp_path / 'a', name='straight', **common)])
    path = write_options(tmp_path / 'b', name='stopped', **common)
    proc = _interrupt_after([sys.executable, os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', path],
                            _env(repo_root), signum, 'iter:       5,')
    assert proc.returncode == code, proc.stderr[-2000:]
    name = 'SIGTERM' if signum == signal.SIGTERM else 'SIGINT'
    assert f'{name} received: stopping after the current iteration' in proc.stderr
    assert f'stopped: {name} at iteration' in proc.stderr and 'Traceback' not in proc.stderr
    exp = os.path.join(str(tmp_path / 'b'), 'experiments', 'stopped')
    states = os.listdir(os.path.join(exp, 'training_states'))
    assert len(states) == 1 and 5 <= int(states[0].split('.')[0]) < 30  # the iteration it stopped at
    resumed = train_main(['-opt', path, '--auto_resume'])
    assert resumed['losses'] == pytest.approx(straight['losses'][-len(resumed['losses']):], abs=1e-6)
    assert _max_diff(_weights(straight['experiments_root']), _weights(exp)) < 1e-6


def test_torchrun_sigterm_stops_every_rank_at_the_same_iteration(tmp_path, write_options, repo_root):
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    path = write_options(tmp_path, total_iter=200, name='ddp', with_val=False, logger__print_freq=1,
                         logger__save_checkpoint_freq=1000)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={port}', os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', path, '--launcher',
           'pytorch']
    proc = _interrupt_after(cmd, _env(repo_root), signal.SIGTERM, 'iter:       4,')
    assert proc.returncode != 0
    exp = os.path.join(str(tmp_path), 'experiments', 'ddp')
    states = os.listdir(os.path.join(exp, 'training_states'))
    assert len(states) == 1, proc.stderr[-3000:]
    state = torch.load(os.path.join(exp, 'training_states', states[0]), weights_only=True)
    assert state['world_size'] == 2 and len(state['rng']['train']) == 2  # both ranks took part in the save
    assert proc.stderr.count('SIGTERM received') >= 1


def test_disk_full_while_saving_a_checkpoint(tmp_path, write_options, monkeypatch, capsys):
    path = write_options(tmp_path, total_iter=4, with_val=False, logger__save_checkpoint_freq=2)
    real_save = torch.save
    calls = []

    def save_then_fill_the_disk(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) >= 3:  # the third file (net_g_4.pth): half written, then no space left
            f.write(b'\x80\x02 partial')
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', save_then_fill_the_disk)
    assert run_main(lambda argv: train_main(argv), ['-opt', path]) == 2
    err = capsys.readouterr().err
    assert "\nerror: [Errno 28] No space left on device: '" in err and 'net_g_4.pth' in err
    assert 'Traceback' not in err
    exp = os.path.join(str(tmp_path), 'experiments', 'tiny')
    assert sorted(os.listdir(os.path.join(exp, 'models'))) == ['net_g_2.pth']  # no partial net_g_4.pth, no .tmp
    assert sorted(os.listdir(os.path.join(exp, 'training_states'))) == ['2.state']
    log = open(glob.glob(os.path.join(exp, '*.log'))[0]).read()
    assert 'Traceback' in log and 'No space left on device' in log  # the details stay in the log file
    monkeypatch.setattr(torch, 'save', real_save)
    assert train_main(['-opt', path, '--auto_resume'])['iter'] == 4  # and the run continues


def test_disk_full_while_writing_results_leaves_no_partial_image(tmp_path, monkeypatch, photo):
    from basicsr.utils import file_util
    from basicsr.utils.img_util import imwrite
    target = tmp_path / 'out' / 'restored.png'
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(file_util.os, 'fdopen', lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError, match='No space left'):
        imwrite(photo('astronaut', 16), str(target))
    assert os.listdir(tmp_path / 'out') == []  # neither a truncated PNG nor a temporary file


def test_a_failure_in_the_final_validation_loses_no_iteration(tmp_path, write_options, monkeypatch):
    import basicsr.train as train_module
    path = write_options(tmp_path, total_iter=6, logger__save_checkpoint_freq=4)
    real = train_module.run_validation

    def fail_at_the_end(*args, **kwargs):
        if kwargs.get('final'):
            raise RuntimeError('validation crashed')
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, 'run_validation', fail_at_the_end)
    with pytest.raises(RuntimeError, match='validation crashed'):
        train_main(['-opt', path])
    exp = os.path.join(str(tmp_path), 'experiments', 'tiny')
    assert {'net_g_6.pth', 'net_g_latest.pth'} <= set(os.listdir(os.path.join(exp, 'models')))
    assert '6.state' in os.listdir(os.path.join(exp, 'training_states'))


def test_validation_image_unreadable_mid_run_is_skipped(tmp_path, write_options, monkeypatch):
    import basicsr.train as train_module
    path = write_options(tmp_path, total_iter=4, val__val_freq=2)
    monkeypatch.setattr(train_module, 'preflight', lambda *a, **k: None)  # it went bad after the start
    (tmp_path / 'val' / 'p1.png').write_bytes(b'not an image any more')
    out = train_main(['-opt', path])
    assert out['iter'] == 4 and 'ValSet/psnr' in out['best_metrics']
    log = open(glob.glob(os.path.join(out['experiments_root'], '*.log'))[0]).read()
    assert "Skipped " in log and 'p1.png' in log


def test_bad_training_file_mid_run_keeps_the_iterations_done(tmp_path, write_options, monkeypatch):
    import basicsr.train as train_module
    from basicsr.utils.errors import ImageReadError
    path = write_options(tmp_path, total_iter=40, with_val=False, logger__save_checkpoint_freq=100,
                         datasets__train__dataset_enlarge_ratio=1)
    monkeypatch.setattr(train_module, 'preflight', lambda *a, **k: None)  # the file breaks after the start
    (tmp_path / 'clean' / 'p3.png').write_bytes(b'disk error')
    with pytest.raises(ImageReadError, match=r"clean/p3\.png"):
        train_main(['-opt', path])
    states = os.listdir(os.path.join(str(tmp_path), 'experiments', 'tiny', 'training_states'))
    assert len(states) == 1 and int(states[0].split('.')[0]) >= 1  # the iterations before the bad file are saved


def test_interrupt_while_writing_a_checkpoint_leaves_no_partial_file(tmp_path, write_options, monkeypatch):
    path = write_options(tmp_path, total_iter=4, with_val=False, logger__save_checkpoint_freq=2)
    real_save = torch.save
    calls = []

    def interrupted(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            f.write(b'\x80\x02 half')
            raise KeyboardInterrupt
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, 'save', interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_main(['-opt', path])
    models = os.path.join(str(tmp_path), 'experiments', 'tiny', 'models')
    assert os.listdir(models) == ['net_g_2.pth']


def test_disk_full_while_writing_a_metric_table_or_the_options(tmp_path, write_options, monkeypatch):
    from basicsr.evaluation.report import MetricTable
    from basicsr.utils import file_util
    table = MetricTable('t')
    table.add('a', {'psnr': 30.0})
    options = write_options(tmp_path, total_iter=2, with_val=False)
    real_fdopen = os.fdopen

    def full(fd, *args, **kwargs):
        f = real_fdopen(fd, *args, **kwargs)
        f.write = lambda data: (_ for _ in ()).throw(OSError(errno.ENOSPC, 'No space left on device'))
        return f

    monkeypatch.setattr(file_util.os, 'fdopen', full)
    with pytest.raises(OSError, match=r"No space left on device: '.*metrics\.csv'"):
        table.save(str(tmp_path / 'tables'))
    assert os.listdir(tmp_path / 'tables') == []
    with pytest.raises(OSError, match=r'No space left on device: .*options_.*\.yml'):
        train_main(['-opt', options])
    exp = os.path.join(str(tmp_path), 'experiments', 'tiny')
    assert not glob.glob(os.path.join(exp, 'options_*')) and not glob.glob(os.path.join(exp, '.*.tmp'))


def test_second_ctrl_c_interrupts_at_once():
    from basicsr.utils.signals import StopRequest
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested() == signal.SIGINT  # the first one only asks to stop
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # handlers are restored
