"""The option format: every key, its type, default and meaning.

Official Restormer option files use a subset of these keys and load unchanged.  Keys marked
"(not read)" are accepted for compatibility with official files but have no effect.

Component sections (``network_g``, ``train.optim_g``, ...) are checked against the registries, so
this module imports the packages that fill them: the option system sits above the components.
"""
from __future__ import annotations

from typing import Any, Dict

import basicsr.data  # noqa: F401  (registers the datasets)
import basicsr.losses  # noqa: F401  (registers the losses)
import basicsr.metrics  # noqa: F401  (registers the metrics)
import basicsr.models  # noqa: F401  (registers the networks, models, optimizers and schedulers)
from basicsr.config.schema import REQUIRED, Field, Section, check_component_kwargs, validate_and_fill
from basicsr.utils import registry
from basicsr.utils.errors import OptionError

__all__ = ['ROOT', 'DATASET', 'DATASET_PHASES', 'check_model_type']

DATASET_PHASES = ('train', 'val', 'test')

# --------------------------------------------------------------------------------------------------
# datasets.<phase>: one union of the keys of all registered datasets; each dataset checks at
# construction which of them it needs.
DATASET = Section({
    'name': Field('str', None, 'display name (TrainSet/ValSet in official files)'),
    'type': Field('str', REQUIRED, 'registered dataset class, e.g. Dataset_PairedImage', nullable=False),
    'phase': Field('str', None, 'set by the parser from the key (train/val/test)'),
    'scale': Field('int', 1, 'set by the parser from the top-level scale (Restormer datasets are scale 1)'),
    'dataroot_gt': Field('str', None, 'folder (or .lmdb) of ground-truth images'),
    'dataroot_lq': Field('str', None, "folder (or .lmdb) of degraded images; 'none' for synthetic noise"),
    'dataroot_lqL': Field('str', None, 'dual-pixel left views (16-bit PNG)'),
    'dataroot_lqR': Field('str', None, 'dual-pixel right views (16-bit PNG)'),
    'meta_info_file': Field('str', None, 'text file listing the GT file names to use (first token per line)'),
    'filename_tmpl': Field('str', '{}', 'LQ name = filename_tmpl.format(GT base name)'),
    'io_backend': Section({'type': Field('str', 'disk', 'storage backend', choices=('disk', 'lmdb'))}),
    'geometric_augs': Field('bool', False, 'random flips/90-degree rotations (8 dihedral modes)'),
    'use_shuffle': Field('bool', True, 'shuffle the training set every epoch'),
    'num_worker_per_gpu': Field('int', 4, 'data-loading worker processes per GPU/process', interval='[0, inf)'),
    'batch_size_per_gpu': Field('int', 8, 'loaded batch per GPU (official mode) / upper bound of mini_batch_sizes',
                                interval='[1, inf)'),
    'mini_batch_sizes': Field('list[int]', None, 'per-GPU batch of each progressive stage', interval='[1, inf)'),
    'iters': Field('list[int]', None, 'iterations of each progressive stage (sum = train.total_iter)',
                   interval='[1, inf)'),
    'gt_size': Field('int', None, 'largest training patch (= max(gt_sizes))', interval='[1, inf)'),
    'gt_sizes': Field('list[int]', None, 'patch size of each progressive stage', interval='[1, inf)'),
    'progressive_mode': Field('str', 'stage_aware', "stage_aware: the loader yields each stage's batch and patch; "
                              'official: load batch_size_per_gpu x gt_size crops and subsample in the loop',
                              choices=('stage_aware', 'official')),
    'dataset_enlarge_ratio': Field('int', 1, 'repeat the training set this many times per epoch', interval='[1, inf)'),
    'prefetch_mode': Field('str', None, "None/'cpu': plain loader; 'cuda': copy the next batch on a side stream",
                           choices=('cpu', 'cuda')),
    'pin_memory': Field('bool', None, 'page-locked batches (default: on when training on CUDA)'),
    'mean': Field('list[float]', None, 'normalise inputs: (x - mean) / std'),
    'std': Field('list[float]', None, 'normalise inputs: (x - mean) / std', interval='(0, inf)'),
    'sigma_type': Field('str', None, 'Gaussian training noise level: constant, random (uniform) or choice',
                        choices=('constant', 'random', 'choice')),
    'sigma_range': Field('number_or_list', None, 'sigma (0-255 scale): a number for constant, [min, max] or choices',
                         interval='[0, 255]'),
    'sigma_test': Field(('int', 'float'), None, 'validation noise sigma (0-255 scale)', interval='[0, 255]'),
    'in_ch': Field('int', 3, 'Gaussian denoising: 1 = grayscale, 3 = colour', choices=(1, 3)),
    'color': Field('str', None, 'paired/single-image datasets: read images as gray or color (default color)',
                   choices=('gray', 'color')),
})


#: keys every dataset accepts (loader, progressive schedule, transforms, storage)
COMMON_DATASET_KEYS = frozenset({
    'name', 'type', 'phase', 'scale', 'io_backend', 'filename_tmpl', 'meta_info_file', 'geometric_augs', 'use_shuffle',
    'num_worker_per_gpu', 'batch_size_per_gpu', 'mini_batch_sizes', 'iters', 'gt_size', 'gt_sizes',
    'progressive_mode', 'dataset_enlarge_ratio', 'prefetch_mode', 'pin_memory', 'mean', 'std'})


def _check_dataset_specific_keys(raw: Dict[str, Any], cls: Any, key: str, registry: Any) -> None:
    accepted = getattr(cls, 'option_keys', None)
    if accepted is None:
        return
    for k, v in raw.items():
        # a key left at its default changes nothing (the option files a run saves list every key)
        if k in COMMON_DATASET_KEYS or k in accepted or v == DATASET.fields[k].default:
            continue
        owners = [n for n in registry if k in (getattr(registry.get(n), 'option_keys', None) or ())]
        hint = f" (it is an option of {', '.join(sorted(set(owners)))})" if owners else ''
        raise OptionError(f"Option '{key}.{k}' is not read by {cls.__name__}{hint}. Keys of {cls.__name__}: "
                          f"{', '.join(accepted)} and the common loader keys.")


def _check_datasets(opt: Dict[str, Any], key: str) -> Dict[str, Any]:
    out = {}
    for name, ds in opt.items():
        phase = str(name).split('_')[0]
        if phase not in DATASET_PHASES:
            raise OptionError(f"Dataset key '{key}.{name}' must be 'train', 'val', 'test' or start with "
                              "'val_'/'test_' (e.g. val_2).")
        out[name] = validate_and_fill(ds, DATASET, f'{key}.{name}')
        dtype = out[name]['type']
        if dtype not in registry.DATASET_REGISTRY:
            raise OptionError(f"Option '{key}.{name}.type': {registry.DATASET_REGISTRY.unknown_message(dtype)}")
        _check_dataset_specific_keys(ds, registry.DATASET_REGISTRY.get(dtype), f'{key}.{name}',
                                     registry.DATASET_REGISTRY)
        if out[name]['phase'] is None:
            out[name]['phase'] = phase
    return out


def check_model_type(opt: Dict[str, Any]) -> None:
    if opt.get('model_type') not in registry.MODEL_REGISTRY:
        raise OptionError(f"Option 'model_type': {registry.MODEL_REGISTRY.unknown_message(opt.get('model_type'))}")


def _check_component(registry_name: str, skip: tuple = ()) -> Any:
    def check(opt: Dict[str, Any], key: str) -> Dict[str, Any]:
        reg = getattr(registry, registry_name)
        if 'type' not in opt:
            raise OptionError(f"Option '{key}.type' is missing. Known types: {', '.join(reg.keys())}.")
        if opt['type'] not in reg:
            raise OptionError(f"Option '{key}.type': {reg.unknown_message(opt['type'])}")
        check_component_kwargs(reg.get(opt['type']), registry.component_kwargs(opt), key, skip=skip)
        return dict(opt)
    return check


def _check_metrics(opt: Dict[str, Any], key: str) -> Dict[str, Any]:
    check = _check_component('METRIC_REGISTRY', skip=('img', 'img2'))
    out = {}
    for name, mopt in opt.items():
        if not isinstance(mopt, dict):
            raise OptionError(f"Option '{key}.{name}' must be a mapping with a 'type' (e.g. calculate_psnr).")
        lower_is_better = str(mopt.get('type', '')).startswith(('calculate_mae', 'calculate_lpips'))
        better = mopt.get('better', 'lower' if lower_is_better else 'higher')
        if better not in ('higher', 'lower'):
            raise OptionError(f"Option '{key}.{name}.better' must be 'higher' or 'lower', got {better!r}.")
        out[name] = dict(check({k: v for k, v in mopt.items() if k != 'better'}, f'{key}.{name}'), better=better)
    return out


# --------------------------------------------------------------------------------------------------
ROOT = Section({
    'name': Field('str', REQUIRED, 'experiment name (folder experiments/<name>)', nullable=False),
    'model_type': Field('str', 'ImageCleanModel', 'registered training model'),
    'scale': Field('int', 1, 'upscaling factor (Restormer restores at the same size: 1)', choices=(1,)),
    'num_gpu': Field(('int', 'str'), 'auto', "0 = CPU; N or 'auto' = CUDA when available. With train.grad_accum: "
                     'auto, the GPU count the batch schedule was written for (official files: 8)'),
    'manual_seed': Field('int', None, 'seed of Python, NumPy and torch (rank is added per process)',
                         interval='[0, 4294967295]'),
    'is_train': Field('bool', None, 'set by the parser'),
    'find_unused_parameters': Field('bool', False, 'DistributedDataParallel option'),
    'cudnn_benchmark': Field('bool', True, 'torch.backends.cudnn.benchmark'),
    'deterministic': Field('bool', False, 'torch.use_deterministic_algorithms (slower; bit-exact reruns on GPU)'),
    'datasets': Section(open_check=_check_datasets, help='datasets.train / datasets.val / datasets.val_N'),
    'network_g': Section(open_check=_check_component('ARCH_REGISTRY'), help='network: type + constructor args',
                         optional=False),
    'path': Section({
        'root': Field('str', None, 'base folder of experiments/ and results/ (default: current directory)'),
        'pretrain_network_g': Field('str', None, 'weights to start from (.pth)'),
        'strict_load_g': Field('bool', True, 'refuse weights that do not match the network exactly'),
        'param_key_g': Field('str', 'params', 'entry of the weights file to load (params or params_ema)'),
        'resume_state': Field('str', None, 'training state (.state) to resume from'),
        'experiments_root': Field('str', None, 'set by the parser: <root>/experiments/<name>'),
        'models': Field('str', None, 'set by the parser'),
        'training_states': Field('str', None, 'set by the parser'),
        'log': Field('str', None, 'set by the parser'),
        'visualization': Field('str', None, 'set by the parser'),
        'results_root': Field('str', None, 'set by the parser (testing)'),
    }),
    'train': Section({
        'total_iter': Field('int', REQUIRED, 'optimizer steps in the whole run', nullable=False, interval='[1, inf)'),
        'warmup_iter': Field('int', -1, 'linear LR warm-up iterations (-1: none)', interval='[-1, inf)'),
        'use_grad_clip': Field('bool', True, 'clip the global gradient norm'),
        'grad_clip_norm': Field('float', 0.01, 'max gradient norm (official value 0.01)', interval='(0, inf)'),
        'scheduler': Section(open_check=_check_component('SCHEDULER_REGISTRY', skip=('optimizer',)),
                             help='LR scheduler: type + args'),
        'mixing_augs': Section({
            'mixup': Field('bool', False, 'mix pairs within the batch (denoising recipes)'),
            'mixup_beta': Field('float', 1.2, 'lambda ~ Beta(mixup_beta, mixup_beta)', interval='(0, inf)'),
            'use_identity': Field('bool', False, 'apply mixup to about half the batches only'),
        }),
        'optim_g': Section(open_check=_check_component('OPTIMIZER_REGISTRY', skip=('params',)),
                           help='optimizer: type + args'),
        'pixel_opt': Section(open_check=_check_component('LOSS_REGISTRY'), help='pixel loss: type + args'),
        'ema_decay': Field('float', 0.0, 'EMA of the weights (0 = off), saved as params_ema', interval='[0, 1)'),
        'amp': Field(('bool', 'str'), False, 'mixed precision: false, bf16 or fp16', choices=(False, 'bf16', 'fp16')),
        'compile': Field(('bool', 'str'), False, "torch.compile the network: true (inductor) or a backend name "
                         "(e.g. 'aot_eager' to check graph capture without code generation)"),
        'channels_last': Field('bool', False, 'channels-last memory format'),
        'activation_checkpointing': Field(('bool', 'str'), False, "recompute activations in the backward pass to "
                                          "save memory: 'block' (true: each transformer block) or 'level' "
                                          '(each stack of blocks)', choices=(False, True, 'block', 'level')),
        'grad_accum': Field(('int', 'str'), 1, "micro-batches per optimizer step; 'auto' reproduces the recipe's "
                            'global batch (global_batch_sizes, else mini_batch_sizes x num_gpu) with the GPUs at hand'),
        'global_batch_sizes': Field('list[int]', None, "global batch per progressive stage for grad_accum: auto "
                                    '(default: mini_batch_sizes x num_gpu; 64/40/32/16/8/8 for the official files)',
                                    interval='[1, inf)'),
    }),
    'val': Section({
        'window_size': Field('int', 8, 'pad inputs to a multiple of this (0: no padding)', interval='[0, inf)'),
        'val_freq': Field('int', 4000, 'validate every N iterations (~: only at the end)', interval='[1, inf)'),
        'save_img': Field('bool', False, 'save restored validation images'),
        'rgb2bgr': Field('bool', True, 'saved images are converted from RGB to BGR'),
        'use_image': Field('bool', True, 'measure on the saved 8-bit image rather than the float output'),
        'max_minibatch': Field('int', None, '(not read)'),
        'suffix': Field('str', None, 'suffix of saved image names'),
        'self_ensemble': Field('bool', False, 'x8 flip/rotation self-ensemble at validation'),
        'tile': Field('int', None, 'validate large images in tiles of this size (a multiple of 8)',
                      interval='[8, inf)'),
        'tile_overlap': Field('int', 32, 'overlap of validation tiles', interval='[0, inf)'),
        'tb_images': Field('int', 3, 'validation images (input/output/target) written to TensorBoard',
                           interval='[0, inf)'),
        'pbar': Field('bool', True, 'progress bar during validation'),
        'metrics': Section(open_check=_check_metrics, help='metrics: <name>: {type: calculate_psnr, [better: '
                                                           'higher|lower], <metric arguments>}'),
    }),
    'logger': Section({
        'print_freq': Field('int', 100, 'log line every N iterations', interval='[1, inf)'),
        'save_checkpoint_freq': Field('int', 4000, 'checkpoint every N iterations', interval='[1, inf)'),
        'use_tb_logger': Field('bool', True, 'TensorBoard logs under tb_logger/<name>'),
        'wandb': Section({
            'project': Field('str', None, 'wandb project (only if wandb is installed)'),
            'resume_id': Field('str', None, 'wandb run id to resume'),
        }),
        'keep_last': Field('int', None, 'keep only the newest N iteration checkpoints (None: all)',
                           interval='[1, inf)'),
    }),
    'dist_params': Section({  # official files carry it; torchrun sets the port, NCCL/gloo follow the device
        'backend': Field('str', 'nccl', '(not read: NCCL on GPU, gloo on CPU)'),
        'port': Field('int', 29500, '(not read: torchrun --master_port / TORCHRUN_ARGS)', interval='[0, 65535]'),
    }),
})
