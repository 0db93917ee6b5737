"""Training end to end on CPU: the loss falls, crash + --auto_resume equals a straight run, gradient
accumulation equals a big batch, AMP/compile/channels-last/EMA paths, experiment-folder safety, torchrun
and train.sh."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from basicsr.train import main


def weights(exp_root: str, tag='latest', key='params'):
    return torch.load(os.path.join(exp_root, 'models', f'net_g_{tag}.pth'), weights_only=True)[key]


def max_diff(a, b) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_tiny_training_end_to_end_loss_falls(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=40, name='e2e', train__mixing_augs={'mixup': False},
                         datasets__train__sigma_range=[25, 25])
    out = main(['-opt', path])
    losses = out['losses']
    assert len(losses) == 40 and np.mean(losses[-8:]) < 0.8 * np.mean(losses[:4])
    exp = out['experiments_root']
    assert set(os.listdir(os.path.join(exp, 'models'))) == {'net_g_20.pth', 'net_g_40.pth', 'net_g_latest.pth'}
    assert sorted(os.listdir(os.path.join(exp, 'training_states'))) == ['20.state', '40.state']
    log = open([os.path.join(exp, f) for f in os.listdir(exp) if f.endswith('.log')][0]).read()
    assert 'Stage 2/2 from iteration 21: patch 32x32' in log and 'Validation ValSet at iter 40 # psnr:' in log
    assert 'Final validation on ValSet' in log and 'psnr_input' in log  # per-image table with the input baseline
    assert 'eta:' in log and 'l_pix:' in log
    assert os.listdir(os.path.join(str(tmp_path), 'tb_logger', 'e2e'))  # TensorBoard events
    assert out['best_metrics']['ValSet/psnr']['iter'] == 40


#: runs basicsr.train.main(argv) in a fresh process that SIGKILLs itself when iteration `kill_at` starts
_KILLED_RUN = """
import os, signal, sys
from basicsr.models.image_restoration_model import ImageCleanModel
kill_at, argv = int(sys.argv[1]), sys.argv[2:]
set_lr = ImageCleanModel.update_learning_rate
def update_learning_rate(self, it):
    if it == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return set_lr(self, it)
ImageCleanModel.update_learning_rate = update_learning_rate
from basicsr.train import main
main(argv)
"""


@pytest.fixture
def run_killed(repo_root):
    """``run_killed(kill_at, argv)``: the training run of ``_KILLED_RUN`` in a fresh process."""
    def run(kill_at, args):
        # CPU results are bitwise reproducible for a fixed thread count; the in-process runs use 1 thread (conftest)
        env = dict(os.environ, OMP_NUM_THREADS='1')
        env['PYTHONPATH'] = repo_root + os.pathsep + env.get('PYTHONPATH', '')
        return subprocess.run([sys.executable, '-c', _KILLED_RUN, str(kill_at)] + args, env=env, capture_output=True,
                              text=True, timeout=600)
    return run


def test_crash_and_auto_resume_equals_uninterrupted_run(tmp_path, write_options, run_killed):
    common = dict(total_iter=12, datasets__train__num_worker_per_gpu=2, train__grad_accum=2)
    straight = main(['-opt', write_options(tmp_path / 'a', name='straight', **common)])
    crashed_opt = write_options(tmp_path / 'b', name='crashed', **common)
    proc = run_killed(9, ['-opt', crashed_opt])  # SIGKILL at the start of iteration 9
    assert proc.returncode != 0
    exp = os.path.join(str(tmp_path / 'b'), 'experiments', 'crashed')
    assert sorted(os.listdir(os.path.join(exp, 'training_states'))) == ['6.state']
    assert not os.path.exists(os.path.join(exp, 'models', 'net_g_latest.pth'))
    with pytest.raises(FileExistsError, match='--auto_resume'):
        main(['-opt', crashed_opt])  # never overwrite an experiment silently
    resumed = main(['-opt', crashed_opt, '--auto_resume'])
    assert resumed['losses'] == pytest.approx(straight['losses'][6:], abs=1e-6)
    assert max_diff(weights(straight['experiments_root']), weights(exp)) < 1e-6


def test_truncated_newest_state_is_skipped(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=8, name='trunc')
    main(['-opt', path])
    exp = os.path.join(str(tmp_path), 'experiments', 'trunc')
    states = os.path.join(exp, 'training_states')
    os.remove(os.path.join(states, '8.state'))
    with open(os.path.join(states, '12.state'), 'wb') as f:
        f.write(b'\x80\x02 truncated')  # a crash mid-write of a non-atomic writer would leave this
    out = main(['-opt', path, '--auto_resume'])
    assert out['iter'] == 8 and len(out['losses']) == 4  # resumed from 4.state, not the broken 12.state


def test_gradient_accumulation_equals_big_batch(tmp_path, write_options):
    base = dict(total_iter=4, train__mixing_augs={'mixup': False}, datasets__train__mini_batch_sizes=[4, 4],
                datasets__train__gt_sizes=[32, 32])
    big = main(['-opt', write_options(tmp_path / 'big', name='big', **base)])
    # recipe: 2 GPUs x 2 per GPU; here 1 process -> 2 micro-batches of 2 per step, same samples
    acc = main(['-opt', write_options(tmp_path / 'acc', name='acc', num_gpu=2, train__grad_accum='auto',
                                      **dict(base, datasets__train__mini_batch_sizes=[2, 2]))])
    assert acc['losses'] == pytest.approx(big['losses'], rel=1e-5)
    log = open([os.path.join(acc['experiments_root'], f) for f in os.listdir(acc['experiments_root'])
                if f.endswith('.log')][0]).read()
    assert '2 per process x 2 accumulation x 1 process(es) = global batch 4' in log
    assert max_diff(weights(big['experiments_root']), weights(acc['experiments_root'])) < 1e-5


@pytest.mark.parametrize('extra', [
    dict(train__amp='bf16'),
    dict(train__amp='fp16'),
    dict(train__channels_last=True, train__ema_decay=0.9),
    dict(train__compile='aot_eager'),
    dict(train__activation_checkpointing='block', train__compile='aot_eager'),
    dict(datasets__train__progressive_mode='official'),
])
def test_training_options_run_on_cpu(tmp_path, extra, write_options):
    stages = dict(datasets__train__mini_batch_sizes=[2], datasets__train__iters=[2], datasets__train__gt_sizes=[16],
                  datasets__train__gt_size=16, train__scheduler={'type': 'CosineAnnealingRestartLR', 'periods': [2]})
    out = main(['-opt', write_options(tmp_path, total_iter=2, name='opt', with_val=False, **stages, **extra)])
    assert len(out['losses']) == 2 and np.all(np.isfinite(out['losses']))
    saved = weights(out['experiments_root'])
    assert not any(k.startswith(('_orig_mod.', 'module.')) for k in saved)  # loads anywhere, compiled or not
    if 'train__ema_decay' in extra:
        ema, raw = weights(out['experiments_root'], key='params_ema'), weights(out['experiments_root'])
        assert max_diff(ema, raw) > 0  # EMA weights are saved separately


def test_archive_existing(tmp_path, write_options):
    path = write_options(tmp_path, total_iter=2, name='arch', with_val=False)
    main(['-opt', path])
    main(['-opt', path, '--archive_existing'])
    names = os.listdir(os.path.join(str(tmp_path), 'experiments'))
    assert 'arch' in names and any(n.startswith('arch_archived_') for n in names)


def test_warmup_and_lr_follow_the_official_rule(tmp_path, write_options):
    from basicsr.config import parse
    from basicsr.models import build_model
    opt = parse(write_options(tmp_path, total_iter=8, name='lr', train__warmup_iter=4), root_path=str(tmp_path))
    model = build_model(opt, torch.device('cpu'))
    lrs = []
    for t in range(1, 9):
        model.update_learning_rate(t)
        lrs.append(model.get_current_learning_rate()[0])
    assert lrs[:3] == pytest.approx([2e-3 / 4, 2 * 2e-3 / 4, 3 * 2e-3 / 4])  # t < warmup_iter
    assert lrs[3] == pytest.approx(2e-3) and lrs[4] == pytest.approx(2e-3)  # scheduler step t-1 = 4: end of period 1
    assert lrs[7] < lrs[5] < 2e-3


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


_LAUNCH_ERRORS = ('EADDRINUSE', 'address already in use', 'failed to listen', 'RendezvousConnectionError',
                  'RendezvousTimeoutError')


@pytest.fixture
def torchrun(repo_root):
    """``torchrun(option_file, extra=())``: 2-process CPU torchrun on an explicit free port; retried once if the
    launcher itself fails to start."""
    def run(path, extra=()):
        env = dict(os.environ, PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''),
                   OMP_NUM_THREADS='1')
        for attempt in range(2):
            cmd = [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1', '--nproc_per_node=2',
                   '--master_addr=127.0.0.1', f'--master_port={_free_port()}',
                   os.path.join(repo_root, 'basicsr', 'train.py'), '-opt', path, '--launcher', 'pytorch', *extra]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode == 0 or not any(e in proc.stderr for e in _LAUNCH_ERRORS):
                return proc
        return proc
    return run


def test_torchrun_two_processes_gloo(tmp_path, write_options, torchrun):
    path = write_options(tmp_path, total_iter=6, name='ddp', logger__save_checkpoint_freq=3, train__ema_decay=0.9)
    proc = torchrun(path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    exp = os.path.join(str(tmp_path), 'experiments', 'ddp')
    assert sorted(os.listdir(os.path.join(exp, 'models'))) == ['net_g_3.pth', 'net_g_6.pth', 'net_g_latest.pth']
    assert sorted(os.listdir(os.path.join(exp, 'training_states'))) == ['3.state', '6.state']
    log = open([os.path.join(exp, f) for f in os.listdir(exp) if f.endswith('.log')][0]).read()
    assert 'with 2 process(es)' in log and 'global batch 8' in log
    state = torch.load(os.path.join(exp, 'training_states', '6.state'), weights_only=True)
    assert state['world_size'] == 2 and len(state['rng']['train']) == 2
    # resume the finished 2-process run with a longer schedule from its iteration-6 state
    os.remove(os.path.join(exp, 'training_states', '6.state'))
    proc = torchrun(path, ['--auto_resume'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Resuming from' in proc.stderr and "(iteration 3)" in proc.stderr


def test_official_gpu_count_on_fewer_processes_logs_the_global_batch(tmp_path, write_options):
    out = main(['-opt', write_options(tmp_path, total_iter=2, name='eight', with_val=False, num_gpu=8)])
    exp = out['experiments_root']
    log = open([os.path.join(exp, f) for f in os.listdir(exp) if f.endswith('.log')][0]).read()
    assert 'The options describe 8 GPUs; with 1 process(es) the global batch is 4' in log
    assert "train.grad_accum: auto to keep the recipe's 32" in log


def test_ddp_gradient_accumulation_equals_bigger_micro_batches(tmp_path, write_options, torchrun):
    one_stage = dict(total_iter=4, with_val=False, train__mixing_augs={'mixup': False},
                     datasets__train__iters=[4], datasets__train__gt_sizes=[16], datasets__train__gt_size=16,
                     train__scheduler={'type': 'CosineAnnealingRestartLR', 'periods': [4]})
    plain = write_options(tmp_path / 'a', name='plain', datasets__train__mini_batch_sizes=[2], **one_stage)
    accum = write_options(tmp_path / 'b', name='accum', datasets__train__mini_batch_sizes=[1],
                          train__grad_accum='auto', train__global_batch_sizes=[4], **one_stage)
    for path in (plain, accum):
        proc = torchrun(path)
        assert proc.returncode == 0, proc.stderr[-3000:]
    log = open([os.path.join(str(tmp_path / 'b' / 'experiments' / 'accum'), f)
                for f in os.listdir(tmp_path / 'b' / 'experiments' / 'accum') if f.endswith('.log')][0]).read()
    assert '1 per process x 2 accumulation x 2 process(es) = global batch 4' in log
    a = weights(str(tmp_path / 'a' / 'experiments' / 'plain'))
    b = weights(str(tmp_path / 'b' / 'experiments' / 'accum'))
    assert max_diff(a, b) < 1e-5, max_diff(a, b)


def test_train_sh_runs_one_cpu_process(tmp_path, write_options, repo_root):
    path = write_options(tmp_path, total_iter=2, name='sh', with_val=False)
    env = dict(os.environ, NUM_GPUS='0', PYTHON=sys.executable,
               PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([os.path.join(repo_root, 'train.sh'), path, '--set', 'logger.print_freq=1'], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'Training finished at iteration 2' in proc.stderr
    assert os.path.exists(tmp_path / 'experiments' / 'sh' / 'models' / 'net_g_latest.pth')
    bad = subprocess.run([os.path.join(repo_root, 'train.sh')], capture_output=True, text=True)
    assert bad.returncode == 2 and 'usage' in bad.stderr
    missing = subprocess.run([os.path.join(repo_root, 'train.sh'), 'nope.yml'], capture_output=True, text=True)
    assert missing.returncode == 2 and 'option file not found: nope.yml' in missing.stderr
