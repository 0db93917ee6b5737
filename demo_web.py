"""A local web demo: pick a model, upload a photo, see it restored next to the original, download the result.

    python demo_web.py                          # http://127.0.0.1:7860 : the official tasks whose weights are here,
                                                # and every run under experiments/ (net_g_latest.pth)
    python demo_web.py --experiment experiments/my_run --opt Deraining/Options/Deraining_Restormer.yml \\
        --weights my.pth --port 8000

It needs nothing beyond the package (Python's own HTTP server; the page has no external scripts, fonts or
analytics, so it works offline) and listens on 127.0.0.1 only unless ``--host`` says otherwise.  Images are
restored with the :class:`basicsr.Restorer` API (large images are tiled automatically), so the result equals
``Restorer.restore`` on the same file, pixel for pixel.
"""
from __future__ import annotations

import argparse
import glob
import html
import importlib.util
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Sequence
from urllib.parse import parse_qs, urlparse

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
if importlib.util.find_spec('basicsr') is None:  # not installed: use the package next to this script
    sys.path.insert(0, REPO_ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from basicsr.evaluation.restorer import Restorer  # noqa: E402
from basicsr.evaluation.tasks import TASKS  # noqa: E402
from basicsr.utils.cli import run_main  # noqa: E402
from basicsr.utils.errors import UserError  # noqa: E402
from basicsr.utils.img_util import imfrombytes  # noqa: E402

__all__ = ['ModelChoice', 'find_models', 'make_server', 'main']

logger = logging.getLogger('basicsr')
MAX_UPLOAD = 64 << 20  # bytes


@dataclass
class ModelChoice:
    """One entry of the model menu: how to build its restorer, and why it is unavailable (if it is)."""

    id: str
    label: str
    build: Callable[[], Restorer]
    missing: Optional[str] = None  # the message shown instead of restoring


def find_models(experiments: Sequence[str] = (), experiments_root: Optional[str] = None,
                custom: Sequence[tuple] = (), overrides: Sequence[str] = (), **settings) -> List[ModelChoice]:
    """The menu: official single-image tasks (unavailable ones explain where the weights go), the runs found
    under ``experiments_root`` and given as ``experiments``, and ``(option file, weights)`` pairs."""
    choices = []
    for name, spec in TASKS.items():
        if spec.dual_pixel:
            continue
        missing = None if os.path.isfile(spec.weights_path) else spec.missing_weights_message()
        choices.append(ModelChoice(name, name.replace('_', ' '),
                                   lambda spec=spec: Restorer.from_task(spec, overrides=overrides, **settings),
                                   missing))
    runs = list(experiments)
    if experiments_root and os.path.isdir(experiments_root):
        runs += sorted(os.path.dirname(os.path.dirname(p))
                       for p in glob.glob(os.path.join(experiments_root, '*', 'models', 'net_g_latest.pth')))
    for run in dict.fromkeys(runs):
        choices.append(ModelChoice(f'run:{run}', f'your run: {os.path.basename(os.path.normpath(run))}',
                                   lambda run=run: Restorer.from_experiment(run, **settings)))
    for k, (option_file, weights) in enumerate(custom):
        choices.append(ModelChoice(f'custom:{k}', f'{os.path.basename(weights)} ({os.path.basename(option_file)})',
                                   lambda o=option_file, w=weights: Restorer.from_options(o, w, overrides,
                                                                                          **settings)))
    return choices


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Restormer demo</title>
<style>
 body { font-family: sans-serif; margin: 1.5em; color: #222; }
 .row { display: flex; gap: 1em; flex-wrap: wrap; }
 figure { margin: 0; flex: 1 1 45%; min-width: 280px; }
 img { max-width: 100%; border: 1px solid #ccc; image-rendering: pixelated; }
 #status { margin: 0.8em 0; white-space: pre-wrap; }
 .error { color: #a00; }
</style></head>
<body>
<h1>Restormer</h1>
<p><label>Model <select id="model">{options}</select></label>
   <input type="file" id="file" accept="image/*">
   <button id="run">Restore</button> <a id="download" download="restored.png" hidden>Download the result</a></p>
<div id="status"></div>
<div class="row">
 <figure><figcaption>Input</figcaption><img id="input" alt="input"></figure>
 <figure><figcaption>Restored</figcaption><img id="output" alt="restored"></figure>
</div>
<script>
const $ = (id) => document.getElementById(id);
$('file').addEventListener('change', () => {
  const f = $('file').files[0];
  if (f) { $('input').src = URL.createObjectURL(f); $('output').removeAttribute('src'); $('download').hidden = true; }
});
$('run').addEventListener('click', async () => {
  const f = $('file').files[0];
  if (!f) { $('status').textContent = 'Choose an image first.'; return; }
  $('status').className = ''; $('status').textContent = 'Restoring...';
  const r = await fetch('/api/restore?model=' + encodeURIComponent($('model').value), {method: 'POST', body: f});
  if (!r.ok) { $('status').className = 'error'; $('status').textContent = (await r.json()).error; return; }
  const url = URL.createObjectURL(await r.blob());
  $('output').src = url; $('download').href = url;
  $('download').download = f.name.replace(/\\.[^.]*$/, '') + '_restored.png'; $('download').hidden = false;
  $('status').textContent = 'Done: ' + r.headers.get('X-Restorer');
});
</script></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server: 'DemoServer'

    def log_message(self, fmt: str, *args: object) -> None:
        logger.info('web: ' + fmt, *args)

    def _send(self, status: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({'error': message}).encode(), 'application/json')

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlparse(self.path).path
        if path == '/':
            options = ''.join(f'<option value="{html.escape(m.id)}">{html.escape(m.label)}'
                              f'{" (weights missing)" if m.missing else ""}</option>' for m in self.server.models)
            self._send(200, PAGE.replace('{options}', options).encode(), 'text/html; charset=utf-8')
        elif path == '/api/models':
            body = [{'id': m.id, 'label': m.label, 'available': m.missing is None, 'missing': m.missing}
                    for m in self.server.models]
            self._send(200, json.dumps(body).encode(), 'application/json')
        else:
            self._error(404, f'no page {path}')

    def do_POST(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path != '/api/restore':
            return self._error(404, f'no page {url.path}')
        model_id = parse_qs(url.query).get('model', [''])[0]
        size = int(self.headers.get('Content-Length') or 0)
        if not 0 < size <= MAX_UPLOAD:
            return self._error(400, f'send one image of at most {MAX_UPLOAD >> 20} MiB')
        content = self.rfile.read(size)
        try:
            png, name = self.server.restore(model_id, content)
        except UserError as e:
            return self._error(400, str(e))
        except Exception:  # a bug or out of memory: the page says so, the traceback goes to the server's log
            logger.exception('web: restoring with %s failed', model_id)
            return self._error(500, 'The restoration failed; the traceback is in the server log.')
        self._send(200, png, 'image/png', {'X-Restorer': name})


class DemoServer(ThreadingHTTPServer):
    """The HTTP server with its model menu and one restorer per model, built on first use."""

    daemon_threads = True

    def __init__(self, address: tuple, models: List[ModelChoice]) -> None:
        super().__init__(address, _Handler)
        self.models = models
        self._restorers: Dict[str, Restorer] = {}
        self._lock = threading.Lock()  # one restoration at a time: the network is not shared between threads

    def restore(self, model_id: str, content: bytes) -> tuple:
        """Restore an uploaded image with model ``model_id``; returns ``(PNG bytes, restorer name)``."""
        model = next((m for m in self.models if m.id == model_id), None)
        if model is None:
            raise UserError(f"unknown model '{model_id}'")
        if model.missing:
            raise UserError(model.missing)
        with self._lock:
            if model_id not in self._restorers:
                self._restorers[model_id] = model.build()
            restorer = self._restorers[model_id]
            flag = 'grayscale' if restorer.in_channels == 1 else 'color'
            img = imfrombytes(content, flag=flag, keep_depth=True, path='the upload')
            out = restorer.restore(np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img)
        ok, buf = cv2.imencode('.png', np.ascontiguousarray(out[..., ::-1]) if out.ndim == 3 else out)
        if not ok:
            raise UserError('could not encode the result as PNG')
        return buf.tobytes(), restorer.name


def make_server(models: List[ModelChoice], host: str = '127.0.0.1', port: int = 7860) -> DemoServer:
    """The server (not yet serving: call ``serve_forever``); ``port=0`` picks a free port."""
    return DemoServer((host, port), models)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description='Restormer in the browser (local, offline).')
    p.add_argument('--host', default='127.0.0.1', help='address to listen on (default: this machine only)')
    p.add_argument('--port', type=int, default=7860)
    p.add_argument('--experiment', action='append', default=[], help='a training run folder to offer (repeatable)')
    p.add_argument('--experiments_root', default=os.path.join(REPO_ROOT, 'experiments'),
                   help='offer every run under this folder that has models/net_g_latest.pth')
    p.add_argument('--opt', help='option file of a model of your own (with --weights)')
    p.add_argument('--weights', help='weights of that model')
    p.add_argument('--set', nargs='*', action='extend', default=[], metavar='KEY=VALUE', help='network overrides')
    p.add_argument('--device', default='auto')
    p.add_argument('--amp', choices=('bf16', 'fp16'), default=None)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.opt) != bool(args.weights):
        parser.error('--opt and --weights go together (the option file gives the network, the weights fill it)')
    custom = [(args.opt, args.weights)] if args.opt and args.weights else []
    models = find_models(args.experiment, args.experiments_root, custom, args.set, device=args.device, amp=args.amp)
    server = make_server(models, args.host, args.port)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s: %(message)s')
    available = [m.label for m in models if not m.missing]
    print(f'Restormer demo on http://{args.host}:{server.server_address[1]}  (models with weights: '
          f"{', '.join(available) or 'none yet - see <Task>/pretrained_models/README.md'}); Ctrl-C stops it.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
