"""Morphology consensus (issue 22): a patient's beats of one shape share their ventricular class."""

import json

import numpy as np
import pandas as pd
import pytest

from cardiacml.inference.consensus import (PWAVE, QRS, beat_checks, conducted_check, fibrillation_check,
                                          morphology_consensus, nn_irregularity, own_variation, p_variation, p_waves,
                                          qrs_check, qrs_distance, qrs_waves, sinus_check)

CLASSES = ("N", "S", "V", "F", "Q")


def _shapes(n_n=300, n_v=60, seed=0):
    """Windows of two shapes (a narrow 'N' and a wide, inverted 'V') with noise; V beats at the end."""
    rng = np.random.default_rng(seed)
    t = np.linspace(-1, 1, 150)
    narrow, wide = np.exp(-(t / 0.05) ** 2), -1.5 * np.exp(-(t / 0.15) ** 2)
    w = np.vstack([narrow + 0.05 * rng.standard_normal((n_n, 150)), wide + 0.05 * rng.standard_normal((n_v, 150))])
    return w.astype(np.float32)


def _prob(rows):
    p = np.asarray(rows, np.float64)
    return p / p.sum(1, keepdims=True)


def _on_off(mitdb, tmp_path, record, step, **both):
    """``predict_record`` of a MIT-BIH record with ``step`` (a keyword of it) on and off, the other keywords ``both``
    the same in the two runs: (on, off, on's summary, off's summary)."""
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record

    runner = load_runner("beats-ds1")
    res = [predict_record(runner, open_record(mitdb / record), tmp_path / f"{name}.csv", show_progress=False,
                          **{step: flag}, **both) for name, flag in (("on", True), ("off", False))]
    return (*res, *(json.loads((tmp_path / f"{name}.summary.json").read_text()) for name in ("on", "off")))


def test_beats_of_one_shape_are_pooled_to_one_ventricular_class():
    w = _shapes()
    p = _prob([[0.9, 0.07, 0.01, 0.01, 0.01]] * 300 + [[0.04, 0.01, 0.93, 0.01, 0.01]] * 60)
    p[310] = _prob([[0.15, 0.80, 0.03, 0.01, 0.01]])[0]  # a V-shaped beat the model called S (premature)
    p[320] = _prob([[0.85, 0.05, 0.08, 0.01, 0.01]])[0]  # ... and one it called N
    p[5] = _prob([[0.30, 0.05, 0.63, 0.01, 0.01]])[0]  # an N-shaped beat it called V (noise)
    out, changed = morphology_consensus(w, p, CLASSES)
    assert changed == 3 and out[[310, 320]].argmax(1).tolist() == [2, 2] and out[5].argmax() == 0
    assert np.allclose(out.sum(1), 1.0) and (out >= 0).all()
    # the other classes keep their proportions (N vs S is timing: left to the model and the rhythm context)
    assert np.isclose(out[310, 1] / out[310, 0], p[310, 1] / p[310, 0])
    # unchanged beats keep their class; nothing without a V class, or with weight 0
    assert (out.argmax(1)[[i for i in range(360) if i not in (5, 310, 320)]] == p.argmax(1)[[i for i in range(360) if i not in (5, 310, 320)]]).all()
    # a shape of its own (one PVC among normal beats) has no twins: it keeps the model's call, even when weakly V
    lone = np.vstack([w[:300], np.roll(w[300:301], 20, axis=1)])
    p_lone = np.vstack([p[:300], _prob([[0.35, 0.25, 0.40, 0.0, 0.0]])])
    kept, n_kept = morphology_consensus(lone, p_lone, CLASSES)
    assert n_kept == 1 and kept[300].argmax() == 2 and np.allclose(kept[300], p_lone[300])  # (the 1: beat 5)
    assert morphology_consensus(lone, p_lone, CLASSES, max_distance=np.inf)[0][300].argmax() != 2  # without the rule
    same, n = morphology_consensus(w, p[:, [0, 1, 3, 4]], ("N", "S", "F", "Q"))
    assert n == 0 and np.array_equal(same, p[:, [0, 1, 3, 4]])
    assert morphology_consensus(w, p, CLASSES, weight=0.0)[1] == 0


def test_neighbours_are_searched_within_the_span_and_certain_v_gives_its_mass_to_n():
    w = _shapes(n_n=100, n_v=0)
    p = _prob([[0.9, 0.08, 0.0, 0.01, 0.01]] * 50 + [[0.0, 0.0, 1.0, 0.0, 0.0]] * 50)  # one shape, two opinions
    t = np.r_[np.arange(50), 10_000 + np.arange(50)].astype(float)  # ... hours apart
    apart, n_apart = morphology_consensus(w, p, CLASSES, t, span_s=600.0)
    assert n_apart == 0 and np.allclose(apart, p)
    together, n_together = morphology_consensus(w, p, CLASSES)  # no times: all beats are candidates
    assert np.allclose(together.sum(1), 1.0) and (together >= 0).all()
    # a certainly-V beat whose neighbours are N gives up its V share to N (its other classes were all 0)
    lone = p.copy()
    lone[:99] = _prob([[0.9, 0.08, 0.0, 0.01, 0.01]])[0]
    out, n = morphology_consensus(w, lone, CLASSES)
    assert n == 1 and out[99].argmax() == 0 and np.isclose(out[99].sum(), 1.0)
    assert morphology_consensus(w[:1], p[:1], CLASSES)[1] == 0  # one beat: no neighbours


def test_predict_applies_the_consensus_and_says_so(mitdb, tmp_path):
    # record 223 is one of the DS1 records held out of beats-ds1's training (its selection set): 12 of its V beats the
    # model alone misses are found by their twins (on 106, also held out, the consensus loses 3: V F1 0.957 -> 0.954)
    on, off, s_on, s_off = _on_off(mitdb, tmp_path, "223", "consensus", qrs_check=False, conducted_check=False,
                                   sinus_check=False, fibrillation_check=False)
    assert "consensus" not in s_off
    assert s_on["consensus"]["beats_changed"] == int((on.predicted != off.predicted).sum()) > 5
    csv = pd.read_csv(tmp_path / "on.csv")
    assert (csv["predicted"].to_numpy() == np.asarray(on.classes)[on.predicted]).all()
    ok = on.reference >= 0

    def v_f1(pred):
        tp = ((pred == 2) & (on.reference == 2))[ok].sum()
        return 2 * tp / (((pred == 2) & ok).sum() + ((on.reference == 2) & ok).sum())

    assert v_f1(on.predicted) > v_f1(off.predicted), (v_f1(on.predicted), v_f1(off.predicted))


def _rhythm_windows(beat_qrs, template_qrs):
    """Beat-rhythm inputs (n, 1, 311) whose QRS parts are ``beat_qrs`` / ``template_qrs`` (n, 28); the rest is a
    shared T wave, which the QRS distance must ignore."""
    n = len(beat_qrs)
    x = np.zeros((n, 1, 311), np.float32)
    x[:, 0, 90:140] = x[:, 0, 240:290] = 0.3  # T waves, beat and template alike
    x[:, 0, QRS[0]:QRS[1]] = beat_qrs
    x[:, 0, 150 + QRS[0]:150 + QRS[1]] = template_qrs
    return x


def test_qrs_distance_compares_the_qrs_with_the_template_only():
    t = np.linspace(-1, 1, QRS[1] - QRS[0])
    narrow = np.exp(-(t / 0.15) ** 2)
    x = _rhythm_windows(np.vstack([narrow, -narrow, 0.5 * narrow, np.roll(narrow, 6)]), np.vstack([narrow] * 4))
    x[0, 0, 100] = 5.0  # a big difference outside the QRS does not count
    d = qrs_distance(x)
    assert d.shape == (4,) and d.dtype == np.float32
    assert np.isclose(d[0], 0.0) and np.isclose(d[1], 4.0)  # the same QRS; the inverted one
    assert np.isclose(d[2], 0.25 / 0.625, rtol=1e-5)  # half the amplitude: |0.5 q|^2 / mean(0.25, 1) |q|^2
    assert 0.5 < d[3] < 2.0 and np.allclose(qrs_distance(x[:, 0]), d)  # shifted by 48 ms; (n, 311) is accepted
    assert qrs_distance(np.zeros((2, 1, 311), np.float32)).tolist() == [0.0, 0.0]  # flat: 0, not NaN


def test_qrs_check_moves_only_s_calls_whose_qrs_stands_out_of_the_recordings_own_variation():
    p = _prob([[0.2, 0.7, 0.05, 0.03, 0.02]] * 4 + [[0.9, 0.05, 0.03, 0.01, 0.01]] * 16)
    d = np.r_[0.5, 0.1, 0.16, 0.02, [0.5] * 2, [0.01] * 14]
    out, n = qrs_check(p, d, CLASSES)
    # S with a QRS of its own (0.5, 0.16 > 0.15) -> V, its S probability moved to V; S like its template stays S;
    # an N beat with an odd QRS stays N (the check only asks whether an S call has a supraventricular QRS)
    assert n == 2 and out.argmax(1)[:6].tolist() == [2, 1, 2, 1, 0, 0]
    assert np.isclose(out[0, 2], p[0, 1] + p[0, 2]) and out[0, 1] == 0 and np.allclose(out.sum(1), 1.0)
    # a recording whose beats all differ from their templates (noise, flutter waves): the floor is 3 x its median
    noisy, n_noisy = qrs_check(p, np.r_[0.5, 0.1, 0.16, 0.02, [0.2] * 16], CLASSES)
    assert n_noisy == 0 and np.allclose(noisy, p)
    assert qrs_check(p, d, CLASSES, floor=40.0)[1] == 1  # 0.5 > 40 x 0.01 only
    same, n0 = qrs_check(p[:, [0, 2, 3, 4]], d, ("N", "V", "F", "Q"))  # no S class: nothing to check
    assert n0 == 0 and np.allclose(same, p[:, [0, 2, 3, 4]])


def test_predict_applies_the_qrs_check_and_says_so(mitdb, tmp_path):
    # record 106 is held out of beats-ds1's training (the check's selection set): PVCs the model calls S for their
    # prematurity have a QRS unlike their template; the check calls them V
    # the later steps off in both runs, so that every difference is the QRS check's
    on, off, s_on, s_off = _on_off(mitdb, tmp_path, "106", "qrs_check", conducted_check=False, sinus_check=False,
                                   fibrillation_check=False)
    assert "qrs_check" not in s_off
    moved = on.predicted != off.predicted
    assert s_on["qrs_check"]["s_reassigned_to_v"] == int(moved.sum()) > 10
    assert (off.predicted[moved] == 1).all() and (on.predicted[moved] == 2).all()
    ok = on.reference >= 0
    assert ((on.reference[moved & ok] == 2).mean()) > 0.9  # they are PVCs
    assert s_on["counts"]["V"] == int((on.predicted == 2).sum())


def _waves(kinds, seed=0):
    """QRS waves (n, 28): 'n' a narrow upright QRS, 'v' a wide inverted one, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(-1, 1, QRS[1] - QRS[0])
    shape = {"n": np.exp(-(t / 0.2) ** 2), "v": -1.2 * np.exp(-(t / 0.6) ** 2)}
    return np.stack([shape[k] + 0.03 * rng.standard_normal(len(t)) for k in kinds]).astype(np.float32)


def test_qrs_waves_are_the_qrs_part_of_the_window():
    x = np.arange(2 * 311, dtype=np.float32).reshape(2, 1, 311)
    w = qrs_waves(x)
    assert w.shape == (2, QRS[1] - QRS[0]) and w.dtype == np.float32 and w[1, 0] == 311 + QRS[0]


def test_conducted_check_takes_back_v_calls_whose_qrs_is_the_patients_conducted_one():
    pn, pv = [0.9, 0.04, 0.03, 0.02, 0.01], [0.1, 0.3, 0.55, 0.03, 0.02]
    kinds = ["n"] * 30 + ["v", "n", "v"] + ["n"] * 30
    calls = [pn] * 30 + [pv, pv, pv] + [pn] * 30  # beat 31: a conducted QRS the model called V
    out, n = conducted_check(_prob(calls), _waves(kinds), CLASSES)
    assert n == {"V": 1, "F": 0} and out.argmax(1)[30:33].tolist() == [2, 1, 2]  # V and F to 0, S (0.3) > N (0.1)
    assert out[31, 2] == out[31, 3] == 0 and np.isclose(out[31, 1] / out[31, 0], 3.0) and np.allclose(out.sum(1), 1)
    # ventricular bigeminy: every other beat a PVC of one shape (the local template would be the PVC itself); they
    # are compared with the beats called N, so they stay V
    kinds = ["n", "v"] * 40
    out, n = conducted_check(_prob([pn, pv] * 40), _waves(kinds), CLASSES)
    assert n["V"] == 0 and (out.argmax(1)[1::2] == 2).all()
    # a ventricular rhythm (fewer than min_n beats called N): nothing to compare with; no N class: unchanged
    few = _prob([pn] * 3 + [pv] * 40)
    assert conducted_check(few, _waves(["n"] * 43), CLASSES)[1] == {"V": 0, "F": 0}
    assert np.allclose(conducted_check(few[:, 1:], _waves(["n"] * 43), CLASSES[1:])[0], few[:, 1:])
    # certain V (nothing left to renormalise) goes to N
    certain = _prob([pn] * 10 + [[0, 0, 0.5, 0.5 - 1e-9, 0]])
    out, n = conducted_check(certain, _waves(["n"] * 11), CLASSES)
    assert n["V"] == 1 and np.allclose(out[10], [1, 0, 0, 0, 0])
    # the threshold: the conducted QRS at 1.3 x its amplitude (relative squared distance 0.07) is taken back, at
    # 1.6 x (0.20) it stays V unless the distance allowed is larger
    w = _waves(["n"] * 21)
    p = _prob([pn] * 20 + [pv])
    w[20] = 1.3 * w[20]
    assert conducted_check(p, w, CLASSES)[1]["V"] == 1
    w[20] = 1.6 / 1.3 * w[20]
    assert conducted_check(p, w, CLASSES)[1]["V"] == 0 and conducted_check(p, w, CLASSES, distance=0.25)[1]["V"] == 1



def test_conducted_check_fits_the_amplitude_inside_af_only():
    # flutter / fibrillation waves on a conducted QRS change its size: inside AF (in_af) a beat called V whose QRS is
    # its N neighbours' scaled by up to 2x is taken back; outside AF, or a different shape, or beyond 2x, it stays V
    pn, pv = [0.9, 0.04, 0.03, 0.02, 0.01], [0.1, 0.3, 0.55, 0.03, 0.02]
    w = _waves(["n"] * 20 + ["n", "n", "v", "n"])
    p = _prob([pn] * 20 + [pv] * 4)
    w[20] *= 1.8  # a conducted QRS at 1.8x (relative squared distance ~0.27 as it is)
    w[21] *= 0.55
    w[22] *= 1.5  # a PVC, 1.5x
    w[23] *= 3.0  # beyond the factor allowed (scaled 2x: distance ~0.2)
    none = np.zeros(24, bool)
    af = np.ones(24, bool)
    assert conducted_check(p, w, CLASSES)[1]["V"] == 0
    assert np.array_equal(conducted_check(p, w, CLASSES, in_af=none)[0], conducted_check(p, w, CLASSES)[0])
    out, n = conducted_check(p, w, CLASSES, in_af=af)
    assert n["V"] == 2 and out.argmax(1)[20:].tolist() == [1, 1, 2, 2]
    only = none.copy()
    only[20] = True  # only the first inside AF
    assert conducted_check(p, w, CLASSES, in_af=only)[0].argmax(1)[20:].tolist() == [1, 2, 2, 2]
    assert conducted_check(p, w, CLASSES, in_af=af, amplitude=1.0)[1]["V"] == 0
    assert conducted_check(p, w, CLASSES, in_af=af, amplitude=4.0)[1]["V"] == 3
    for bad in (dict(in_af=af[:5]), dict(in_af=af, amplitude=0.5), dict(in_af=af, amplitude=float("nan")),
                dict(in_af=af, amplitude=float("inf"))):
        with pytest.raises(ValueError):
            conducted_check(p, w, CLASSES, **bad)


def test_conducted_check_takes_back_f_calls_only_nearer_the_conducted_qrs():
    # a fusion QRS is partly conducted: an F call is taken back only within CONDUCTED_DISTANCE_F (0.03), stricter
    pn, pf = [0.9, 0.04, 0.03, 0.02, 0.01], [0.3, 0.05, 0.05, 0.6, 0.0]
    w = _waves(["n"] * 22, seed=1)
    p = _prob([pn] * 20 + [pf, pf])
    w[20] = 1.1 * w[20]  # relative squared distance ~0.01: the conducted QRS itself
    w[21] = 1.3 * w[21]  # ~0.07: would be taken back from a V call, stays F
    out, n = conducted_check(p, w, CLASSES)
    assert n == {"V": 0, "F": 1} and out.argmax(1)[20:].tolist() == [0, 3] and out[20, 3] == 0
    assert conducted_check(p, w, CLASSES, distance_f=0.1)[1]["F"] == 2
    assert conducted_check(p[:, [0, 1, 2, 4]], w, ("N", "S", "V", "Q"))[1] == {"V": 0}  # no F class


def test_predict_applies_the_conducted_check_and_says_so(mitdb, tmp_path):
    # DS2 record 200 (noisy, ventricular bigeminy): beats the model calls V whose QRS is the patient's conducted one;
    # the check takes them back and keeps every true PVC (and F calls nearer still)
    on, off, s_on, s_off = _on_off(mitdb, tmp_path, "200", "conducted_check", sinus_check=False,
                                   fibrillation_check=False)  # the later checks off
    assert "conducted_check" not in s_off
    moved = on.predicted != off.predicted
    c = s_on["conducted_check"]
    assert c["v_taken_back"] > 30 and c["v_taken_back"] + c["f_taken_back"] == int(moved.sum())
    assert np.isin(off.predicted[moved], [2, 3]).all() and np.isin(on.predicted[moved], [0, 1, 4]).all()
    assert (on.reference[moved] != 2).all()  # no true PVC lost
    assert s_on["counts"]["V"] == int((on.predicted == 2).sum())


def _pw(kinds, seed=0):
    """P-wave regions (n, 23) as p_waves gives them: 's' a sinus P (a bump), 'a' an ectopic one (inverted, earlier)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, PWAVE[1] - PWAVE[0])
    shape = {"s": np.exp(-((t - 0.5) / 0.12) ** 2), "a": -0.8 * np.exp(-((t - 0.3) / 0.1) ** 2)}
    w = np.stack([shape[k] + 0.03 * rng.standard_normal(len(t)) for k in kinds]).astype(np.float32)
    return w - w.mean(1, keepdims=True)


def test_p_waves_are_the_p_region_less_its_mean():
    x = np.arange(311, dtype=np.float32)[None, None, :] + 5.0
    w = p_waves(x)
    assert w.shape == (1, PWAVE[1] - PWAVE[0]) and np.isclose(w.mean(), 0) and np.allclose(np.diff(w[0]), 1)


def test_sinus_check_calls_n_a_beat_called_s_with_the_sinus_p_wave():
    pn, ps = [0.9, 0.05, 0.03, 0.01, 0.01], [0.3, 0.6, 0.05, 0.03, 0.02]
    kinds = ["s"] * 30 + ["s", "a"] + ["s"] * 30  # beat 30: a sinus beat called S (early, sinus arrhythmia / block)
    out, n = sinus_check(_prob([pn] * 30 + [ps, ps] + [pn] * 30), _pw(kinds), CLASSES)
    assert n == 1 and out.argmax(1)[30:32].tolist() == [0, 1]  # the ectopic P stays S
    assert out[30, 1] == 0 and np.isclose(out[30, 0], 0.9) and np.allclose(out.sum(1), 1.0)
    # too few beats called N to know the sinus P; no S class: unchanged
    few = _prob([pn] * 3 + [ps] * 10)
    assert sinus_check(few, _pw(["s"] * 13), CLASSES)[1] == 0
    assert sinus_check(few[:, [0, 2, 3, 4]], _pw(["s"] * 13), ("N", "V", "F", "Q"))[1] == 0
    # the distance: a sinus P at 1.6 x its amplitude (0.20) stays S at 0.1, moves at 0.25
    w = _pw(["s"] * 21)
    w[20] *= 1.6
    p = _prob([pn] * 20 + [ps])
    assert sinus_check(p, w, CLASSES)[1] == 0 and sinus_check(p, w, CLASSES, distance=0.25)[1] == 1


def test_predict_applies_the_sinus_check_and_says_so(mitdb, tmp_path):
    # DS2 record 231 (2:1 AV block): the R-R reference is a blocked pause, so conducted sinus beats look premature
    # and are called S; their P wave is the sinus one, so the check calls them N
    on, off, s_on, s_off = _on_off(mitdb, tmp_path, "231", "sinus_check", fibrillation_check=False)
    assert "sinus_check" not in s_off
    moved = on.predicted != off.predicted
    assert s_on["sinus_check"]["s_reassigned_to_n"] == int(moved.sum()) > 30
    assert (off.predicted[moved] == 1).all() and (on.predicted[moved] == 0).all()
    assert (on.reference[moved] == 0).mean() > 0.9


def test_conducted_check_compares_with_the_n_beats_around_the_beat_not_the_whole_recording():
    # the conducted QRS changes halfway (an axis shift): a V call shaped like the late N beats, late in the recording,
    # is taken back; one shaped like the early N beats, late in the recording, stays V (not a whole-record median)
    pn, pv = [0.9, 0.04, 0.03, 0.02, 0.01], [0.1, 0.3, 0.55, 0.03, 0.02]
    early, late = _waves(["n"] * 40), -0.9 * _waves(["n"] * 41, seed=2)
    w = np.vstack([early, late[:40], late[40:], early[:1]])
    p = _prob([pn] * 80 + [pv, pv])
    out, n = conducted_check(p, w, CLASSES)
    assert n["V"] == 1 and out.argmax(1)[80:].tolist() == [1, 2]
    try:
        conducted_check(p, w, CLASSES, k=0)
    except ValueError as e:
        assert "k must be at least 1" in str(e)
    else:
        raise AssertionError("k=0 accepted")


def test_beat_checks_apply_the_three_checks_in_predicts_order():
    pn, ps = [0.9, 0.05, 0.03, 0.01, 0.01], [0.3, 0.6, 0.05, 0.03, 0.02]
    n_n = 30
    p = _prob([pn] * n_n + [ps, ps])
    qw = _waves(["n"] * (n_n + 2))
    pw = _pw(["s"] * n_n + ["a", "s"])
    # beat 30: called S, its QRS unlike its local template (QRS check: V) but the conducted QRS of its N neighbours
    # (conducted check: not V): the two disagree, the model's S stands and neither counts it; its P wave is ectopic,
    # so the sinus check keeps it S. Beat 31: S with the sinus P wave -> N.
    d = np.r_[[0.01] * n_n, 0.5, 0.01]
    out, c = beat_checks(p, CLASSES, qrs_dist=d, qrs_w=qw, p_w=pw)
    assert out.argmax(1)[n_n:].tolist() == [1, 0] and np.allclose(out[n_n], p[n_n])
    assert c == {"qrs_check": 0, "conducted_check": {"V": 0, "F": 0}, "sinus_check": 1, "fibrillation_check": None}
    # without the conducted check the QRS check's V stands; a check without input is not applied
    out, c = beat_checks(p, CLASSES, qrs_dist=d, p_w=pw)
    assert out.argmax(1)[n_n:].tolist() == [2, 0] and c["qrs_check"] == 1 and c["conducted_check"] is None
    out, c = beat_checks(p, CLASSES)
    assert np.allclose(out, p) and c == {"qrs_check": None, "conducted_check": None, "sinus_check": None,
                                         "fibrillation_check": None}
    # a V call taken back to S by the conducted check then meets the sinus check: with the sinus P it ends N
    pv = [0.1, 0.3, 0.55, 0.03, 0.02]
    p2 = _prob([pn] * n_n + [pv])
    out, c = beat_checks(p2, CLASSES, qrs_w=_waves(["n"] * (n_n + 1)), p_w=_pw(["s"] * (n_n + 1)))
    assert out.argmax(1)[n_n] == 0 and c["conducted_check"]["V"] == 1 and c["sinus_check"] == 1
    # classes without F: the count has no F key, the summary's f_taken_back is then 0
    out, c = beat_checks(p2[:, [0, 1, 2, 4]], ("N", "S", "V", "Q"), qrs_w=_waves(["n"] * (n_n + 1)))
    assert c["conducted_check"] == {"V": 1}


def test_checks_leave_a_beat_whose_n_neighbours_are_further_than_the_span():
    # a Holter whose only beats called N are in its first minute: a V call with their QRS two hours later is not
    # judged by them (the conducted QRS may have changed); one a minute later is
    pn, pv = [0.9, 0.04, 0.03, 0.02, 0.01], [0.1, 0.3, 0.55, 0.03, 0.02]
    p = _prob([pn] * 20 + [pv, pv])
    w = _waves(["n"] * 22)
    t = np.r_[np.arange(20) * 1.0, 80.0, 7200.0]
    out, n = conducted_check(p, w, CLASSES, times_s=t)
    assert n["V"] == 1 and out.argmax(1)[20:].tolist() == [1, 2]
    assert conducted_check(p, w, CLASSES)[1]["V"] == 2  # without times: no bound
    ps = [0.3, 0.6, 0.05, 0.03, 0.02]
    out, n = sinus_check(_prob([pn] * 20 + [ps, ps]), _pw(["s"] * 22), CLASSES, times_s=t)
    assert n == 1 and out.argmax(1)[20:].tolist() == [0, 1]


def test_conducted_check_allows_for_a_noisy_recordings_own_variation():
    rng = np.random.default_rng(3)
    t = np.linspace(-1, 1, QRS[1] - QRS[0])
    n_shape = np.exp(-(t / 0.2) ** 2)
    noisy = (n_shape + 0.12 * rng.standard_normal((60, len(t)))).astype(np.float32)  # N beats, noisy recording
    normal = np.arange(59)
    var = own_variation(noisy, normal, 20)
    # each beat against its neighbours' median, itself left out: about the noise energy over the QRS energy
    assert 0.03 < var < 0.2 and own_variation(np.tile(n_shape, (40, 1)), np.arange(40), 20) == 0.0
    assert own_variation(noisy, normal[:10], 20) == 0.0  # too few beats to say
    pn, pv = [0.9, 0.04, 0.03, 0.02, 0.01], [0.1, 0.3, 0.55, 0.03, 0.02]
    w = noisy.copy()
    w[59] = n_shape * 1.45  # 0.13 from the template: over 0.1, within 2 x the recording's own variation
    p = _prob([pn] * 59 + [pv])
    d = ((w[59] - n_shape) ** 2).sum() / (0.5 * ((w[59] ** 2).sum() + (n_shape ** 2).sum()))
    assert 0.1 < d < 2 * var
    assert conducted_check(p, w, CLASSES, floor=0.0)[1]["V"] == 0
    assert conducted_check(p, w, CLASSES)[1]["V"] == 1


def _rhythm(n, irregular, seed=0):
    """Beat times (s) of n beats: regular at 75 /min, or as AF conducts (intervals 0.45-1.2 s at random)."""
    rng = np.random.default_rng(seed)
    rr = rng.uniform(0.45, 1.2, n - 1) if irregular else np.full(n - 1, 0.8) + 0.01 * rng.standard_normal(n - 1)
    return np.r_[0.0, np.cumsum(rr)]


def _f_waves(n, seed=0):
    """P-wave regions with no repeatable P wave: fibrillatory waves of random phase and rate (n, 23)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 0.184, PWAVE[1] - PWAVE[0])
    w = np.stack([0.3 * np.sin(2 * np.pi * rng.uniform(5, 8) * t + rng.uniform(0, 2 * np.pi)) for _ in range(n)])
    return (w - w.mean(1, keepdims=True)).astype(np.float32)


def test_nn_irregularity_leaves_out_the_intervals_around_ectopic_beats():
    # sinus rhythm at 0.8 s with an atrial premature beat every 5th beat (0.5 s early-coupled, 1.1 s pause after):
    # every R-R series is irregular, the N-to-N intervals are not
    rr = np.tile([0.8, 0.8, 0.8, 0.5, 1.1], 20)
    t = np.r_[0.0, np.cumsum(rr)]
    is_n = np.ones(len(t), bool)
    is_n[4::5] = False
    cand = np.flatnonzero(~is_n)
    assert np.nanmax(nn_irregularity(t, is_n, cand)) < 1e-9
    assert (nn_irregularity(t, np.ones(len(t), bool), cand) > 0.3).all()  # all beats taken as N: irregular
    irr = nn_irregularity(_rhythm(60, True), np.ones(60, bool), np.arange(60))
    assert (irr > 0.1).all()
    # a lead where the model calls the atrial premature beats N (one in ten here): medians keep sinus rhythm regular
    rr = np.tile([0.8] * 8 + [0.5, 1.1], 10)
    t2 = np.r_[0.0, np.cumsum(rr)]
    assert np.nanmax(nn_irregularity(t2, np.ones(len(t2), bool), np.arange(len(t2)))) < 0.01
    # too few N-N-N differences around a beat: not measured (nan)
    assert np.isnan(nn_irregularity(t[:6], is_n[:6], np.array([4]), min_pairs=4)).all()


def test_p_variation_tells_a_repeatable_p_wave_from_fibrillatory_waves():
    sinus, fib = _pw(["s"] * 40), _f_waves(40)
    normal, cand = np.arange(40), np.array([10, 30])
    assert (p_variation(sinus, normal, cand, 20) < 0.1).all() and (p_variation(fib, normal, cand, 20) > 0.5).all()
    assert (p_variation(np.zeros_like(sinus), normal, cand, 20) == 0).all()  # flat: no wave says nothing
    # fast AF: the region holds the slope after the previous T wave, the same every beat, and small f waves on it;
    # less its straight-line fit it is the f waves: no P wave
    slope = np.linspace(-1.0, 1.0, PWAVE[1] - PWAVE[0], dtype=np.float32)
    assert (p_variation(slope + 0.1 * _f_waves(40), normal, cand, 20) > 0.5).all()
    assert (p_variation(slope + _pw(["s"] * 40), normal, cand, 20) < 0.1).all()  # a sinus P on it stays


def test_fibrillation_check_calls_n_a_beat_called_s_in_atrial_fibrillation():
    pn, ps = [0.9, 0.05, 0.03, 0.01, 0.01], [0.3, 0.6, 0.05, 0.03, 0.02]
    n = 60
    p = _prob([pn] * n)
    p[[20, 40]] = _prob([ps, ps])
    t_af, t_sinus = _rhythm(n, True), _rhythm(n, False)
    # AF (no repeatable P wave, irregular N-N): S -> N
    out, moved = fibrillation_check(p, _f_waves(n), t_af, CLASSES)
    assert moved == 2 and (out.argmax(1) == 0).all() and np.isclose(out[20, 0], 0.9) and out[20, 1] == 0
    # a sinus P wave around it, or regular N-N intervals: the S stands (an ectopic atrial beat, or flutter with
    # a fixed block, which the AF detector is for)
    assert fibrillation_check(p, _pw(["s"] * n), t_af, CLASSES)[1] == 0
    assert fibrillation_check(p, _f_waves(n), t_sinus, CLASSES)[1] == 0
    # thresholds, too few beats called N, no S class
    assert fibrillation_check(p, _f_waves(n), t_af, CLASSES, irregularity=10.0)[1] == 0
    few = _prob([pn] * 7 + [ps] * 5)
    assert fibrillation_check(few, _f_waves(12), _rhythm(12, True), CLASSES)[1] == 0
    assert fibrillation_check(p[:, [0, 2, 3, 4]], _f_waves(n), t_af, ("N", "V", "F", "Q"))[1] == 0
    # in beat_checks, after the sinus check; it needs the beats' times
    out, c = beat_checks(p, CLASSES, p_w=_f_waves(n), times_s=t_af, fib_w=_f_waves(n))
    assert c["sinus_check"] == 0 and c["fibrillation_check"] == 2
    try:
        beat_checks(p, CLASSES, fib_w=_f_waves(n))
    except ValueError as e:
        assert "times_s" in str(e)
    else:
        raise AssertionError("fib_w without times_s accepted")


def test_predict_applies_the_fibrillation_check_and_says_so(mitdb, tmp_path):
    # DS2 record 219 (AF most of the time): without the episode detector, AF's irregular beats look premature and
    # are called S; the check calls them N (AAMI: beats conducted in AF are N)
    on, off, s_on, s_off = _on_off(mitdb, tmp_path, "219", "fibrillation_check", rhythm=False)
    assert "fibrillation_check" not in s_off
    moved = on.predicted != off.predicted
    assert s_on["fibrillation_check"]["s_reassigned_to_n"] == int(moved.sum()) > 50
    assert (off.predicted[moved] == 1).all() and (on.predicted[moved] == 0).all()
    assert (on.reference[moved] != 1).mean() > 0.9
    from cardiacml.inference.beats import summary_text

    text = summary_text({**s_on, "output": "on.csv"})
    assert f"note: {int(moved.sum())} beats called S were called N by the fibrillation check" in text
    assert "the AF episode detector was not run" in text and "fibrillation check" not in summary_text({**s_off, "output": "off.csv"})


def test_nn_irregularity_is_its_definition_on_random_rhythms():
    # brute force: the N-N intervals and successive differences ending at beats max(2, i - half) .. i + half; an
    # interval with a non-finite end counts as neither (nor the differences it is part of)
    rng = np.random.default_rng(5)
    for trial in range(100):
        n = int(rng.integers(3, 80))
        t = np.cumsum(rng.uniform(0.3, 1.5, n))
        if trial % 4 == 0:
            t[rng.integers(0, n)] = np.nan
        is_n = rng.random(n) < 0.75
        cand = np.arange(n)
        half, min_pairs = (6, 3) if trial % 2 else (16, 4)  # and the defaults
        got = (nn_irregularity(t, is_n, cand, half=6, min_pairs=3) if trial % 2
               else nn_irregularity(t, is_n, cand))
        for i in cand:
            ends = range(max(2, i - half), min(n, i + half + 1))
            iv = {j: t[j] - t[j - 1] for j in range(1, n) if is_n[j] and is_n[j - 1] and np.isfinite(t[j] - t[j - 1])}
            rr = [iv[j] for j in ends if j in iv]
            dd = [abs(iv[j] - iv[j - 1]) for j in ends if j in iv and j - 1 in iv]
            want = np.median(dd) / np.median(rr) if len(dd) >= min_pairs else np.nan
            assert np.isclose(got[i], want, equal_nan=True), (trial, i, got[i], want)


def test_fibrillation_check_defaults_and_what_it_leaves():
    from cardiacml.inference import consensus as CO

    assert (CO.FIB_P_VARIATION, CO.FIB_NN_IRREGULARITY, CO.FIB_K, CO.FIB_HALF, CO.FIB_MIN_PAIRS, CO.FIB_MIN_N) == (
        0.5, 0.05, 20, 16, 4, 8)
    pn, ps = [0.9, 0.05, 0.03, 0.01, 0.01], [0.3, 0.6, 0.05, 0.03, 0.02]
    # sinus rhythm with an atrial premature beat every 5th beat (early, then a pause), noisy P regions: the N-N
    # intervals (those touching the APCs left out) are regular, so the APCs stay S although no P wave repeats
    rr = np.tile([0.8, 0.8, 0.8, 0.5, 1.1], 20)
    t = np.r_[0.0, np.cumsum(rr)]
    p = _prob([ps if i % 5 == 4 else pn for i in range(len(t))])
    assert fibrillation_check(p, _f_waves(len(t)), t, CLASSES)[1] == 0
    # the same beats taken all as N would be irregular: the check looks at the beats called N only
    assert nn_irregularity(t, np.ones(len(t), bool), np.arange(4, len(t), 5)).min() > 0.05
    # exactly FIB_MIN_N beats called N is enough; one fewer is not
    t_af = _rhythm(10, True, seed=3)
    p8 = _prob([pn] * 4 + [ps] + [pn] * 4 + [ps])
    assert fibrillation_check(p8, _f_waves(10), t_af, CLASSES)[1] == 2
    assert fibrillation_check(p8, _f_waves(10), t_af, CLASSES, min_n=9)[1] == 0
    # the order: beat 40's P region is its N neighbours' median, so the sinus check (first) calls it N and the
    # fibrillation check, which would too, never sees it; beat 50 (fibrillatory waves of its own) is the latter's
    n = 60
    w = _f_waves(n)
    nb = [i for i in range(n) if i not in (40, 50)]
    lo = int(np.searchsorted(nb, 40)) - 10
    w[40] = np.median(w[nb[lo:lo + 20]], axis=0)
    p2 = _prob([pn] * n)
    p2[[40, 50]] = _prob([ps, ps])
    out, c = beat_checks(p2, CLASSES, p_w=w, times_s=_rhythm(n, True), fib_w=w)
    assert c["sinus_check"] == 1 and c["fibrillation_check"] == 1 and out.argmax(1)[[40, 50]].tolist() == [0, 0]
    assert fibrillation_check(p2, w, _rhythm(n, True), CLASSES)[1] == 2  # alone, it takes both


def test_p_variation_leaves_out_a_beat_whose_n_neighbours_are_further_than_the_span():
    fib = _f_waves(40)
    t = np.r_[np.arange(39) * 1.0, 7200.0]
    v = p_variation(fib, np.arange(39), np.array([10, 39]), 20, times_s=t)
    assert v[0] > 0.5 and np.isnan(v[1])


def test_predict_hands_the_rhythm_context_to_the_conducted_check(mitdb, tmp_path, monkeypatch):
    # the amplitude fit works only if predict tells the conducted check which beats are in the AF context: record 222
    # (AF and flutter) gives a non-empty mask of its beats; with the rhythm analysis off there is none
    import cardiacml.inference.consensus as CO
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.predict import load_runner
    from cardiacml.io import open_record

    seen = []
    real = CO.conducted_check

    def spy(prob, waves, classes, **kw):
        seen.append(kw.get("in_af"))
        return real(prob, waves, classes, **kw)

    monkeypatch.setattr(CO, "conducted_check", spy)
    runner = load_runner("beats-ds1")
    rec = open_record(mitdb / "222")
    res = predict_record(runner, rec, tmp_path / "a.csv", show_progress=False)
    assert len(seen) == 1 and seen[0] is not None and seen[0].shape == (len(res.times_s),)
    from cardiacml.ecg.rhythm import beats_in_episodes, bridge_episodes
    from cardiacml.inference.beats import CONTEXT_BRIDGE_S

    want = beats_in_episodes(res.times_s, bridge_episodes(res.summary["rhythm_episodes"], CONTEXT_BRIDGE_S))
    assert 0.2 < seen[0].mean() < 0.9 and np.array_equal(seen[0], want)
    predict_record(runner, rec, tmp_path / "b.csv", show_progress=False, rhythm=False)
    assert seen[1] is None
