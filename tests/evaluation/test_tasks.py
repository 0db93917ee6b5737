"""The task table: every official model's option file exists and builds its network; the pretrained_models
folders that the scripts default to exist and name the official files."""
from __future__ import annotations

import os

import pytest

from basicsr.evaluation.tasks import REPO_ROOT, TASKS, gaussian_task_name, get_task, network_options


@pytest.mark.parametrize('name', sorted(TASKS))
def test_task_files(name):
    spec = TASKS[name]
    assert spec.option_path.startswith(REPO_ROOT) and os.path.isfile(spec.option_path)
    net = network_options(spec.option_path)
    assert net['type'] == 'Restormer' and net['dual_pixel_task'] == spec.dual_pixel
    assert net['inp_channels'] == (6 if spec.dual_pixel else 1 if 'Gray' in name else 3)
    readme = os.path.join(os.path.dirname(spec.weights_path), 'README.md')
    text = open(readme, encoding='utf-8').read()
    assert f'`{os.path.basename(spec.weights)}`' in text and f'`{name}`' in text


def test_names_and_messages(tmp_path):
    assert gaussian_task_name('color') == 'Gaussian_Color_Denoising'
    assert gaussian_task_name('gray', 25) in TASKS
    with pytest.raises(KeyError, match='known: Deraining'):
        get_task('Derainign')
    msg = TASKS['Deraining'].missing_weights_message(str(tmp_path / 'w.pth'))
    assert 'w.pth' in msg and 'deraining.pth' in msg and 'Deraining/pretrained_models/' in msg
