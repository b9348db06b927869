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

    @staticmethod
    def _flat(X):
        """Beats (n, 1, L) as (n, L); anything else goes to scikit-learn's validation as it is."""
        a = X if hasattr(X, "shape") and not hasattr(X, "tocsr") else None
        if a is not None and getattr(a, "ndim", 0) == 3 and a.shape[1] == 1:
            return np.asarray(a)[:, 0, :]
        return X

    def fit(self, X, y):
        """Fit on beats ``X`` (n, L) or (n, 1, L) (L samples, 187 for Kaggle beats at 125 Hz) and labels ``y`` (n,)."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, self._flat(X), y, dtype=np.float32, ensure_min_samples=2)
        check_classification_targets(y)
        # early stopping as scikit-learn decides it ("auto": on from 10,000 beats): a fixed 10 % validation split
        # failed on small sets (fewer validation beats than classes)
        self.model_ = HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                                     class_weight="balanced", random_state=self.random_state,
                                                     early_stopping="auto")
        self.model_.fit(beat_features(X), y)
        self.classes_ = self.model_.classes_
        self.n_iter_ = self.model_.n_iter_
        return self

    @property
    def model(self):
        """The fitted gradient-boosting model (``model_``; the name cardiacml 0.4 and earlier used)."""
        return self.model_

    def _features(self, X):
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        return beat_features(validate_data(self, self._flat(X), dtype=np.float32, reset=False))

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), columns in the order of ``classes_``."""
        F = self._features(X)  # first: it raises NotFittedError before model_ is looked up
        return self.model_.predict_proba(F)

    def predict(self, X):
        """Class labels (n,)."""
        F = self._features(X)
        return self.model_.predict(F)
