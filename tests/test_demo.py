"""The demo's summary table (no training here: the headline is formatted from a run's metrics)."""

from types import SimpleNamespace


def test_headline_gives_the_baseline_its_unit():
    from cardiacml.demo import _headline

    rec = SimpleNamespace(kind="regression", metrics={"test": {"mae_ms": 5.537, "constant_baseline_mae_ms": 14.9852,
                                                               "n": 78}})
    assert _headline(rec) == "activation MAE 5.54 ms (mean baseline 14.99 ms, n=78)"
    rec = SimpleNamespace(kind="sequence", metrics={"test": {"rmse_mv": 11.03, "pearson_r_mean": 0.9743, "n": 78}})
    assert _headline(rec) == "Vm RMSE 11.03 mV, r 0.974 (n=78)"
