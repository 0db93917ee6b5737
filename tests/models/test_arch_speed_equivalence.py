"""The speed-oriented ``Restormer`` computes what the official model computes.

The baseline is ``scripts/reference_restormer.py``, an op-for-op transcription of the official
computation with the same state_dict layout.  Checked here: forward (fp32, 1e-5) for the four recipe
configurations, gradients of the input and of every parameter (float64, 1e-8), activation
checkpointing, FLOP counting on the meta device, and ``torch.compile``.
"""
from __future__ import annotations

import shutil
from typing import Dict, List

import pytest
import torch
from reference_restormer import ReferenceRestormer  # scripts/ (on sys.path: conftest)
from torch.utils.flop_counter import FlopCounterMode

from basicsr.models.archs.restormer_arch import Restormer

TINY = dict(dim=16, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4])
CONFIGS: Dict[str, Dict] = {
    'default': dict(TINY),
    'biasfree_color': dict(TINY, LayerNorm_type='BiasFree'),
    'biasfree_gray': dict(TINY, inp_channels=1, out_channels=1, LayerNorm_type='BiasFree'),
    'dual_pixel': dict(TINY, inp_channels=6, dual_pixel_task=True),
}
# batch 2 x 32 x 32 = 2048 pixels at level 1: the padded GDFN path runs there, the plain one below it
SHAPE = (2, 32, 32)


def pair(cfg: Dict, dtype: torch.dtype = torch.float32, seed: int = 0, jitter: float = 0.05):
    """The project's network and the reference with the same (perturbed, so nothing is trivially 0/1) weights."""
    torch.manual_seed(seed)
    net = Restormer(**cfg).to(dtype)
    sd = {k: v + jitter * torch.randn_like(v) for k, v in net.state_dict().items()}
    net.load_state_dict(sd, strict=True)
    ref = ReferenceRestormer(**cfg).to(dtype)
    ref.load_state_dict(sd, strict=True)
    return net, ref


def image(cfg: Dict, dtype: torch.dtype = torch.float32, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(SHAPE[0], cfg.get('inp_channels', 3), *SHAPE[1:], generator=g, dtype=dtype)


def grads(net: torch.nn.Module, x: torch.Tensor, with_output: bool = False) -> List[torch.Tensor]:
    """Gradients of the input and of every parameter for a fixed non-uniform loss (and the output)."""
    x = x.clone().requires_grad_()
    out = net(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    result = list(torch.autograd.grad((out * weights).sum(), [x] + list(net.parameters())))
    return result + [out.detach()] if with_output else result


@pytest.mark.parametrize('name', list(CONFIGS))
def test_forward_matches_reference(name):
    cfg = CONFIGS[name]
    net, ref = pair(cfg)
    assert list(net.state_dict()) == list(ref.state_dict())
    x = image(cfg)
    with torch.no_grad():
        expected = ref.eval()(x)
        assert torch.allclose(net.eval()(x), expected, rtol=0, atol=1e-5)
        # a batch of one: the smaller feature maps take the unpadded GDFN path
        assert torch.allclose(net(x[:1, :, :16]), ref(x[:1, :, :16]), rtol=0, atol=1e-5)
    with torch.inference_mode():
        assert torch.allclose(net(x), expected, rtol=0, atol=1e-5)
    out = net.train()(x)  # the autograd path (no in-place shortcuts) gives the same numbers
    assert torch.allclose(out, expected, rtol=0, atol=1e-5)
    assert out.is_contiguous()


@pytest.mark.parametrize('cfg', [CONFIGS['default'], dict(CONFIGS['biasfree_color'], bias=True),
                                 CONFIGS['dual_pixel']], ids=['default', 'biasfree_bias', 'dual_pixel'])
def test_gradients_match_reference_float64(cfg):
    net, ref = pair(cfg, torch.float64)
    x = image(cfg, torch.float64)
    ours, theirs = grads(net, x), grads(ref, x)
    names = ['input'] + [n for n, _ in net.named_parameters()]
    for name, a, b in zip(names, ours, theirs):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-8), (name, (a - b).abs().max().item())


def test_channel_attention_backward_matches_autograd():
    """The hand-written backward of MDTA's map against autograd through the official formula,
    including a channel whose norm is zero (F.normalize's clamp) and heads > 1."""
    from basicsr.models.archs.restormer_arch import _ChannelAttention
    g = torch.Generator().manual_seed(0)
    base_q = torch.randn(2, 40, 12, generator=g, dtype=torch.float64)  # (B, H*W, C) like the real layout
    base_k = torch.randn(2, 40, 12, generator=g, dtype=torch.float64)
    base_q[:, :, 5] = 0
    temperature = (0.5 + torch.rand(3, 1, 1, generator=g, dtype=torch.float64)).requires_grad_()
    grad_out = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)

    def run(fn):
        q, k = base_q.clone().requires_grad_(), base_k.clone().requires_grad_()
        qh, kh = (t.reshape(2, 40, 3, 4).permute(0, 2, 3, 1) for t in (q, k))
        out = fn(qh, kh, temperature)
        return [out] + list(torch.autograd.grad(out, [q, k, temperature], grad_out))

    def official(q, k, t):
        q, k = torch.nn.functional.normalize(q, dim=-1), torch.nn.functional.normalize(k, dim=-1)
        return ((q @ k.transpose(-2, -1)) * t).softmax(dim=-1)

    for a, b in zip(run(_ChannelAttention.apply), run(official)):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    q, k = (torch.randn(2, 3, 4, 40, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(_ChannelAttention.apply, (q, k, temperature))


@pytest.mark.parametrize('mode', ['block', 'level'])
def test_activation_checkpointing_gives_same_gradients(mode):
    cfg = dict(CONFIGS['default'], dim=8)
    net, _ = pair(cfg, torch.float64)
    x = image(cfg, torch.float64)[:1, :, :16, :16]
    keys = list(net.state_dict())
    expected = grads(net, x)

    calls = []  # a pre-hook: the recomputation stops early, after the last tensor the backward needs
    net.encoder_level1[0].register_forward_pre_hook(lambda *args: calls.append(1))
    assert net.set_activation_checkpointing(mode) is net
    assert list(net.state_dict()) == keys
    got = grads(net, x)
    assert len(calls) == 2  # the block ran again in the backward pass: it was checkpointed
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)

    calls.clear()
    with torch.no_grad():
        net(x)
    net.eval()
    grads(net, x)
    assert len(calls) == 2  # no recomputation without grad or in eval mode
    net.set_activation_checkpointing(None)
    assert net.activation_checkpointing is None
    with pytest.raises(ValueError, match='block'):
        net.set_activation_checkpointing('stack')


def test_flop_counter_on_meta_and_cpu():
    cfg = CONFIGS['default']
    with torch.device('meta'):
        meta_net = Restormer(**cfg)
        meta_x = torch.empty(1, 3, 64, 64)
    with FlopCounterMode(display=False) as meta_count:
        meta_net(meta_x)
    net = Restormer(**cfg)
    with FlopCounterMode(display=False) as cpu_count, torch.no_grad():
        net(torch.rand(1, 3, 64, 64))
    assert meta_count.get_total_flops() == cpu_count.get_total_flops() > 0
    with torch.autocast('cpu', dtype=torch.bfloat16), FlopCounterMode(display=False) as amp_count:
        meta_net(meta_x)  # autocast on another device type must not break the meta forward
    assert amp_count.get_total_flops() > 0


def test_torch_compile_aot_eager_matches_eager():
    # the smallest network (no refinement stage: tracing time grows with the number of blocks)
    cfg = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=0, heads=[1, 2, 2, 4])
    net, _ = pair(cfg)
    x = image(cfg)
    expected = grads(net, x, with_output=True)
    torch._dynamo.reset()
    got = grads(torch.compile(net, backend='aot_eager'), x, with_output=True)  # forward and backward
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


needs_cxx = pytest.mark.skipif(shutil.which('g++') is None and shutil.which('c++') is None,
                               reason='inductor on the CPU needs a C++ compiler')


@needs_cxx
def test_torch_compile_inductor_cpu_matches_eager_and_reference():
    # what `--compile` runs on a CPU: inductor-generated C++ for the whole network (inference: the cheapest
    # whole-network graph to compile, about a minute on 2 cores)
    from basicsr.utils.device import compile_network
    cfg = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=0, heads=[1, 2, 2, 4])
    net, ref = pair(cfg)
    net.eval()
    ref.eval()
    torch._dynamo.reset()
    x = torch.rand(1, 3, 40, 24)
    with torch.inference_mode():
        got, eager, expected = compile_network(net)(x), net(x), ref(x)
    assert torch.allclose(got, eager, rtol=1e-4, atol=1e-5)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)


@needs_cxx
def test_inductor_training_graph_survives_a_new_input_size():
    # A progressive stage change feeds the compiled network a new patch size. With torch.compile's automatic
    # dynamic shapes the second size compiles a symbolic training graph, and inductor (torch 2.14) fails on the
    # channels-last strides ("cannot determine truth value of Relational"); compile_network compiles static
    # graphs. One transformer block keeps the compile short; its gradients must equal eager ones.
    from basicsr.models.archs.restormer_arch import TransformerBlock
    from basicsr.utils.device import compile_network
    torch.manual_seed(0)
    block = TransformerBlock(8, 2, 2.66, False, 'WithBias')
    torch._dynamo.reset()
    compiled = compile_network(block)
    for shape in [(2, 8, 16, 16), (2, 8, 24, 24)]:
        x = torch.rand(shape).contiguous(memory_format=torch.channels_last)
        results = []
        for module in (compiled, block):
            block.zero_grad()
            xi = x.clone().requires_grad_()
            module(xi).square().mean().backward()
            results.append([xi.grad] + [p.grad.clone() for p in block.parameters()])
        for a, b in zip(*results):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


@needs_cxx
def test_compiled_backward_hands_saved_activations_to_the_depthwise_backward_as_they_are():
    # Without compile_network's force_layout_optimization, inductor copies every saved activation (and every
    # gradient) into the strides the backward node was traced with before each depth-wise convolution_backward
    # (a (B, H, C, W) transpose here): ~15% of a compiled training step.  Each convolution_backward must take
    # its input straight from the saved tensors of the forward graph.
    import re

    from torch._inductor.utils import run_and_get_code

    from basicsr.models.archs.restormer_arch import FeedForward
    from basicsr.utils.device import compile_network
    torch.manual_seed(0)
    ffn = FeedForward(8, 2.66, False)
    torch._dynamo.reset()
    compiled = compile_network(ffn)
    x = torch.rand(2, 8, 16, 16).contiguous(memory_format=torch.channels_last).requires_grad_()

    def step():
        compiled(x).square().mean().backward()
    _, codes = run_and_get_code(step)
    backward = next(code for code in codes if 'convolution_backward' in code)
    saved = re.search(r'def call\(self, args\):\s*\n\s*(.*?) = args', backward).group(1).split(', ')
    conv_inputs = re.findall(r'aten\.convolution_backward\.default\(\w+, (\w+),', backward)
    assert len(conv_inputs) == 2  # gate and value depth-wise convolutions
    assert all(name in saved for name in conv_inputs), (conv_inputs, saved)
    grad_x = x.grad.clone()
    x.grad = None
    ffn(x).square().mean().backward()
    assert torch.allclose(grad_x, x.grad, rtol=1e-4, atol=1e-6)
