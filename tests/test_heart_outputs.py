"""Outputs and inputs of `predict` with the heart models that a bug hunt found mishandled."""

import numpy as np
import pytest


@pytest.mark.parametrize("out,html", [("x.csv", "x.npy"), ("x.npy", "x.csv")])
def test_heart_vm_html_naming_the_vm_array_or_its_csv_is_refused_before_anything_is_written(shared, tmp_path, out, html):
    """`--out x.csv --html x.npy`: the page was written to x.npy, then the run refused x.npy as "not a heart-vm output",
    leaving the page under the Vm array's name and no Vm nor CSV."""
    from typer.testing import CliRunner

    from cardiacml.cli import app

    from conftest import need

    rec = need(shared / "real_12lead") / "E07509"
    res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / out),
                                   "--html", str(tmp_path / html)])
    assert res.exit_code == 2, res.output
    assert f"--html {tmp_path / html} is the" in res.output and "another name" in res.output
    assert list(tmp_path.iterdir()) == []


def test_heart_vm_replaces_its_own_pair_but_not_a_users_vm_array(shared, tmp_path):
    """Any float32 (n, 75, 500) .npy counted as a heart-vm output and was replaced (a user's own true Vm of the
    same name); the pair heart-vm writes is replaced on a second run."""
    from typer.testing import CliRunner

    from cardiacml.cli import app

    from conftest import need

    rec = need(shared / "real_12lead") / "E07509"
    mine = np.zeros((1, 75, 500), np.float32)
    np.save(tmp_path / "x.npy", mine)
    res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "x.npy exists and is not a heart-vm output" in res.output, res.output
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), mine)
    for _ in range(2):  # its own pair: replaced
        res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / "y.csv")])
        assert res.exit_code == 0, res.output
    assert np.load(tmp_path / "y.npy").shape == (1, 75, 500)


def test_lead_names_given_for_a_model_format_array_put_its_leads_in_order(tmp_path):
    """`read_ecg12(path, leads=[...])` says the names serve a ``.npy`` "with another order"; for a model-format array
    ((12, 500), (500, 12), pECGData (500, 10)) they were ignored: the leads went to the model in the file's order."""
    from cardiacml.contracts.ecg12 import ELECTRODES, LEADS, leads_from_electrodes
    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_ecg12

    t = np.arange(500)
    pecg = np.stack([np.sin(2 * np.pi * (k + 1) * t / 500) * np.exp(-((t - 60 - 3 * k) / 25.0) ** 2) for k in range(10)], 1)
    x12 = leads_from_electrodes(pecg)  # (12, 500)
    np.save(tmp_path / "beat.npy", x12)
    ref = read_ecg12(tmp_path / "beat.npy")
    perm = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]
    names = [LEADS[i] for i in perm]
    np.save(tmp_path / "perm.npy", x12[perm])
    np.testing.assert_allclose(read_ecg12(tmp_path / "perm.npy", leads=names), ref, atol=1e-5)
    np.save(tmp_path / "perm_t.npy", x12[perm].T)
    np.testing.assert_allclose(read_ecg12(tmp_path / "perm_t.npy", leads=names), ref, atol=1e-5)
    np.save(tmp_path / "perm_n.npy", np.stack([x12[perm]] * 2))
    np.testing.assert_allclose(read_ecg12(tmp_path / "perm_n.npy", leads=names), np.concatenate([ref] * 2), atol=1e-5)
    eperm = [4, 5, 6, 7, 8, 9, 0, 1, 2, 3]
    np.save(tmp_path / "pecg.npy", pecg[:, eperm])
    X = read_ecg12(tmp_path / "pecg.npy", leads=[ELECTRODES[i] for i in eperm])
    np.testing.assert_allclose(X, ref, atol=1e-5)
    with pytest.raises(DataFormatError, match=r"perm.npy: 3 lead name\(s\)"):
        read_ecg12(tmp_path / "perm.npy", leads=["I", "II", "V1"])


def test_ekg_prefixed_lead_names_are_the_twelve_leads():
    """"EKG II" is lead II for the beat path (io.records._LEAD_PREFIX); the 12-lead path stripped only LEAD / ECG and
    refused an EDF whose channels are "EKG I" ... "EKG V6" with "missing lead(s)"."""
    from cardiacml.contracts.ecg12 import LEADS
    from cardiacml.ecg.twelve_lead import canonical_lead, to_twelve_leads

    assert [canonical_lead(f"EKG {n}") for n in LEADS] == list(LEADS)
    assert canonical_lead("ekg_avr") == "aVR"
    x = np.arange(24.0).reshape(2, 12)
    np.testing.assert_array_equal(to_twelve_leads(x, [f"EKG {n}" for n in LEADS], "t")[0], x)


def test_portuguese_and_european_lead_names_are_the_twelve_leads():
    """DI / DII / DIII (CODE dataset, Brazilian recorders) and C1-C6 (European chest leads) were refused as missing
    leads; a beat model's default lead is DII among them."""
    from cardiacml.ecg.twelve_lead import canonical_lead, to_twelve_leads
    from cardiacml.io.records import default_lead

    code = ["DI", "DII", "DIII", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    europe = ["I", "II", "III", "aVR", "aVL", "aVF", "C1", "C2", "C3", "C4", "C5", "C6"]
    x = np.arange(24.0).reshape(2, 12)
    for names in (code, europe):
        np.testing.assert_array_equal(to_twelve_leads(x, names, "t")[0], x)
    assert canonical_lead("D2") == "II" and canonical_lead("C7") is None
    assert default_lead(code) == 1 and default_lead(["EEG Fpz", "D2"]) == 1


def test_beat_index_picks_one_beat_of_an_array_of_model_format_beats(tmp_path):
    """`predict heart-act beats.npy --beat 1` on (3, 12, 500) predicted all three beats, the index ignored."""
    from cardiacml.errors import DataFormatError
    from cardiacml.inference.inputs import read_ecg12

    rng = np.random.default_rng(0)
    beats = rng.normal(size=(3, 12, 500)) * np.exp(-((np.arange(500) - 60) / 20.0) ** 2)
    np.save(tmp_path / "b.npy", beats)
    every = read_ecg12(tmp_path / "b.npy", beat="all")
    assert every.shape == (3, 12, 500)
    np.testing.assert_allclose(read_ecg12(tmp_path / "b.npy", beat=1), every[1:2], atol=1e-6)
    with pytest.raises(DataFormatError, match=r"b.npy: beat 3 out of range: the array holds 3 model-format beat"):
        read_ecg12(tmp_path / "b.npy", beat=3)
    np.save(tmp_path / "one.npy", beats[0])
    assert read_ecg12(tmp_path / "one.npy", beat=0).shape == (1, 12, 500)
    with pytest.raises(DataFormatError, match="one.npy: beat 1 out of range"):
        read_ecg12(tmp_path / "one.npy", beat=1)


def test_heart_vm_failing_to_write_the_vm_array_keeps_the_previous_pair(shared, tmp_path, monkeypatch):
    """The CSV was written (replaced) before the Vm array: a failure writing the array (disk full) left the new
    activation times beside the previous run's Vm, a pair that does not match. Now neither is replaced."""
    import errno

    from typer.testing import CliRunner

    from cardiacml.cli import app

    from conftest import need

    rec = need(shared / "real_12lead") / "E07509"
    (tmp_path / "x.csv").write_text("ecg,AHA01\n0,1.0\n")  # a previous run's pair
    old = np.zeros((1, 75, 500), np.float32)
    np.save(tmp_path / "x.npy", old)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / "x.csv")])
    assert res.exit_code != 0 and "No space left" in res.output, res.output
    assert (tmp_path / "x.csv").read_text() == "ecg,AHA01\n0,1.0\n"
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.npy"]  # no temporary file left


def test_beat_all_rows_name_the_beat_and_its_r_peak_as_beat_k_takes_them(shared, tmp_path):
    """`predict heart-act REC --beat all` named each row by its window's start (``window_start_s``, 5 ms before the QRS
    onset) and a row counter: not the beat index that `--beat K` and the console ("beat 4 of 9") use, nor the beat's R
    peak time. The rows now carry ``beat`` and ``r_peak_s`` (and the window start, said as such)."""
    import pandas as pd
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.inference.ecg12 import load_ecg12

    from conftest import need

    rec = need(shared / "real_12lead") / "E07500"
    res = CliRunner().invoke(app, ["predict", "heart-act", str(rec), "--beat", "all", "--out", str(tmp_path / "a.csv")])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "a.csv")
    assert list(df.columns[:4]) == ["ecg", "beat", "r_peak_s", "window_start_s"], list(df.columns[:6])
    _, info = load_ecg12(rec, beat="all")
    wins = info["windows"]
    assert len(df) == len(wins) > 3
    assert df["beat"].tolist() == [w["beat"] for w in wins]
    np.testing.assert_allclose(df["r_peak_s"], [w["r_peak_s"] for w in wins])
    np.testing.assert_allclose(df["window_start_s"], [w["start_s"] for w in wins])
    assert (df["window_start_s"] < df["r_peak_s"]).all()
    k = int(df["beat"].iloc[2])  # a row's beat is the one `--beat K` predicts
    res = CliRunner().invoke(app, ["predict", "heart-act", str(rec), "--beat", str(k), "--out", str(tmp_path / "k.csv")])
    assert res.exit_code == 0 and f"window: beat {k} of" in res.output, res.output
    one = pd.read_csv(tmp_path / "k.csv")
    assert one["beat"].tolist() == [k] and one["r_peak_s"].iloc[0] == df["r_peak_s"].iloc[2]
    sites = [c for c in df.columns if c.startswith("AHA")]
    np.testing.assert_allclose(one[sites].iloc[0], df[sites].iloc[2], atol=1e-3)
    from cardiacml.io import open_record

    r = open_record(rec)  # an array of two recordings: the rows of each say which one (item) they came from
    np.save(tmp_path / "two.npy", np.stack([r.read(0, r.n_samples)] * 2))
    res = CliRunner().invoke(app, ["predict", "heart-act", str(tmp_path / "two.npy"), "--fs", "500", "--beat", "all",
                                   "--out", str(tmp_path / "two.csv")])
    assert res.exit_code == 0, res.output
    two = pd.read_csv(tmp_path / "two.csv")
    assert list(two.columns[:5]) == ["ecg", "item", "beat", "r_peak_s", "window_start_s"]
    assert two["item"].tolist() == [0] * len(df) + [1] * len(df) and two["beat"].tolist() == df["beat"].tolist() * 2


def test_limb_leads_beside_electrodes_are_refused_not_guessed():
    """I, II beside RA, LA, LL and V1..V6: the V columns were read as leads (no Wilson's terminal subtracted), though
    beside electrode potentials they are most likely electrode potentials too; refused in one line, naming both sets.
    One set alone is read: electrodes through Wilson's terminal, I and II with III, aVR, aVL, aVF derived."""
    from cardiacml.contracts.ecg12 import LEADS, leads_from_electrodes
    from cardiacml.ecg.twelve_lead import to_twelve_leads
    from cardiacml.errors import DataFormatError

    e = np.random.default_rng(1).normal(size=(50, 10))  # RA, LA, LL, RL, V1..V6
    x12 = leads_from_electrodes(e).T.astype(np.float64)
    prec = [f"V{k}" for k in range(1, 7)]
    both = np.concatenate([x12[:, :2], e[:, :3], e[:, 4:]], axis=1)
    with pytest.raises(DataFormatError, match=r"mixed.csv: both limb leads \['I', 'II'\] and electrodes RA, LA, LL") as err:
        to_twelve_leads(both, ["I", "II", "RA", "LA", "LL"] + prec, "mixed.csv")
    # leads= picks columns of a CSV or EDF file only: of a WFDB record or a .npy it does not (it names a .npy's leads)
    assert "from a CSV or EDF file, leads= picks them" in str(err.value) and "\n" not in str(err.value)
    np.testing.assert_allclose(to_twelve_leads(e[:, [0, 1, 2, 4, 5, 6, 7, 8, 9]], ["RA", "LA", "LL"] + prec, "t")[0],
                               x12, atol=1e-5)
    got, derived = to_twelve_leads(x12[:, [0, 1, 6, 7, 8, 9, 10, 11]], ["I", "II"] + prec, "t")
    np.testing.assert_allclose(got, x12, atol=1e-5)
    assert derived == [f"{n} from I and II" for n in LEADS[2:6]]


def test_heart_vm_csv_defines_its_activation_as_the_upward_crossing_it_holds(shared, tmp_path):
    """heart-vm's CSV counts only an upward crossing of -40 mV (0.4.17: a predicted Vm above -40 mV at the window's
    first sample that falls is not activated at 0 ms), but its ``activation_definition`` still read "first Vm > -40 mV",
    which for such a site is 0 ms, not the value in the row."""
    import pandas as pd
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.datasets.intracardiac import upstroke_times

    from conftest import need

    rec = need(shared / "real_12lead") / "E07518"
    res = CliRunner().invoke(app, ["predict", "heart-vm", str(rec), "--out", str(tmp_path / "v.csv")])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(tmp_path / "v.csv")
    vm = np.load(tmp_path / "v.npy")
    sites = [c for c in df.columns if c.startswith(("AHA", "RV", "EPI_", "MID_", "SEPTM_"))]
    np.testing.assert_allclose(df[sites].to_numpy(float), upstroke_times(vm))
    definition = df["activation_definition"].iloc[0]
    assert "upward crossing of -40 mV" in definition and "first Vm >" not in definition, definition
