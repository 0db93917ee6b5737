"""Restormer Gaussian gray denoising test (Table 4).

Run from ``Denoising/`` (official) or from the repository root::

    python test_gaussian_gray_denoising.py --model_type blind --sigmas 15,25,50
    python test_gaussian_gray_denoising.py --model_type non_blind --sigmas 15,25,50

Weights: ``--weights`` is a prefix (default ``./pretrained_models/gaussian_gray_denoising``): ``_blind.pth`` or
``_sigma<s>.pth`` is appended.  Results go to ``<result_dir>/<model_type>/<set>/<sigma>/`` with
``metrics.csv/json``; see :mod:`basicsr.evaluation.gaussian_denoising` for the protocol.
"""
from __future__ import annotations

import os
import sys
from typing import Dict, List, Optional, Tuple

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.gaussian_denoising import gaussian_test_main  # noqa: E402
from basicsr.evaluation.report import MetricTable  # noqa: E402
from basicsr.evaluation.task_cli import run_cli  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv: Optional[List[str]] = None) -> Dict[Tuple[str, int], MetricTable]:
    """Add the official test noise, restore and score every set and sigma; returns ``{(set, sigma): table}``."""
    return gaussian_test_main(argv, 'gray', HERE, echo=print)


if __name__ == '__main__':
    sys.exit(run_cli(main))
