"""Deprecated home of cardiacml 0.2's data modules; they moved in 0.3 and these names go in 0.4.

* ``cardiacml.data.records`` / ``readers`` -> :mod:`cardiacml.io` (``open_record``, ``Record``...);
* ``cardiacml.data.heartbeat`` -> :mod:`cardiacml.datasets.kaggle`; ``mitbih``, ``intracardiac``,
  ``geometry``, ``download``, ``lazy`` -> :mod:`cardiacml.datasets`;
* ``cardiacml.data.contracts`` -> :mod:`cardiacml.contracts`; ``cardiacml.data.sources`` -> :mod:`cardiacml.tasks.sources`.

Each name still works through a module of this package that warns (``DeprecationWarning``) when it is
used. Nothing in cardiacml itself imports this package.
"""

import importlib
import warnings


def moved(old_module: str, new_module: str, name: str):
    """The object ``name`` from ``new_module``, with a DeprecationWarning naming its new home."""
    if name.startswith("__"):  # the import system's questions (__path__, __spec__...) are not old names
        raise AttributeError(name)
    warnings.warn(f"{old_module}.{name} moved to {new_module}.{name} in cardiacml 0.3; the old name goes in 0.4",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(new_module), name)
