"""Deprecated: ``cardiacml.data.records`` moved to :mod:`cardiacml.io` in cardiacml 0.3 (this name goes in 0.4)."""

from . import moved


def __getattr__(name):
    return moved(__name__, "cardiacml.io", name)
