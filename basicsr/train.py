"""Train a restoration model from an option file.

    python basicsr/train.py -opt Denoising/Options/GaussianColorDenoising_Restormer.yml [--auto_resume]
        [--launcher none|pytorch] [--set train.total_iter=1000 datasets.train.num_worker_per_gpu=2 ...]

Several GPUs: ``./train.sh FILE.yml`` (torchrun).  Read it top to bottom: ``setup`` (options,
processes, seeds, folders, logs), ``build_training`` (model, data, schedule), ``resume_or_load``,
then ``do_train``, whose loop sets the learning rate, draws the micro-batches of the current
progressive stage, steps the optimizer, logs, saves checkpoints and validates.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ''):  # executed as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch
from tqdm import tqdm

from basicsr.config import dict2str, dump_options, option_differences, parse, to_plain
from basicsr.data import build_dataset, build_train_loader
from basicsr.data.checks import check_samples, scan_files
from basicsr.data.prefetcher import make_prefetcher
from basicsr.data.progressive import ProgressiveSchedule, official_progressive_crop
from basicsr.evaluation.validation import run_validation, shard_loader
from basicsr.models import build_model
from basicsr.models.training_checkpoints import (checkpoint_files, find_resume_state, net_path, rng_state,
                                                 save_checkpoint, set_aside_newer, set_rng_state)
from basicsr.utils.checkpoint import load_checkpoint_file
from basicsr.utils.cli import run_main
from basicsr.utils.dist import (RunContext, all_gather_object, barrier, broadcast_from_main, cleanup_dist,
                                init_run_context, reduce_mean)
from basicsr.utils.errors import CheckpointError, OptionError, TrainingInterrupted, UserError
from basicsr.utils.experiment import ExperimentLock, prepare_experiment_dir, tb_log_dir, timestamp
from basicsr.utils.logger import (MessageLogger, close_file_handlers, get_root_logger, init_tb_logger,
                                  init_wandb_logger, log_exception_to_files)
from basicsr.utils.registry import ARCH_REGISTRY
from basicsr.utils.signals import SIGNAL_NAMES, StopRequest

__all__ = ['main', 'parse_args', 'setup', 'build_training', 'resume_or_load', 'do_train', 'set_random_seed']

logger = logging.getLogger('basicsr')


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
    # --debug is read by basicsr.utils.cli.run_main: show the traceback of a user error
    return p.parse_args(argv)


def set_random_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


@dataclass
class TrainState:
    """What changes while training and goes into every checkpoint besides the model."""

    seed: int
    iteration: int = 0
    best: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    rng: Optional[np.random.Generator] = None  # crops of the official progressive mode and mixup
    wandb_id: Optional[str] = None
    losses: List[float] = field(default_factory=list)
    lock: Optional[ExperimentLock] = None  # held by the main process for the whole run


# ---------------------------------------------------------------------------------------------- set-up
def setup(args: argparse.Namespace) -> Tuple[Dict[str, Any], RunContext, int, Optional[ExperimentLock]]:
    """Options, processes, seeds, the experiment folder (locked), the log file; returns ``(opt, ctx, seed, lock)``."""
    opt = parse(args.opt, is_train=True, overrides=args.set)
    ctx = init_run_context(args.launcher, opt['num_gpu'])
    seed = opt['manual_seed']
    if seed is None:  # every rank must agree: the sampler shares its order across ranks
        seed = broadcast_from_main(random.SystemRandom().randint(1, 10000))
    set_random_seed(seed + ctx.rank)
    if opt['deterministic']:
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')  # required by deterministic cuBLAS
        torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = opt['cudnn_benchmark'] and not opt['deterministic']

    resuming = bool(args.auto_resume or opt['path']['resume_state'])
    lock, removed = prepare_experiment_dir(opt, resuming, args.archive_existing, ctx.is_main)
    stamp = timestamp()
    get_root_logger(os.path.join(opt['path']['log'], f"train_{opt['name']}_{stamp}.log"), rank=ctx.rank)
    for path in removed:
        logger.info('Removed a temporary file left by an interrupted write: %s', path)
    if ctx.is_main:
        dump_options(opt, os.path.join(opt['path']['experiments_root'], f'options_{stamp}.yml'))
    logger.info('Options:\n%s', dict2str(opt))
    return opt, ctx, int(seed), lock


def build_training(opt: Dict[str, Any], ctx: RunContext, seed: int) -> Tuple[Any, ProgressiveSchedule]:
    """The training model (same initial weights on every rank) and the progressive schedule."""
    torch.manual_seed(seed)  # identical initial weights (and EMA copies) on every rank
    model = build_model(opt, ctx.device, ctx.distributed)
    set_random_seed(seed + ctx.rank)
    train_opt, num_gpu = opt['train'], opt['num_gpu']
    recipe_gpus = num_gpu if isinstance(num_gpu, int) and num_gpu > 0 else ctx.world_size
    schedule = ProgressiveSchedule(opt['datasets']['train'], train_opt['total_iter'], ctx.world_size, recipe_gpus,
                                   train_opt['grad_accum'], train_opt['global_batch_sizes'])
    logger.info('Training on %s with %d process(es); progressive schedule (%s mode):\n%s', ctx.device,
                ctx.world_size, opt['datasets']['train']['progressive_mode'], schedule.describe())
    if train_opt['grad_accum'] != 'auto' and schedule.global_batch(1) != schedule.recipe_global_batches[0]:
        logger.info('The options describe %d GPUs; with %d process(es) the global batch is %d at the first stage '
                    '(set train.grad_accum: auto to keep the recipe\'s %d).', recipe_gpus, ctx.world_size,
                    schedule.global_batch(1), schedule.recipe_global_batches[0])
    elif train_opt['grad_accum'] == 'auto' and recipe_gpus == ctx.world_size and not train_opt['global_batch_sizes']:
        logger.info('grad_accum: auto changes nothing here: the options describe %d GPU(s) and %d process(es) run '
                    '(num_gpu is the GPU count of the recipe; or give train.global_batch_sizes).', recipe_gpus,
                    ctx.world_size)
    return model, schedule


def resume_or_load(opt: Dict[str, Any], ctx: RunContext, args: argparse.Namespace, model: Any,
                   seed: int) -> TrainState:
    """The state to start from: a training state (``--auto_resume`` / ``path.resume_state``) or a fresh one.

    The main process picks the file and every process loads the same one.  ``--auto_resume`` never
    starts from scratch over an earlier run's checkpoints, and checkpoints newer than the resumed one
    (unusable ones) are moved aside rather than overwritten later.
    """
    state = TrainState(seed=seed, rng=np.random.default_rng([seed, ctx.rank, 1]))
    path, error = None, None
    if ctx.is_main:
        paths = opt['path']
        if paths['resume_state']:
            path = paths['resume_state']
        elif args.auto_resume:
            found = find_resume_state(paths['models'], paths['training_states'])
            path = found[0] if found else None
            earlier = checkpoint_files(paths['models'], paths['training_states'])
            if path is None and earlier:
                error = (f"--auto_resume found no usable training state in '{paths['training_states']}', but the "
                         f'experiment holds {len(earlier)} checkpoint file(s) of an earlier run (e.g. '
                         f"'{earlier[-1]}'); starting from scratch would overwrite them. Start over with "
                         '--archive_existing (keeps the old folder under a new name), or set path.resume_state to a '
                         'state file.')
            elif path is None:
                logger.info('--auto_resume: no checkpoint in %s yet; starting from scratch.', paths['training_states'])
    path, error = broadcast_from_main((path, error))
    if error:
        raise CheckpointError(error)
    if not path:
        return state
    saved = load_checkpoint_file(path)
    if not isinstance(saved, dict) or 'iter' not in saved:
        raise CheckpointError(f"'{path}' is not a training state (.state file written by basicsr/train.py).")
    _compare_resumed_options(saved.get('options'), opt, path)
    state.iteration = int(saved['iter'])
    if ctx.is_main:
        for moved in set_aside_newer(opt['path']['models'], opt['path']['training_states'], state.iteration,
                                     timestamp()):
            logger.warning('Kept a checkpoint newer than the resumed one out of the way: %s', moved)
    barrier()
    model.load_network_file(net_path(opt['path']['models'], state.iteration))
    model.load_training_state(saved)
    state.best = saved.get('best_metrics', {})
    state.wandb_id = saved.get('wandb_id')
    same_world = saved.get('world_size', ctx.world_size) == ctx.world_size
    if not same_world:
        logger.warning('Resuming a run started with %s processes on %d: the data order changes from here.',
                       saved.get('world_size'), ctx.world_size)
    rng_states = saved.get('rng') or {}
    if same_world:
        if ctx.rank < len(rng_states.get('train', [])):
            state.rng.bit_generator.state = rng_states['train'][ctx.rank]
        if ctx.rank < len(rng_states.get('global', [])):
            set_rng_state(rng_states['global'][ctx.rank])
    logger.info("Resuming from '%s' (iteration %d).", path, state.iteration)
    return state


#: option keys whose change a resumed run ignores silently (derived from the folder, or used only at the start)
_RESUME_IGNORED = ('path.', 'is_train', 'name')


def _compare_resumed_options(saved: Optional[Dict[str, Any]], opt: Dict[str, Any], path: str) -> None:
    """Log every option that changed since the state was saved; refuse a different network.

    Everything else takes effect from the resumed iteration on: learning rate, schedule, total
    iterations, batch sizes (then the data order differs from an uninterrupted run), logging.
    """
    if not saved:
        return
    changes = [(k, a, b) for k, a, b in option_differences(saved, to_plain(opt)) if not k.startswith(_RESUME_IGNORED)]
    network = [c for c in changes if c[0].startswith('network_g.')]
    if network:
        detail = ', '.join(f'{k}: {a!r} -> {b!r}' for k, a, b in network)
        raise OptionError(f"Cannot resume '{path}' with another network ({detail}): its weights do not fit. Keep "
                          'network_g as it was, or start a new run from the weights (path.pretrain_network_g).')
    for key, before, now in changes:
        logger.warning('Resuming with a changed option: %s = %r (was %r when the state was saved); it applies from '
                       'here on.', key, now, before)


def build_data(opt: Dict[str, Any], ctx: RunContext, schedule: ProgressiveSchedule, state: TrainState
               ) -> Tuple[Any, List[Tuple[str, Any]]]:
    """The training loader (positioned at the resumed iteration) and this rank's share of each validation set.

    Everything that can be checked is checked here, before the first iteration (:func:`preflight`).
    """
    dopt = opt['datasets']['train']
    train_set = build_dataset(dopt)
    val_sets = [(d['name'] or key, build_dataset(d)) for key, d in opt['datasets'].items() if d['phase'] == 'val']
    preflight(opt, train_set, val_sets, ctx)
    loader = build_train_loader(train_set, dopt, schedule, state.seed, ctx.rank, ctx.world_size, state.iteration,
                                pin_memory=dopt['pin_memory'] if ctx.device.type == 'cuda' else False)
    return loader, [(name, shard_loader(d, ctx.rank, ctx.world_size)) for name, d in val_sets]


def preflight(opt: Dict[str, Any], train_set: Any, val_sets: List[Tuple[str, Any]], ctx: RunContext) -> None:
    """Check the data against the network before training: every file's header, every validation sample, and
    a spread of training samples (so a bad file fails now, not at the first validation hours later)."""
    net = opt['network_g']
    in_ch, out_ch = net.get('inp_channels'), net.get('out_channels')
    multiple = getattr(ARCH_REGISTRY.get(net['type']), 'size_multiple', 1)
    if ctx.is_main:
        files = scan_files(train_set, 'training set') + sum(scan_files(d, n) for n, d in val_sets)
        logger.info('Checked %d data files.', files)
    if in_ch is not None:
        check_samples(train_set, 'training set', in_ch, out_ch, limit=16)
        for name, dataset in val_sets:
            check_samples(dataset, f'validation set {name}', in_ch, out_ch,
                          size_multiple=1 if opt['val']['window_size'] else multiple)


def save_training_checkpoint(model: Any, opt: Dict[str, Any], ctx: RunContext, state: TrainState, sampler: Any,
                             it: int) -> None:
    """Weights and training state at iteration ``it`` (random states of every rank; written by the main process)."""
    train_rngs = all_gather_object(state.rng.bit_generator.state)
    global_rngs = all_gather_object(rng_state())
    if ctx.is_main:
        save_checkpoint(model, opt, it, {'epoch': sampler.epoch_at(it), 'world_size': ctx.world_size,
                                         'best_metrics': state.best, 'wandb_id': state.wandb_id,
                                         'rng': {'train': train_rngs, 'global': global_rngs},
                                         'loader': dict(zip(('epoch', 'pos'), sampler.position(it))),
                                         'options': to_plain(opt)})
        logger.info('Saved checkpoint at iteration %d.', it)
    barrier()


# ---------------------------------------------------------------------------------------------- the loop
def do_train(opt: Dict[str, Any], ctx: RunContext, model: Any, schedule: ProgressiveSchedule, loader: Any,
             val_sets: List[Tuple[str, Any]], state: TrainState, tb: Any = None) -> None:
    """Iterations ``state.iteration + 1 .. total_iter``, then the final checkpoint and validation.

    Checkpoints are written before the validation of the same iteration, so a failing validation never
    costs trained iterations.  SIGTERM/SIGINT stop the run after the current iteration with a checkpoint
    (:class:`basicsr.utils.errors.TrainingInterrupted`).
    """
    total, log_cfg, val_opt = opt['train']['total_iter'], opt['logger'], opt['val']
    vis_dir, start = opt['path']['visualization'], state.iteration
    prefetcher, sampler = make_prefetcher(loader, opt['datasets']['train']['prefetch_mode'], ctx.device), \
        loader.batch_sampler
    msg_logger = MessageLogger(opt['name'], total, start, tb)
    losses = torch.zeros(max(total - start, 0), device=ctx.device)  # read on the host only when logging
    window_start, t_data, t_iter, stage = start, 0.0, 0.0, None
    bar = tqdm(total=total, initial=start, desc=opt['name'], unit='it', dynamic_ncols=True,
               disable=not ctx.is_main or None)
    with StopRequest() as stop:
        for it in range(start + 1, total + 1):
            if schedule.stage(it) != stage:
                stage = schedule.stage(it)
                logger.info('Stage %d/%d from iteration %d: patch %dx%d, %d per process x %d accumulation x %d '
                            'process(es) = global batch %d.', stage.index + 1, len(schedule.stages), it,
                            stage.patch_size, stage.patch_size, stage.micro_batch, stage.accum, ctx.world_size,
                            stage.mini_batch * ctx.world_size)
            model.update_learning_rate(it)
            t0 = time.perf_counter()
            try:
                micro = [_next_batch(prefetcher, schedule, stage, state.rng, it) for _ in range(stage.accum)]
            except UserError:  # a bad file deep in the training set: keep the iterations done so far
                if not ctx.distributed and state.iteration > start:
                    model.check_finite(state.iteration)
                    save_training_checkpoint(model, opt, ctx, state, sampler, state.iteration)
                raise
            t_data += time.perf_counter() - t0
            losses[it - start - 1] = model.optimize_parameters(micro, state.rng)['l_pix']
            t_iter += time.perf_counter() - t0  # data + step; checkpoints and validation are not counted
            state.iteration = it
            bar.update(1)

            if it % log_cfg['print_freq'] == 0 or it == total:
                model.check_finite(it)
                window = losses[window_start - start:it - start]
                loss = reduce_mean({'l_pix': float(window.mean())}, ctx.device)
                n = it - window_start
                msg_logger({'epoch': sampler.epoch_at(it), 'iter': it, 'lrs': model.get_current_learning_rate(),
                            'time': t_iter / n, 'data_time': t_data / n, **loss})
                bar.set_postfix(l_pix=f"{loss['l_pix']:.4e}", refresh=False)
                window_start, t_data, t_iter = it, 0.0, 0.0
            signum = stop.requested()
            if signum or (it % log_cfg['save_checkpoint_freq'] == 0 and it != total):
                model.check_finite(it)
                save_training_checkpoint(model, opt, ctx, state, sampler, it)
            if signum:
                bar.close()
                state.losses = losses[:it - start].tolist()
                raise TrainingInterrupted(f'{SIGNAL_NAMES.get(signum, signum)} at iteration {it}: checkpoint saved in '
                                          f"'{opt['path']['training_states']}'; continue with --auto_resume.", signum)
            if val_sets and val_opt['val_freq'] and it % val_opt['val_freq'] == 0 and it != total:
                run_validation(model, val_sets, val_opt, it, vis_dir, tb, state.best)
    bar.close()
    state.losses = losses.tolist()

    if start >= total:
        logger.info('Nothing to do: the run already reached iteration %d.', total)
        return
    model.check_finite(total)
    save_training_checkpoint(model, opt, ctx, state, sampler, total)
    if ctx.is_main:
        model.save_network(net_path(opt['path']['models'], 'latest'))
    if val_sets:
        run_validation(model, val_sets, val_opt, total, vis_dir, tb, state.best, final=True)
    logger.info('Training finished at iteration %d.', total)


def _next_batch(prefetcher: Any, schedule: ProgressiveSchedule, stage: Any, rng: np.random.Generator,
                it: int) -> Dict[str, Any]:
    batch = prefetcher.next()
    if batch is None:
        raise RuntimeError(f'the training loader ran out at iteration {it}')
    if schedule.official:
        batch = official_progressive_crop(batch, stage.micro_batch, stage.patch_size, rng)
    return batch


# ---------------------------------------------------------------------------------------------- entry
def train(args: argparse.Namespace) -> Dict[str, Any]:
    """Run (or resume) one training job; returns a summary (final iteration, best metrics, losses)."""
    opt, ctx, seed, lock = setup(args)
    tb, state = None, None
    try:
        model, schedule = build_training(opt, ctx, seed)
        state = resume_or_load(opt, ctx, args, model, seed)
        loader, val_sets = build_data(opt, ctx, schedule, state)
        if ctx.is_main and opt['logger']['use_tb_logger'] and 'debug' not in opt['name']:
            # wandb first: with sync_tensorboard it must patch TensorBoard before the writer exists
            state.wandb_id = init_wandb_logger(opt, state.wandb_id)
            tb = init_tb_logger(tb_log_dir(opt))
        do_train(opt, ctx, model, schedule, loader, val_sets, state, tb)
    finally:
        if tb is not None:
            tb.close()
        if state is not None and state.wandb_id is not None:
            import wandb
            wandb.finish()
        if lock is not None:
            lock.release()
    return {'iter': state.iteration, 'best_metrics': state.best, 'world_size': ctx.world_size,
            'losses': state.losses, 'experiments_root': opt['path']['experiments_root']}


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Train (raises on any error; the command line goes through :func:`basicsr.utils.cli.run_main`)."""
    args = parse_args(argv)
    try:
        return train(args)
    except BaseException as e:
        log_exception_to_files(e)  # the traceback stays in the run's log file
        raise
    finally:
        close_file_handlers()
        cleanup_dist()


if __name__ == '__main__':
    sys.exit(run_main(main))
