"""Deprecated: ``cardiacml.data.intracardiac`` moved to :mod:`cardiacml.datasets.intracardiac` in cardiacml 0.3 (this name goes in 0.4)."""

from . import moved


def __getattr__(name):
    return moved(__name__, "cardiacml.datasets.intracardiac", name)
