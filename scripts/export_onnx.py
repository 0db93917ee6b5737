"""Export a Restormer checkpoint to ONNX with dynamic batch, height and width.

Usage::

    python scripts/export_onnx.py --task Motion_Deblurring --output motion_deblurring.onnx --check
    python scripts/export_onnx.py --opt Denoising/Options/RealDenoising_Restormer.yml \\
        --weights Denoising/pretrained_models/real_denoising.pth --output real_denoising.onnx --check photo.png

The network settings come from ``network_g`` of the task option file (``--task``, see
``basicsr.evaluation.tasks.TASKS``) or of ``--opt``; weights are official ``{'params': ...}`` files
(default: the task's file in ``<Task>/pretrained_models/``).
The graph has one input ``input`` (N, C, H, W) and one output ``output``; N, H and W are dynamic.

**H and W must be multiples of 8 at run time** (three 2x down-samplings).  The size check of
``Restormer.forward`` is evaluated once while tracing and is *not* part of the graph: a wrong size fails
inside onnxruntime with a Reshape error (pixel-unshuffle).  Pad first (reflect, bottom/right, as
``basicsr.utils.inference.pad_to_multiple``) and crop the output; :func:`run_onnx` does this.  The model's
metadata records ``size_multiple=8``.

Exporter: the TorchScript exporter (``dynamo=False``) is the default.  With torch 2.14 it exports this model in
about a second with correct dynamic N/H/W; the dynamo exporter (``--dynamo``) also works when H and W are declared
as ``8 * Dim`` (a plain ``Dim`` fails: the ``% 8`` check and PixelUnshuffle become guards that are not true for
every size), but takes 30-45 s for a tiny model, and with ``Dim.AUTO`` and a batch-1 example it specialised the
batch of a PixelUnshuffle reshape to 1 (the graph failed at batch 2).  onnx is required for export;
onnxruntime for ``--check``; onnxscript for ``--dynamo`` (``pip install -e .[onnx]``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:
    import basicsr  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from basicsr.evaluation.tasks import TASKS, network_options  # noqa: E402
from basicsr.models.archs import build_network  # noqa: E402
from basicsr.utils.errors import MissingInputError, UserError  # noqa: E402
from basicsr.utils.img_util import img2tensor, imread  # noqa: E402
from basicsr.utils.inference import pad_to_multiple  # noqa: E402

SIZE_MULTIPLE = 8
INPUT_NAME, OUTPUT_NAME = 'input', 'output'
INSTALL_HINT = "install the optional ONNX extra: pip install -e '.[onnx]' (or pip install onnx onnxruntime onnxscript)"


class MissingDependency(UserError, RuntimeError):
    """An optional package (onnx, onnxruntime, onnxscript) is not installed."""


def _require(module: str, purpose: str) -> Any:
    try:
        return __import__(module)
    except ImportError as e:
        raise MissingDependency(f"'{module}' is needed {purpose} but is not installed; {INSTALL_HINT}.") from e


def export_onnx(net: nn.Module, path: str, in_channels: int, opset: int = 17, dynamo: bool = False,
                example_hw: Tuple[int, int] = (64, 64), metadata: Optional[Dict[str, str]] = None) -> None:
    """Export ``net`` (eval mode, CPU) to ``path`` with dynamic batch/height/width.

    Args:
        net: a Restormer (any image-to-image network whose H/W must be multiples of 8).
        path: output ``.onnx`` file.
        in_channels: input channels (1, 3 or 6).
        opset: ONNX opset (the dynamo exporter needs >= 18 and raises lower values to 18).
        dynamo: use the ``torch.export``-based exporter instead of the TorchScript one.
        example_hw: size of the example input used for tracing (multiples of 8).
        metadata: extra string metadata stored in the model.
    """
    onnx = _require('onnx', 'to export and check the model')
    net = net.eval().cpu()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    example = torch.rand(2, in_channels, *example_hw)  # batch 2: a batch of 1 invites specialising it
    with torch.no_grad(), warnings.catch_warnings():
        if dynamo:
            _require('onnxscript', 'by the dynamo exporter')
            dims = {0: torch.export.Dim('batch', min=1, max=1024),
                    2: SIZE_MULTIPLE * torch.export.Dim('height_div8', min=1, max=4096),
                    3: SIZE_MULTIPLE * torch.export.Dim('width_div8', min=1, max=4096)}
            program = torch.onnx.export(net, (example,), dynamo=True, opset_version=max(opset, 18),
                                        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        dynamic_shapes=({k: v for k, v in dims.items()},), verbose=False)
            program.save(path)
        else:
            # Expected, harmless here: the forward's `% 8` check is evaluated at trace time (TracerWarning),
            # and torch >= 2.9 flags the TorchScript exporter as legacy (DeprecationWarning).
            warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX export.*')
            warnings.filterwarnings('ignore', message='The feature will be removed', category=DeprecationWarning)
            axes = {0: 'batch', 2: 'height', 3: 'width'}
            torch.onnx.export(net, (example,), path, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                              output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
                              do_constant_folding=True)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    meta = {'size_multiple': str(SIZE_MULTIPLE), 'value_range': '[0, 1] RGB (gray: 1 channel)',
            'exporter': 'dynamo' if dynamo else 'torchscript'}
    meta.update(metadata or {})
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)


def onnx_session(path: str) -> Any:
    ort = _require('onnxruntime', 'to run or --check the exported model')
    return ort.InferenceSession(path, providers=['CPUExecutionProvider'])


def run_onnx(session: Any, x: np.ndarray) -> np.ndarray:
    """Run an exported model on an NCHW float32 array of any size: reflect-pad to a multiple of 8, crop back."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    padded, (h, w) = pad_to_multiple(t, SIZE_MULTIPLE)
    out = session.run([OUTPUT_NAME], {INPUT_NAME: padded.numpy()})[0]
    return out[..., :h, :w]


def compare_with_torch(net: nn.Module, session: Any, inputs: Sequence[torch.Tensor]) -> List[float]:
    """Max |ONNX - PyTorch| for each input (any size; padded like :func:`run_onnx`)."""
    diffs = []
    for x in inputs:
        padded, (h, w) = pad_to_multiple(x, SIZE_MULTIPLE)
        with torch.no_grad():
            ref = net(padded)[..., :h, :w].numpy()
        diffs.append(float(np.abs(run_onnx(session, x.numpy()) - ref).max()))
    return diffs


def check_inputs(in_channels: int, image: Optional[str], seed: int = 0) -> List[Tuple[str, torch.Tensor]]:
    """Random inputs of two sizes and batches (dynamic N/H/W), plus ``image`` when given."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [('random 1x%dx72x104' % in_channels, torch.rand(1, in_channels, 72, 104, generator=gen)),
              ('random 2x%dx48x40' % in_channels, torch.rand(2, in_channels, 48, 40, generator=gen))]
    if image:
        if in_channels not in (1, 3):
            raise ValueError(f'--check IMAGE needs a 1- or 3-channel network, this one takes {in_channels}')
        img = imread(image, flag='grayscale' if in_channels == 1 else 'color')
        x = img2tensor(img)[None]
        inputs.append((f'{os.path.basename(image)} {tuple(x.shape)}', x))
    return inputs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description='Export a Restormer checkpoint to ONNX (dynamic N, H, W; '
                                                 'H and W must be multiples of 8 at run time).')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--task', choices=sorted(TASKS), help='network_g and default weights of an official task')
    src.add_argument('--opt', help='option YAML whose network_g describes the checkpoint')
    parser.add_argument('--set', nargs='*', action='extend', default=[], metavar='KEY=VALUE',
                        help='overrides of the option file, e.g. network_g.dim=8')
    parser.add_argument('--weights', default=None,
                        help="checkpoint ({'params': ...}); default with --task: <Task>/pretrained_models/<file>.pth")
    parser.add_argument('--param_key', default='params', help="'params' or 'params_ema'")
    parser.add_argument('--output', default=None, help='output .onnx file (default: the weights path with .onnx)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (dynamo exporter: at least 18)')
    parser.add_argument('--dynamo', action='store_true', help='use the torch.export-based (dynamo) exporter')
    parser.add_argument('--check', nargs='?', const='', default=None, metavar='IMAGE',
                        help='compare onnxruntime with PyTorch on random inputs (and IMAGE if given); '
                             'prints the max abs difference')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='--check fails above this max abs difference')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Export (and optionally check); returns 0, or 1 when the check exceeds ``--tolerance``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    task = args.task
    if task:
        network_opt = network_options(TASKS[task].option_path, args.set)
        weights = args.weights or TASKS[task].weights_path
    else:
        if not args.weights:
            parser.error('--weights is required with --opt')
        network_opt = network_options(args.opt, args.set)
        weights = args.weights
    if not os.path.isfile(weights):
        raise MissingInputError(TASKS[task].missing_weights_message(weights) if task else
                                f"Weights file not found: '{weights}'")
    _require('onnx', 'to export the model')
    if args.check is not None:
        _require('onnxruntime', 'for --check')
    net = build_network(network_opt, weights, param_key=args.param_key).eval()
    in_channels = int(network_opt.get('inp_channels', 3))
    output = args.output or os.path.splitext(weights)[0] + '.onnx'
    meta = {'network_g': repr(network_opt), 'weights': os.path.basename(weights)}
    start = time.perf_counter()
    export_onnx(net, output, in_channels, opset=args.opset, dynamo=args.dynamo, metadata=meta)
    print(f"Exported {output} ({os.path.getsize(output) / 2**20:.1f} MiB, "
          f"{'dynamo' if args.dynamo else 'torchscript'} exporter, {time.perf_counter() - start:.1f} s); "
          f'input {INPUT_NAME!r} N x {in_channels} x H x W, H and W multiples of {SIZE_MULTIPLE}.')
    if args.check is None:
        return 0
    session = onnx_session(output)
    named = check_inputs(in_channels, args.check or None)
    diffs = compare_with_torch(net, session, [x for _, x in named])
    for (name, _), diff in zip(named, diffs):
        print(f'check {name}: max |onnxruntime - pytorch| = {diff:.3e}')
    worst = max(diffs)
    if worst > args.tolerance:
        print(f'check FAILED: {worst:.3e} > tolerance {args.tolerance:g}')
        return 1
    print(f'check passed (max abs difference {worst:.3e} <= {args.tolerance:g})')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except UserError as err:
        sys.exit(f'error: {err}')
