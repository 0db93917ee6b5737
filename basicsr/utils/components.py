"""Import every module that registers components, so that names in option files resolve."""
import importlib

__all__ = ['import_all']

_MODULES = ('basicsr.models.archs', 'basicsr.models', 'basicsr.data', 'basicsr.losses', 'basicsr.metrics')


def import_all() -> None:
    """Populate all registries (idempotent; cheap after the first call)."""
    for name in _MODULES:
        importlib.import_module(name)
