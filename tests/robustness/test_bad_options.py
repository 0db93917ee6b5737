"""Options that would train garbage, or fail late, are refused when the file is parsed: one OptionError per
case that names the key and the value (or the rule) at fault.  Parsing is pure, so each case takes
milliseconds."""
from __future__ import annotations

import pytest

from basicsr.config import parse
from basicsr.utils.errors import OptionError

#: (overrides of the tiny training file, regex the message must match)
BAD_OPTIONS = [
    # optimisation that trains garbage (gradient ascent, no learning, exploding averages)
    (['train.grad_clip_norm=-1'], r"train\.grad_clip_norm' is out of range: got -1"),
    (['train.grad_clip_norm=0'], r"train\.grad_clip_norm' is out of range: got 0"),
    (['train.optim_g.lr=0'], r"train\.optim_g\.lr' is out of range: got 0"),
    (['train.optim_g.lr=-3e-4'], r"train\.optim_g\.lr' is out of range"),
    (['train.optim_g.lr=fast'], r"train\.optim_g\.lr' has a wrong type"),
    (['train.optim_g.weight_decay=-0.1'], r"train\.optim_g\.weight_decay' is out of range"),
    (['train.optim_g.betas=[0.9, 1.5]'], r"train\.optim_g\.betas' is out of range: got 1\.5"),
    (['train.optim_g.type=AdamX'], r"train\.optim_g\.type.*Did you mean 'Adam'"),
    (['train.optim_g.momentum=0.9'], r"Unknown option 'train\.optim_g\.momentum'"),
    (['train.total_iter=0'], r"train\.total_iter' is out of range: got 0"),
    (['train.warmup_iter=-5'], r"train\.warmup_iter' is out of range"),
    (['train.ema_decay=1.0'], r"train\.ema_decay' is out of range: got 1\.0"),
    (['train.ema_decay=-0.5'], r"train\.ema_decay' is out of range"),
    (['train.mixing_augs.mixup_beta=0'], r"train\.mixing_augs\.mixup_beta' is out of range"),
    (['train.grad_accum=0'], r"train\.grad_accum must be a positive integer or 'auto'"),
    (['train.grad_accum=many'], r"train\.grad_accum must be a positive integer or 'auto', got 'many'"),
    (['train.global_batch_sizes=[4]'], r'global_batch_sizes needs one entry per progressive stage \(2\)'),
    (['train.amp=fp8'], r"train\.amp' has a wrong type or value"),
    (['train.use_grad_clip=maybe'], r"train\.use_grad_clip' has a wrong type"),
    (['train.scheduler.periods=[2, 2]'], r'periods sums to 4, less than train\.total_iter \(8\)'),
    (['train.scheduler.periods=[8, 0]'], r'periods must be a non-empty list of positive'),
    (['train.scheduler.eta_mins=[1e-3]'], r'eta_mins needs one entry per period \(2\)'),
    (['train.scheduler.eta_mins=[-1, 0]'], r"train\.scheduler\.eta_mins' is out of range: got -1"),
    (['train.scheduler.type=CosineAnnealing'], r"train\.scheduler\.type"),
    (['train.pixel_opt.loss_weight=0'], r"train\.pixel_opt\.loss_weight' is out of range"),
    (['train.pixel_opt.reduction=avg'], r"reduction must be one of"),
    (['train.pixel_opt.type=L2Loss'], r"train\.pixel_opt\.type"),
    (['train.total_iters=8'], r"Unknown option 'train\.total_iters'\. Did you mean 'total_iter'"),
    # logging and checkpoints (a bare ZeroDivisionError before)
    (['logger.print_freq=0'], r"logger\.print_freq' is out of range: got 0"),
    (['logger.save_checkpoint_freq=0'], r"logger\.save_checkpoint_freq' is out of range: got 0"),
    (['logger.save_checkpoint_freq=-4'], r"logger\.save_checkpoint_freq' is out of range"),
    (['logger.keep_last=0'], r"logger\.keep_last' is out of range"),
    (['logger.save_checkpoint_frq=4'], r"Did you mean 'save_checkpoint_freq'"),
    # validation that would fail at the first (or last) validation
    (['val.val_freq=0'], r"val\.val_freq' is out of range"),
    (['val.window_size=4'], r'val\.window_size = 4: .* multiples of 8'),
    (['val.window_size=-8'], r"val\.window_size' is out of range"),
    (['val.tile=100'], r'val\.tile = 100: .*multiples of 8'),
    (['val.tile=16', 'val.tile_overlap=16'], r'val\.tile_overlap \(16\) must be smaller than val\.tile'),
    (['val.tb_images=-1'], r"val\.tb_images' is out of range"),
    (['val.metrics.psnr.type=calculate_psnrr'], r"Did you mean 'calculate_psnr'"),
    (['val.metrics.psnr.crop_border=-2'], r"val\.metrics\.psnr\.crop_border' is out of range"),
    (['val.metrics.psnr.better=up'], r"better' must be 'higher' or 'lower'"),
    (['datasets.val.sigma_test=-25'], r"datasets\.val\.sigma_test' is out of range: got -25"),
    (['datasets.val.sigma_test=300'], r"datasets\.val\.sigma_test' is out of range"),
    (['datasets.val.sigma_test=~'], r'datasets\.val\.sigma_test is missing'),
    # progressive patches the network cannot take, and inconsistent schedules
    (['datasets.train.gt_size=36', 'datasets.train.gt_sizes=[16, 36]'], r'gt_size = 36: Restormer needs .*8'),
    (['datasets.train.gt_sizes=[12, 32]'], r'gt_sizes = \[12, 32\]: Restormer needs sides .* multiples of 8'),
    (['datasets.train.gt_sizes=[16, 24]'], r'gt_size \(32\) must equal max\(gt_sizes\) = 24'),
    (['datasets.train.mini_batch_sizes=[4, 0]'], r"mini_batch_sizes' is out of range: got 0"),
    (['datasets.train.mini_batch_sizes=[8, 2]'], r'mini_batch_sizes entry must be <= batch_size_per_gpu \(4\)'),
    (['datasets.train.iters=[4, 5]'], r'iters sums to 9 but train\.total_iter is 8'),
    (['datasets.train.iters=[8]'], r'must have the same length'),
    (['datasets.train.batch_size_per_gpu=0'], r"batch_size_per_gpu' is out of range"),
    (['datasets.train.num_worker_per_gpu=-1'], r"num_worker_per_gpu' is out of range"),
    (['datasets.train.dataset_enlarge_ratio=0'], r"dataset_enlarge_ratio' is out of range"),
    (['datasets.train.gt_size=~', 'datasets.train.gt_sizes=~', 'datasets.train.iters=~',
      'datasets.train.mini_batch_sizes=~'], r'gt_size is missing'),
    # data options that do not fit the data set or the network
    (['datasets.train.sigma_range=[40, 10]'], r'sigma_range must be \[min, max\] for sigma_type random'),
    (['datasets.train.sigma_range=[-5, 10]'], r"sigma_range' is out of range: got -5"),
    (['datasets.train.sigma_type=gaussian'], r"sigma_type' has a wrong type or value"),
    (['datasets.train.in_ch=1'], r'in_ch \(1\) differs from network_g\.inp_channels \(3\)'),
    (['datasets.train.std=[0, 1, 1]'], r"datasets\.train\.std' is out of range: got 0"),
    (['datasets.train.typo_key=1'], r"Unknown option 'datasets\.train\.typo_key'"),
    (['datasets.train.type=Dataset_Paired'], r"Did you mean 'Dataset_PairedImage'"),
    (['datasets.train.dataroot_lqL=/x'], r'not read by Dataset_GaussianDenoising'),
    (['datasets.training.type=Dataset_PairedImage'], r"must be 'train', 'val', 'test'"),
    (['datasets.train.io_backend.type=s3'], r"io_backend\.type' has a wrong type or value"),
    # networks that cannot be built, or silently differ
    (['network_g.heads=[1, 2, 2, 3]'], r'network_g: level 4 width 64 is not divisible by heads\[3\]=3'),
    (['network_g.num_blocks=[1, 1, 1]'], r'network_g: num_blocks and heads need 4 entries'),
    (['network_g.LayerNorm_type=BiasFre'], r"LayerNorm_type must be 'WithBias' or 'BiasFree'"),
    (['network_g.inp_channels=6', 'datasets.train.in_ch=3'], r'in_ch \(3\) differs|dual_pixel_task|global residual'),
    (['network_g.dual_pixel_task=true'], r'dual_pixel_task needs inp_channels: 6'),
    (['network_g.dim=eight'], r"network_g\.dim' has a wrong type"),
    (['network_g.type=Restormr'], r"Did you mean 'Restormer'"),
    # the run as a whole
    (['num_gpu=-1'], r"num_gpu must be 'auto' or an integer >= 0"),
    (['num_gpu=some'], r"num_gpu must be 'auto'"),
    (['manual_seed=-1'], r"manual_seed' is out of range"),
    (['scale=2'], r"scale' has a wrong type or value"),
    (['model_type=ImageRestorationModel'], r"Option 'model_type'.*ImageCleanModel"),
    (['name=~'], r"'name' must not be empty"),
]


@pytest.fixture(scope='module')
def option_file(tmp_path_factory, write_options) -> str:
    return write_options(tmp_path_factory.mktemp('opts'))


@pytest.mark.parametrize('overrides,message', BAD_OPTIONS, ids=[' '.join(o) for o, _ in BAD_OPTIONS])
def test_bad_option_is_refused_at_parse_time(option_file, overrides, message):
    with pytest.raises(OptionError, match=message) as info:
        parse(option_file, overrides=overrides)
    assert str(info.value).startswith(option_file)  # the message names the file too


def test_the_tiny_file_itself_is_fine(option_file):
    assert parse(option_file)['train']['grad_clip_norm'] == 0.01
