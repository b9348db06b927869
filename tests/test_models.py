"""Conformance tests over every registered model (check_estimator style) and the task registry.

A model added to the registry without an entry in PARAMETER_BUDGET fails here: each model must
state its size budget, and then gets every check below for every task it serves.
"""

import subprocess
import sys

import pytest

from cardiacml.errors import UsageError
import torch

from cardiacml.models import count_parameters, create_model, get_spec, list_models
from cardiacml.catalog import model_catalog
from cardiacml.tasks import get_task, list_tasks

#: (min, max) trainable parameters with default options, per model. Every registered model must be here.
PARAMETER_BUDGET = {
    "kachuee": (50_000, 60_000),
    "beatnet": (60_000, 100_000),
    "squeezenet1d": (200_000, 260_000),
    "tcn": (100_000, 200_000),
    "rhythmnet": (10_000, 40_000),
}


def _contract(task):
    if get_task(task).contract_kind == "beat-rhythm":
        from cardiacml.contracts.rhythm import rhythm_contract

        return rhythm_contract()
    from cardiacml.datasets.geometry import load_geometry
    from cardiacml.contracts.beat import KAGGLE_BEAT, MITBIH_CLASSES, PTB_CLASSES
    from cardiacml.contracts.ecg12 import ECG12

    names = {"task1": PTB_CLASSES, "task2": MITBIH_CLASSES}.get(task) or load_geometry().site_names
    base = KAGGLE_BEAT if get_task(task).contract_kind == "beat" else ECG12
    units = "class" if get_task(task).kind == "classification" else "ms"
    return base.with_targets("t", units, names)


def _pairs():
    return [(m, t) for m in list_models() for t in list_tasks() if get_spec(m).serves(get_task(t))]


def test_every_registered_model_has_a_budget_and_a_task():
    assert set(list_models()) == set(PARAMETER_BUDGET), "a registered model has no conformance entry (or a stale one)"
    for name in list_models():
        assert any(m == name for m, _ in _pairs()), f"{name} serves no registered task"


@pytest.mark.parametrize("name,task", _pairs())
def test_model_conforms(name, task):
    spec, tspec = get_spec(name), get_task(task)
    c = _contract(task)
    torch.manual_seed(0)
    m = create_model(name, contract=c, task=task)
    lo, hi = PARAMETER_BUDGET[name]
    assert lo <= count_parameters(m) <= hi
    assert spec.params.get(task) == count_parameters(m), "declared params (shown by `cardiacml models`) must be true"
    x = torch.randn(3, c.n_leads, c.n_samples) if c.kind == "ecg12" else torch.rand(3, c.n_leads, c.n_samples)
    out = m(x)
    n_out = len(c.target_names)
    expected = {"logits": (3, n_out), "vector": (3, n_out), "sequence": (3, n_out, c.n_samples)}[tspec.model_output]
    assert tuple(out.shape) == expected
    assert torch.isfinite(out).all()
    out.float().pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters() if p.requires_grad)
    m.eval()
    with torch.no_grad():  # batch independence: one example alone gives the same output as inside a batch
        torch.testing.assert_close(m(x[:1]), m(x)[:1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name,task", _pairs())
def test_a_model_called_on_another_shape_says_which_shape_it_takes(name, task):
    """``model(x)`` on a window of another length, another lead count or without its batch axis ran silently (beatnet
    on 247 samples, squeezenet1d and tcn on 499 or 560, rhythmnet on 2 leads or 371 samples: outputs for inputs the
    model never saw) or failed deep in PyTorch ("mat1 and mat2 shapes cannot be multiplied (1x128 and 64x32)"); one
    line now names the shape the model takes and the one given."""
    from cardiacml.errors import DataFormatError

    c = _contract(task)
    m = create_model(name, contract=c, task=task).eval()
    L, T = c.n_leads, c.n_samples
    assert m(torch.rand(1, L, T)).shape[0] == 1  # a batch of one
    assert m(torch.rand(1, T, L).transpose(1, 2)).shape[0] == 1  # a non-contiguous view
    for bad in ((1, L, T - 1), (1, L, T + 60), (1, L + 1, T), (L, T)):
        with pytest.raises(DataFormatError) as err:
            m(torch.rand(*bad))
        msg = str(err.value)
        assert "\n" not in msg and f"(batch, {L}, {T})" in msg and str(tuple(bad)) in msg and name in msg


@pytest.mark.parametrize("name", list_models())
def test_model_refuses_wrong_contract(name):
    from cardiacml.contracts.beat import KAGGLE_BEAT
    from cardiacml.contracts.ecg12 import ECG12

    wrong = KAGGLE_BEAT if "ecg12" in get_spec(name).accepts else ECG12
    with pytest.raises(ValueError, match="takes"):
        create_model(name, contract=wrong)


def test_catalog_matches_registry_without_torch():
    cat = {e["name"]: e for e in model_catalog()}
    assert set(cat) == set(list_models())
    for name in list_models():
        s = get_spec(name)
        assert tuple(cat[name]["accepts"]) == s.accepts and cat[name]["params"] == s.params
    code = "import sys; from cardiacml.catalog import model_catalog; model_catalog(); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_registry_lists_all_models():
    assert set(list_models("classification")) >= {"kachuee", "beatnet"}
    with pytest.raises(UsageError, match="unknown model"):
        create_model("nope", 1, 187, 5)



def test_the_bare_12_lead_contract_builds_a_model_of_the_75_sites():
    """README's create_model(name, contract=..., task=...) with contracts.ECG12, which names no sites: it asked for
    n_outputs."""
    from cardiacml.contracts.ecg12 import ECG12

    assert create_model("tcn", contract=ECG12, task="task3")(torch.zeros(2, 12, 500)).shape == (2, 75)
    assert create_model("tcn", contract=ECG12, task="task4")(torch.zeros(2, 12, 500)).shape == (2, 75, 500)


def test_soft_argmax_head_outputs_times_within_recording():
    m = create_model("tcn", 12, 500, 75, out="vector").eval()
    t = m(torch.randn(4, 12, 500))
    assert (t >= 0).all() and (t <= 499).all()


def test_task_specs_are_complete():
    for t in list_tasks():
        s = get_task(t)
        assert s.default_model in list_models() and get_spec(s.default_model).serves(s)
        assert s.score_key in s.history_keys and s.intended_use and s.protocols
        assert all(p in s.limits for p in s.protocols), f"{t}: a protocol has no stated limits"


def test_classical_beat_classifier_is_a_scikit_learn_classifier():
    """clone / get_params / set_params / cross_val_score / score / classes_ work (tutorial 1 calls it a
    scikit-learn estimator; before, clone and cross_val_score failed)."""
    import numpy as np
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_score

    from cardiacml.models.classical import ClassicalBeatClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 187)).astype(np.float32)
    y = np.where(X[:, 30] > 0, "V", "N")
    est = ClassicalBeatClassifier(max_iter=15)
    assert is_classifier(est) and clone(est).get_params() == {"learning_rate": 0.1, "max_iter": 15, "random_state": 0}
    assert est.set_params(max_iter=10).max_iter == 10
    assert len(cross_val_score(clone(est), X, y, cv=3)) == 3
    est.fit(X, y)
    assert list(est.classes_) == ["N", "V"] and est.predict_proba(X).shape == (150, 2) and est.score(X, y) > 0.6
    assert est.model is est.model_


def test_classical_beat_classifier_passes_scikit_learn_check_estimator():
    """scikit-learn's own conformance suite (17 of its 55 checks failed: no NotFittedError, no shape checks, a fixed
    validation split that broke on small sets, NaN accepted); (n, 1, L) beats are taken as (n, L), a width other
    than the fitted one is refused."""
    import warnings

    import numpy as np
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.estimator_checks import check_estimator

    from cardiacml.models.classical import ClassicalBeatClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = check_estimator(ClassicalBeatClassifier(max_iter=10), on_fail=None)
    assert not [r["check_name"] for r in res if r["status"] == "failed"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1, 187)).astype(np.float32)
    y = np.where(X[:, 0, 30] > 0, 1, 0)
    with pytest.raises(NotFittedError):
        ClassicalBeatClassifier().predict(X)
    est = ClassicalBeatClassifier(max_iter=10).fit(X, y)
    assert est.n_features_in_ == 187 and est.predict(X[:, 0]).shape == (60,)
    with pytest.raises(ValueError, match="188 features"):
        est.predict(rng.normal(size=(3, 188)))
