"""Patient-adaptive beat classification (issue 22): `predict --adapt-minutes`, labels from annotations or a CSV."""

import json

import numpy as np
import pandas as pd
import torch
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


def test_adapting_on_the_first_minutes_fixes_a_patients_false_s_beats(mitdb, tmp_path):
    # record 231 (DS2, never trained on): stretches of 2:1 AV block make a pause the patient's R-R reference
    # (contract v4), and the general model calls about 6 % of its conducted sinus beats S (the sinus check, 0.4.5,
    # gives back to N those whose P wave is the sinus one: 30 remain after the first 5 minutes); 5 labelled minutes
    # fix most of the rest
    base = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "231"), "--out", str(tmp_path / "g.csv")])
    assert base.exit_code == 0, base.output
    # the summary and the console say why S calls are less certain here, and what to do
    assert "are pauses" in base.output and "--adapt-minutes" in base.output, base.output
    pauses = json.loads((tmp_path / "g.summary.json").read_text())["rr_pauses"]
    assert 0.2 < pauses["fraction_of_intervals"] < 0.35 and "note" in pauses
    res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "231"), "--out", str(tmp_path / "a.csv"),
                              "--adapt-minutes", "5"])
    assert res.exit_code == 0 and "adapted to this patient on" in res.output, res.output
    full = json.loads((tmp_path / "a.summary.json").read_text())
    s = full["adapted"]
    # the QRS check judges a general model's S calls; an adapted model has learnt this patient's own S beats
    assert "qrs_check" in json.loads((tmp_path / "g.summary.json").read_text()) and "qrs_check" not in full
    assert s["minutes"] == 5 and s["labelled_beats"] > 200 and s["per_class"]["N"] > 200
    g, a = pd.read_csv(tmp_path / "g.csv"), pd.read_csv(tmp_path / "a.csv")
    after = a["time_s"] >= 300
    acc = lambda df: float((df.loc[after, "predicted"] == df.loc[after, "reference"]).mean())  # noqa: E731
    false_s = lambda df: int(((df.loc[after, "predicted"] == "S") & (df.loc[after, "reference"] == "N")).sum())  # noqa: E731
    assert false_s(g) >= 20 and false_s(a) <= false_s(g) // 3, (false_s(g), false_s(a))
    assert acc(a) > acc(g) and acc(a) > 0.99, (acc(g), acc(a))
    assert s["agreement_after"] == np.float64(s["agreement_after"]) and abs(s["agreement_after"] - acc(a)) < 0.01


def test_adaptation_from_a_csv_of_labelled_beats_and_clear_errors(mitdb, tmp_path):
    import wfdb

    from cardiacml.ecg.aami import AAMI_MAP
    from cardiacml.io.symbols import BEAT_SYMBOLS

    ann = wfdb.rdann(str(mitdb / "232"), "atr", sampto=360 * 300)
    keep = np.isin(ann.symbol, list(BEAT_SYMBOLS))
    pd.DataFrame({"time_s": ann.sample[keep] / 360.0,
                  "label": ["NSVFQ"[AAMI_MAP[s]] for s in np.asarray(ann.symbol)[keep]]}).to_csv(tmp_path / "l.csv", index=False)
    res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "232"), "--out", str(tmp_path / "c.csv"),
                              "--adapt-labels", str(tmp_path / "l.csv")])
    assert res.exit_code == 0 and "l.csv" in res.output, res.output
    (tmp_path / "bad.csv").write_text("time_s,label\n1.0,X\n")
    res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "232"), "--out", str(tmp_path / "d.csv"),
                              "--adapt-labels", str(tmp_path / "bad.csv")])
    assert res.exit_code == 2 and "not classes of this model" in res.output
    res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "232"), "--out", str(tmp_path / "e.csv"),
                              "--adapt-minutes", "5", "--no-annotations"])
    assert res.exit_code == 2 and "--adapt-labels" in res.output


def test_adaptation_keeps_classes_the_first_minutes_lack_and_is_repeatable(mitdb, tmp_path):
    """123's three PVCs all come after minute 5: adapting on its first 5 minutes (N only) called every beat N (the
    softmax over all classes taught the copy that V never occurs). The loss is over the classes the labels show now;
    two runs give the same file (dropout drew from torch's unseeded global generator); labels that match no beat, a
    0-minute adaptation and --adapt-minutes with --no-annotations are one-line errors (a traceback, silently nothing,
    a wrong reason)."""
    out = tmp_path / "a.csv"
    res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "123"), "--out", str(out), "--adapt-minutes", "5"])
    assert res.exit_code == 0 and "not adapted: the 249 labelled beats" in res.output, res.output  # all N: nothing
    df = pd.read_csv(out)  # to adapt on (a one-class loss is 0), the general model and its checks classify
    assert ((df["reference"] == "V") & (df["predicted"] == "V")).sum() == 3
    summ = json.loads((tmp_path / "a.summary.json").read_text())
    assert "adapted" not in summ and summ["adaptation_skipped"].startswith("not adapted: the 249 labelled beats")
    assert "qrs_check" in summ  # the general model's checks ran
    from cardiacml.inference.predict import load_runner
    from cardiacml.training.adapt import adapt_model

    general = load_runner("beats-ds1").model
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1, 311)).astype(np.float32)
    y = np.r_[np.zeros(50, int), np.ones(10, int)]
    a, b = adapt_model(general, X, y, 5, epochs=2), adapt_model(general, X, y, 5, epochs=2)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))  # seeded
    (tmp_path / "l.csv").write_text("time_s,label\n0.6,N\n1.4,N\n")
    for extra, msg in ((["--adapt-labels", str(tmp_path / "l.csv")], "none of its 2 labelled times lies within 0.15 s"),
                       (["--adapt-minutes", "0"], "must be positive"),
                       (["--adapt-minutes", "2", "--no-annotations"], "which --no-annotations turns off")):
        res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "100"), "--out", str(tmp_path / "c.csv"), *extra])
        assert res.exit_code == 2 and msg in res.output, res.output


def test_the_benchmark_scores_what_predict_writes(mitdb, tmp_path):
    """benchmarks/patient_adaptive.py runs predict_file itself (0.4.15's rebuilt the output from the model's
    probabilities, without the rhythm context and three checks): its kept CSVs are predict's, a record whose first
    minutes hold one class (123: all N) is listed as not adapted and classified as the general model does, and its
    table rows are the kept CSVs' figures after minute 5."""
    import subprocess
    import sys
    from pathlib import Path

    from cardiacml.ecg.aami import aami_report
    from cardiacml.inference.predict import predict_file

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "patient_adaptive.py"
    keep = tmp_path / "kept"
    out = subprocess.run([sys.executable, str(bench), "--records", "100", "123", "--keep", str(keep)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "not adapted" in out.stdout and "1 of 2 records: 123\n" in out.stdout, out.stdout
    assert "adapted" in json.loads((keep / "100_adapted.summary.json").read_text())
    assert "adaptation_skipped" in json.loads((keep / "123_adapted.summary.json").read_text())
    predict_file("beats-ds1", mitdb / "100", tmp_path / "direct.csv")
    assert pd.read_csv(tmp_path / "direct.csv")["predicted"].equals(pd.read_csv(keep / "100_general.csv")["predicted"])
    assert pd.read_csv(keep / "123_adapted.csv")["predicted"].equals(pd.read_csv(keep / "123_general.csv")["predicted"])
    classes = ("N", "S", "V", "F", "Q")
    for tag, label in (("general", "general (beats-ds1)"), ("adapted", "patient-adapted")):
        frames = [pd.read_csv(keep / f"{r}_{tag}.csv") for r in ("100", "123")]
        rows = pd.concat([f[(f["time_s"] >= 300) & f["reference"].isin(classes)] for f in frames])
        rep = aami_report(rows["reference"].map(classes.index).to_numpy(), rows["predicted"].map(classes.index).to_numpy(),
                          classes)
        (line,) = [ln for ln in out.stdout.splitlines() if ln.startswith(label)]
        assert line.split()[-1] == f"{rep['macro_f1_nsvf']:.3f}", (line, rep["macro_f1_nsvf"])
        n = rep["per_class"]["N"]
        assert f"{100 * n['se']:.1f}/{100 * n['ppv']:.1f}/{n['f1']:.3f}" in line, line


def test_options_of_a_recording_are_refused_for_already_cut_beats_not_ignored(shared, tiny_run, tmp_path):
    """`predict RUN kaggle.csv --adapt-minutes 5` (or --adapt-labels, --lead, --units) classified the cut beats with
    the general model and said nothing: the adaptation asked for was silently not done."""
    run, _ = tiny_run
    beats = shared / "kaggle_format" / "tami64_ECGformer__mitbih_test.csv"
    labels = tmp_path / "l.csv"
    labels.write_text("time_s,label\n1.0,N\n2.0,V\n")
    for extra in (["--adapt-minutes", "5"], ["--adapt-labels", str(labels)], ["--lead", "V1"], ["--units", "uV"]):
        res = runner.invoke(app, ["predict", str(run), str(beats), "--out", str(tmp_path / "o.csv"), *extra])
        assert res.exit_code == 2 and f"{extra[0]}: " in res.output and "already-cut beats" in res.output, res.output
        assert not (tmp_path / "o.csv").exists()
    res = runner.invoke(app, ["predict", str(run), str(beats), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 0 and (tmp_path / "o.csv").is_file(), res.output


def test_a_malformed_labels_csv_is_one_line_without_warnings(mitdb, tmp_path, recwarn):
    """A ragged --adapt-labels CSV printed pandas' message with its newline (an error of two lines); a time of 1e308 s
    printed two numpy warnings (overflow, invalid cast) before the answer."""
    (tmp_path / "ragged.csv").write_text("time_s,label,x\n1,N\n2,V,3,4\n")
    (tmp_path / "far.csv").write_text("time_s,label\n1e308,N\n-1e308,V\n")
    for name, needle in (("ragged.csv", "Expected 3 fields in line 3, saw 4)"), ("far.csv", "none of its 2 labelled")):
        res = runner.invoke(app, ["predict", "beats-ds1", str(mitdb / "100"), "--out", str(tmp_path / "o.csv"),
                                  "--adapt-minutes", "1", "--adapt-labels", str(tmp_path / name)])
        assert res.exit_code == 2 and needle in res.output, res.output
        lines = [ln for ln in res.output.splitlines() if ln.strip() and not ln.startswith("[")]
        assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]
