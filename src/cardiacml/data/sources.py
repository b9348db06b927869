"""Deprecated: ``cardiacml.data.sources`` moved to :mod:`cardiacml.tasks.sources` in cardiacml 0.3 (this name goes in 0.4)."""

from . import moved


def __getattr__(name):
    return moved(__name__, "cardiacml.tasks.sources", name)
