"""A beat-rhythm model's input row holds the beat window (from -500 ms), its local template and the R-R features: the
run figures and the report's example beats draw the beat window on its own, timed from the R peak, not the whole row
as one 2.5-s "beat" from 0 ms."""

import json
import re

import numpy as np

from cardiacml.contracts import rhythm as C


def test_beat_window_of_each_contract():
    from cardiacml.contracts.beat import kaggle_contract
    from cardiacml.viz.plots import beat_window

    rc = C.rhythm_contract()
    row = np.arange(2 * C.W + C.F, dtype=float)[None, None]
    for contract in (rc, rc.to_dict()):
        beat, t0 = beat_window(row, contract)
        assert beat.shape[-1] == C.W and beat[0, 0, -1] == C.W - 1 and t0 == -1000 * C.PRE_S
    beat, t0 = beat_window(np.zeros(187), kaggle_contract())
    assert beat.shape == (187,) and t0 == 0.0
    assert beat_window(np.zeros(187), None)[1] == 0.0  # a run.json without a contract: drawn as before


def test_report_and_run_figures_draw_the_beat_window(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from cardiacml.report import write_report
    from cardiacml.training.checkpoint import save_examples
    from cardiacml.viz.plots import beat_window, plot_beat

    rc = C.rhythm_contract()
    classes = list(rc.target_names)
    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    cm = np.eye(len(classes), dtype=int) * 10
    test = {"n": 50, "accuracy": 1.0, "macro_f1": 1.0, "classes": classes, "confusion_matrix": cm.tolist(),
            "per_class": {c: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 10} for c in classes}}
    (run / "metrics.json").write_text(json.dumps({"test": test}))
    (run / "run.json").write_text(json.dumps({"model": "rhythmnet", "hparams": {}, "task": "beats", "kind": "classification",
                                              "config": {}, "contract": rc.to_dict(), "n_parameters": 5,
                                              "data": {"source": "mitdb", "protocol": "random"}, "best_epoch": 1,
                                              "train_time_s": 1.0, "cardiacml_version": "0.1.0"}))
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(classes)), 4)
    save_examples(run, rng.normal(size=(len(y), 1, 2 * C.W + C.F)), y, np.eye(len(classes))[y])
    page = write_report(run).read_text()
    spec = json.loads(re.search(r"id='beats-examples-json'>(.*?)</script>", page, re.S).group(1))
    lines = [t for t in spec["data"] if t["type"] == "scatter"]
    assert lines
    for t in lines:
        x = t["x"]
        x = np.frombuffer(__import__("base64").b64decode(x["bdata"]), x["dtype"]) if isinstance(x, dict) else np.asarray(x)
        assert len(x) == C.W and x[0] == -1000 * C.PRE_S and x[-1] < 1000 * C.POST_S
    beat, t0 = beat_window(np.zeros(2 * C.W + C.F), rc)
    line = plot_beat(beat, t0_ms=t0).axes[0].get_lines()[0]
    assert len(line.get_xdata()) == C.W and line.get_xdata()[0] == -500.0
