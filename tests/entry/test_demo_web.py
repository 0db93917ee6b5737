"""The web demo: its HTTP API always, and the page in a real headless Chromium (Playwright) when one is
installed: upload a real photo, get a restored image whose pixels equal the Restorer API's result, without a
single request leaving the machine."""
from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
import torch

import demo_web
from basicsr.evaluation.restorer import Restorer
from basicsr.evaluation.tasks import TASKS

TINY = ['network_g.dim=8', 'network_g.num_blocks=[1,1,1,1]', 'network_g.num_refinement_blocks=1',
        'network_g.heads=[1,1,1,1]']
OPTION_FILE = TASKS['Real_Denoising'].option_path


@pytest.fixture(scope='module')
def setup(tmp_path_factory, photo):
    """A running server offering one tiny model of our own, the photo to upload and the API's own result."""
    from basicsr.evaluation.tasks import network_options
    from basicsr.models.archs import build_network
    folder = tmp_path_factory.mktemp('web')
    torch.manual_seed(0)
    weights = str(folder / 'mine.pth')
    torch.save({'params': build_network(network_options(OPTION_FILE, TINY)).state_dict()}, weights)
    rgb = np.ascontiguousarray(photo('astronaut')[60:157, 150:271])  # 97 x 121: padded inside
    upload = str(folder / 'astronaut.png')
    cv2.imwrite(upload, rgb[..., ::-1])
    expected = Restorer.from_options(OPTION_FILE, weights, TINY, device='cpu').restore(rgb)
    models = demo_web.find_models(custom=[(OPTION_FILE, weights)], overrides=TINY, device='cpu')
    server = demo_web.make_server(models, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {'url': f'http://127.0.0.1:{server.server_address[1]}', 'upload': upload, 'expected': expected,
           'weights': weights}
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes):
    req = urllib.request.Request(url, data=body, method='POST')
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def test_http_api_restores_like_the_python_api(setup):
    models = json.loads(urllib.request.urlopen(setup['url'] + '/api/models', timeout=30).read())
    assert {'id': 'custom:0', 'label': 'mine.pth (RealDenoising_Restormer.yml)', 'available': True,
            'missing': None} in models
    status, body, headers = _post(setup['url'] + '/api/restore?model=custom:0', open(setup['upload'], 'rb').read())
    assert status == 200 and headers['Content-Type'] == 'image/png' and headers['X-Restorer'] == 'mine.pth'
    got = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    np.testing.assert_array_equal(got, setup['expected'])


def test_http_api_errors_are_messages(setup):
    status, body, _ = _post(setup['url'] + '/api/restore?model=custom:0', b'not an image')
    assert status == 400 and "Cannot decode image 'the upload'" in json.loads(body)['error']
    missing = next(t for t in TASKS.values() if not t.dual_pixel and not os.path.exists(t.weights_path))
    status, body, _ = _post(setup['url'] + f'/api/restore?model={missing.name}', open(setup['upload'], 'rb').read())
    assert status == 400 and 'pretrained_models' in json.loads(body)['error']
    status, body, _ = _post(setup['url'] + '/api/restore?model=nope', b'x')
    assert status == 400 and "unknown model 'nope'" in json.loads(body)['error']


def test_http_api_failure_is_a_message_and_the_server_keeps_serving(setup, monkeypatch, caplog):
    def fail(self, image):
        raise RuntimeError('out of memory')
    with monkeypatch.context() as m:
        m.setattr(Restorer, 'restore', fail)
        status, body, _ = _post(setup['url'] + '/api/restore?model=custom:0', open(setup['upload'], 'rb').read())
    assert status == 500 and 'server log' in json.loads(body)['error']
    assert 'out of memory' in caplog.text  # the traceback is logged
    status, _, _ = _post(setup['url'] + '/api/restore?model=custom:0', open(setup['upload'], 'rb').read())
    assert status == 200


def test_opt_without_weights_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        demo_web.main(['--opt', OPTION_FILE])
    assert exc.value.code == 2 and '--opt and --weights go together' in capsys.readouterr().err


def _chromium() -> str:
    path = os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
    if not path:
        pytest.skip('no Chromium on this machine (apt-get install chromium; CI installs it when it can)')
    pytest.importorskip('playwright.sync_api', reason='playwright is not installed (pip install -e ".[test]")')
    return path


def test_browser_upload_restore_download(setup, tmp_path):
    from playwright.sync_api import sync_playwright
    chromium = _chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
            '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync'])
        try:
            page = browser.new_page()
            requests = []
            page.on('request', lambda r: requests.append(r.url))
            page.goto(setup['url'])
            page.select_option('#model', 'custom:0')
            page.set_input_files('#file', setup['upload'])
            page.click('#run')
            page.wait_for_selector('#download:not([hidden])', timeout=120_000)
            assert page.get_attribute('#download', 'download') == 'astronaut_restored.png'
            assert 'Done: mine.pth' in page.inner_text('#status')
            assert page.evaluate("document.getElementById('input').naturalWidth") == 121  # the original is shown
            png = bytes(page.evaluate("""async () => {
                const r = await fetch(document.getElementById('download').href);
                return Array.from(new Uint8Array(await r.arrayBuffer())); }"""))
            with page.expect_download() as download:
                page.click('#download')
            download.value.save_as(str(tmp_path / 'saved.png'))
            # an official model without weights: the page says where they go
            page.select_option('#model', 'Deraining')
            page.click('#run')
            page.wait_for_selector('#status.error', timeout=60_000)
            if not os.path.exists(TASKS['Deraining'].weights_path):
                assert 'Deraining/pretrained_models/' in page.inner_text('#status')
        finally:
            browser.close()
    got = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    np.testing.assert_array_equal(got, setup['expected'])
    assert open(tmp_path / 'saved.png', 'rb').read() == png
    outside = [u for u in requests if not u.startswith((setup['url'], 'blob:', 'data:'))]
    assert not outside, f'the page asked for outside resources: {outside}'
