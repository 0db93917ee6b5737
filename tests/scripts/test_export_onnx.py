"""Tests of ``scripts/export_onnx.py``: dynamic N/H/W, agreement with PyTorch, size rule, missing extras."""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, Tuple

import export_onnx  # scripts/export_onnx.py (scripts/ is on sys.path: conftest)
import numpy as np
import pytest
import torch

from basicsr.models.archs import Restormer

TINY: Dict[str, Any] = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 1, 1, 1])
TINY_SET = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
            'network_g.heads=[1,1,1,1]']
VARIANTS = {
    'color': dict(TINY),
    'gray': dict(TINY, inp_channels=1, out_channels=1, LayerNorm_type='BiasFree'),
    'dual_pixel': dict(TINY, inp_channels=6, out_channels=3, dual_pixel_task=True),
}


@pytest.fixture(scope='module')
def ort() -> Any:
    pytest.importorskip('onnx')
    return pytest.importorskip('onnxruntime')


def tiny(variant: str, seed: int = 0) -> Restormer:
    torch.manual_seed(seed)
    return Restormer(**VARIANTS[variant]).eval()


@pytest.fixture(scope='module')
def exported(ort: Any, tmp_path_factory: pytest.TempPathFactory) -> Tuple[Restormer, Any, str]:
    """The tiny colour model saved as official weights and exported through the script's CLI."""
    folder = tmp_path_factory.mktemp('onnx')
    net = tiny('color')
    weights = str(folder / 'deraining.pth')
    torch.save({'params': net.state_dict()}, weights)
    output = str(folder / 'deraining.onnx')
    assert export_onnx.main(['--task', 'Deraining', '--weights', weights, '--set', *TINY_SET,
                             '--output', output]) == 0
    return net, export_onnx.onnx_session(output), output


def torch_forward(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def test_dynamic_batch_height_width(exported: Tuple[Restormer, Any, str]) -> None:
    net, session, _ = exported
    shapes = [tuple(d if isinstance(d, int) else None for d in i.shape) for i in session.get_inputs()]
    assert shapes == [(None, 3, None, None)]
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 64, 96), (2, 3, 40, 24)]:  # neither is the 64x64 tracing size
        x = rng.random(shape, dtype=np.float32)
        out = session.run(None, {'input': x})[0]
        assert out.shape == (shape[0], 3) + shape[2:]
        assert np.abs(out - torch_forward(net, x)).max() < 1e-4


def test_metadata_records_size_rule(exported: Tuple[Restormer, Any, str]) -> None:
    import onnx
    meta = {p.key: p.value for p in onnx.load(exported[2]).metadata_props}
    assert meta['size_multiple'] == '8' and meta['exporter'] == 'torchscript'
    assert "'dim': 8" in meta['network_g']


def test_sizes_not_multiple_of_8(exported: Tuple[Restormer, Any, str]) -> None:
    """The size check is not in the graph: raw odd sizes fail in onnxruntime, ``run_onnx`` pads them."""
    net, session, _ = exported
    x = np.random.default_rng(1).random((1, 3, 36, 50), dtype=np.float32)
    with pytest.raises(Exception):
        session.run(None, {'input': x})
    out = export_onnx.run_onnx(session, x)
    assert out.shape == x.shape
    assert max(export_onnx.compare_with_torch(net, session, [torch.from_numpy(x)])) < 1e-4


@pytest.mark.parametrize('variant,cin', [('gray', 1), ('dual_pixel', 6)])
def test_gray_and_dual_pixel_variants(ort: Any, tmp_path, variant: str, cin: int) -> None:
    net = tiny(variant)
    path = str(tmp_path / f'{variant}.onnx')
    export_onnx.export_onnx(net, path, cin)
    session = export_onnx.onnx_session(path)
    inputs = [torch.rand(1, cin, 32, 48), torch.rand(3, cin, 56, 24)]
    assert max(export_onnx.compare_with_torch(net, session, inputs)) < 1e-4


def test_cli_check_with_real_image(ort: Any, tmp_path, capsys, repo_root) -> None:
    import cv2
    from skimage import data
    image = str(tmp_path / 'cam.png')
    cv2.imwrite(image, data.camera()[100:160, 100:170])
    net = tiny('gray', seed=3)
    weights = str(tmp_path / 'gray.pth')
    torch.save({'params': net.state_dict()}, weights)
    opt = os.path.join(repo_root, 'Denoising', 'Options', 'GaussianGrayDenoising_Restormer.yml')
    assert export_onnx.main(['--opt', opt, '--weights', weights, '--set', *TINY_SET, '--check', image]) == 0
    out = capsys.readouterr().out
    assert 'check passed' in out and 'cam.png (1, 1, 60, 70)' in out
    assert os.path.isfile(str(tmp_path / 'gray.onnx'))  # default output: next to the weights


def test_missing_weights_message(tmp_path) -> None:
    with pytest.raises(export_onnx.MissingInputError, match='Motion_Deblurring/pretrained_models/'):
        export_onnx.main(['--task', 'Motion_Deblurring', '--weights', str(tmp_path / 'missing.pth')])


def test_missing_onnxruntime_gives_install_hint(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # makes `import onnxruntime` raise ImportError
    with pytest.raises(export_onnx.MissingDependency, match=r"pip install -e '\.\[onnx\]'"):
        export_onnx.onnx_session('model.onnx')
