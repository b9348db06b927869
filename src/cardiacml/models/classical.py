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


class ClassicalBeatClassifier:
    """scikit-learn estimator (fit/predict/predict_proba) on :func:`beat_features`.

    Uses ``HistGradientBoostingClassifier`` with balanced class weights.
    """

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.1, random_state: int = 0):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate,
                                                    class_weight="balanced", random_state=random_state,
                                                    early_stopping=True, validation_fraction=0.1)

    def fit(self, X, y):
        self.model.fit(beat_features(X), y)
        return self

    def predict_proba(self, X):
        return self.model.predict_proba(beat_features(X))

    def predict(self, X):
        return self.model.predict(beat_features(X))
