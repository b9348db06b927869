"""AF episodes from R-R times (cardiacml.ecg.rhythm): synthetic regular vs irregular, shipped model is plain JSON."""

import json

import numpy as np

from cardiacml.ecg import rhythm as R


def _times(rr):
    return np.concatenate([[0.0], np.cumsum(rr)])


def test_regular_sinus_has_no_af():
    rng = np.random.default_rng(0)
    rr = 0.8 + 0.02 * np.sin(np.arange(600) / 10) + 0.005 * rng.standard_normal(600)
    out = R.detect_af(_times(rr))
    assert out["rhythm_episodes"] == [] and out["af_burden"] == 0.0


def test_irregular_middle_is_one_af_episode():
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(300, 0.8), rng.uniform(0.4, 1.0, 400), np.full(300, 0.8)])
    rr[:300] += 0.005 * rng.standard_normal(300)
    t = _times(rr)
    out = R.detect_af(t)
    assert len(out["rhythm_episodes"]) == 1
    e = out["rhythm_episodes"][0]
    assert abs(e["start_s"] - t[300]) < 20 and abs(e["end_s"] - t[700]) < 20
    true = (t[700] - t[300]) / (t[-1] - t[0])
    assert abs(out["af_burden"] - true) < 0.05


def test_model_is_plain_json():
    m = json.loads(R._MODEL_PATH.read_text())
    assert tuple(m["features"]) == R.FEATURES and len(m["coef"]) == len(R.FEATURES)
