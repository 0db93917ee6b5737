"""``ImageCleanModel``: the training model of every Restormer recipe.

Holds the network (DDP-wrapped when distributed), the pixel loss, the optimizer and LR scheduler,
optional EMA, mixed precision and mixup, and performs one optimizer step over one or more
micro-batches (gradient accumulation).  The training loop itself lives in ``basicsr/train.py``.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from basicsr.data.prefetcher import to_device
from basicsr.models.archs import build_network
from basicsr.models.ema import ModelEMA
from basicsr.models.mixup import MixingAugment
from basicsr.models.optimizers import build_optimizer
from basicsr.utils.checkpoint import load_network, save_network
from basicsr.utils.device import autocast_context, compile_network
from basicsr.utils.inference import restore
from basicsr.utils.registry import LOSS_REGISTRY, MODEL_REGISTRY, SCHEDULER_REGISTRY

__all__ = ['ImageCleanModel']

logger = logging.getLogger('basicsr')
#: fp16 training stops after this many consecutive steps with a non-finite loss
MAX_NONFINITE_FP16_STEPS = 20


@MODEL_REGISTRY.register()
class ImageCleanModel:
    """Image restoration model (official name).

    Args:
        opt: resolved options (see ``basicsr.config.parse``).
        device: where the network runs.
        distributed: wrap the network in ``DistributedDataParallel``.
    """

    def __init__(self, opt: Dict[str, Any], device: torch.device, distributed: bool = False) -> None:
        self.opt = opt
        self.device = device
        self.is_train = bool(opt.get('is_train'))
        train_opt = opt.get('train') or {}
        self.channels_last = bool(train_opt.get('channels_last')) and self.is_train
        path = opt['path']
        net = build_network(opt['network_g'], path.get('pretrain_network_g'),
                            param_key=path.get('param_key_g', 'params'), strict=path.get('strict_load_g', True))
        net = net.to(device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net_g = net
        self.net_g_ema: Optional[ModelEMA] = None
        self.net_train: nn.Module = net
        if self.is_train:
            self._init_training(train_opt, distributed)

    # ------------------------------------------------------------------ set-up
    def _init_training(self, train_opt: Dict[str, Any], distributed: bool) -> None:
        self.net_g.train()
        checkpointing = train_opt.get('activation_checkpointing')
        if checkpointing:
            self.net_g.set_activation_checkpointing('block' if checkpointing is True else checkpointing)
        decay = train_opt.get('ema_decay') or 0.0
        if decay > 0:
            self.net_g_ema = ModelEMA(self.net_g, decay)
        net = self.net_g
        self.ddp: Optional[DistributedDataParallel] = None
        if distributed:
            ids = [self.device.index] if self.device.type == 'cuda' else None
            net = self.ddp = DistributedDataParallel(
                net, device_ids=ids, find_unused_parameters=self.opt.get('find_unused_parameters', False))
        compile_opt = train_opt.get('compile')
        if compile_opt:
            net = compile_network(net, compile_opt)
        self.net_train = net
        pixel_opt = train_opt.get('pixel_opt') or {'type': 'L1Loss'}
        self.cri_pix = LOSS_REGISTRY.build(pixel_opt).to(self.device)
        optim_opt = train_opt.get('optim_g')
        if not optim_opt:
            raise ValueError('train.optim_g is required for training')
        params = [p for p in self.net_g.parameters() if p.requires_grad]
        self.optimizer_g = build_optimizer(optim_opt, params)
        self.optimizers = [self.optimizer_g]
        self.initial_lrs = [g['lr'] for g in self.optimizer_g.param_groups]
        sched_opt = train_opt.get('scheduler')
        self.scheduler = SCHEDULER_REGISTRY.build(sched_opt, self.optimizer_g) if sched_opt else None
        self.warmup_iter = train_opt.get('warmup_iter', -1)
        self.grad_clip = train_opt['grad_clip_norm'] if train_opt.get('use_grad_clip', True) else None
        self.amp = train_opt.get('amp') or None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == 'fp16')
        mix = train_opt.get('mixing_augs') or {}
        self.mixup = (MixingAugment(mix.get('mixup_beta', 1.2), mix.get('use_identity', False))
                      if mix.get('mixup') else None)
        self.nonfinite_steps = torch.zeros((), dtype=torch.int64, device=self.device)

    # ------------------------------------------------------------------ training step
    def update_learning_rate(self, current_iter: int) -> None:
        """Set the LR of 1-based iteration ``current_iter`` (closed form: exact after resume).

        Same semantics as the official loop: the scheduler is at step ``current_iter - 1``, and during
        warm-up (``current_iter < warmup_iter``) the LR is ``initial_lr * current_iter / warmup_iter``.
        """
        lrs = self.scheduler.lr_at(current_iter - 1) if self.scheduler is not None else list(self.initial_lrs)
        if self.warmup_iter > 0 and current_iter < self.warmup_iter:
            lrs = [v * current_iter / self.warmup_iter for v in self.initial_lrs]
        for group, lr in zip(self.optimizer_g.param_groups, lrs):
            group['lr'] = lr

    def get_current_learning_rate(self) -> List[float]:
        return [g['lr'] for g in self.optimizer_g.param_groups]

    def _prepare(self, batch: Dict[str, Any]) -> Dict[str, torch.Tensor]:
        batch = to_device(batch, self.device, non_blocking=True)
        if self.channels_last:
            batch['lq'] = batch['lq'].contiguous(memory_format=torch.channels_last)
            batch['gt'] = batch['gt'].contiguous(memory_format=torch.channels_last)
        return batch

    def optimize_parameters(self, micro_batches: Sequence[Dict[str, Any]], rng: np.random.Generator
                            ) -> Dict[str, torch.Tensor]:
        """One optimizer step over ``micro_batches`` (gradients accumulated; equal-sized batches
        give exactly the gradient of their union).

        Returns the mean loss as a detached tensor on the training device: reading it on the host
        (``float``) waits for the GPU, so the loop does that only when it logs.  Non-finite losses are
        counted on the device as well and reported by :meth:`check_finite`.
        """
        self.optimizer_g.zero_grad(set_to_none=True)
        n = len(micro_batches)
        total = torch.zeros((), device=self.device)
        for i, batch in enumerate(micro_batches):
            batch = self._prepare(batch)
            gt, lq = batch['gt'], batch['lq']
            if self.mixup is not None:
                gt, lq = self.mixup(gt, lq, rng)
            # DDP all-reduces gradients on the last micro-batch only (also through a torch.compile wrapper)
            ctx = self.ddp.no_sync() if self.ddp is not None and i < n - 1 else contextlib.nullcontext()
            with ctx:
                with autocast_context(self.device, self.amp):
                    preds = self.net_train(lq)
                    if not isinstance(preds, (list, tuple)):
                        preds = [preds]
                    loss = sum(self.cri_pix(p.float(), gt) for p in preds) / n
                self.scaler.scale(loss).backward()
            total += loss.detach()
        self.nonfinite_steps += ~torch.isfinite(total)
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer_g)
            torch.nn.utils.clip_grad_norm_(self.net_g.parameters(), self.grad_clip)
        # fp16: the grad scaler skips steps with non-finite gradients and lowers its scale
        self.scaler.step(self.optimizer_g)
        self.scaler.update()
        if self.net_g_ema is not None:
            self.net_g_ema.update(self.net_g)
        return {'l_pix': total}

    def check_finite(self, iteration: int) -> None:
        """Raise if losses were non-finite since the last check (on any rank); called before logging and
        before every checkpoint, so non-finite weights are never saved.

        With fp16 the grad scaler skips such steps and lowers its scale: a few are normal, and only more
        than ``MAX_NONFINITE_FP16_STEPS`` since the last check stop training.
        """
        count = self.nonfinite_steps.float()
        if self.ddp is not None:
            torch.distributed.all_reduce(count, op=torch.distributed.ReduceOp.MAX)
        bad = int(count.item())
        self.nonfinite_steps.zero_()
        if bad == 0 or (self.amp == 'fp16' and bad < MAX_NONFINITE_FP16_STEPS):
            return
        raise FloatingPointError(
            f'the training loss became non-finite ({bad} step(s) up to iteration {iteration}); training stops '
            'without saving these weights (the last checkpoint is intact). Lower the learning rate, keep '
            'use_grad_clip on, or check the data (NaN/Inf pixels), then resume with --auto_resume.')

    # ------------------------------------------------------------------ inference
    @property
    def net_eval(self) -> nn.Module:
        """The network used for validation/testing (EMA weights when EMA is on)."""
        return self.net_g_ema.module if self.net_g_ema is not None else self.net_g

    def test(self, lq: torch.Tensor, window_size: int = 8, tile: Optional[int] = None, tile_overlap: int = 32,
             self_ensemble: bool = False) -> torch.Tensor:
        """Restore a batch (pad to ``window_size``, forward, crop, clamp) in eval mode."""
        net = self.net_eval
        was_training = net.training
        net.eval()
        try:
            return restore(net, lq.to(self.device), multiple=window_size, tile=tile, tile_overlap=tile_overlap,
                           self_ensemble=self_ensemble, amp=self.amp if self.is_train else None)
        finally:
            net.train(was_training)

    # ------------------------------------------------------------------ state
    def save_network(self, path: str) -> None:
        """``{'params': ..., ['params_ema': ...]}`` written atomically (official format)."""
        save_network(path, self.net_g, self.net_g_ema.module if self.net_g_ema is not None else None)

    def load_network_file(self, path: str) -> None:
        load_network(self.net_g, path, strict=True, param_key='params')
        if self.net_g_ema is not None:
            load_network(self.net_g_ema.module, path, strict=True, param_key='params_ema')

    def training_state(self) -> Dict[str, Any]:
        return {'optimizers': [o.state_dict() for o in self.optimizers],
                'schedulers': [self.scheduler.state_dict()] if self.scheduler is not None else [],
                'scaler': self.scaler.state_dict()}

    def load_training_state(self, state: Dict[str, Any]) -> None:
        """Restore the optimizer moments and step counts (and the grad scaler) of a saved run.

        The hyper-parameters (learning rate, weight decay, betas) and the LR schedule come from the
        current options, so a resumed run applies changed values (the schedulers are closed-form in the
        iteration: their saved state holds nothing else).
        """
        for o, s in zip(self.optimizers, state['optimizers']):
            current = [{k: v for k, v in g.items() if k != 'params'} for g in o.param_groups]
            o.load_state_dict(s)
            for group, hyper in zip(o.param_groups, current):
                group.update(hyper)
        if state.get('scaler'):
            self.scaler.load_state_dict(state['scaler'])
