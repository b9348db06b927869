"""Models: one registry (:mod:`.registry`), one module per family, imported eagerly here (as timm does).

* :mod:`.beat` - ``kachuee`` (Kachuee 2018 reference) and ``beatnet`` (ours): single Kaggle beats;
* :mod:`.rhythm` - ``rhythmnet``: the rhythm-aware ``beat-rhythm`` contract;
* :mod:`.ecg2heart` - ``squeezenet1d`` (challenge reference) and ``tcn`` (ours): 12-lead ECG -> heart;
* :mod:`.classical` - :class:`ClassicalBeatClassifier`, a scikit-learn baseline (not in the registry).

Importing this package imports PyTorch. ``cardiacml models`` lists the registry without it
(:func:`cardiacml.catalog.model_catalog` reads the decorators from the source).
"""

from .registry import ModelSpec, count_parameters, create_model, get_spec, list_models, register_model
from . import beat, ecg2heart, rhythm  # noqa: E402,F401  (register the models)

__all__ = ["ModelSpec", "count_parameters", "create_model", "get_spec", "list_models", "register_model"]
