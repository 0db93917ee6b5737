"""``build_optimizer``: the ``train.optim_g`` section, with Adam/AdamW on their fused step unless told otherwise."""
import pytest
import torch

from basicsr.models.optimizers import build_optimizer


def _params(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=g)) for shape in [(48, 48, 1, 1), (48,), (3, 48, 3, 3)]]


def _steps(optimizer: torch.optim.Optimizer, params, n: int = 3) -> None:
    g = torch.Generator().manual_seed(1)
    for _ in range(n):
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        optimizer.step()


@pytest.mark.parametrize('name', ['Adam', 'AdamW'])
def test_adam_family_takes_the_fused_step_with_the_same_result(name):
    section = {'type': name, 'lr': 3e-4, 'weight_decay': 1e-4, 'betas': [0.9, 0.999]}
    fused_params, plain_params = _params(), _params()
    fused = build_optimizer(section, fused_params)
    plain = getattr(torch.optim, name)(plain_params, lr=3e-4, weight_decay=1e-4, betas=(0.9, 0.999), foreach=False)
    assert fused.defaults['fused'] is True and fused.defaults['betas'] == (0.9, 0.999)
    _steps(fused, fused_params)
    _steps(plain, plain_params)
    for a, b, before in zip(fused_params, plain_params, _params()):
        assert not torch.equal(a, before)  # the steps moved it
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7)
    # a state saved by the fused optimizer resumes in a plain one (and back): same format
    plain.load_state_dict(fused.state_dict())
    fused.load_state_dict(plain.state_dict())


@pytest.mark.parametrize('section', [{'type': 'AdamW', 'lr': 1e-3, 'foreach': False},
                                     {'type': 'AdamW', 'lr': 1e-3, 'fused': False},
                                     {'type': 'SGD', 'lr': 1e-3}])
def test_an_explicit_choice_or_another_optimizer_is_left_alone(section):
    optimizer = build_optimizer(section, _params())
    assert not optimizer.defaults.get('fused')


def test_non_float_or_meta_parameters_do_not_get_the_fused_step():
    meta = [torch.nn.Parameter(torch.zeros(4, device='meta'))]
    assert not build_optimizer({'type': 'AdamW', 'lr': 1e-3}, meta).defaults.get('fused')
