"""Installs the `basicsr` package (pure Python; no C/CUDA extension is built and torch is not imported here)."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_requirements(name):
    with open(os.path.join(HERE, name), encoding='utf-8') as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


def read_version():
    scope = {}
    with open(os.path.join(HERE, 'basicsr', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)  # the file only assigns __version__
    return scope['__version__']


setup(
    name='restormer-basicsr',
    version=read_version(),
    description='Restormer (CVPR 2022) image restoration: training, evaluation and inference framework',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read()
    if os.path.exists(os.path.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['basicsr', 'basicsr.*']),
    install_requires=read_requirements('requirements.txt'),
    extras_require={
        'test': read_requirements('requirements-test.txt'),
        'lpips': ['lpips>=0.1.4'],
        'onnx': ['onnx>=1.15', 'onnxruntime>=1.17', 'onnxscript>=0.1'],
    },
    license='MIT',
    zip_safe=False,
)
