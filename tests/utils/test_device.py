"""``basicsr.utils.device``: the options ``compile_network`` hands to ``torch.compile``, and its refusal when
inductor's tool chain is missing."""
import pytest
import torch

from basicsr.utils import device as device_mod
from basicsr.utils.errors import OptionError


@pytest.fixture
def compile_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(device_mod, 'missing_inductor_toolchain', lambda device_type: '')

    def fake_compile(net, **kwargs):
        calls.append(kwargs)
        return net
    monkeypatch.setattr(torch, 'compile', fake_compile)
    return calls


def test_inductor_on_cpu_forces_layout_optimisation_with_static_shapes(compile_calls):
    net = torch.nn.Conv2d(3, 3, 1)
    assert device_mod.compile_network(net) is net
    assert compile_calls == [{'backend': 'inductor', 'dynamic': False,
                              'options': {'force_layout_optimization': True}}]


def test_other_backends_get_no_inductor_options(compile_calls):
    device_mod.compile_network(torch.nn.Conv2d(3, 3, 1), 'aot_eager')
    assert compile_calls == [{'backend': 'aot_eager', 'dynamic': False, 'options': None}]


def test_networks_off_the_cpu_keep_inductors_own_layout_choice(compile_calls):
    net = torch.nn.Conv2d(3, 3, 1).to('meta')  # any non-CPU device: CUDA is left to inductor's heuristics
    device_mod.compile_network(net)
    assert compile_calls[0]['options'] is None
    device_mod.compile_network(torch.nn.Identity())  # no parameters: treated as a CPU network
    assert compile_calls[1]['options'] == {'force_layout_optimization': True}


def test_inductor_without_a_cpp_compiler_is_refused_up_front(monkeypatch):
    import torch._inductor.cpp_builder as cpp_builder

    def no_compiler():
        raise RuntimeError('no g++')
    monkeypatch.setattr(cpp_builder, 'get_cpp_compiler', no_compiler)
    assert 'C++ compiler' in device_mod.missing_inductor_toolchain('cpu')
    with pytest.raises(OptionError, match=r'no working C\+\+ compiler.*train\.compile: false'):
        device_mod.compile_network(torch.nn.Conv2d(3, 3, 1))
    compiled = device_mod.compile_network(torch.nn.Conv2d(3, 3, 1), 'aot_eager')  # needs no compiler
    assert compiled is not None


def test_cuda_without_triton_is_refused_up_front(monkeypatch):
    import torch.utils._triton as triton_utils
    monkeypatch.setattr(triton_utils, 'has_triton', lambda: False)
    assert 'Triton' in device_mod.missing_inductor_toolchain('cuda')
    monkeypatch.setattr(triton_utils, 'has_triton', lambda: True)
    assert device_mod.missing_inductor_toolchain('cuda') == ''
