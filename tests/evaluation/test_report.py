"""Metric reports (``basicsr.evaluation.report``): pairing result and ground-truth files, metric tables."""
import json

import pytest

from basicsr.evaluation.report import MetricTable, pair_files
from basicsr.utils.errors import DatasetLayoutError
from basicsr.utils.file_util import natsorted


def test_natural_order_and_pairing(tmp_path):
    assert natsorted(['img10.png', 'img2.png', 'img1.png']) == ['img1.png', 'img2.png', 'img10.png']
    res = ['r/2.png', 'r/10.png', 'r/1.png']
    assert pair_files(res, ['t/1.jpg', 't/2.jpg', 't/10.jpg']) == [('r/1.png', 't/1.jpg'), ('r/2.png', 't/2.jpg'),
                                                                   ('r/10.png', 't/10.jpg')]
    # Different names: natural order, as the official evaluators.
    assert pair_files(['r/rain-2.png', 'r/rain-10.png'], ['t/norain-10.png', 't/norain-2.png']) == [
        ('r/rain-2.png', 't/norain-2.png'), ('r/rain-10.png', 't/norain-10.png')]
    with pytest.raises(DatasetLayoutError, match='2 result images but 1'):
        pair_files(res[:2], ['t/1.png'])


def test_metric_table_files(tmp_path):
    table = MetricTable('demo')
    table.add('a.png', {'psnr': 30.0, 'ssim': 0.9})
    table.add('b.png', {'psnr': float('inf'), 'ssim': 0.8})
    table.add_summary('mean', table.mean(['a.png']))
    csv_path, json_path = table.save(str(tmp_path))
    lines = open(csv_path).read().splitlines()
    assert lines[0] == 'name,psnr,ssim' and lines[1] == 'a.png,30.0,0.9' and lines[-1] == 'mean,30.0,0.9'
    data = json.load(open(json_path))
    assert data['images'][1]['psnr'] == 'inf' and data['summary']['mean']['ssim'] == 0.9
    assert 'a.png' in table.format() and 'a.png' not in table.format(per_image=False)
