"""Removed: cardiacml 0.2's data modules moved in 0.3, and their old names, which warned since then that they would
go in 0.4, are gone (0.4.16). Importing any of them is one ImportError that names the new home.

* ``cardiacml.data.records`` / ``readers`` -> :mod:`cardiacml.io` (``open_record``, ``Record``...);
* ``cardiacml.data.heartbeat`` -> :mod:`cardiacml.datasets.kaggle`; ``mitbih``, ``intracardiac``,
  ``geometry``, ``download``, ``lazy`` -> :mod:`cardiacml.datasets`;
* ``cardiacml.data.contracts`` -> :mod:`cardiacml.contracts`; ``cardiacml.data.sources`` -> :mod:`cardiacml.tasks.sources`.
"""

raise ImportError(
    "cardiacml.data was removed in cardiacml 0.4.16 (its names moved in 0.3 and warned since): import "
    "cardiacml.io (records, readers: open_record, Record), cardiacml.datasets (kaggle for heartbeat, mitbih, "
    "intracardiac, geometry, download, lazy), cardiacml.contracts or cardiacml.tasks.sources instead")
