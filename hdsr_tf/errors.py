"""User-facing error types. Scripts print these as one line, never a traceback.

Kept free of TensorFlow imports so that a script can report them (and answer
--help) without paying for TensorFlow's start-up.
"""


class HdsrError(Exception):
    """Base of every error a user can fix by changing the input or the command."""


class ChecksumError(HdsrError):
    """A data file's md5 is not the canonical one."""


class DatasetFolderError(HdsrError, ValueError):
    """A digits folder is not laid out as <root>/<0-9>/<images>."""


class RunDirError(HdsrError):
    """The output directory cannot be used for this run."""


class CorruptCheckpointError(HdsrError):
    """A checkpoint exists but cannot be trusted; we stop rather than train over it."""


class TrainingStopped(HdsrError):
    """Training ended early on a bad loss; the last good checkpoint is kept."""


class ModelFolderError(HdsrError, ValueError):
    """A model folder lacks what was asked of it (a signature, a version)."""
