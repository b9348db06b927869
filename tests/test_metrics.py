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
