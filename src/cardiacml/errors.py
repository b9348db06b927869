"""Exceptions raised by cardiacml. All derive from :class:`CardiacMLError`."""


class CardiacMLError(Exception):
    """Base class of every error cardiacml raises on purpose."""


class DataFormatError(CardiacMLError, ValueError):
    """A data file or array does not have the expected format (shape, NaNs, labels...)."""


class MissingDataError(CardiacMLError, FileNotFoundError):
    """A dataset file or directory is absent."""


class DownloadError(CardiacMLError, OSError):
    """A download failed, could not reach its host, or produced a corrupt file."""
