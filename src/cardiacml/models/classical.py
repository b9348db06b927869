"""Classical baseline for beat classification: gradient boosting on simple features (scikit-learn)."""

from __future__ import annotations

import numpy as np


def beat_features(X: np.ndarray) -> np.ndarray:
    """Simple per-beat features of beats (n, 187) or (n, 1, 187) at 125 Hz.

    Every 3rd sample (63 values), beat length before zero padding (a proxy for the
    R-R interval), min/max/mean/std, position of the minimum, and energy of the
    first difference.
    """
    X = np.asarray(X, np.float32).reshape(len(X), -1)
    nz = X > 0
    length = np.where(nz.any(1), X.shape[1] - np.argmax(nz[:, ::-1], axis=1), 0)
    d = np.diff(X, axis=1)
    return np.column_stack([X[:, ::3], length, X.min(1), X.max(1), X.mean(1), X.std(1), X.argmin(1), (d ** 2).sum(1)])


def _estimator_bases():
    from sklearn.base import BaseEstimator, ClassifierMixin

    return ClassifierMixin, BaseEstimator


class ClassicalBeatClassifier(*_estimator_bases()):
    """scikit-learn classifier on :func:`beat_features`: ``fit`` / ``predict`` / ``predict_proba`` / ``score``,
    ``get_params`` / ``set_params`` (so ``clone``, ``cross_val_score`` and grid searches take it), ``classes_`` after
    fitting.

    ``HistGradientBoostingClassifier`` with balanced class weights and early stopping, built in :meth:`fit` from the
    parameters (``model_`` after fitting).
    """

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.1, random_state: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model_ = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                     class_weight="balanced", random_state=self.random_state,
                                                     early_stopping=True, validation_fraction=0.1)
        self.model_.fit(beat_features(X), y)
        self.classes_ = self.model_.classes_
        return self

    @property
    def model(self):
        """The fitted gradient-boosting model (``model_``; the name cardiacml 0.4 and earlier used)."""
        return self.model_

    def predict_proba(self, X):
        return self.model_.predict_proba(beat_features(X))

    def predict(self, X):
        return self.model_.predict(beat_features(X))
