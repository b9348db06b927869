"""rhythmnet, the beat-rhythm contract through fit / checkpoint / ONNX / predict_record, and the shipped pretrained models."""

import json

import numpy as np
import pytest

from cardiacml.io import open_record
import torch

from cardiacml.contracts import rhythm as C


def test_rhythmnet_shapes_and_size():
    from cardiacml.models import count_parameters, create_model, get_spec

    c = C.rhythm_contract()
    m = create_model("rhythmnet", 1, c.n_samples, 5).eval()
    assert get_spec("rhythmnet").kind == "classification"
    assert m(torch.randn(7, 1, c.n_samples)).shape == (7, 5)
    assert count_parameters(m) < 60_000
    with pytest.raises(ValueError, match="expects input"):
        create_model("rhythmnet", 1, 187, 5)


def test_contract_layout_is_consistent():
    c = C.rhythm_contract()
    assert c.layout["features"][1] == c.n_samples == 2 * C.W + len(c.extra["features"])
    json.dumps(c.to_dict())
    C.check_contract(c)
    bad = dict(c.to_dict(), features=c.extra["features"][:-1])
    from cardiacml.errors import DataFormatError

    with pytest.raises(DataFormatError, match="features"):
        C.check_contract(bad)


def _tiny_data(mitdb):
    from cardiacml.datasets.mitbih import read_record_rhythm
    from cardiacml.tasks import TaskData

    a, b = read_record_rhythm(mitdb / "119"), read_record_rhythm(mitdb / "100")
    return TaskData("beats", a["X"], a["y"], b["X"][:500], b["y"][:500], b["X"], b["y"],
                    C.rhythm_contract(), "two MIT-BIH records", "test")


def test_fit_export_and_predict_record(mitdb, tmp_path):
    """A rhythmnet checkpoint made by fit() runs in PyTorch and onnxruntime alike, and through predict_record."""
    from cardiacml.inference.beats import predict_record
    from cardiacml.inference.onnx_export import OnnxPredictor, export_onnx
    from cardiacml.training.checkpoint import TrainConfig, load_checkpoint
    from cardiacml.training.loop import fit, predict_array

    data = _tiny_data(mitdb)
    _, ck = fit(data, TrainConfig(task="beats", model="rhythmnet", epochs=1, batch_size=256, augment=False, threads=1),
                tmp_path / "run", log=lambda *a: None)
    assert ck["contract"]["kind"] == "beat-rhythm"
    model, ck = load_checkpoint(tmp_path / "run")
    rep = export_onnx(tmp_path / "run", tmp_path / "m.onnx")
    assert rep["parity_ok"], rep
    onnx = OnnxPredictor(tmp_path / "m.onnx", threads=1)
    assert onnx.contract["kind"] == "beat-rhythm"
    np.testing.assert_allclose(onnx.predict(data.X_test[:300]), predict_array(model, data.X_test[:300]), atol=1e-4)
    s = predict_record(onnx, open_record(mitdb / "100"), tmp_path / "p.csv").summary
    assert s["complete"] and s["beats"] == 2273


def test_training_mode_augments_eval_does_not():
    from cardiacml.models import create_model

    m = create_model("rhythmnet", 1, 2 * C.W + C.F, 5)
    x = torch.randn(16, 1, 2 * C.W + C.F)
    m.eval()
    assert torch.equal(m(x), m(x))
    m.train()
    torch.manual_seed(0)
    a = m(x)
    assert not torch.allclose(a, m(x))


def test_pretrained_models_are_shipped_small_and_work(mitdb, tmp_path):
    from cardiacml.inference.beats import predict_record
    from cardiacml.pretrained import list_pretrained, pretrained_path
    from cardiacml.training.checkpoint import load_checkpoint
    from cardiacml.training.loop import predict_array

    have = list_pretrained()
    assert {"beats-ds1", "beats-all"} <= set(have)
    for name in ("beats-ds1", "beats-all"):
        p = pretrained_path(name)
        assert p.stat().st_size < 2 * 1024 * 1024
        card = have[name]
        assert card["retrain"].startswith("python benchmarks/train_beats.py --pretrained")
        assert set(card["ds2"]["per_class"]) == {"N", "S", "V", "F"}
        model, ck = load_checkpoint(p)
        rc = C.rhythm_contract(ck["contract"]["classes"]).to_dict()
        C.check_contract(ck["contract"])  # the shipped checkpoints' contract is this code's layout
        assert {k: ck["contract"][k] for k in ("version", "fs_hz", "n_samples", "layout", "features")} == \
            {k: rc[k] for k in ("version", "fs_hz", "n_samples", "layout", "features")}

        class Runner:
            contract = ck["contract"]

            def predict(self, X):
                return predict_array(model, X, batch_size=4096)

        s = predict_record(Runner(), open_record(mitdb / "100"), tmp_path / f"{name}.csv").summary
        assert s["reference"]["agreement"] > 0.9, s["reference"]
    assert "ds2" in have["beats-ds1"] and have["beats-ds1"]["ds2"]["honest"] is True
    from cardiacml.errors import MissingDataError

    with pytest.raises(MissingDataError, match="beats-ds1"):
        pretrained_path("beats-nope")


@pytest.mark.slow
def test_loader_holds_out_records(mitdb):
    from cardiacml.datasets.mitbih import DS1, DS2, PACED
    from cardiacml.tasks.beats import VAL_RECORDS_DS1, load_beats_rhythm

    d = load_beats_rhythm(mitdb, protocol="interpatient")
    tr = set(d.extra["train_records"])
    assert tr | set(VAL_RECORDS_DS1) == set(DS1) and not tr & set(VAL_RECORDS_DS1)
    assert set(d.extra["val_groups"]) == set(VAL_RECORDS_DS1) and set(d.extra["test_groups"]) == set(DS2)
    assert not (tr | set(d.extra["val_groups"])) & set(DS2) and not set(PACED) & set(d.extra["test_groups"])
    assert d.X_train.shape[1:] == (1, 2 * C.W + C.F) and d.kind == "classification"


def test_a_model_of_an_earlier_contract_is_refused_in_one_line(mitdb, tmp_path):
    """A 0.3 run folder (contract v3: median R-R reference) would get inputs it never saw: predict refuses it, naming
    the version, instead of classifying with the wrong reference."""
    import torch
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.errors import DataFormatError
    from cardiacml.pretrained import pretrained_path

    ck = torch.load(pretrained_path("beats-ds1"), weights_only=True)
    assert ck["contract"]["version"] == C.VERSION == 4
    ck["contract"] = {k: v for k, v in ck["contract"].items() if k != "reference_rr_percentile"} | {"version": 3}
    torch.save(ck, tmp_path / "v3.pt")
    with pytest.raises(DataFormatError, match="version"):
        C.check_contract(ck["contract"])
    v3 = str(tmp_path / "v3.pt")
    for args in (["predict", v3, str(mitdb / "100"), "--out", str(tmp_path / "b.csv")],
                 ["predict", v3, str(mitdb / "100"), "--out", str(tmp_path / "b.csv"), "--adapt-minutes", "1"],
                 ["evaluate", v3, "--out", str(tmp_path / "eval")],
                 ["export", v3, "--out", str(tmp_path / "v3.onnx")]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2 and "'version'" in res.output and "v3.pt" in res.output, (args, res.output)
        assert "Traceback" not in res.output, res.output
    assert not any((tmp_path / f).exists() for f in ("b.csv", "eval", "v3.onnx"))
    # an ONNX file of the earlier contract (exported by 0.3) is refused on opening, naming the file
    from cardiacml.errors import DataFormatError as DFE
    from cardiacml.inference.onnx_export import export_onnx
    from cardiacml.inference.predict import load_runner

    export_onnx("beats-ds1", tmp_path / "v4.onnx")
    import onnx

    m = onnx.load(tmp_path / "v4.onnx")
    meta = {p.key: p for p in m.metadata_props}["cardiacml"]
    d = json.loads(meta.value)
    d["contract"]["version"] = 3
    meta.value = json.dumps(d)
    onnx.save(m, tmp_path / "old.onnx")
    with pytest.raises(DFE, match=r"old\.onnx: model input contract differs .*'version'"):
        load_runner(tmp_path / "old.onnx")


def test_detect_af_refuses_times_it_cannot_read_and_keeps_no_empty_episode():
    """NaN, unsorted, infinite, 2-D or millisecond R-peak times are refused in one line (they gave a burden of 0, a
    negative analysed time, an episode at inf); a lone beat between two beatless gaps is no zero-length episode."""
    from cardiacml.ecg.rhythm import detect_af
    from cardiacml.errors import UsageError

    ta = np.cumsum(np.random.default_rng(0).uniform(0.4, 1.2, 100))
    for bad, msg in ((np.r_[ta[:50], np.nan, ta[51:]], "NaN or infinite value at beat 50"),
                     (np.random.default_rng(0).permutation(ta), "must increase strictly"),
                     (np.r_[ta, np.inf], "NaN or infinite"), (ta * 1000, "not milliseconds"), (ta[None], "1-D")):
        with pytest.raises(UsageError, match=msg):
            detect_af(bad)
    assert detect_af(ta)["af_burden"] == 1.0
    t = np.cumsum(np.random.default_rng(1).uniform(0.4, 1.2, 400))
    t[200:] += 60.0
    t = np.sort(np.r_[t, t[199] + 20, t[199] + 40])  # two lone beats inside the 60-s gap
    eps = detect_af(t, on=0.0, off=-1.0)["rhythm_episodes"]  # every beat flagged
    assert len(eps) == 2 and all(e["end_s"] - e["start_s"] > 100 for e in eps)
