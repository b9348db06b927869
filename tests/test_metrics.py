"""Unit tests of every metric against scikit-learn or hand-computed cases."""

import numpy as np
import pytest

from cardiacml.tasks.metrics import activation_metrics, classification_metrics, vm_metrics

SITES = ["AHA01", "RV01", "EPI_AHA01", "MID_AHA01"]


def test_classification_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 500)
    p = np.where(rng.random(500) < 0.7, y, rng.integers(0, 5, 500))
    m = classification_metrics(y, p, ["N", "S", "V", "F", "Q"])
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["per_class"]["V"]["precision"] == pytest.approx(precision_score(y, p, labels=[2], average="macro"))
    assert m["per_class"]["S"]["recall"] == pytest.approx(recall_score(y, p, labels=[1], average="macro"))
    assert m["confusion_matrix"] == confusion_matrix(y, p, labels=range(5)).tolist()


def test_classification_metrics_absent_class_is_zero_not_error():
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 0]), ["N", "S", "V"])
    assert m["per_class"]["V"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["S"]["recall"] == 0.0 and m["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a region without valid sites: NaN, no numpy warning
def test_activation_metrics_hand_computed():
    true = np.array([[10.0, 20.0, np.nan, 40.0], [0.0, 10.0, 20.0, 30.0]])
    pred = np.array([[12.0, 20.0, 99.0, 37.0], [1.0, 10.0, 20.0, 30.0]])
    m = activation_metrics(true, pred, SITES, baseline=np.array([5.0, 15.0, 20.0, 35.0]))
    errs = np.array([2, 0, 3, 1, 0, 0, 0])  # the NaN target (never activated) is excluded
    assert m["mae_ms"] == pytest.approx(errs.mean()) and m["rmse_ms"] == pytest.approx(np.sqrt((errs ** 2).mean()))
    assert m["never_activated_targets"] == 1
    assert m["per_site_mae_ms"]["AHA01"] == pytest.approx(1.5) and m["per_site_mae_ms"]["EPI_AHA01"] == pytest.approx(0.0)
    assert m["per_region_mae_ms"]["MID"] == pytest.approx(1.5)
    assert m["constant_baseline_mae_ms"] == pytest.approx(np.mean([5, 5, 5, 5, 5, 0, 5]))


def _vm(act, n_t=500, plateau=20.0):
    t = np.arange(n_t)
    return np.where(t[None, :] >= np.asarray(act)[:, None], plateau, -85.0)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's "Mean of empty slice" reached evaluate's console
def test_vm_metrics_hand_computed():
    true = _vm([10, 20, 30, 40])[None]
    pred = true.copy()
    pred[0, 1] = _vm([25, 25, 25, 25])[1]  # site 1 activates 5 ms late
    pred[0, 3] = -85.0  # site 3 never activates in the prediction
    m = vm_metrics(true, pred, SITES)
    assert m["activation_mae_ms_from_vm"] == pytest.approx(5 / 3)  # sites 0 and 2 exact, site 1 off by 5
    assert m["activation_missed"] == 1 and m["activation_sites_total"] == 4
    assert m["rmse_mv"] == pytest.approx(np.sqrt(((pred - true) ** 2).mean()))
    assert m["relative_error"] == pytest.approx(np.linalg.norm(pred - true) / np.linalg.norm(true))
    assert m["below_rest_fraction"] == 0.0 and m["plateau_tv_ratio"] == pytest.approx(1.0)


def test_vm_metrics_activation_uses_upstroke_threshold():
    """A smooth prediction whose plateau stays below 0 mV still activates (the v0.1 NaN artefact)."""
    true = _vm([10, 20, 30, 40])[None]
    pred = _vm([10, 20, 30, 40], plateau=-6.0)[None]
    m = vm_metrics(true, pred, SITES)
    assert m["activation_missed"] == 0 and m["activation_mae_ms_from_vm"] == pytest.approx(0.0)


def test_vm_metrics_physical_plausibility():
    true = _vm([10, 20, 30, 40])[None]
    ringing = true + 5.0 * np.sin(np.arange(500) / 2.0)[None, None, :]
    ringing[0, 0, :5] = -100.0
    m = vm_metrics(true, ringing, SITES)
    assert m["below_rest_fraction"] > 0 and m["plateau_tv_ratio"] > 5


# ------------------------------------------------------------------------------- macro-F1 over the classes that occur
def test_macro_f1_leaves_out_a_class_neither_in_the_reference_nor_predicted():
    """V has no reference example and no prediction: its F1 is 0/0, undefined; it was averaged as 0 (0.267, not 0.4)."""
    from sklearn.metrics import f1_score

    y, p = np.array([0, 0, 1]), np.array([0, 0, 0])
    m = classification_metrics(y, p, ["N", "S", "V"])
    assert m["macro_f1"] == pytest.approx(np.mean([m["per_class"]["N"]["f1"], m["per_class"]["S"]["f1"]]))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))  # scikit-learn's default: labels that occur
    assert m["macro_f1_left_out"] == ["V"] and m["per_class"]["V"]["support"] == 0


def test_macro_f1_keeps_a_class_predicted_but_absent_from_the_reference():
    """V is called but never in the reference: false alarms, F1 0, averaged; F (neither) is left out."""
    from sklearn.metrics import f1_score

    y, p = np.array([0, 0, 0, 1, 1]), np.array([0, 0, 2, 1, 1])
    m = classification_metrics(y, p, ["N", "S", "V", "F"])
    assert m["per_class"]["V"]["f1"] == 0.0 and m["macro_f1_left_out"] == ["F"]
    assert m["macro_f1"] == pytest.approx((0.8 + 1.0 + 0.0) / 3)
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    full = classification_metrics(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), ["N", "S", "V", "F"])
    assert full["macro_f1"] == 1.0 and full["macro_f1_left_out"] == []


def test_aami_macro_f1_over_the_classes_that_occur():
    """aami_report's macro-F1 N/S/V/F: a class with no reference beat and no call (reference-Q beats apart, as for +P)
    is left out and named; one called on N beats stays in with F1 0."""
    from cardiacml.ecg.aami import aami_report, format_report

    classes = ("N", "S", "V", "F", "Q")
    y = np.array([0, 0, 0, 0, 1, 1, 2, 4])
    p = np.array([0, 0, 0, 1, 1, 1, 2, 3])  # F called once, on the reference-Q beat: not a call against F's +P
    rep = aami_report(y, p, classes)
    per = rep["per_class"]
    assert per["F"]["support"] == 0 and rep["macro_f1_nsvf_left_out"] == ["F"]
    assert rep["macro_f1_nsvf"] == pytest.approx(np.mean([per[c]["f1"] for c in "NSV"]))
    assert rep["macro_f1_nsvf"] == pytest.approx(np.mean([2 * 0.75 / 1.75, 2 * 2 / 3 / (1 + 2 / 3), 1.0]))
    assert "F left out" in format_report(rep) and "| macro-F1 (N,S,V) |" in format_report(rep)
    p2 = p.copy()
    p2[0] = 3  # now F is called on an N beat: a false alarm, F1 0, averaged
    rep2 = aami_report(y, p2, classes)
    assert rep2["macro_f1_nsvf_left_out"] == [] and rep2["per_class"]["F"]["f1"] == 0.0
    assert rep2["macro_f1_nsvf"] == pytest.approx(np.mean([rep2["per_class"][c]["f1"] for c in "NSVF"]))
    assert "left out" not in format_report(rep2)
    empty = aami_report(np.array([4, 4]), np.array([0, 4]), classes)  # reference Q only: nothing to average
    assert np.isnan(empty["macro_f1_nsvf"]) and empty["macro_f1_nsvf_left_out"] == ["N", "S", "V", "F"]


def test_macro_f1_of_the_published_ds2_figures_is_unchanged():
    """N, S, V, F (and Q) all occur in DS2: nothing is left out and the shipped models' DS2 macro-F1 N/S/V/F, computed
    from their recorded confusion matrices, is the published figure (the mean of the four F1s)."""
    from cardiacml.ecg.aami import aami_report
    from cardiacml.pretrained import list_pretrained

    cards = {k: v for k, v in list_pretrained().items() if "confusion" in v.get("ds2", {})}
    assert {"beats-ds1", "beats-all"} <= set(cards)
    for name, card in cards.items():
        cm = np.asarray(card["ds2"]["confusion"])
        idx = np.indices(cm.shape).reshape(2, -1)
        y, p = np.repeat(idx[0], cm.ravel()), np.repeat(idx[1], cm.ravel())
        rep = aami_report(y, p)
        assert rep["confusion"] == cm.tolist() and rep["macro_f1_nsvf_left_out"] == [], name
        assert round(rep["macro_f1_nsvf"], 4) == card["ds2"]["macro_f1_nsvf"], name
        assert rep["macro_f1_nsvf"] == pytest.approx(np.mean([rep["per_class"][c]["f1"] for c in "NSVF"]))
        for c, v in card["ds2"]["per_class"].items():
            assert round(rep["per_class"][c]["f1"], 4) == v["f1"] and rep["per_class"][c]["support"] == v["support"]
        m = classification_metrics(y, p, ["N", "S", "V", "F", "Q"])  # the 5-class figure: Q occurs in DS2 too
        assert m["macro_f1_left_out"] == []
        assert m["macro_f1"] == pytest.approx(np.mean([v["f1"] for v in m["per_class"].values()]))


def test_summary_lines_and_report_name_the_classes_left_out():
    from cardiacml.ecg.aami import aami_report
    from cardiacml.report import _metric_tables
    from cardiacml.tasks.beats import _summary
    from cardiacml.tasks.common import classification_summary

    classes = ["N", "S", "V", "F", "Q"]
    y, p = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2])
    m = classification_metrics(y, p, classes)
    assert m["macro_f1_left_out"] == ["F", "Q"]
    line = classification_summary(m)
    assert f"macro-F1 {m['macro_f1']:.4f} (F, Q left out: no example, none predicted)" in line, line
    m["aami"] = aami_report(y, p, tuple(classes))
    assert "macro-F1 N/S/V/F" in _summary(m) and "(F left out: no example, none predicted)" in _summary(m)
    assert "F, Q" in _metric_tables("classification", m)
    full = classification_metrics(np.arange(5), np.arange(5), classes)
    assert "left out" not in classification_summary(full) and "left out" not in _metric_tables("classification", full)


def test_report_says_which_sites_count_and_the_unfamiliar_rate():
    """'0 of 5840' on 78 hearts x 75 sites (5850) read as a miscount: the total is of the sites the truth activates;
    the unfamiliar-input rate that training prints (and metrics.json holds) was missing from the report."""
    from cardiacml.report import _metric_tables

    m = dict(n=2, rmse_mv=1.0, relative_error=0.1, pearson_r_mean=0.9, pearson_r_min_site=0.8, activation_threshold_mv=-40.0,
             activation_mae_ms_from_vm=2.0, activation_missed=0, activation_sites_total=149, unfamiliar_rate=0.5)
    page = _metric_tables("sequence", m)
    assert "0 of 149 the true Vm activates" in page, page
    assert "test inputs flagged unfamiliar" in page and "50.0 %" in page, page
    reg = dict(n=2, mae_ms=1.0, rmse_ms=2.0, constant_baseline_mae_ms=3.0, target_std_ms=4.0, per_region_mae_ms={"AHA": 1.0},
               unfamiliar_rate=0.25)
    assert "25.0 %" in _metric_tables("regression", reg)
    del reg["unfamiliar_rate"]
    assert "unfamiliar" not in _metric_tables("regression", reg)  # older runs: no row rather than a made-up value
