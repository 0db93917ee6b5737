"""Checkpoint loading/saving (``basicsr.utils.checkpoint``)."""
from __future__ import annotations

import os

import pytest
import torch

from basicsr.models.archs import build_network
from basicsr.utils.checkpoint import CheckpointError, atomic_save, extract_state_dict, load_network, save_network


@pytest.fixture
def tiny(tiny_net_opt):
    torch.manual_seed(0)
    return build_network(tiny_net_opt)


@pytest.mark.parametrize('wrap', ['raw', 'params', 'params_ema', 'module_prefix', 'compile_prefix'])
def test_load_formats(tmp_path, tiny, tiny_net_opt, wrap):
    sd = tiny.state_dict()
    obj = {'raw': sd, 'params': {'params': sd}, 'params_ema': {'params_ema': sd},
           'module_prefix': {'params': {f'module.{k}': v for k, v in sd.items()}},
           'compile_prefix': {f'_orig_mod.{k}': v for k, v in sd.items()}}[wrap]
    path = str(tmp_path / 'w.pth')
    torch.save(obj, path)
    other = build_network(tiny_net_opt)
    load_network(other, path, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, sd[k])


def test_params_ema_preferred_when_asked(tmp_path, tiny):
    sd = tiny.state_dict()
    ema = {k: v + 1 for k, v in sd.items()}
    ckpt = {'params': sd, 'params_ema': ema}
    assert torch.equal(extract_state_dict(ckpt, 'params_ema')['output.weight'], ema['output.weight'])
    assert torch.equal(extract_state_dict(ckpt, 'params')['output.weight'], sd['output.weight'])


def test_mismatch_lists_keys_and_names_file(tmp_path, tiny, tiny_net_opt):
    sd = dict(tiny.state_dict())
    sd.pop('output.weight')
    sd['extra.weight'] = torch.zeros(1)
    sd['patch_embed.proj.weight'] = torch.zeros(8, 1, 3, 3)
    path = str(tmp_path / 'other_arch.pth')
    torch.save({'params': sd}, path)
    with pytest.raises(CheckpointError) as e:
        load_network(build_network(tiny_net_opt), path)
    msg = str(e.value)
    assert 'other_arch.pth' in msg
    assert 'missing in checkpoint (1)' in msg and 'output.weight' in msg
    assert 'unexpected in checkpoint (1)' in msg and 'extra.weight' in msg
    assert 'wrong shape (1)' in msg
    assert 'patch_embed.proj.weight: checkpoint (8, 1, 3, 3) vs network (8, 3, 3, 3)' in msg
    net = build_network(tiny_net_opt)
    before = net.state_dict()['output.weight'].clone()
    load_network(net, path, strict=False)  # loads what fits, keeps the rest
    assert torch.equal(net.state_dict()['output.weight'], before)
    assert torch.equal(net.state_dict()['encoder_level1.0.attn.qkv.weight'], sd['encoder_level1.0.attn.qkv.weight'])


def test_unreadable_files(tmp_path, tiny):
    with pytest.raises(CheckpointError, match='not found'):
        load_network(tiny, str(tmp_path / 'missing.pth'))
    path = tmp_path / 'trunc.pth'
    save_network(str(path), tiny)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='trunc.pth'):
        load_network(tiny, str(path))
    torch.save({'something': 1}, tmp_path / 'odd.pth')
    with pytest.raises(CheckpointError, match='none of the keys'):
        load_network(tiny, str(tmp_path / 'odd.pth'))


def test_atomic_save_keeps_old_file_on_failure(tmp_path):
    path = str(tmp_path / 'state.pth')
    atomic_save({'a': torch.ones(2)}, path)

    class Boom:
        def __reduce__(self):
            raise RuntimeError('interrupted')
    with pytest.raises(RuntimeError, match='interrupted'):
        atomic_save({'a': Boom()}, path)
    assert torch.equal(torch.load(path)['a'], torch.ones(2))
    assert os.listdir(tmp_path) == ['state.pth']  # no temp file left


def test_save_network_official_format(tmp_path, tiny):
    path = str(tmp_path / 'net_g_1.pth')
    save_network(path, tiny, tiny)
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'} and list(ckpt['params']) == list(tiny.state_dict())
