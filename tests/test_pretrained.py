"""Pretrained models shipped in the package work by name wherever a run folder does (issues 11 and 16)."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.pretrained import list_pretrained

runner = CliRunner()
SIZE_LIMIT = {"beats-ds1": 2e6, "beats-all": 2e6, "heart-act": 5e6, "heart-vm": 5e6}


def test_shipped_models_cards_and_sizes():
    shipped = list_pretrained()
    assert set(shipped) == set(SIZE_LIMIT)
    for name, card in shipped.items():
        assert 0 < card["size_bytes"] < SIZE_LIMIT[name]
        assert card.get("retrain"), f"{name}: the card must say how to retrain it"
    assert shipped["beats-ds1"]["ds2"]["honest"] is True and "DS2 never seen" in shipped["beats-ds1"]["protocol"]
    assert "simulated hearts only" in shipped["heart-act"]["protocol"]
    code = ("import sys; from typer.testing import CliRunner; from cardiacml.cli import app; "
            "r = CliRunner().invoke(app, ['models']); assert 'beats-ds1' in r.output and 'heart-vm' in r.output; "
            "assert 'torch' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_predict_beats_ds1_on_mitbih_record_with_page(tmp_path, shared):
    out = tmp_path / "p.csv"
    res = runner.invoke(app, ["predict", "beats-ds1", str(shared / "mitdb" / "100"), "--out", str(out),
                              "--html", str(tmp_path / "p.html"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 2273 and {"time_s", "predicted", "p_N", "p_S", "reference"} <= set(df.columns)
    assert (df.predicted == df.reference).mean() > 0.95
    summ = json.loads((tmp_path / "p.summary.json").read_text())
    assert summ["complete"] and "per_hour" in json.dumps(summ)
    html = (tmp_path / "p.html").read_text()
    assert "record-strip" in html and "src=\"http" not in html and "src='http" not in html  # offline: no external script


def test_predict_beats_all_on_ptb_12_lead_record(tmp_path, shared):
    res = runner.invoke(app, ["predict", "beats-all", str(shared / "wfdb_samples" / "s0010_re"), "--out",
                              str(tmp_path / "s.csv"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "s.csv")
    assert 45 <= len(df) <= 55, len(df)  # 38.4 s at about 80 beats/min


def test_heart_models_on_a_12_lead_recording(tmp_path, shared):
    rec = shared / "wfdb_samples" / "s0010_re"
    res = runner.invoke(app, ["predict", "heart-act", str(rec), "--out", str(tmp_path / "a.csv"),
                              "--html", str(tmp_path / "a.html")])
    assert res.exit_code == 0 and "window: beat" in res.output, res.output
    df = pd.read_csv(tmp_path / "a.csv")
    assert "unfamiliarity" in res.output and df["unfamiliarity"].iloc[0] > 0 and df["unfamiliar"].dtype == bool
    assert df["beat"].iloc[0] >= 0 and df["window_start_s"].iloc[0] < df["r_peak_s"].iloc[0]  # the beat read, named
    act = df.drop(columns=["ecg", "beat", "r_peak_s", "window_start_s", "activation_definition", "unfamiliarity", "unfamiliarity_percentile",
                           "unfamiliar"]).to_numpy()
    assert act.shape == (1, 75) and np.isfinite(act).all() and (act >= 0).all() and (act < 500).all()
    res = runner.invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / "v.csv")])
    assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "v.npy").shape == (1, 75, 500)


def test_export_and_report_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["export", "beats-ds1"])
    assert res.exit_code == 0 and "OK" in res.output and (tmp_path / "beats-ds1.onnx").is_file()
    res = runner.invoke(app, ["report", "heart-act"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "heart-act-report.html").read_text()
    assert "simulated hearts only" in html and "retrain with" in html
    res = runner.invoke(app, ["predict", "no-such-model", "x.csv"])
    assert res.exit_code == 2 and "pretrained" in res.output


@pytest.mark.slow
def test_evaluate_beats_ds1_on_ds2_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["evaluate", "beats-ds1", "--protocol", "interpatient", "--threads", "2"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "eval-beats-ds1" / "metrics.json").read_text())
    card = list_pretrained()["beats-ds1"]["ds2"]
    assert m["aami"]["macro_f1_nsvf"] == pytest.approx(card["macro_f1_nsvf"], abs=0.01)


@pytest.mark.slow
def test_evaluate_heart_act_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["evaluate", "heart-act"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "eval-heart-act" / "metrics.json").read_text())
    assert m["mae_ms"] == pytest.approx(list_pretrained()["heart-act"]["test"]["mae_ms"], rel=0.05)


def test_same_predictions_from_wfdb_csv_and_edf(tmp_path, shared):
    """Issue 16: record 100 written as CSV and as EDF+ gives the beats and the predictions of the WFDB record."""
    import edfio

    from cardiacml.io import open_record

    rec = open_record(shared / "mitdb" / "100")
    n = int(300 * rec.fs)  # 5 minutes
    sig = rec.read(0, n)
    pd.DataFrame({"time (s)": np.arange(n) / rec.fs, "MLII": sig[:, 0], "V5": sig[:, 1]}).to_csv(tmp_path / "r.csv",
                                                                                                index=False)
    edfio.Edf([edfio.EdfSignal(sig[:, i], rec.fs, label=name, physical_dimension="mV", physical_range=(-10.24, 10.24))
               for i, name in enumerate(rec.leads)]).write(tmp_path / "r.edf")
    np.save(tmp_path / "r.npy", sig[:, 0])
    outs = {}
    for name, path, extra in (("wfdb", shared / "mitdb" / "100", ["--no-annotations"]), ("csv", tmp_path / "r.csv", []),
                              ("edf", tmp_path / "r.edf", []), ("npy", tmp_path / "r.npy", ["--fs", "360"])):
        res = runner.invoke(app, ["predict", "beats-ds1", str(path), "--out", str(tmp_path / f"{name}.csv"), "--threads", "1",
                                  *extra])
        assert res.exit_code == 0, res.output
        outs[name] = pd.read_csv(tmp_path / f"{name}.csv")
    ref = outs["wfdb"][outs["wfdb"].time_s < 300 - 2]
    for name in ("csv", "edf", "npy"):
        got = outs[name][outs[name].time_s < 300 - 2]
        assert len(got) == len(ref), name
        np.testing.assert_allclose(got.time_s, ref.time_s, atol=1e-3)
        agree = (got.predicted.to_numpy() == ref.predicted.to_numpy()).mean()
        assert agree == 1.0 if name != "edf" else agree > 0.995, (name, agree)  # EDF: 16-bit quantisation


def test_an_output_folder_named_after_a_pretrained_model_does_not_hide_it(tmp_path, monkeypatch):
    """`export beats-ds1 --out beats-ds1/` made a folder that every later `predict/evaluate/export/report beats-ds1`
    in that folder took for a run ("no checkpoint in this folder"). A folder holding no checkpoint no longer hides
    the shipped model (a note says so); ./beats-ds1 means the folder; a run folder of that name still wins."""
    import shutil

    from cardiacml.errors import MissingDataError
    from cardiacml.pretrained import pretrained_path
    from cardiacml.training.checkpoint import resolve_checkpoint

    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["export", "beats-ds1", "--out", "beats-ds1/"])
    assert res.exit_code == 0 and (tmp_path / "beats-ds1" / "beats-ds1.onnx").is_file(), res.output
    with pytest.warns(UserWarning, match=r"using the pretrained model beats-ds1: the folder beats-ds1/ here holds no "
                                         r"checkpoint \(write \./beats-ds1 to mean the folder\)"):
        assert resolve_checkpoint("beats-ds1") == pretrained_path("beats-ds1")
    with pytest.raises(MissingDataError, match="no checkpoint in this folder"):
        resolve_checkpoint("./beats-ds1")
    with pytest.warns(UserWarning, match="using the pretrained model beats-ds1: the folder beats-ds1/ here"):
        res = runner.invoke(app, ["report", "beats-ds1", "--out", "rep/"])
    assert res.exit_code == 0 and (tmp_path / "rep" / "beats-ds1-report.html").is_file(), res.output
    res = runner.invoke(app, ["report", "./beats-ds1", "--out", "rep2/"])  # as the note says: the folder, no run
    assert res.exit_code == 2 and "beats-ds1: not a run folder (no run.json)" in res.output, res.output
    assert not (tmp_path / "rep2").exists()
    shutil.copy(pretrained_path("heart-act"), tmp_path / "beats-ds1" / "model.pt")  # the user's own run of that name
    assert resolve_checkpoint("beats-ds1").resolve() == tmp_path / "beats-ds1" / "model.pt"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["heart-act", "heart-vm"])
def test_heart_card_real_ecg_figures_are_what_the_benchmark_measures(name, shared):
    """The cards' figures on the 20 real 12-lead ECGs (``python benchmarks/heart_real.py``) are today's: heart-vm's
    card kept 14.5 ms / 80 % / 0.24 after 0.4.17 counted only upward crossings of -40 mV (15.5 ms / 70 % / 0.29)."""
    from cardiacml.inference.physiology import physiology_checks

    real = shared / "real_12lead"
    records = sorted(p.with_suffix("") for p in real.glob("E*.hea")) + [shared / "wfdb_samples" / "s0010_re"]
    if len(records) != 20:
        pytest.skip(f"the 19 real 12-lead recordings and s0010_re not found under {shared}")
    got = physiology_checks(name, records)["summary"]
    card = list_pretrained()[name]
    for key in ("median_earliest_ms", "share_earliest_le_20ms", "spearman_tat_qrs", "rbbb_rv_delay_ms", "median_tat_ms"):
        assert got[key] == pytest.approx(card["real_ecg"][key], abs=0.005), key
    headline = card["headline"]
    assert (f"earliest activation median {got['median_earliest_ms']:.1f} ms" in headline
            and f"({100 * got['share_earliest_le_20ms']:.0f} % <= 20 ms)" in headline
            and f"Spearman(TAT, QRS) {got['spearman_tat_qrs']:.2f}" in headline), headline
