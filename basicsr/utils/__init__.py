"""Utilities: options, image I/O, logging, distributed helpers, registry, inference."""
from basicsr.utils.dist import get_dist_info, master_only
from basicsr.utils.img_util import ImageReadError, img2tensor, imfrombytes, imfrombytesDP, imread, imwrite, tensor2img
from basicsr.utils.logger import MessageLogger, get_root_logger, init_tb_logger
from basicsr.utils.registry import Registry

__all__ = ['get_dist_info', 'master_only', 'ImageReadError', 'img2tensor', 'imfrombytes', 'imfrombytesDP', 'imread',
           'imwrite', 'tensor2img', 'MessageLogger', 'get_root_logger', 'init_tb_logger', 'Registry']
