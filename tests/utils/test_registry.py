"""The component registry (``basicsr.utils.registry``): lookups, errors, official type names."""
from __future__ import annotations

import pytest

from basicsr.utils.registry import ARCH_REGISTRY, Registry


def test_registry():
    reg = Registry('thing')

    @reg.register()
    class Alpha:
        pass
    reg.register(Alpha, name='AlphaAlias')
    assert reg.get('Alpha') is Alpha and reg.get('AlphaAlias') is Alpha and 'Alpha' in reg
    with pytest.raises(KeyError, match="No thing named 'Alpah'. Did you mean 'Alpha'.*Known things: Alpha, AlphaAlias"):
        reg.get('Alpah')
    with pytest.raises(KeyError, match='already registered'):
        reg.register(type('Alpha', (), {}))
    for name in ('Restormer',):
        assert name in ARCH_REGISTRY


def test_official_type_names_resolve():
    import basicsr.config  # noqa: F401  (imports every package that registers components)
    from basicsr.utils import registry as r
    for reg, names in [(r.ARCH_REGISTRY, ['Restormer']), (r.MODEL_REGISTRY, ['ImageCleanModel']),
                       (r.DATASET_REGISTRY, ['Dataset_PairedImage', 'Dataset_GaussianDenoising',
                                             'Dataset_DefocusDeblur_DualPixel_16bit']),
                       (r.LOSS_REGISTRY, ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'PSNRLoss']),
                       (r.SCHEDULER_REGISTRY, ['CosineAnnealingRestartCyclicLR', 'MultiStepRestartLR']),
                       (r.OPTIMIZER_REGISTRY, ['Adam', 'AdamW']),
                       (r.METRIC_REGISTRY, ['calculate_psnr', 'calculate_ssim', 'calculate_mae'])]:
        for n in names:
            assert n in reg, n
