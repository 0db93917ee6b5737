"""A minimal name -> object registry.

Every buildable component (architectures, datasets, models, losses, metrics, LR schedulers) is
registered where it is defined, with the ``register`` decorator.  Option files refer to it by
name (``type: Restormer``).  Unlike BasicSR there is no silent fallback: an unknown name raises
``KeyError`` listing the known names, with the closest match first.
"""
from __future__ import annotations

import difflib
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

__all__ = ['Registry', 'component_kwargs', 'ARCH_REGISTRY', 'DATASET_REGISTRY', 'MODEL_REGISTRY', 'LOSS_REGISTRY',
           'METRIC_REGISTRY', 'SCHEDULER_REGISTRY', 'OPTIMIZER_REGISTRY']


def component_kwargs(opt: Mapping[str, Any], drop: Sequence[str] = ()) -> Dict[str, Any]:
    """The keyword arguments of a component option block: every key but ``type`` (and ``drop``)."""
    return {k: v for k, v in opt.items() if k != 'type' and k not in drop}


class Registry:
    """Maps names to classes or functions.

    Args:
        name: human-readable name used in error messages (e.g. ``'arch'``).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._obj_map: Dict[str, Any] = {}

    def _do_register(self, name: str, obj: Any) -> None:
        existing = self._obj_map.get(name)
        if existing is not None and existing is not obj:
            raise KeyError(f"An object named '{name}' is already registered in the {self._name} registry "
                           f"({existing!r}); refusing to replace it with {obj!r}.")
        self._obj_map[name] = obj

    def register(self, obj: Any = None, name: Optional[str] = None) -> Any:
        """Register ``obj`` under ``name`` (default: ``obj.__name__``).

        Use as ``@REGISTRY.register()``, ``@REGISTRY.register(name='Alias')`` or
        ``REGISTRY.register(obj)``.
        """
        if obj is None:
            def deco(func_or_class: Any) -> Any:
                self._do_register(name or func_or_class.__name__, func_or_class)
                return func_or_class
            return deco
        self._do_register(name or obj.__name__, obj)
        return obj

    def get(self, name: str) -> Any:
        """Return the object registered as ``name``; ``KeyError`` listing the known names otherwise."""
        try:
            return self._obj_map[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def build(self, opt: Mapping[str, Any], *args: Any, drop: Sequence[str] = (), **overrides: Any) -> Any:
        """Call the entry named ``opt['type']`` with ``*args`` and the other keys of ``opt`` as keywords.

        ``drop`` names keys that are not arguments (e.g. a metric's ``better``); ``overrides`` replace
        option values (e.g. ``betas`` as a tuple).  ``opt`` is not modified.
        """
        kwargs = component_kwargs(opt, drop)
        kwargs.update(overrides)
        return self.get(opt['type'])(*args, **kwargs)

    def unknown_message(self, name: Any) -> str:
        known = sorted(self._obj_map)
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"No {self._name} named '{name}'.{hint} Known {self._name}s: {', '.join(known)}."

    def __contains__(self, name: str) -> bool:
        return name in self._obj_map

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._obj_map))

    def keys(self) -> List[str]:
        return sorted(self._obj_map)

    def __repr__(self) -> str:
        return f"Registry(name={self._name!r}, items={self.keys()})"


#: Network architectures, built from ``network_g`` (constructor kwargs = the option keys).
ARCH_REGISTRY = Registry('arch')
#: ``torch.utils.data.Dataset`` classes, constructed as ``cls(dataset_opt)``.
DATASET_REGISTRY = Registry('dataset')
#: Training models (``model_type``), constructed as ``cls(opt)``.
MODEL_REGISTRY = Registry('model')
#: Loss modules, built from ``train.pixel_opt`` (constructor kwargs = the option keys).
LOSS_REGISTRY = Registry('loss')
#: Metric functions ``f(img, img2, **kwargs) -> float``, named in ``val.metrics.<name>.type``.
METRIC_REGISTRY = Registry('metric')
#: Learning-rate schedulers ``cls(optimizer, **kwargs)``, named in ``train.scheduler.type``.
SCHEDULER_REGISTRY = Registry('scheduler')
#: Optimizers ``cls(params, **kwargs)``, named in ``train.optim_g.type``.
OPTIMIZER_REGISTRY = Registry('optimizer')
