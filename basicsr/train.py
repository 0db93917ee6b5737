"""Train a restoration model from an option file.

    python basicsr/train.py -opt Denoising/Options/GaussianColorDenoising_Restormer.yml [--auto_resume]
        [--launcher none|pytorch] [--set train.total_iter=1000 datasets.train.num_worker_per_gpu=2 ...]

Several GPUs: ``./train.sh FILE.yml`` (torchrun).  The loop is explicit: build, resume, then for
every iteration: learning rate, micro-batches of the current progressive stage, optimizer step,
log, checkpoint, validate.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import random
import shutil
import signal
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ''):  # executed as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch
from tqdm import tqdm

from basicsr.data import build_dataset, build_train_loader
from basicsr.data.prefetcher import make_prefetcher
from basicsr.data.progressive import ProgressiveSchedule
from basicsr.models import build_model
from basicsr.models.image_restoration_model import official_progressive_crop
from basicsr.models.resume import find_resume_state, net_path, rng_state, save_checkpoint, set_rng_state
from basicsr.models.validation import format_table, shard_loader, validate
from basicsr.utils.checkpoint import load_checkpoint_file
from basicsr.utils.dist import all_gather_object, barrier, cleanup_dist, init_dist, reduce_mean
from basicsr.utils.logger import MessageLogger, close_file_handlers, get_root_logger, init_tb_logger, \
    init_wandb_logger
from basicsr.utils.options import dict2str, dump_options, parse

__all__ = ['main', 'parse_args', 'select_device', 'set_random_seed']

logger = logging.getLogger('basicsr')
#: Testing hook: SIGKILL this process when iteration N starts (simulates a crash).
KILL_ENV = 'BASICSR_KILL_AT_ITER'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Train Restormer (or any registered model) from an option file.')
    p.add_argument('-opt', '--opt', required=True, help='path to the option YAML file')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help="'pytorch' when started by torchrun (./train.sh does this)")
    p.add_argument('--auto_resume', action='store_true',
                   help='continue from the newest valid checkpoint of this experiment')
    p.add_argument('--archive_existing', action='store_true',
                   help='rename an existing experiment folder to <name>_archived_<time> and start fresh')
    p.add_argument('--set', nargs='+', default=[], metavar='KEY=VALUE',
                   help='override options, e.g. --set train.total_iter=1000 datasets.train.num_worker_per_gpu=2')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def select_device(opt: Dict[str, Any], launcher: str) -> Tuple[torch.device, bool, int, int]:
    """``(device, distributed, rank, world_size)``; ``num_gpu: 0`` forces the CPU."""
    want_gpu = opt['num_gpu'] != 0
    use_cuda = want_gpu and torch.cuda.is_available()
    if want_gpu and not use_cuda and opt['num_gpu'] != 'auto':
        logging.getLogger('basicsr').warning('num_gpu is %s but CUDA is not available: training on the CPU.',
                                             opt['num_gpu'])
    if launcher == 'pytorch':
        rank, world, local_rank = init_dist(use_cuda)
        device = torch.device('cuda', local_rank) if use_cuda else torch.device('cpu')
        return device, world > 1, rank, world
    return (torch.device('cuda', 0) if use_cuda else torch.device('cpu')), False, 0, 1


def set_random_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def _resolve_seed(opt: Dict[str, Any]) -> int:
    seed = opt.get('manual_seed')
    if seed is None:  # every rank must agree: the sampler shares its order across ranks
        seed = all_gather_object(random.SystemRandom().randint(1, 10000))[0]
    return int(seed)


def _tb_dir(opt: Dict[str, Any]) -> str:
    return os.path.join(opt['path']['root'], 'tb_logger', opt['name'])


def _prepare_experiment_dir(opt: Dict[str, Any], args: argparse.Namespace, rank: int) -> None:
    """Create the experiment folders (rank 0); refuse to reuse an existing one unless resuming or archiving.

    Rank 0 decides and every rank raises the same clear error, so no rank is left waiting in a barrier.
    """
    exp = opt['path']['experiments_root']
    error = None
    if rank == 0:
        has_content = os.path.isdir(exp) and any(os.scandir(exp))
        resuming = args.auto_resume or opt['path'].get('resume_state')
        if has_content and not resuming and not args.archive_existing:
            error = (f"Experiment folder '{exp}' already exists. Continue it with --auto_resume, start over with "
                     f"--archive_existing (renames it), or pick another name (--set name=...).")
        elif has_content and not resuming:
            stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
            for folder in (exp, _tb_dir(opt)):
                if os.path.isdir(folder):
                    shutil.move(folder, f'{folder}_archived_{stamp}')
        if error is None:
            for key in ('experiments_root', 'models', 'training_states', 'visualization'):
                os.makedirs(opt['path'][key], exist_ok=True)
    error = all_gather_object(error)[0]
    if error:
        raise FileExistsError(error)


def _load_resume(opt: Dict[str, Any], args: argparse.Namespace, rank: int
                 ) -> Optional[Tuple[str, Dict[str, Any]]]:
    """The training state to resume from; chosen by rank 0 and loaded by every rank from the same file."""
    path = None
    if rank == 0:
        if opt['path'].get('resume_state'):
            path = opt['path']['resume_state']
        elif args.auto_resume:
            found = find_resume_state(opt['path']['models'], opt['path']['training_states'])
            if found is None:
                logger.info('--auto_resume: no usable checkpoint in %s; starting from scratch.',
                            opt['path']['training_states'])
            path = found[0] if found else None
    path = all_gather_object(path)[0]
    return (path, load_checkpoint_file(path)) if path else None


def _build_val_sets(opt: Dict[str, Any], rank: int, world: int) -> List[Tuple[str, Any]]:
    out = []
    for key, dopt in opt['datasets'].items():
        if dopt['phase'] == 'val':
            out.append((dopt.get('name') or key, shard_loader(build_dataset(dopt), rank, world)))
    return out


def _run_validation(model: Any, val_sets: List[Tuple[str, Any]], opt: Dict[str, Any], it: int, tb: Any,
                    best: Dict[str, Dict[str, Any]], final: bool = False) -> None:
    for name, loader in val_sets:
        means, rows = validate(model, loader, name, opt['val'], it, opt['path']['visualization'], tb,
                               show_progress=opt['val'].get('pbar', True), input_metrics=final)
        if final and rows:
            logger.info('Final validation on %s (iteration %d; *_input = the degraded input):\n%s', name, it,
                        format_table(rows, means))
        parts = []
        for m, v in means.items():
            if m.endswith('_input'):
                continue
            key = f'{name}/{m}'
            record = best.get(key)
            higher_better = opt['val']['metrics'][m].get('better', 'higher') == 'higher'
            if record is None or (v > record['val'] if higher_better else v < record['val']):
                best[key] = record = {'val': v, 'iter': it}
            parts.append(f"{m}: {v:.4f} (best {record['val']:.4f} @ iter {record['iter']})")
        logger.info('Validation %s at iter %d # %s', name, it, ' | '.join(parts) if parts else '(no metrics)')


def train(opt: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    """Run (or resume) one training job; returns a summary dict (final iteration, best metrics)."""
    device, distributed, rank, world = select_device(opt, args.launcher)
    opt['dist'], opt['rank'], opt['world_size'] = distributed, rank, world
    seed = _resolve_seed(opt)
    set_random_seed(seed + rank)
    if opt.get('deterministic'):
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')  # required by deterministic cuBLAS
        torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = bool(opt.get('cudnn_benchmark', True)) and not opt.get('deterministic')

    _prepare_experiment_dir(opt, args, rank)
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
    get_root_logger(os.path.join(opt['path']['log'], f"train_{opt['name']}_{stamp}.log"), rank=rank)
    if rank == 0:
        dump_options(opt, os.path.join(opt['path']['experiments_root'], f'options_{stamp}.yml'))
    logger.info('Options:\n%s', dict2str(opt))

    resume = _load_resume(opt, args, rank)
    torch.manual_seed(seed)  # identical initial weights (and EMA copies) on every rank
    model = build_model(opt, device, distributed)
    set_random_seed(seed + rank)
    start_iter, best = 0, {}
    rng = np.random.default_rng([seed, rank, 1])
    if resume is not None:
        spath, state = resume
        start_iter = int(state['iter'])
        model.load_network_file(net_path(opt['path']['models'], start_iter))
        model.load_training_state(state)
        best = state.get('best_metrics', {})
        if state.get('world_size', world) != world:
            logger.warning('Resuming a run started with %s processes on %d: the data order changes from here.',
                           state.get('world_size'), world)
        rng_states = state.get('rng') or {}
        if state.get('world_size', world) == world:
            if rank < len(rng_states.get('train', [])):
                rng.bit_generator.state = rng_states['train'][rank]
            if rank < len(rng_states.get('global', [])):
                set_rng_state(rng_states['global'][rank])
        logger.info("Resuming from '%s' (iteration %d).", spath, start_iter)

    train_opt, dopt = opt['train'], opt['datasets'].get('train')
    if dopt is None:
        raise ValueError("No 'datasets.train' block in the options.")
    recipe_gpus = opt['num_gpu'] if isinstance(opt['num_gpu'], int) and opt['num_gpu'] > 0 else world
    schedule = ProgressiveSchedule(dopt, train_opt['total_iter'], world, recipe_gpus, train_opt.get('grad_accum', 1),
                                   train_opt.get('global_batch_sizes'))
    train_set = build_dataset(dopt)
    loader = build_train_loader(train_set, dopt, schedule, seed, rank, world, start_iter,
                                pin_memory=dopt.get('pin_memory') if device.type == 'cuda' else False)
    sampler = loader.batch_sampler
    val_sets = _build_val_sets(opt, rank, world) if opt['datasets'] else []
    logger.info('Training on %s with %d process(es); progressive schedule (%s mode):\n%s', device, world,
                dopt.get('progressive_mode', 'stage_aware'), schedule.describe())
    if train_opt.get('grad_accum') != 'auto' and schedule.global_batch(1) != schedule.recipe_global_batches[0]:
        logger.info('The options describe %d GPUs; with %d process(es) the global batch is %d at the first stage '
                    '(set train.grad_accum: auto to keep the recipe\'s %d).', recipe_gpus, world,
                    schedule.global_batch(1), schedule.recipe_global_batches[0])
    elif train_opt.get('grad_accum') == 'auto' and recipe_gpus == world and not train_opt.get('global_batch_sizes'):
        logger.info('grad_accum: auto changes nothing here: the options describe %d GPU(s) and %d process(es) run '
                    '(num_gpu is the GPU count of the recipe; or give train.global_batch_sizes).', recipe_gpus, world)

    tb, wandb_id = None, None
    if rank == 0 and opt['logger'].get('use_tb_logger') and 'debug' not in opt['name']:
        # wandb first: with sync_tensorboard it must patch TensorBoard before the writer exists
        wandb_id = init_wandb_logger(opt, resume[1].get('wandb_id') if resume else None)
        tb = init_tb_logger(_tb_dir(opt))
    total = train_opt['total_iter']
    msg_logger = MessageLogger(opt['name'], total, start_iter, tb)
    prefetcher = make_prefetcher(loader, dopt.get('prefetch_mode'), device)
    kill_at = int(os.environ.get(KILL_ENV, 0))
    log_cfg, val_freq = opt['logger'], opt['val'].get('val_freq')

    def checkpoint(it: int) -> None:
        states = all_gather_object(rng.bit_generator.state)
        global_states = all_gather_object(rng_state())
        if rank == 0:
            epoch = sampler.epoch_at(it)
            save_checkpoint(model, opt, it, {'epoch': epoch, 'world_size': world, 'best_metrics': best,
                                             'wandb_id': wandb_id,
                                             'rng': {'train': states, 'global': global_states},
                                             'loader': dict(zip(('epoch', 'pos'), sampler.position(it))),
                                             'options': opt})
            logger.info('Saved checkpoint at iteration %d.', it)
        barrier()

    bar = tqdm(total=total, initial=start_iter, desc=opt['name'], unit='it', dynamic_ncols=True,
               disable=rank != 0 or None)
    stage, t_data, t_iter, n_window = None, 0.0, 0.0, 0
    it, history = start_iter, []
    for it in range(start_iter + 1, total + 1):
        if kill_at and it == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        st = schedule.stage(it)
        if st != stage:
            stage = st
            logger.info('Stage %d/%d from iteration %d: patch %dx%d, %d per process x %d accumulation x %d '
                        'process(es) = global batch %d.', st.index + 1, len(schedule.stages), it, st.patch_size,
                        st.patch_size, st.micro_batch, st.accum, world, st.mini_batch * world)
        model.update_learning_rate(it)
        t0 = time.perf_counter()
        micro = []
        for _ in range(st.accum):
            batch = prefetcher.next()
            if batch is None:
                raise RuntimeError(f'the training loader ran out at iteration {it}')
            if schedule.official:
                batch = official_progressive_crop(batch, st.micro_batch, st.patch_size, rng)
            micro.append(batch)
        t_data += time.perf_counter() - t0
        losses = model.optimize_parameters(micro, rng)
        history.append(losses['l_pix'])
        t_iter += time.perf_counter() - t0  # data + step; checkpoints and validation are not counted
        n_window += 1
        bar.update(1)
        bar.set_postfix(l_pix=f"{losses['l_pix']:.4e}", refresh=False)

        if it % log_cfg['print_freq'] == 0 or it == total:
            losses = reduce_mean(losses, device)
            msg_logger({'epoch': sampler.epoch_at(it), 'iter': it, 'lrs': model.get_current_learning_rate(),
                        'time': t_iter / n_window, 'data_time': t_data / n_window, **losses})
            t_data = t_iter = 0.0
            n_window = 0
        if it % log_cfg['save_checkpoint_freq'] == 0 and it != total:
            checkpoint(it)
        if val_sets and val_freq and it % val_freq == 0 and it != total:
            _run_validation(model, val_sets, opt, it, tb, best)
    bar.close()

    if it == total and start_iter < total:
        if val_sets:
            _run_validation(model, val_sets, opt, total, tb, best, final=True)
        checkpoint(total)
        if rank == 0:
            model.save_network(net_path(opt['path']['models'], 'latest'))
        logger.info('Training finished at iteration %d.', total)
    else:
        logger.info('Nothing to do: the run already reached iteration %d.', total)
    if tb is not None:
        tb.close()
    if wandb_id is not None:
        import wandb
        wandb.finish()
    return {'iter': it, 'best_metrics': best, 'world_size': world, 'losses': history,
            'experiments_root': opt['path']['experiments_root']}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    opt = parse(args.opt, is_train=True, overrides=args.set)
    try:
        return train(opt, args)
    finally:
        close_file_handlers()
        cleanup_dist()


if __name__ == '__main__':
    main()
