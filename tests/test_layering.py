"""The package's layers only point down, and each shared concept is defined in one place.

Layers (README, "Layout"): ``utils`` <- ``data``, ``metrics``, ``losses`` <- ``models`` <- ``config``
<- ``evaluation`` <- entry points (``basicsr/train.py``, ``basicsr/test.py``, ``demo.py``, the task
scripts, ``scripts/``).  A module may import its own subpackage and the layers below it, never a
sibling of its own layer or anything above.  Imports are read from the source (``import`` and
``from`` statements anywhere in a file, and ``importlib.import_module('basicsr...')`` calls).
"""
from __future__ import annotations

import ast
import os
from typing import Dict, Iterator, List, Tuple

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, 'basicsr')

LAYERS: Dict[str, int] = {'': 0, 'utils': 0, 'data': 1, 'metrics': 1, 'losses': 1, 'models': 2, 'config': 3,
                          'evaluation': 4, 'train': 5, 'test': 5}

#: deliberate exceptions: (file, imported package) -> why
ALLOWED = {
    ('basicsr/utils/options.py', 'config'): 'compatibility alias basicsr.utils.options -> basicsr.config, '
                                            'resolved lazily on attribute access (official scripts call it)',
    ('basicsr/__init__.py', 'evaluation'): "``from basicsr import Restorer``, resolved lazily on attribute access",
}


def _group(module: str) -> str:
    """``basicsr.data.sampler`` -> ``data``; ``basicsr`` and ``basicsr.version`` -> ``''`` (the package root)."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 and parts[1] != 'version' else ''


def _module_name(path: str) -> str:
    rel = os.path.relpath(path, REPO)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def _imports(path: str) -> Iterator[Tuple[int, str]]:
    """``(line, imported module)`` for every basicsr import in ``path``."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    here = _module_name(path)
    is_pkg = path.endswith('__init__.py')
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module
                base = here.split('.')
                base = base if is_pkg else base[:-1]
                base = base[:len(base) - node.level + 1]
                names = ['.'.join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or '']
        elif (isinstance(node, ast.Call) and getattr(node.func, 'attr', getattr(node.func, 'id', None))
              == 'import_module' and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        else:
            continue
        for name in names:
            if name == 'basicsr' or name.startswith('basicsr.'):
                yield node.lineno, name


def _package_files() -> List[str]:
    out = []
    for folder, _, files in os.walk(PACKAGE):
        out += [os.path.join(folder, f) for f in files if f.endswith('.py')]
    return sorted(out)


def test_every_package_module_has_a_layer():
    unknown = {_group(_module_name(p)) for p in _package_files()} - set(LAYERS)
    assert not unknown, f'add these subpackages to the layer table (and the README): {sorted(unknown)}'


def test_imports_only_point_down():
    violations = []
    for path in _package_files():
        src = _group(_module_name(path))
        rel = os.path.relpath(path, REPO)
        for line, target in _imports(path):
            dst = _group(target)
            if dst == src or LAYERS[dst] < LAYERS[src] or (rel, dst) in ALLOWED:
                continue
            violations.append(f'{rel}:{line} ({src}, layer {LAYERS[src]}) imports {target} (layer {LAYERS[dst]})')
    assert not violations, 'imports that point up or sideways:\n' + '\n'.join(violations)


def test_the_walker_sees_upward_imports(tmp_path):
    bad = tmp_path / 'mod.py'
    bad.write_text('import os\nfrom basicsr.models import build_model\ndef f():\n    import basicsr.config\n'
                   "    importlib.import_module('basicsr.evaluation')\n")
    assert [t for _, t in _imports(str(bad))] == ['basicsr.models', 'basicsr.config', 'basicsr.evaluation']


def test_utils_imports_nothing_above_it_at_import_time():
    """``import basicsr.utils`` (and each of its modules) loads no other subpackage."""
    import subprocess
    import sys
    code = ('import sys, importlib, pkgutil, basicsr.utils\n'
            'for m in pkgutil.iter_modules(basicsr.utils.__path__):\n'
            '    importlib.import_module("basicsr.utils." + m.name)\n'
            'print(sorted({n.split(".")[1] for n in sys.modules if n.startswith("basicsr.") and n.count(".") >= 1}))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['utils', 'version']"


# ------------------------------------------------------------------------------------------------------------------
# One definition per concept: these names are defined once in the whole code base (package, scripts, task folders).
ONCE = ['select_device', 'list_images', 'file_stem', 'natsorted', 'build_model', 'build_network', 'MetricTable',
        'TaskSpec', 'TASKS', 'parse', 'autocast_context', 'restore', 'tile_starts', 'pad_to_multiple',
        'component_kwargs', 'check_progressive_options', 'check_scheduler_options', 'official_progressive_crop',
        'require_file', 'require_dir', 'imread', 'imwrite', 'calculate_psnr', 'calculate_ssim',
        'CosineAnnealingRestartCyclicLR', 'RunContext', 'update_best']


def _code_files() -> Iterator[str]:
    for top in ('basicsr', 'scripts', 'Deraining', 'Motion_Deblurring', 'Defocus_Deblurring', 'Denoising'):
        for folder, _, files in os.walk(os.path.join(REPO, top)):
            yield from (os.path.join(folder, f) for f in files if f.endswith('.py'))
    yield os.path.join(REPO, 'demo.py')


def _definitions() -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for path in _code_files():
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
            for name in names:
                found.setdefault(name, []).append(f'{os.path.relpath(path, REPO)}:{node.lineno}')
    return found


@pytest.mark.parametrize('name', ONCE)
def test_concept_defined_once(name):
    places = _definitions().get(name, [])
    assert len(places) == 1, f'{name} is defined {len(places)} times: {places}'
