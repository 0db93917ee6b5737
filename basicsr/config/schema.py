"""The machinery behind the option schema: ``Field``/``Section`` declarations and their validation.

The declarations themselves are in :mod:`basicsr.config.defaults`.  ``validate_and_fill`` walks a
loaded option tree against them: unknown keys are rejected with a "did you mean" suggestion,
values are type-checked (integral floats such as ``4e3`` become ints where an int is expected),
and missing keys get their defaults.

Sections whose keys depend on a registered component (``network_g``, ``train.optim_g``,
``train.scheduler``, ``train.pixel_opt``, ``val.metrics.<name>``) are checked against the
signature of the component named by their ``type``.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from basicsr.utils.errors import OptionError

__all__ = ['OptionError', 'Field', 'Section', 'REQUIRED', 'validate_and_fill', 'check_component_kwargs',
           'unknown_key_error']


_REQUIRED = object()


@dataclass
class Field:
    """One option key.

    Args:
        kind: 'int', 'float', 'bool', 'str', 'list[int]', 'list[float]', 'list', 'number_or_list', 'any',
            or a tuple of those (first match wins).
        default: default value (``_REQUIRED`` = must be given).
        help: one-line description.
        choices: allowed values (after conversion).
        nullable: ``None``/``~`` is accepted.
        interval: allowed range of a number (or of every number in a list), in interval notation:
            ``'(0, inf)'`` positive, ``'[1, inf)'`` at least 1, ``'[0, 1)'``, ...
    """
    kind: Any
    default: Any = None
    help: str = ''
    choices: Optional[Sequence[Any]] = None
    nullable: bool = True
    interval: Optional[str] = None

    def __post_init__(self) -> None:
        self._bounds = parse_interval(self.interval) if self.interval else None

    def out_of_range(self, value: Any) -> Optional[Any]:
        """The first number in ``value`` outside ``interval`` (``None`` when all are inside)."""
        if self._bounds is None:
            return None
        return next((v for v in (value if isinstance(value, list) else [value])
                     if isinstance(v, (int, float)) and not isinstance(v, bool) and not _inside(v, self._bounds)),
                    None)


def parse_interval(text: str) -> Tuple[float, bool, float, bool]:
    """``'[0, 1)'`` -> ``(0.0, True, 1.0, False)``: low, low included, high, high included."""
    text = text.strip()
    if text[0] not in '[(' or text[-1] not in '])' or ',' not in text:
        raise ValueError(f'not an interval: {text!r}')
    low, high = (part.strip() for part in text[1:-1].split(','))
    return float(low), text[0] == '[', float(high), text[-1] == ']'


def _inside(v: float, bounds: Tuple[float, bool, float, bool]) -> bool:
    low, low_in, high, high_in = bounds
    return (v > low or low_in and v == low) and (v < high or high_in and v == high)


@dataclass
class Section:
    """A nested mapping of known keys.

    ``open_check(value, key) -> value`` replaces the key-by-key walk for free-form sections.
    """
    fields: Dict[str, Any] = field(default_factory=dict)
    help: str = ''
    open_check: Optional[Callable[[Dict[str, Any], str], Dict[str, Any]]] = None
    optional: bool = True


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _convert(kind: str, value: Any, key: str) -> Any:
    """Convert ``value`` to ``kind`` or raise ``TypeError`` (message filled in by the caller)."""
    if kind == 'any':
        return value
    if kind == 'int':
        if _is_int(value):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise TypeError
    if kind == 'float':
        if _is_int(value) or isinstance(value, float):
            return float(value)
        raise TypeError
    if kind == 'bool':
        if isinstance(value, bool):
            return value
        raise TypeError
    if kind == 'str':
        if isinstance(value, str):
            return value
        raise TypeError
    if kind.startswith('list'):
        if not isinstance(value, (list, tuple)):
            raise TypeError
        if kind == 'list':
            return list(value)
        inner = kind[5:-1]
        return [_convert(inner, v, key) for v in value]
    if kind == 'number_or_list':
        if _is_int(value) or isinstance(value, float):
            return value
        if isinstance(value, (list, tuple)) and all(_is_int(v) or isinstance(v, float) for v in value):
            return list(value)
        raise TypeError
    raise AssertionError(f'unknown field kind {kind!r} for {key}')


def _describe(value: Any) -> str:
    return f'{type(value).__name__} {value!r}'


def _check_field(f: Field, value: Any, key: str) -> Any:
    if value is None:
        if f.nullable:
            return None
        raise OptionError(f"Option '{key}' must not be empty (~/null). {f.help}".rstrip())
    kinds = f.kind if isinstance(f.kind, tuple) else (f.kind,)
    for kind in kinds:
        try:
            value_c = _convert(kind, value, key)
        except TypeError:
            continue
        if f.choices is not None and value_c not in f.choices:
            continue
        bad = f.out_of_range(value_c)
        if bad is not None:
            raise OptionError(f"Option '{key}' is out of range: got {bad!r}, allowed {f.interval}."
                              + (f' ({f.help})' if f.help else ''))
        return value_c
    expected = ' or '.join(kinds)
    if f.choices is not None:
        expected += f' (one of {list(f.choices)})'
    raise OptionError(f"Option '{key}' has a wrong type or value: expected {expected}, got {_describe(value)}."
                      + (f' ({f.help})' if f.help else ''))


def unknown_key_error(key: str, parent: str, known: Sequence[str]) -> OptionError:
    full = f'{parent}.{key}' if parent else key
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ''
    return OptionError(f"Unknown option '{full}'.{hint} Known keys here: {', '.join(sorted(known))}.")


def validate_and_fill(opt: Dict[str, Any], schema: Section, parent: str = '') -> Dict[str, Any]:
    """Validate ``opt`` against ``schema`` and return a new dict with defaults filled in."""
    if not isinstance(opt, dict):
        raise OptionError(f"Option '{parent or '<root>'}' must be a mapping, got {_describe(opt)}.")
    if schema.open_check is not None:
        return schema.open_check(opt, parent)
    out: Dict[str, Any] = {}
    for key, value in opt.items():
        if key not in schema.fields:
            raise unknown_key_error(str(key), parent, list(schema.fields))
    for key, spec in schema.fields.items():
        full = f'{parent}.{key}' if parent else key
        if isinstance(spec, Section):
            if key in opt and opt[key] is not None:
                out[key] = validate_and_fill(opt[key], spec, full)
            elif not spec.optional:
                raise OptionError(f"Missing required section '{full}'. {spec.help}".rstrip())
            elif spec.open_check is None:
                out[key] = _defaults(spec)
            continue
        if key in opt:
            out[key] = _check_field(spec, opt[key], full)
        elif spec.default is _REQUIRED:
            raise OptionError(f"Missing required option '{full}'. {spec.help}".rstrip())
        else:
            out[key] = spec.default
    return out


def _defaults(schema: Section) -> Dict[str, Any]:
    """Defaults of an absent optional section (required keys become None, nested sections recurse)."""
    out: Dict[str, Any] = {}
    for key, spec in schema.fields.items():
        if isinstance(spec, Section):
            if spec.open_check is None:
                out[key] = _defaults(spec)
        else:
            out[key] = None if spec.default is _REQUIRED else spec.default
    return out


def check_component_kwargs(target: Callable[..., Any], kwargs: Dict[str, Any], key: str,
                           skip: Tuple[str, ...] = ()) -> None:
    """Reject keyword options that ``target`` does not accept, and obviously wrong value types.

    Types are inferred from the defaults of the signature (a ``bool`` default needs a bool, an
    ``int`` default an int, a ``float`` default a number, a tuple/list default a list).
    """
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return
    params = {n: p for n, p in sig.parameters.items() if n not in skip and n != 'self'}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    name = getattr(target, '__name__', str(target))
    for k, v in kwargs.items():
        if k not in accepted:
            err = unknown_key_error(k, key, accepted)
            raise OptionError(f'{err} ({name} accepts: {", ".join(accepted)})')
        default = params[k].default
        if default is inspect.Parameter.empty or default is None or v is None:
            continue
        ok = True
        if isinstance(default, bool):
            ok = isinstance(v, bool)
        elif isinstance(default, int):
            ok = _is_int(v) or (isinstance(v, float) and v.is_integer())
        elif isinstance(default, float):
            ok = (_is_int(v) or isinstance(v, float))
        elif isinstance(default, (tuple, list)):
            ok = isinstance(v, (tuple, list))
        elif isinstance(default, str):
            ok = isinstance(v, str)
        if not ok:
            raise OptionError(f"Option '{key}.{k}' has a wrong type: {name} expects a value like {default!r}, "
                              f'got {_describe(v)}.')


REQUIRED = _REQUIRED
