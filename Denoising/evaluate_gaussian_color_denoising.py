"""Gaussian colour denoising evaluation (Table 5): PSNR (peak 255, uint8, all channels) of saved results.

Re-reads ``<result_dir>/<model_type>/<set>/<sigma>/`` (default ``./results/Gaussian_Color_Denoising/``) and the clean
images in ``<input_dir>/<set>`` (default ``./Datasets/test/``), paired by name (else natural order)::

    python evaluate_gaussian_color_denoising.py --model_type blind --sigmas 15,25,50
"""
from __future__ import annotations

import os
import sys
from typing import Dict, List, Optional, Tuple

try:
    import basicsr  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from basicsr.evaluation.gaussian_denoising import gaussian_eval_main  # noqa: E402
from basicsr.evaluation.report import MetricTable  # noqa: E402
from basicsr.evaluation.task_cli import run_cli  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv: Optional[List[str]] = None) -> Dict[Tuple[str, int], MetricTable]:
    """Evaluate every set and sigma; returns ``{(set, sigma): table}``."""
    return gaussian_eval_main(argv, 'color', HERE, echo=print)


if __name__ == '__main__':
    sys.exit(run_cli(main))
