"""Option files: the 13 task files carry the official values; official-format files load unchanged;
errors name the key; overrides; parsing has no side effects."""
from __future__ import annotations

import copy
import glob
import os

import pytest
import yaml

from basicsr.config import OptionError, apply_overrides, parse

TASK_FILES = {
    'Deraining/Options/Deraining_Restormer.yml': dict(
        type='Dataset_PairedImage', gt='./Deraining/Datasets/train/Rain13K/target',
        lq='./Deraining/Datasets/train/Rain13K/input', val_gt='./Deraining/Datasets/test/Rain100L/target',
        mixup=False, use_image=True, y=True, ln='WithBias', inp=3, out=3, dp=False),
    'Motion_Deblurring/Options/Deblurring_Restormer.yml': dict(
        type='Dataset_PairedImage', gt='./Motion_Deblurring/Datasets/train/GoPro/target_crops',
        lq='./Motion_Deblurring/Datasets/train/GoPro/input_crops',
        val_gt='./Motion_Deblurring/Datasets/val/GoPro/target_crops', mixup=False, use_image=True, y=False,
        ln='WithBias', inp=3, out=3, dp=False),
    'Defocus_Deblurring/Options/DefocusDeblur_Single_8bit_Restormer.yml': dict(
        type='Dataset_PairedImage', gt='./Defocus_Deblurring/Datasets/train/DPDD/target_crops',
        lq='./Defocus_Deblurring/Datasets/train/DPDD/inputC_crops',
        val_gt='./Defocus_Deblurring/Datasets/val/DPDD/target_crops', mixup=False, use_image=False, y=False,
        ln='WithBias', inp=3, out=3, dp=False),
    'Defocus_Deblurring/Options/DefocusDeblur_DualPixel_16bit_Restormer.yml': dict(
        type='Dataset_DefocusDeblur_DualPixel_16bit', gt='./Defocus_Deblurring/Datasets/train/DPDD/target_crops',
        lqL='./Defocus_Deblurring/Datasets/train/DPDD/inputL_crops',
        lqR='./Defocus_Deblurring/Datasets/train/DPDD/inputR_crops',
        val_gt='./Defocus_Deblurring/Datasets/val/DPDD/target_crops', mixup=False, use_image=False, y=False,
        ln='WithBias', inp=6, out=3, dp=True),
    'Denoising/Options/RealDenoising_Restormer.yml': dict(
        type='Dataset_PairedImage', gt='./Denoising/Datasets/train/SIDD/target_crops',
        lq='./Denoising/Datasets/train/SIDD/input_crops', val_gt='./Denoising/Datasets/val/SIDD/target_crops',
        mixup=True, use_image=False, y=False, ln='BiasFree', inp=3, out=3, dp=False),
}
for color, ch, val in (('Color', 3, 'CBSD68'), ('Gray', 1, 'BSD68')):
    for suffix, stype, srange, stest in (('', 'random', [0, 50], 25), ('Sigma15', 'constant', 15, 15),
                                         ('Sigma25', 'constant', 25, 25), ('Sigma50', 'constant', 50, 50)):
        TASK_FILES[f'Denoising/Options/Gaussian{color}Denoising_Restormer{suffix}.yml'] = dict(
            type='Dataset_GaussianDenoising', gt='./Denoising/Datasets/train/DFWB', lq='none',
            val_gt=f'./Denoising/Datasets/test/{val}', mixup=True, use_image=False, y=False, ln='BiasFree', inp=ch,
            out=ch, dp=False, sigma_type=stype, sigma_range=srange, sigma_test=stest, in_ch=ch)


def test_there_are_exactly_13_task_files(repo_root):
    found = sorted(os.path.relpath(p, repo_root) for p in glob.glob(f'{repo_root}/*/Options/*.yml'))
    assert found == sorted(TASK_FILES)


@pytest.mark.parametrize('rel', sorted(TASK_FILES))
def test_task_file_has_official_values(rel, repo_root):
    exp = TASK_FILES[rel]
    opt = parse(os.path.join(repo_root, rel), is_train=True, root_path=str(repo_root))
    assert opt['name'] == os.path.splitext(os.path.basename(rel))[0]
    assert (opt['model_type'], opt['scale'], opt['num_gpu'], opt['manual_seed']) == ('ImageCleanModel', 1, 8, 100)
    tr, va = opt['datasets']['train'], opt['datasets']['val']
    assert tr['type'] == va['type'] == exp['type']
    assert (tr['name'], va['name'], tr['phase'], va['phase']) == ('TrainSet', 'ValSet', 'train', 'val')
    assert tr['dataroot_gt'] == exp['gt'] and va['dataroot_gt'] == exp['val_gt']
    for key in ('lq', 'lqL', 'lqR'):
        if key in exp:
            assert tr[f'dataroot_{key}'] == exp[key]
    assert tr['geometric_augs'] is True and tr['filename_tmpl'] == '{}' and tr['io_backend'] == {'type': 'disk'}
    assert (tr['num_worker_per_gpu'], tr['batch_size_per_gpu'], tr['dataset_enlarge_ratio']) == (8, 8, 1)
    assert tr['mini_batch_sizes'] == [8, 5, 4, 2, 1, 1]
    assert tr['iters'] == [92000, 64000, 48000, 36000, 36000, 24000]
    assert tr['gt_size'] == 384 and tr['gt_sizes'] == [128, 160, 192, 256, 320, 384]
    assert tr['prefetch_mode'] is None and tr['use_shuffle'] is True
    if 'sigma_type' in exp:
        assert tr['sigma_type'] == exp['sigma_type'] and tr['sigma_range'] == exp['sigma_range']
        assert va['sigma_test'] == exp['sigma_test'] and tr['in_ch'] == va['in_ch'] == exp['in_ch']
    net = opt['network_g']
    assert net == dict(type='Restormer', inp_channels=exp['inp'], out_channels=exp['out'], dim=48,
                       num_blocks=[4, 6, 6, 8], num_refinement_blocks=4, heads=[1, 2, 4, 8], ffn_expansion_factor=2.66,
                       bias=False, LayerNorm_type=exp['ln'], dual_pixel_task=exp['dp'])
    assert opt['path']['pretrain_network_g'] is None and opt['path']['strict_load_g'] is True
    t = opt['train']
    assert (t['total_iter'], t['warmup_iter'], t['use_grad_clip'], t['grad_clip_norm']) == (300000, -1, True, 0.01)
    assert t['scheduler'] == dict(type='CosineAnnealingRestartCyclicLR', periods=[92000, 208000],
                                  restart_weights=[1, 1], eta_mins=[0.0003, 0.000001])
    assert t['mixing_augs'] == dict(mixup=exp['mixup'], mixup_beta=1.2, use_identity=True)
    assert t['optim_g'] == dict(type='AdamW', lr=3e-4, weight_decay=1e-4, betas=[0.9, 0.999])
    assert t['pixel_opt'] == dict(type='L1Loss', loss_weight=1, reduction='mean')
    v = opt['val']
    assert (v['window_size'], v['val_freq'], v['save_img'], v['rgb2bgr'], v['use_image']) == (
        8, 4000, False, True, exp['use_image'])
    assert v['metrics'] == {'psnr': dict(type='calculate_psnr', crop_border=0, test_y_channel=exp['y'],
                                         better='higher')}
    lg = opt['logger']
    assert (lg['print_freq'], lg['save_checkpoint_freq'], lg['use_tb_logger']) == (1000, 4000, True)
    assert opt['dist_params'] == {'backend': 'nccl', 'port': 29500}


OFFICIAL_STYLE_YAML = """
# general settings (written in the format of the official Restormer option files)
name: GaussianColorDenoising_Restormer
model_type: ImageCleanModel
scale: 1
num_gpu: 8  # set num_gpu: 0 for cpu mode
manual_seed: 100

datasets:
  train:
    name: TrainSet
    type: Dataset_GaussianDenoising
    sigma_type: random
    sigma_range: [0,50]
    in_ch: 3
    dataroot_gt: ./Denoising/Datasets/train/DFWB
    dataroot_lq: none
    geometric_augs: true
    filename_tmpl: '{}'
    io_backend:
      type: disk
    use_shuffle: true
    num_worker_per_gpu: 8
    batch_size_per_gpu: 8
    mini_batch_sizes: [8,5,4,2,1,1]
    iters: [92000,64000,48000,36000,36000,24000]
    gt_size: 384
    gt_sizes: [128,160,192,256,320,384]
    dataset_enlarge_ratio: 1
    prefetch_mode: ~
  val:
    name: ValSet
    type: Dataset_GaussianDenoising
    sigma_test: 25
    in_ch: 3
    dataroot_gt: ./Denoising/Datasets/test/CBSD68
    dataroot_lq: none
    io_backend:
      type: disk

network_g:
  type: Restormer
  inp_channels: 3
  out_channels: 3
  dim: 48
  num_blocks: [4,6,6,8]
  num_refinement_blocks: 4
  heads: [1,2,4,8]
  ffn_expansion_factor: 2.66
  bias: False
  LayerNorm_type: BiasFree
  dual_pixel_task: False

path:
  pretrain_network_g: ~
  strict_load_g: true
  resume_state: ~

train:
  total_iter: 300000
  warmup_iter: -1
  use_grad_clip: true
  scheduler:
    type: CosineAnnealingRestartCyclicLR
    periods: [92000, 208000]
    restart_weights: [1,1]
    eta_mins: [0.0003,0.000001]
  mixing_augs:
    mixup: true
    mixup_beta: 1.2
    use_identity: true
  optim_g:
    type: AdamW
    lr: !!float 3e-4
    weight_decay: !!float 1e-4
    betas: [0.9, 0.999]
  pixel_opt:
    type: L1Loss
    loss_weight: 1
    reduction: mean

val:
  window_size: 8
  val_freq: !!float 4e3
  save_img: false
  rgb2bgr: true
  use_image: false
  max_minibatch: 8
  metrics:
    psnr:
      type: calculate_psnr
      crop_border: 0
      test_y_channel: false

logger:
  print_freq: 1000
  save_checkpoint_freq: !!float 4e3
  use_tb_logger: true
  wandb:
    project: ~
    resume_id: ~

dist_params:
  backend: nccl
  port: 29500
"""


def test_official_format_file_loads_unchanged_and_equals_ours(tmp_path, repo_root):
    path = tmp_path / 'GaussianColorDenoising_Restormer.yml'
    path.write_text(OFFICIAL_STYLE_YAML)
    official = parse(str(path), root_path=str(tmp_path))
    ours = parse(os.path.join(repo_root, 'Denoising/Options/GaussianColorDenoising_Restormer.yml'),
                 root_path=str(tmp_path))
    assert official['val']['val_freq'] == 4000 and isinstance(official['val']['val_freq'], int)
    assert official == ours


def _write(tmp_path, text, name='opt.yml'):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _base_text(**edits):
    data = yaml.safe_load(OFFICIAL_STYLE_YAML.replace('!!float ', ''))
    for dotted, value in edits.items():
        node = data
        *parents, last = dotted.split('.')
        for k in parents:
            node = node[k]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(data)


_DELETE = object()


@pytest.mark.parametrize('edit, pattern', [
    ({'train.totl_iter': 5}, r"Unknown option 'train.totl_iter'. Did you mean 'total_iter'"),
    ({'datasets.train.gt_szie': 5}, r"Unknown option 'datasets.train.gt_szie'. Did you mean 'gt_size'"),
    ({'network_g.num_block': [1, 1, 1, 1]}, r"Unknown option 'network_g.num_block'. Did you mean 'num_blocks'"),
    ({'train.optim_g.weight_decy': 0.1}, r"'train.optim_g.weight_decy'. Did you mean 'weight_decay'"),
    ({'network_g.type': 'Restormr'}, r"No arch named 'Restormr'. Did you mean 'Restormer'"),
    ({'datasets.train.type': 'Dataset_PairedImages'}, r"Did you mean 'Dataset_PairedImage'"),
    ({'model_type': 'ImageCleanModl'}, r"Did you mean 'ImageCleanModel'"),
    ({'val.metrics.psnr.type': 'calculate_psnrr'}, r"Did you mean 'calculate_psnr'"),
    ({'val.metrics.psnr.better': 'more'}, r"'val.metrics.psnr.better' must be 'higher' or 'lower'"),
    ({'train.total_iter': 'many'}, r"'train.total_iter' has a wrong type or value: expected int, got str 'many'"),
    ({'network_g.bias': 'no'}, r"'network_g.bias' has a wrong type"),
    ({'datasets.train.geometric_augs': 1}, r"'datasets.train.geometric_augs'.*expected bool"),
    ({'datasets.train.iters': [92000, 64000]}, r'same length'),
    ({'datasets.train.gt_size': 256}, r'gt_size \(256\) must equal max\(gt_sizes\) = 384'),
    ({'train.total_iter': 1000}, r'iters sums to 300000 but train.total_iter is 1000'),
    ({'datasets.train.mini_batch_sizes': [16, 5, 4, 2, 1, 1]}, r'<= batch_size_per_gpu'),
    ({'datasets.train.sigma_type': 'uniform'}, r"sigma_type.*one of \['constant', 'random', 'choice'\]"),
    ({'datasets.val.sigma_test': _DELETE}, r'sigma_test is missing'),
    ({'datasets.train.in_ch': 1}, r'in_ch \(1\) differs from network_g.inp_channels \(3\)'),
    ({'train.scheduler.periods': [92000, 100000]}, r'periods sums to 192000, less than train.total_iter'),
    ({'name': _DELETE}, r"Missing required option 'name'"),
    ({'datasets.trian': {'type': 'Dataset_PairedImage'}}, r"'datasets.trian' must be 'train', 'val', 'test'"),
    ({'datasets.train.dataroot_lqL': 'x'}, r"'datasets.train.dataroot_lqL' is not read by Dataset_GaussianDenoising "
                                           r"\(it is an option of Dataset_DefocusDeblur_DualPixel_16bit\)"),
])
def test_errors_name_the_key(tmp_path, edit, pattern):
    path = _write(tmp_path, _base_text(**edit))
    with pytest.raises(OptionError, match=pattern) as e:
        parse(path, root_path=str(tmp_path))
    assert str(path) in str(e.value)


def test_overrides_are_yaml_and_validated(tmp_path):
    path = _write(tmp_path, _base_text())
    opt = parse(path, overrides=['train.total_iter=1000', 'datasets.train.iters=[500,300,100,50,30,20]',
                                 'train.scheduler.periods=[500,500]', 'train.optim_g.lr=1e-3', 'name=short',
                                 'datasets.train.prefetch_mode=cuda'], root_path=str(tmp_path))
    assert opt['train']['total_iter'] == 1000 and opt['train']['optim_g']['lr'] == 1e-3
    assert opt['datasets']['train']['iters'] == [500, 300, 100, 50, 30, 20] and opt['name'] == 'short'
    assert opt['path']['experiments_root'] == os.path.join(str(tmp_path), 'experiments', 'short')
    with pytest.raises(OptionError, match="Did you mean 'total_iter'"):
        parse(path, overrides=['train.total_iters=5'])
    with pytest.raises(OptionError, match='key.subkey=value'):
        parse(path, overrides=['train.total_iter'])
    # values are data, never code
    opt = parse(path, overrides=["name=__import__('os').getcwd()"], root_path=str(tmp_path))
    assert opt['name'] == "__import__('os').getcwd()"


def test_apply_overrides_does_not_touch_input():
    src = {'a': {'b': 1}}
    out = apply_overrides(src, ['a.b=2', 'a.c.d=[1, 2]'])
    assert src == {'a': {'b': 1}} and out == {'a': {'b': 2, 'c': {'d': [1, 2]}}}


def test_parse_has_no_side_effects(tmp_path):
    path = _write(tmp_path, _base_text())
    before = sorted(os.listdir(tmp_path))
    text = open(path).read()
    first = parse(path, root_path=str(tmp_path))
    second = parse(path, root_path=str(tmp_path))
    assert first == second and first is not second
    assert sorted(os.listdir(tmp_path)) == before and open(path).read() == text


def test_base_inheritance_and_cycles(tmp_path):
    (tmp_path / 'base.yml').write_text(_base_text())
    child = _write(tmp_path, "_base_: base.yml\nname: child\nnetwork_g:\n  dim: 16\n", 'child.yml')
    opt = parse(child, root_path=str(tmp_path))
    assert opt['name'] == 'child' and opt['network_g']['dim'] == 16 and opt['network_g']['num_blocks'] == [4, 6, 6, 8]
    _write(tmp_path, '_base_: b.yml\nname: a\n', 'a.yml')
    _write(tmp_path, '_base_: a.yml\n', 'b.yml')
    with pytest.raises(OptionError, match='Circular'):
        parse(str(tmp_path / 'a.yml'))
    with pytest.raises(OptionError, match='not found'):
        parse(_write(tmp_path, '_base_: missing.yml\n', 'c.yml'))


def test_scientific_notation_without_tag(tmp_path):
    path = _write(tmp_path, _base_text().replace('val_freq: 4000', 'val_freq: 4e3'))
    assert parse(path, root_path=str(tmp_path))['val']['val_freq'] == 4000


def test_test_layout_without_train_section(tmp_path):
    data = yaml.safe_load(_base_text())
    del data['train']
    del data['datasets']['train']
    path = _write(tmp_path, yaml.safe_dump(data))
    opt = parse(path, is_train=False, root_path=str(tmp_path))
    assert opt['path']['results_root'] == os.path.join(str(tmp_path), 'results', opt['name'])
    with pytest.raises(OptionError, match='train.total_iter'):
        parse(path, is_train=True)


def test_debug_names_shorten_frequencies(tmp_path):
    opt = parse(_write(tmp_path, _base_text(name='debug_run')), root_path=str(tmp_path))
    assert (opt['val']['val_freq'], opt['logger']['print_freq'], opt['logger']['save_checkpoint_freq']) == (8, 1, 8)


def test_quickstart_options_parse(repo_root):
    opt = parse(os.path.join(repo_root, 'options/quickstart.yml'), root_path=repo_root)
    assert opt['datasets']['train']['dataroot_gt'] == 'pkg://skimage/data'
    assert copy.deepcopy(opt)['network_g']['dim'] == 16
