"""Read-only option trees.

``parse`` returns options whose mappings and lists refuse changes, so nothing downstream can add or
alter a key after validation (what a run derives, such as its rank or device, lives in a run
context instead).  They still compare equal to plain dicts/lists and read like them;
:func:`to_plain` gives ordinary containers for YAML, JSON and ``torch.save``.
"""
from __future__ import annotations

from typing import Any, Dict, NoReturn

__all__ = ['FrozenDict', 'FrozenList', 'freeze', 'to_plain']


def _refuse(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError('options are read-only after validation; copy them (e.g. dict(opt, key=value)) to '
                    'derive new values')


class FrozenDict(dict):
    """A ``dict`` that refuses every change."""

    __setitem__ = __delitem__ = _refuse
    pop = popitem = setdefault = update = clear = __ior__ = _refuse

    def __reduce__(self) -> Any:  # pickle/deepcopy without going through __setitem__
        return FrozenDict, (dict(self),)

    def __copy__(self) -> Dict[str, Any]:
        return dict(self)  # a shallow copy is for editing: hand back a plain dict


class FrozenList(list):
    """A ``list`` that refuses every change."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> Any:
        return FrozenList, (list(self),)

    def __copy__(self) -> list:
        return list(self)


def freeze(obj: Any) -> Any:
    """Deep read-only copy of a tree of dicts, lists and scalars."""
    if isinstance(obj, dict):
        return FrozenDict({k: freeze(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return FrozenList(freeze(v) for v in obj)
    return obj


def to_plain(obj: Any) -> Any:
    """Deep copy with plain ``dict``/``list`` containers (for YAML, JSON and ``torch.save``)."""
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
