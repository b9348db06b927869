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


def test_in_rhythm_context_moves_s_to_n_only_inside_af():
    from cardiacml.inference.beats import in_rhythm_context

    prob = np.array([[0.2, 0.7, 0.1, 0, 0], [0.2, 0.7, 0.1, 0, 0], [0.1, 0.2, 0.7, 0, 0]])
    out, moved = in_rhythm_context(prob, np.array([True, False, True]), ("N", "S", "V", "F", "Q"))
    assert moved == 1
    assert out.argmax(1).tolist() == [0, 1, 2]  # in AF: S -> N; outside: S stays; V (shape) is never touched
    np.testing.assert_allclose(out.sum(1), 1.0)
    assert out[0, 1] == 0 and out[2, 2] == 0.7


def test_atrial_features_tell_sinus_p_waves_from_fibrillation(mitdb):
    from cardiacml.io import open_record

    corr = {}
    for name, (a, b) in (("100", (0, 300)), ("203", (0, 300))):  # 100: sinus rhythm; 203: AF from the start
        rec = open_record(mitdb / name)
        import wfdb

        ann = wfdb.rdann(str(mitdb / name), "atr", sampfrom=int(a * rec.fs), sampto=int(b * rec.fs))
        peaks = ann.sample[np.isin(ann.symbol, list("NLRAaJSVFejE/fQ"))]
        f = R.atrial_features(lambda s, e: rec.read(s, e, lead=0), rec.n_samples, rec.fs, peaks, chunk_s=60.0)
        assert f.shape == (len(peaks), len(R.ATRIAL_FEATURES)) and np.isfinite(f).all()
        corr[name] = float(np.median(f[:, 0]))
    assert corr["100"] > 0.8 > 0.5 > corr["203"], corr  # a repeating P wave vs fibrillatory waves


def test_predict_writes_af_episodes_and_burden(mitdb, tmp_path):
    import json

    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record

    runner = load_runner("beats-ds1")
    res = predict_record(runner, open_record(mitdb / "203"), tmp_path / "203.csv", show_progress=False)
    s = json.loads((tmp_path / "203.summary.json").read_text())
    assert s["af_burden"] > 0.8 and s["rhythm_episodes"] and s["rhythm_episodes"][0]["rhythm"] == "AF"
    assert s["af_minutes_per_hour"] > 48 and s["rhythm"]["s_reassigned_to_n_in_af"] >= 0
    assert res.summary["af_burden"] == s["af_burden"]
    sinus = predict_record(runner, open_record(mitdb / "100"), tmp_path / "100.csv", show_progress=False)
    assert sinus.summary["rhythm_episodes"] == [] and sinus.summary["af_burden"] == 0.0


def test_ectopy_features_count_pvcs_not_sinus_beats(mitdb):
    """The QRS-likeness flag behind the ectopy features finds the PVCs of 119 (bigeminy) and nothing in 100."""
    import wfdb

    from cardiacml.io import open_record

    frac = {}
    for name in ("100", "119"):
        rec = open_record(mitdb / name)
        ann = wfdb.rdann(str(mitdb / name), "atr")
        ok = np.isin(ann.symbol, list("NLRAaJSVFejE/fQ"))
        f = R.atrial_features(lambda s, e: rec.read(s, e, lead=0), rec.n_samples, rec.fs, ann.sample[ok])
        i = R.ATRIAL_FEATURES.index("frac_ectopic")
        frac[name] = (float(f[:, i].mean()), float(np.mean(np.asarray(ann.symbol)[ok] == "V")))
    assert frac["100"][0] < 0.01
    assert abs(frac["119"][0] - frac["119"][1]) < 0.05, frac  # 22 % of 119's beats are PVCs


def test_atrial_model_is_plain_json_with_the_ectopy_features():
    m = json.loads(R._ATRIAL_MODEL_PATH.read_text())
    inter = tuple(f"{a}*{b}" for a, b in R.ATRIAL_INTERACTIONS)
    assert tuple(m["features"]) == R.FEATURES + R.ATRIAL_FEATURES + inter and len(m["coef"]) == len(m["features"])
    assert [tuple(p) for p in m["interactions"]] == list(R.ATRIAL_INTERACTIONS)
    assert R.load_model(atrial=True)["features"] == m["features"]


def test_interaction_columns_are_products_and_bad_models_are_refused(tmp_path):
    """model_inputs appends one product column per interaction; af_probability uses them (a model whose only weight
    is on the product gives sigmoid(product)); load_model refuses an interaction of unknown features and a feature
    list that does not name the products."""
    import pytest

    names = R.FEATURES + R.ATRIAL_FEATURES
    X = np.random.default_rng(0).standard_normal((5, len(names)))
    out = R.model_inputs(X, {"interactions": [["log_rr", "log_nrmssd"]]})
    assert out.shape == (5, len(names) + 1)
    assert np.allclose(out[:, -1], X[:, names.index("log_rr")] * X[:, names.index("log_nrmssd")])
    assert R.model_inputs(X, {}) is X
    t = np.cumsum(np.full(80, 0.8))
    m = {"features": list(R.FEATURES) + ["log_rr*log_nrmssd"], "interactions": [["log_rr", "log_nrmssd"]],
         "mean": [0.0] * 9, "scale": [1.0] * 9, "coef": [0.0] * 8 + [1.0], "intercept": 0.0}
    f = R.rr_features(t)
    prod = f[:, R.FEATURES.index("log_rr")] * f[:, R.FEATURES.index("log_nrmssd")]
    assert np.allclose(R.af_probability(t, m), 1 / (1 + np.exp(-prod)))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(m, interactions=[["log_rr", "no_such_feature"]])))
    with pytest.raises(ValueError, match="interactions"):
        R.load_model(bad)
    bad.write_text(json.dumps(dict(m, features=list(R.FEATURES) + ["log_rr*log_cov"])))
    with pytest.raises(ValueError, match="differ"):
        R.load_model(bad)


def test_median_of_equals_numpy_median_and_refuses_other_counts():
    """The sorting-network median shared by the beat templates and the AF detector's neighbour QRS gives numpy's
    median exactly (float32 and float64, ties included), and refuses counts that are not a power of 2."""
    import pytest

    from cardiacml.ecg.median import median_of

    rng = np.random.default_rng(3)
    for n in (2, 4, 8, 16):
        for dtype in (np.float32, np.float64):
            a = rng.standard_normal((n, 40, 9)).astype(dtype)
            a[:, :5] = np.round(a[:, :5])  # ties
            assert np.array_equal(median_of([x.copy() for x in a]), np.median(a, axis=0))
    with pytest.raises(ValueError, match="power of 2"):
        median_of([np.zeros(3)] * 6)


def test_qrs_corr_uses_the_neighbours_median():
    """_qrs_corr: each beat's QRS against the sample-wise median of its 8 neighbours (edges repeat the nearest)."""
    rng = np.random.default_rng(0)
    q = rng.standard_normal((30, 20)).astype(np.float32)
    k = R.QRS_NEIGHBOURS
    offs = np.r_[np.arange(-k, 0), np.arange(1, k + 1)]
    got = R._qrs_corr(q, block=7)  # blocks smaller than the record
    for i in range(30):
        t = np.median(q[np.clip(i + offs, 0, 29)], axis=0)
        assert abs(got[i] - np.corrcoef(q[i], t)[0, 1]) < 1e-5
