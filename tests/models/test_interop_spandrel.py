"""Checkpoints written by this project load unchanged in spandrel (the model loader behind chaiNNer and
ComfyUI, with spandrel-extra-arches): the right architecture, channels and sizes, and the same outputs."""
from __future__ import annotations

import warnings

import pytest
import torch

from basicsr.models.archs import Restormer
from basicsr.utils.checkpoint import save_network

spandrel = pytest.importorskip('spandrel', reason='spandrel is not installed (pip install -e ".[test]")')
extra_arches = pytest.importorskip('spandrel_extra_arches', reason='spandrel-extra-arches is not installed')

TINY = dict(dim=8, num_blocks=[1, 2, 1, 1], num_refinement_blocks=2, heads=[1, 2, 2, 4])
CONFIGS = {
    'default': dict(),
    'biasfree_color': dict(LayerNorm_type='BiasFree'),
    'biasfree_gray': dict(inp_channels=1, out_channels=1, LayerNorm_type='BiasFree'),
    'dual_pixel': dict(inp_channels=6, dual_pixel_task=True),
}


@pytest.fixture(scope='module', autouse=True)
def installed():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        extra_arches.install(ignore_duplicates=True)


def _load(path: str):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return spandrel.ModelLoader().load_from_file(path)


def _same_outputs(ours: torch.nn.Module, theirs: torch.nn.Module, in_ch: int) -> float:
    x = torch.rand(2, in_ch, 40, 48, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return (ours.eval()(x) - theirs.eval()(x)).abs().max().item()


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_every_configuration_is_detected(tmp_path, name):
    kwargs = dict(TINY, **CONFIGS[name])
    torch.manual_seed(0)
    net = Restormer(**kwargs)
    save_network(str(tmp_path / 'net_g_latest.pth'), net)
    desc = _load(str(tmp_path / 'net_g_latest.pth'))
    assert desc.architecture.name == 'Restormer'
    assert (desc.input_channels, desc.output_channels) == (kwargs.get('inp_channels', 3), kwargs.get('out_channels', 3))
    assert desc.size_requirements.multiple_of == Restormer.size_multiple
    theirs = desc.model
    assert [(k, v.shape) for k, v in theirs.state_dict().items()] == [(k, v.shape) for k, v in net.state_dict().items()]
    assert _same_outputs(net, theirs, kwargs.get('inp_channels', 3)) < 1e-5


def test_checkpoint_written_by_training(tmp_path, write_options):
    from basicsr.train import main as train_main
    out = train_main(['-opt', write_options(tmp_path, total_iter=2, with_val=False, train__ema_decay=0.9)])
    path = f"{out['experiments_root']}/models/net_g_latest.pth"
    desc = _load(path)
    assert desc.architecture.name == 'Restormer' and (desc.input_channels, desc.output_channels) == (3, 3)
    saved = torch.load(path, weights_only=True)
    ours = Restormer(**{k: v for k, v in parse_net(tmp_path).items() if k != 'type'})
    ours.load_state_dict(saved['params_ema'])  # spandrel, like BasicSR, takes the EMA weights when present
    assert _same_outputs(ours, desc.model, 3) < 1e-5


def parse_net(tmp_path) -> dict:
    from basicsr.config import parse, to_plain
    return to_plain(parse(str(tmp_path / 'tiny.yml'))['network_g'])
