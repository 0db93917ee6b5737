"""The option system: schema (every key, its type and default), YAML loading with ``_base_`` and
``--set`` overrides, cross-field rules, and ``parse``, which returns read-only options.

It sits above the components (datasets, networks, models) because it checks each component
section against the registered component's signature.
"""
from basicsr.config.frozen import FrozenDict, FrozenList, freeze, to_plain
from basicsr.config.options import option_differences, parse, parse_options
from basicsr.config.yaml_io import apply_overrides, dict2str, dump_options, load_with_bases, load_yaml, ordered_yaml
from basicsr.utils.errors import OptionError

__all__ = ['parse', 'parse_options', 'option_differences', 'OptionError', 'load_yaml', 'load_with_bases',
           'apply_overrides', 'dump_options', 'dict2str', 'ordered_yaml', 'freeze', 'to_plain', 'FrozenDict',
           'FrozenList']
