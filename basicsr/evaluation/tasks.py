"""The task table: every official Restormer model, its option file and its official weights.

This is the one place that maps a task name (as the demo and the task scripts know it) to the
option file whose ``network_g`` builds the network and to the official checkpoint, so the demo,
the per-task test scripts and the Python API agree.  Paths are relative to the repository root.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

from basicsr.config import parse, to_plain
from basicsr.utils.file_util import require_file

__all__ = ['REPO_ROOT', 'TaskSpec', 'TASKS', 'get_task', 'gaussian_task_name', 'network_options', 'RELEASES_URL']

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELEASES_URL = 'https://github.com/swz30/Restormer/releases/tag/v1.0'
OFFICIAL_README = 'https://github.com/swz30/Restormer'

_DRIVE = {
    'Deraining': 'https://drive.google.com/drive/folders/1ZEDDEVW0UgkpWi-N4Lj_JUoVChGXCu_u',
    'Motion_Deblurring': 'https://drive.google.com/drive/folders/1czMyfRTQDX3j3ErByYeZ1PM4GVLbJeGK',
    'Defocus_Deblurring': 'https://drive.google.com/drive/folders/1bRBG8DG_72AGA6-eRePvChlT5ZO4cwJ4',
    'Denoising': 'https://drive.google.com/drive/folders/1Qwsjyny54RZWa7zC4Apg7exixLBo4uF0',
}


@dataclass(frozen=True)
class TaskSpec:
    """One official model.

    Attributes:
        name: task name used by ``demo.py --task`` and ``Restorer.from_task``.
        folder: the task folder (``Deraining``, ``Denoising``, ...).
        option_file: option file (relative to the repository root) whose ``network_g`` builds the network.
        weights: official checkpoint (relative to the repository root; ``<folder>/pretrained_models/...``).
        dual_pixel: the input is a left/right dual-pixel view pair (6 channels), not one image.
    """

    name: str
    folder: str
    option_file: str
    weights: str
    dual_pixel: bool = False

    @property
    def option_path(self) -> str:
        return os.path.join(REPO_ROOT, self.option_file)

    @property
    def weights_path(self) -> str:
        return os.path.join(REPO_ROOT, self.weights)

    def missing_weights_message(self, path: Optional[str] = None) -> str:
        """What to do when the weights file ``path`` (default: the official location) is missing."""
        path = path or self.weights_path
        folder = os.path.dirname(self.weights)
        return (f"Weights file not found: '{path}'.\n"
                f"Download the official pre-trained model '{os.path.basename(self.weights)}' and put it in "
                f"'{folder}/' (i.e. '{os.path.join(REPO_ROOT, folder)}'), or pass your own weights.\n"
                f'The official weights of Restormer ({OFFICIAL_README}) are published as GitHub release assets '
                f'({RELEASES_URL}) and in the Google Drive folders linked from the official README '
                f'(this task: {_DRIVE[self.folder]}).')


def _spec(name: str, folder: str, option: str, weights: str, dual_pixel: bool = False) -> TaskSpec:
    return TaskSpec(name, folder, f'{folder}/Options/{option}', f'{folder}/pretrained_models/{weights}', dual_pixel)


def _gaussian_specs() -> Dict[str, TaskSpec]:
    out = {}
    for mode, prefix in (('Color', 'GaussianColorDenoising'), ('Gray', 'GaussianGrayDenoising')):
        stem = f'gaussian_{mode.lower()}_denoising'
        name = f'Gaussian_{mode}_Denoising'
        out[name] = _spec(name, 'Denoising', f'{prefix}_Restormer.yml', f'{stem}_blind.pth')
        for sigma in (15, 25, 50):
            out[f'{name}_Sigma{sigma}'] = _spec(f'{name}_Sigma{sigma}', 'Denoising',
                                                f'{prefix}_RestormerSigma{sigma}.yml', f'{stem}_sigma{sigma}.pth')
    return out


#: every official model, by task name
TASKS: Dict[str, TaskSpec] = {
    'Deraining': _spec('Deraining', 'Deraining', 'Deraining_Restormer.yml', 'deraining.pth'),
    'Motion_Deblurring': _spec('Motion_Deblurring', 'Motion_Deblurring', 'Deblurring_Restormer.yml',
                               'motion_deblurring.pth'),
    'Single_Image_Defocus_Deblurring': _spec('Single_Image_Defocus_Deblurring', 'Defocus_Deblurring',
                                             'DefocusDeblur_Single_8bit_Restormer.yml',
                                             'single_image_defocus_deblurring.pth'),
    'Dual_Pixel_Defocus_Deblurring': _spec('Dual_Pixel_Defocus_Deblurring', 'Defocus_Deblurring',
                                           'DefocusDeblur_DualPixel_16bit_Restormer.yml',
                                           'dual_pixel_defocus_deblurring.pth', dual_pixel=True),
    'Real_Denoising': _spec('Real_Denoising', 'Denoising', 'RealDenoising_Restormer.yml', 'real_denoising.pth'),
    **_gaussian_specs(),
}


def get_task(name: str) -> TaskSpec:
    """The :class:`TaskSpec` called ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"Unknown task '{name}'; known: {', '.join(TASKS)}") from None


def gaussian_task_name(mode: str, sigma: Optional[int] = None) -> str:
    """``('color', None)`` -> the blind model, ``('gray', 25)`` -> ``'Gaussian_Gray_Denoising_Sigma25'``."""
    name = f'Gaussian_{mode.capitalize()}_Denoising'
    return name if sigma is None else f'{name}_Sigma{sigma}'


def network_options(option_file: str, overrides: Sequence[str] = ()) -> Dict[str, Any]:
    """The ``network_g`` block of an option file (after ``key=value`` overrides), as a plain dict.

    Raises:
        MissingInputError: the option file does not exist.
        OptionError: it is not a valid option file.
    """
    require_file(option_file, 'Option file')
    return to_plain(parse(option_file, is_train=False, overrides=list(overrides))['network_g'])
