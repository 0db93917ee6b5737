"""Leaf helpers that import nothing else from ``basicsr``: image I/O and colour conversion, file
listing, logging, distributed helpers, device selection, the registry, checkpoint files, tiled
inference and the user-facing error types.  (``basicsr.utils.options`` is a compatibility alias of
:mod:`basicsr.config`.)"""
from basicsr.utils.dist import get_dist_info, master_only
from basicsr.utils.errors import CheckpointError, DatasetLayoutError, ImageReadError, OptionError, UserError
from basicsr.utils.img_util import imfrombytes, imfrombytesDP, img2tensor, imread, imwrite, tensor2img
from basicsr.utils.logger import MessageLogger, get_root_logger, init_tb_logger
from basicsr.utils.registry import Registry

__all__ = ['get_dist_info', 'master_only', 'UserError', 'OptionError', 'DatasetLayoutError', 'ImageReadError',
           'CheckpointError', 'img2tensor', 'imfrombytes', 'imfrombytesDP', 'imread', 'imwrite', 'tensor2img',
           'MessageLogger', 'get_root_logger', 'init_tb_logger', 'Registry']
