"""The exceptions a user can act on. The command line prints their message as one line, no traceback."""


class MnistlabError(Exception):
    """Base class of every error caused by input, files or the environment rather than by a bug."""


class DataFormatError(MnistlabError, ValueError):
    """A file or array does not have the layout, size or values that were expected."""


class DataNotAvailableError(MnistlabError):
    """A data set is not cached and cannot be fetched (offline mode, every mirror failed, unknown name)."""


class ChecksumError(MnistlabError):
    """Downloaded or cached bytes do not match the checksum recorded for them."""
