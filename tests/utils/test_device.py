"""``basicsr.utils.device``: the options ``compile_network`` hands to ``torch.compile``."""
import pytest
import torch

from basicsr.utils import device as device_mod


@pytest.fixture
def compile_calls(monkeypatch):
    calls = []

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
