"""A model's input window (window version 2: divided by its amplitude scale) is not labelled as mV on ECG paper in a
run's report (interactive 12-lead viewer) nor in its static ECG figure."""

import json
import re

import numpy as np


def _run(run, units):
    (run / "figures").mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"test": {"n": 4, "mae_ms": 3.0, "rmse_ms": 4.0, "target_std_ms": 20.0,
                                                           "per_region_mae_ms": {"AHA": 3.0}}}))
    (run / "run.json").write_text(json.dumps({"model": "tcn", "hparams": {}, "task": "task3", "kind": "regression",
                                              "config": {}, "contract": {"units": units}, "n_parameters": 5,
                                              "data": {"source": "simulator", "protocol": "stimulus"}, "best_epoch": 1,
                                              "train_time_s": 1.0, "cardiacml_version": "0.1.0"}))
    from cardiacml.training.checkpoint import save_examples

    rng = np.random.default_rng(0)
    save_examples(run, rng.normal(0, 0.3, (3, 12, 500)), rng.uniform(0, 90, (3, 75)), rng.uniform(0, 90, (3, 75)))


def _ecg_yaxis_title(page: str) -> str:
    spec = json.loads(re.search(r"id='heart-ecg-json'>(.*?)</script>", page, re.S).group(1))
    return spec["layout"]["yaxis"]["title"]["text"]


def test_report_viewer_labels_normalised_windows_as_such(tmp_path):
    from cardiacml.report import write_report

    _run(tmp_path / "v2", "normalised")
    page = write_report(tmp_path / "v2").read_text()
    assert _ecg_yaxis_title(page) == "normalised" and "not mV" in page and "10 mm/mV" not in page
    _run(tmp_path / "v1", "mV")  # a cardiacml 0.2 model's raw windows are in mV: the paper grid stays
    page = write_report(tmp_path / "v1").read_text()
    assert _ecg_yaxis_title(page) == "mV" and "10 mm/mV" in page


def test_static_ecg_figure_names_its_units():
    import matplotlib

    matplotlib.use("Agg")
    from cardiacml.viz.plots import plot_ecg12

    ecg = np.zeros((12, 500))
    assert "mm/mV" in plot_ecg12(ecg).axes[0].get_xlabel()
    label = plot_ecg12(ecg, units="normalised").axes[0].get_xlabel()
    assert "mV" not in label and "normalised unit" in label
