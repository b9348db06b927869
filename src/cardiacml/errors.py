"""Exceptions raised by cardiacml. All derive from :class:`CardiacMLError`.

The CLI prints a :class:`CardiacMLError` as one line (exit code 2): it is a problem with the
user's input, options, files or environment, and its message names the file or option and
the fix. Any other exception is a bug in cardiacml: the CLI shows its traceback and asks for
a report. So every check of user input raises one of these classes.
"""


class CardiacMLError(Exception):
    """Base class of every error cardiacml raises on purpose."""


class DataFormatError(CardiacMLError, ValueError):
    """A data file or array does not have the expected format (shape, NaNs, labels...)."""


class MissingDataError(CardiacMLError, FileNotFoundError):
    """A dataset file or directory is absent."""


class DownloadError(CardiacMLError, OSError):
    """A download failed, could not reach its host, or produced a corrupt file."""


class UsageError(CardiacMLError, ValueError):
    """An option, name or value given by the user is not valid (unknown model or task, bad range...)."""


class MissingDependencyError(CardiacMLError, ImportError):
    """An optional dependency needed for this step is not installed (the message gives the pip command)."""


class OutputError(CardiacMLError, OSError):
    """An output could not be written (disk full, permission denied, read-only folder...); nothing half-written is left."""


def every_process(exc: CardiacMLError) -> CardiacMLError:
    """Mark ``exc`` as met alike by every process of a distributed run (``train --nproc``): a setting, or a folder or
    file named on the command line, checked before training starts. The command line has rank 0 alone say it (the
    others wait for torchrun to stop them); an error that may be one process's own is left unmarked."""
    exc.every_process = True
    return exc
