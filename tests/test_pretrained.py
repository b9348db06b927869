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
    act = pd.read_csv(tmp_path / "a.csv").drop(columns=["ecg", "window_start_s"]).to_numpy()
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
