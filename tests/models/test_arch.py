"""Restormer architecture: official key layout, parameter counts, and the forward pass against an
independent transcription of the paper/spec equations (float64, 1e-10)."""
from __future__ import annotations

import math
import runpy
from typing import Dict, List, Tuple

import pytest
import torch
import torch.nn.functional as F

from basicsr.models.archs import build_network
from basicsr.models.archs.restormer_arch import Restormer
from basicsr.utils.checkpoint import CheckpointError, load_network

# The four network configurations of the official recipes (spec 1.6) and their facts (spec 1.4, 1.5).
CONFIGS = {
    'default': (dict(), 494, 26_126_644),
    'biasfree_color': (dict(LayerNorm_type='BiasFree'), 406, 26_111_668),
    'biasfree_gray': (dict(inp_channels=1, out_channels=1, LayerNorm_type='BiasFree'), 406, 26_109_076),
    'dual_pixel': (dict(inp_channels=6, dual_pixel_task=True), 495, 26_132_548),
}


def spec_keys(inp: int = 3, out: int = 3, dim: int = 48, blocks=(4, 6, 6, 8), refine: int = 4, heads=(1, 2, 4, 8),
              ffn: float = 2.66, with_bias_ln: bool = True, dual_pixel: bool = False) -> List[Tuple[str, tuple]]:
    """Official state-dict keys and shapes, in order, written from the spec tables (not from the module)."""
    keys: List[Tuple[str, tuple]] = [('patch_embed.proj.weight', (dim, inp, 3, 3))]

    def stack(name: str, n: int, w: int, h: int) -> None:
        f = int(w * ffn)
        for i in range(n):
            p = f'{name}.{i}.'
            keys.append((p + 'norm1.body.weight', (w,)))
            if with_bias_ln:
                keys.append((p + 'norm1.body.bias', (w,)))
            keys.extend([(p + 'attn.temperature', (h, 1, 1)), (p + 'attn.qkv.weight', (3 * w, w, 1, 1)),
                         (p + 'attn.qkv_dwconv.weight', (3 * w, 1, 3, 3)),
                         (p + 'attn.project_out.weight', (w, w, 1, 1)),
                         (p + 'norm2.body.weight', (w,))])
            if with_bias_ln:
                keys.append((p + 'norm2.body.bias', (w,)))
            keys.extend([(p + 'ffn.project_in.weight', (2 * f, w, 1, 1)), (p + 'ffn.dwconv.weight', (2 * f, 1, 3, 3)),
                         (p + 'ffn.project_out.weight', (w, f, 1, 1))])

    stack('encoder_level1', blocks[0], dim, heads[0])
    keys.append(('down1_2.body.0.weight', (dim // 2, dim, 3, 3)))
    stack('encoder_level2', blocks[1], dim * 2, heads[1])
    keys.append(('down2_3.body.0.weight', (dim, dim * 2, 3, 3)))
    stack('encoder_level3', blocks[2], dim * 4, heads[2])
    keys.append(('down3_4.body.0.weight', (dim * 2, dim * 4, 3, 3)))
    stack('latent', blocks[3], dim * 8, heads[3])
    keys.append(('up4_3.body.0.weight', (dim * 16, dim * 8, 3, 3)))
    keys.append(('reduce_chan_level3.weight', (dim * 4, dim * 8, 1, 1)))
    stack('decoder_level3', blocks[2], dim * 4, heads[2])
    keys.append(('up3_2.body.0.weight', (dim * 8, dim * 4, 3, 3)))
    keys.append(('reduce_chan_level2.weight', (dim * 2, dim * 4, 1, 1)))
    stack('decoder_level2', blocks[1], dim * 2, heads[1])
    keys.append(('up2_1.body.0.weight', (dim * 4, dim * 2, 3, 3)))
    stack('decoder_level1', blocks[0], dim * 2, heads[0])
    stack('refinement', refine, dim * 2, heads[0])
    if dual_pixel:
        keys.append(('skip_conv.weight', (dim * 2, dim, 1, 1)))
    keys.append(('output.weight', (out, dim * 2, 3, 3)))
    return keys


def _spec_kwargs(cfg: Dict) -> Dict:
    return dict(inp=cfg.get('inp_channels', 3), out=cfg.get('out_channels', 3),
                with_bias_ln=cfg.get('LayerNorm_type', 'WithBias') != 'BiasFree',
                dual_pixel=cfg.get('dual_pixel_task', False))


def random_official_checkpoint(keys: List[Tuple[str, tuple]], seed: int = 0) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, shape in keys:
        if k.endswith('temperature'):
            sd[k] = 0.5 + torch.rand(shape, generator=g, dtype=torch.float64)
        elif '.norm' in k:
            sd[k] = (1.0 if k.endswith('weight') else 0.0) + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            fan_in = math.prod(shape[1:])
            sd[k] = torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(fan_in)
    return sd


# ----------------------------------------------------------------------------- independent transcription
def conv(x: torch.Tensor, sd: Dict, name: str, **kw) -> torch.Tensor:
    """Convolution with the weight ``name.weight`` and, when present, the bias ``name.bias``."""
    return F.conv2d(x, sd[name + '.weight'], sd.get(name + '.bias'), **kw)


def ref_layernorm(x: torch.Tensor, w: torch.Tensor, b) -> torch.Tensor:
    """LN over channels of each pixel; eps 1e-5 inside the sqrt; population variance."""
    mu = x.mean(dim=1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=1, keepdim=True)
    if b is None:  # BiasFree: divide by the std, no mean subtraction
        return x / torch.sqrt(var + 1e-5) * w.view(1, -1, 1, 1)
    return (x - mu) / torch.sqrt(var + 1e-5) * w.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


def ref_mdta(x: torch.Tensor, sd: Dict, p: str, heads: int) -> torch.Tensor:
    b, c, h, w = x.shape
    qkv = conv(x, sd, p + 'qkv')
    qkv = conv(qkv, sd, p + 'qkv_dwconv', padding=1, groups=3 * c)
    q, k, v = qkv[:, :c], qkv[:, c:2 * c], qkv[:, 2 * c:]
    out = torch.empty_like(v)
    ch = c // heads
    for head in range(heads):
        sl = slice(head * ch, (head + 1) * ch)
        qh, kh, vh = (t[:, sl].reshape(b, ch, h * w) for t in (q, k, v))
        qh = qh / torch.sqrt((qh ** 2).sum(-1, keepdim=True)).clamp_min(1e-12)
        kh = kh / torch.sqrt((kh ** 2).sum(-1, keepdim=True)).clamp_min(1e-12)
        logits = torch.einsum('bip,bjp->bij', qh, kh) * sd[p + 'temperature'][head]
        a = torch.exp(logits - logits.amax(-1, keepdim=True))
        a = a / a.sum(-1, keepdim=True)
        out[:, sl] = torch.einsum('bij,bjp->bip', a, vh).reshape(b, ch, h, w)
    return conv(out, sd, p + 'project_out')


def ref_gdfn(x: torch.Tensor, sd: Dict, p: str) -> torch.Tensor:
    y = conv(x, sd, p + 'project_in')
    y = conv(y, sd, p + 'dwconv', padding=1, groups=y.shape[1])
    half = y.shape[1] // 2
    gate = 0.5 * y[:, :half] * (1 + torch.erf(y[:, :half] / math.sqrt(2.0)))  # exact GELU
    return conv(gate * y[:, half:], sd, p + 'project_out')


def ref_stack(x: torch.Tensor, sd: Dict, name: str, n: int, heads: int) -> torch.Tensor:
    for i in range(n):
        p = f'{name}.{i}.'
        x = x + ref_mdta(ref_layernorm(x, sd[p + 'norm1.body.weight'], sd.get(p + 'norm1.body.bias')), sd,
                         p + 'attn.', heads)
        x = x + ref_gdfn(ref_layernorm(x, sd[p + 'norm2.body.weight'], sd.get(p + 'norm2.body.bias')), sd, p + 'ffn.')
    return x


def ref_down(x: torch.Tensor, wgt: torch.Tensor) -> torch.Tensor:
    y = F.conv2d(x, wgt, padding=1)
    b, c, h, w = y.shape  # pixel-unshuffle by 2: (c, 2h', 2w') -> (4c, h', w'), channel = c*4 + dy*2 + dx
    return y.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)


def ref_up(x: torch.Tensor, wgt: torch.Tensor) -> torch.Tensor:
    y = F.conv2d(x, wgt, padding=1)
    b, c, h, w = y.shape  # pixel-shuffle by 2
    return y.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, h * 2, w * 2)


def ref_restormer(inp: torch.Tensor, sd: Dict, blocks=(4, 6, 6, 8), refine: int = 4, heads=(1, 2, 4, 8),
                  dual_pixel: bool = False) -> torch.Tensor:
    x0 = F.conv2d(inp, sd['patch_embed.proj.weight'], padding=1)
    e1 = ref_stack(x0, sd, 'encoder_level1', blocks[0], heads[0])
    e2 = ref_stack(ref_down(e1, sd['down1_2.body.0.weight']), sd, 'encoder_level2', blocks[1], heads[1])
    e3 = ref_stack(ref_down(e2, sd['down2_3.body.0.weight']), sd, 'encoder_level3', blocks[2], heads[2])
    lat = ref_stack(ref_down(e3, sd['down3_4.body.0.weight']), sd, 'latent', blocks[3], heads[3])
    d3 = conv(torch.cat([ref_up(lat, sd['up4_3.body.0.weight']), e3], 1), sd, 'reduce_chan_level3')
    d3 = ref_stack(d3, sd, 'decoder_level3', blocks[2], heads[2])
    d2 = conv(torch.cat([ref_up(d3, sd['up3_2.body.0.weight']), e2], 1), sd, 'reduce_chan_level2')
    d2 = ref_stack(d2, sd, 'decoder_level2', blocks[1], heads[1])
    d1 = ref_stack(torch.cat([ref_up(d2, sd['up2_1.body.0.weight']), e1], 1), sd, 'decoder_level1', blocks[0],
                   heads[0])
    r = ref_stack(d1, sd, 'refinement', refine, heads[0])
    if dual_pixel:
        return conv(r + conv(x0, sd, 'skip_conv'), sd, 'output', padding=1)
    return conv(r, sd, 'output', padding=1) + inp


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize('name', list(CONFIGS))
def test_state_dict_layout_and_parameter_count(name):
    cfg, n_keys, n_params = CONFIGS[name]
    net = Restormer(**cfg)
    expected = spec_keys(**_spec_kwargs(cfg))
    got = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert len(got) == n_keys
    assert got == expected  # same names, same order, same shapes
    assert sum(p.numel() for p in net.parameters()) == n_params


@pytest.mark.parametrize('name', list(CONFIGS))
def test_official_checkpoint_loads_strict_and_forward_matches_transcription(name, tmp_path):
    cfg, _, _ = CONFIGS[name]
    sd = random_official_checkpoint(spec_keys(**_spec_kwargs(cfg)), seed=len(name))
    path = tmp_path / 'official.pth'
    torch.save({'params': {k: v.float() for k, v in sd.items()}}, path)
    net = Restormer(**cfg)
    load_network(net, str(path), strict=True)
    net = net.double().eval()
    net.load_state_dict(sd)  # exact float64 weights for the comparison
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, cfg.get('inp_channels', 3), 16, 24, generator=g, dtype=torch.float64)
    with torch.no_grad():
        ours = net(x)
    ref = ref_restormer(x, sd, dual_pixel=cfg.get('dual_pixel_task', False))
    assert ours.shape == (2, cfg.get('out_channels', 3), 16, 24)
    assert torch.max(torch.abs(ours - ref)).item() < 1e-10


def test_tiny_config_with_bias_matches_transcription():
    cfg = dict(dim=8, num_blocks=[1, 2, 1, 2], num_refinement_blocks=2, heads=[1, 2, 2, 4], bias=True,
               LayerNorm_type='WithBias')
    net = Restormer(**cfg).double().eval()
    sd = net.state_dict()
    # bias=True adds conv biases everywhere except the embedding and the resampling convs (spec 1.4)
    assert 'output.bias' in sd and 'reduce_chan_level2.bias' in sd and 'latent.0.attn.qkv.bias' in sd
    assert 'patch_embed.proj.bias' not in sd and 'down1_2.body.0.bias' not in sd and 'up2_1.body.0.bias' not in sd
    g = torch.Generator().manual_seed(3)
    sd = {k: v + 0.05 * torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in sd.items()}
    net.load_state_dict(sd)
    x = torch.rand(1, 3, 32, 16, generator=g, dtype=torch.float64)
    with torch.no_grad():
        ours = net(x)
    ref = ref_restormer(x, sd, blocks=(1, 2, 1, 2), refine=2, heads=(1, 2, 2, 4))
    assert torch.max(torch.abs(ours - ref)).item() < 1e-10


def test_biasfree_layernorm_is_not_rmsnorm():
    from basicsr.models.archs.restormer_arch import BiasFree_LayerNorm
    x = torch.tensor([[[[3.0]], [[5.0]]]], dtype=torch.float64)  # mean 4, population std 1
    y = BiasFree_LayerNorm(2).double()(x)
    assert torch.allclose(y.flatten(), torch.tensor([3.0, 5.0], dtype=torch.float64) / (1 + 1e-5) ** 0.5)


def test_hidden_width_is_truncated():
    net = Restormer(dim=48, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)
    assert net.encoder_level1[0].ffn.project_out.in_channels == 127
    assert net.latent[0].ffn.project_out.in_channels == 1021


def test_standalone_file_runs_without_package(repo_root):
    ns = runpy.run_path(f'{repo_root}/basicsr/models/archs/restormer_arch.py')
    net = ns['Restormer'](dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)
    assert net(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)


def test_clear_errors():
    with pytest.raises(ValueError, match='divisible by 8'):
        Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)(torch.zeros(1, 3, 12, 16))
    with pytest.raises(ValueError, match='inp_channels == out_channels'):
        Restormer(inp_channels=6, out_channels=3)
    with pytest.raises(ValueError, match='heads'):
        Restormer(dim=6, heads=[4, 2, 4, 8])


def test_checkpoint_from_other_configuration_is_rejected(tmp_path):
    withbias = Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1)
    path = tmp_path / 'wb.pth'
    torch.save({'params': withbias.state_dict()}, path)
    biasfree = build_network(dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1,
                                  LayerNorm_type='BiasFree'))
    with pytest.raises(CheckpointError) as e:
        load_network(biasfree, str(path))
    msg = str(e.value)
    assert 'wb.pth' in msg and 'unexpected in checkpoint' in msg and 'norm1.body.bias' in msg


def test_amp_keeps_attention_in_float32():
    net = Restormer(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1).eval()
    x = torch.rand(1, 3, 16, 16)
    seen = []
    attn = net.encoder_level1[0].attn
    orig = attn._channel_attention

    def spy(q, k):
        seen.append(q.dtype)
        return orig(q, k)
    attn._channel_attention = spy
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        y = net(x)
    assert seen == [torch.float32]
    with torch.no_grad():
        ref = net(x)
    assert torch.allclose(y.float(), ref, atol=0.05)
