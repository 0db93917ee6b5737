"""The errors that bad *input* raises: options, data, images, checkpoints.

Every one derives from :class:`UserError`, so entry points (``train.py``, ``test.py``, the task
scripts, the demo) can end such a failure with one line naming the file, key or value at fault,
while a bug (any other exception) still shows its traceback.  Each also derives from the builtin
type that callers would naturally catch (``ValueError``, ``FileNotFoundError``, ``OSError``).
"""
from __future__ import annotations

__all__ = ['UserError', 'OptionError', 'MissingInputError', 'DatasetLayoutError', 'DataMismatchError', 'ImageReadError',
           'CheckpointError', 'OutputConflictError', 'UnwritableOutputError', 'ExperimentExistsError',
           'TrainingInterrupted']


class UserError(Exception):
    """A problem with what the user gave us (a file, an option, a checkpoint), not a bug."""


class OptionError(UserError, ValueError):
    """An option file or override is invalid; the message names the key."""


class MissingInputError(UserError, FileNotFoundError):
    """A file or folder the user named does not exist, or holds nothing usable (e.g. no images)."""


class DatasetLayoutError(MissingInputError):
    """A dataset folder is missing, empty, or its files do not pair up."""


class DataMismatchError(UserError, ValueError):
    """Images that must fit together do not (sizes, channels, bit depth); the message names the files."""


class ImageReadError(UserError, OSError):
    """An image file is missing, empty or cannot be decoded."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit the network."""


class OutputConflictError(UserError, ValueError):
    """Writing an output would replace something of the user's (an input image, an earlier run)."""


class UnwritableOutputError(UserError, OSError):
    """An output folder or file cannot be written (permissions, read-only or full disk)."""


class ExperimentExistsError(UserError, FileExistsError):
    """The experiment folder holds an earlier run, or another process is training into it."""


class TrainingInterrupted(UserError):
    """Training stopped on SIGTERM/SIGINT after saving a checkpoint; ``signal_number`` says which."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.signal_number = signal_number
