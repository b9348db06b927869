"""Deprecated: ``cardiacml.data.readers`` moved to :mod:`cardiacml.io.formats` in cardiacml 0.3 (this name goes in 0.4)."""

from . import moved


def __getattr__(name):
    return moved(__name__, "cardiacml.io.formats", name)
