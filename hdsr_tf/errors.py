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


class UsageError(HdsrError, ValueError):
    """A flag, setting, config file or recipe that the command cannot use."""


class InputError(HdsrError, ValueError):
    """An input (file, image, request) that cannot be read: empty, not an image, too large."""


class MissingFileError(HdsrError, FileNotFoundError):
    """A file or model that the command names is not there."""


class OutputError(HdsrError, OSError):
    """A place the command must write to that cannot be written (a folder that cannot be made)."""


class VersionExistsError(HdsrError, FileExistsError):
    """A served version folder that exists already: versions are never overwritten."""
