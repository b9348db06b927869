"""12-lead input of Tasks 3-4 (inference/ecg12.py) on the real PTB record s0010_re (15 leads, 1 kHz, 38.4 s)."""

import numpy as np
import pandas as pd
import pytest

from cardiacml.contracts.ecg12 import LEADS, leads_from_electrodes
from cardiacml.errors import DataFormatError


@pytest.fixture(scope="module")
def ptb(shared):
    from cardiacml.io import open_record

    base = shared / "wfdb_samples" / "s0010_re"
    if not (shared / "wfdb_samples" / "s0010_re.hea").is_file():
        pytest.skip("PTB record s0010_re not in shared data")
    rec = open_record(base)
    return base, rec, rec.read()[:, :12]  # i, ii, iii, avr, avl, avf, v1..v6 (PTB order = LEADS order)


@pytest.fixture(scope="module")
def ptb_window(ptb):
    from cardiacml.inference.ecg12 import load_ecg12

    return load_ecg12(ptb[0])


def test_ptb_record_window_v2_starts_at_the_global_qrs_onset(ptb_window):
    """Version 2 (models from 0.3): band-passed, 12-lead QRS onset, PR level removed, amplitude-normalised."""
    X, info = ptb_window
    w = info["windows"][0]
    assert X.shape == (1, 12, 500) and w["window_version"] == 2
    assert w["qrs_onset_s"] - w["start_s"] == pytest.approx(0.005, abs=1e-6)
    assert 15 <= w["r_peak_in_window_ms"] - 5 <= 60 and 15 <= w["onset_to_r_ms"] <= 60
    q = X[0][:, 5:255]
    assert np.median(q.max(1) - q.min(1)) == pytest.approx(1.0, rel=1e-3) and 0.1 < w["amplitude_scale_mv"] < 5
    vel = np.sqrt((np.diff(X[0], axis=1) ** 2).sum(0))
    assert vel[:5].max() < 0.3 * vel.max() and 10 <= int(np.argmax(vel)) <= 100
    assert w["next_qrs_in_window_ms"] is None


def test_ptb_record_gives_one_window_with_the_qrs_at_its_start(ptb):
    """Version 1 (cardiacml 0.2 checkpoints): the raw stretch minus a straight baseline, in mV."""
    from cardiacml.inference.ecg12 import load_ecg12

    base, rec, x = ptb
    X, info = load_ecg12(ptb[0], version=1)
    assert X.shape == (1, 12, 500) and X.dtype == np.float32
    w = info["windows"][0]
    assert info["fs_in"] == 1000 and info["derived"] == []
    assert 0 < w["beat"] < w["n_beats"] - 1 and w["n_beats"] >= 45  # 38.4 s at ~82 bpm
    assert w["start_sample"] == int(round(w["start_s"] * 1000))
    assert w["qrs_onset_s"] - w["start_s"] == pytest.approx(0.005, abs=1e-6)
    assert abs(w["rr_ms"] - 735) < 30
    # the window really is that stretch of the record, minus a straight baseline per lead
    s = w["start_sample"]
    resid = x[s:s + 500].T - X[0]
    t = np.arange(500)
    for lead in resid:
        fit = np.polyval(np.polyfit(t, lead, 1), t)
        assert np.abs(lead - fit).max() < 1e-4
    # QRS position: quiet first 5 ms, largest spatial velocity 20-120 ms after the window start, R peak there too
    vel = np.sqrt((np.diff(X[0], axis=1) ** 2).sum(0))
    assert 20 <= int(np.argmax(vel)) <= 120
    assert 20 <= w["r_peak_in_window_ms"] <= 120
    assert vel[:5].max() < 0.3 * vel.max()
    assert np.abs(X[0, :, :3]).max() < 0.15  # baseline-corrected: starts near 0 mV
    # the T wave ends inside the window and the next QRS does not enter it (R-R 735 ms)
    assert w["next_qrs_in_window_ms"] is None


def test_beat_choice_all_and_index(ptb, ptb_window):
    from cardiacml.inference.ecg12 import load_ecg12

    X, info = ptb_window
    k = info["windows"][0]["beat"]
    Xk, ik = load_ecg12(ptb[0], beat=k)
    np.testing.assert_array_equal(Xk, X)
    Xa, ia = load_ecg12(ptb[0], beat="all")
    beats = [w["beat"] for w in ia["windows"]]
    assert Xa.shape == (len(beats), 12, 500) and len(beats) >= ia["windows"][0]["n_beats"] - 2
    np.testing.assert_array_equal(Xa[beats.index(k)], X[0])
    starts = np.array([w["start_s"] for w in ia["windows"]])
    assert np.all(np.diff(starts) > 0.5)
    with pytest.raises(DataFormatError, match=r"s0010_re: beat 999 out of range: \d+ QRS complexes detected"):
        load_ecg12(ptb[0], beat=999)
    last = ia["windows"][0]["n_beats"] - 1
    if last not in beats:
        with pytest.raises(DataFormatError, match=f"beat {last} .* has no full 500 ms window"):
            load_ecg12(ptb[0], beat=last)


def test_other_rates_layouts_and_formats_give_the_same_window(ptb, ptb_window, tmp_path):
    import edfio

    from cardiacml.inference.ecg12 import load_ecg12

    base, rec, x = ptb
    X, info = ptb_window
    t0 = info["windows"][0]["start_s"]

    def same(Y, inf, tol_ms=3, corr=0.99):
        w = [v for v in inf["windows"] if abs(v["start_s"] - t0) < 0.2]
        assert len(w) == 1 and abs(w[0]["start_s"] - t0) <= tol_ms / 1000
        y = Y[inf["windows"].index(w[0])]
        assert np.corrcoef(y.ravel(), X[0].ravel())[0, 1] > corr

    # (12, T) / (T, 12) / (n, 12, T) arrays at 1 kHz
    np.save(tmp_path / "lf.npy", x.T.astype(np.float32))
    same(*load_ecg12(tmp_path / "lf.npy", fs=1000))
    np.save(tmp_path / "sf.npy", x[:20_000])
    Y, inf = load_ecg12(tmp_path / "sf.npy", fs=1000, beat="all")
    assert inf["windows"][0]["start_s"] < 1.0
    np.save(tmp_path / "batch.npy", np.stack([x[:20_000].T, x[18_000:38_000].T]))
    Y, inf = load_ecg12(tmp_path / "batch.npy", fs=1000)
    assert Y.shape == (2, 12, 500) and [w["item"] for w in inf["windows"]] == [0, 1]
    # 10 electrodes (T, 10): RA = 0, LA = I, LL = II, V_i = lead V_i + Wilson's terminal
    w = (x[:, 0] + x[:, 1]) / 3
    elec = np.column_stack([np.zeros(len(x)), x[:, 0], x[:, 1], np.zeros(len(x))] + [x[:, 6 + i] + w for i in range(6)])
    np.save(tmp_path / "electrodes.npy", elec)
    Y, inf = load_ecg12(tmp_path / "electrodes.npy", fs=1000)
    assert "electrodes" in inf["derived"][0]
    same(Y, inf)
    # .npz and a headerless CSV without lead names: 12 columns are taken in the standard order (and said so)
    np.savez(tmp_path / "rec.npz", signal=x, fs=1000.0)
    Y, inf = load_ecg12(tmp_path / "rec.npz")
    assert any("taken as" in n for n in inf["notes"])
    same(Y, inf)
    np.savetxt(tmp_path / "plain.csv", x[:10_000], delimiter=",", fmt="%.4f")
    Y, inf = load_ecg12(tmp_path / "plain.csv", fs=1000, beat="all")
    R, rinf = load_ecg12(tmp_path / "lf.npy", fs=1000, beat="all")
    a = np.array([w["start_sample"] for w in inf["windows"]])
    b = np.array([w["start_sample"] for w in rinf["windows"]])[: len(a)]
    assert np.abs(a - b).max() <= 1  # the delineator sees a shorter record: onsets may move by 1 ms
    same_start = np.flatnonzero(a[:-1] == b[:-1])  # the excerpt's last beat has no next beat for the baseline line
    assert len(same_start) >= len(a) - 3
    # the 0.5 Hz high-pass of a 10 s excerpt settles differently near its ends than the whole record's: 1 % of scale
    np.testing.assert_allclose(Y[same_start], R[same_start], atol=1e-2)
    # EDF at 500 Hz with upper-case names, only I, II, V1..V6 (III, aVR, aVL, aVF derived)
    keep = [0, 1] + list(range(6, 12))
    sigs = [edfio.EdfSignal(x[::2, j], 500, label=LEADS[j].upper(), physical_dimension="mV") for j in keep]
    edfio.Edf(sigs, data_record_duration=0.2).write(tmp_path / "eight.edf")
    Y, inf = load_ecg12(tmp_path / "eight.edf")
    assert inf["fs_in"] == 500 and len(inf["derived"]) == 4
    same(Y, inf, tol_ms=6, corr=0.97)
    # CSV with a time column in ms and 'lead II' style names, in uV
    df = pd.DataFrame({"time_ms": np.arange(len(x))[:15_000]})
    for j, name in enumerate(LEADS):
        df[f"Lead {name} (uV)"] = np.round(x[:15_000, j] * 1000, 1)
    df.to_csv(tmp_path / "ecg.csv", index=False)
    Y, inf = load_ecg12(tmp_path / "ecg.csv", beat="all")
    assert inf["fs_in"] == 1000 and Y.shape[1:] == (12, 500)
    ref, _ = load_ecg12(tmp_path / "lf.npy", fs=1000, beat="all")
    np.testing.assert_allclose(Y[0], ref[0], atol=2e-3)


def test_model_format_arrays_are_used_as_they_are_by_version_1_models(tmp_path):
    from cardiacml.inference.inputs import read_ecg12

    rng = np.random.default_rng(0)
    pecg = rng.normal(size=(3, 500, 10))
    np.save(tmp_path / "p.npy", pecg[0])
    np.testing.assert_allclose(read_ecg12(tmp_path / "p.npy", version=1), leads_from_electrodes(pecg[0])[None], atol=1e-6)
    np.save(tmp_path / "pn.npy", pecg)
    assert read_ecg12(tmp_path / "pn.npy", version=1).shape == (3, 12, 500)
    e12 = rng.normal(size=(12, 500)).astype(np.float32)
    np.save(tmp_path / "e.npy", e12)
    X, info = read_ecg12(tmp_path / "e.npy", return_info=True, version=1)
    np.testing.assert_array_equal(X[0], e12)
    assert info["windows"] is None and "as it is" in info["input"]
    np.save(tmp_path / "et.npy", e12.T)
    np.testing.assert_array_equal(read_ecg12(tmp_path / "et.npy", version=1)[0], e12)
    np.testing.assert_allclose(read_ecg12(tmp_path / "e.npy", units="uV", version=1)[0], e12 / 1000, rtol=1e-6)


def test_simulator_format_beats_go_through_the_training_path_for_version_2_models(tmp_path, sim_root):
    """A pECGData file of the simulator (or the LLNL data) gives exactly the window training made of it."""
    from cardiacml.datasets.intracardiac import discover_simulations
    from cardiacml.ecg.twelve_lead import simulated_windows
    from cardiacml.inference.inputs import read_ecg12

    sim = discover_simulations(sim_root)[0]
    X, info = read_ecg12(sim.ecg_path, return_info=True)
    W, off, _ = simulated_windows(leads_from_electrodes(np.load(sim.ecg_path))[None].astype(np.float64))
    np.testing.assert_allclose(X, W, atol=1e-6)
    assert "training input path" in info["input"] and info["windows"][0]["start_ms_after_beat_start"] == off[0]


def test_ecg12_errors_name_the_file(ptb, tmp_path):
    from cardiacml.inference.ecg12 import load_ecg12

    base, rec, x = ptb
    np.save(tmp_path / "short.npy", x[:450].T)
    with pytest.raises(DataFormatError, match="short.npy: too short for a 12-lead beat window: 450 ms"):
        load_ecg12(tmp_path / "short.npy", fs=1000)
    np.save(tmp_path / "cut.npy", x[:1000].T)  # first QRS onset at 0.595 s: less than 495 ms after it
    with pytest.raises(DataFormatError, match="cut.npy: record too short: no detected QRS onset .of 1. has 495 ms"):
        load_ecg12(tmp_path / "cut.npy", fs=1000)
    np.save(tmp_path / "one.npy", x[:1300].T)  # one beat: too few for the delineator, onset = R - 45 ms
    Y, inf = load_ecg12(tmp_path / "one.npy", fs=1000, version=1)
    assert Y.shape == (1, 12, 500) and inf["windows"][0]["onset_estimated"]
    assert 0.55 <= inf["windows"][0]["start_s"] <= 0.62
    np.save(tmp_path / "long.npy", x.T)
    with pytest.raises(DataFormatError, match=r"long.npy: shape \(12, 38400\) is not a 12-lead model input.*fs"):
        load_ecg12(tmp_path / "long.npy")
    bad = x[:5000].T.copy()
    bad[3, 2000] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(DataFormatError, match=r"nan.npy: NaN or infinite value at index \(3, 2000\)"):
        load_ecg12(tmp_path / "nan.npy", fs=1000)
    # in a file the beat path reads a gap as a lead off (0.4.17); a 12-lead window for the heart models refuses it
    gap = pd.DataFrame(x[:5000], columns=["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"])
    gap.loc[2000:2100, "V2"] = np.nan
    gap.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(DataFormatError, match=r"gap.csv: NaN or infinite value in lead V2 at sample 2000"):
        load_ecg12(tmp_path / "gap.csv", fs=1000)
    df = pd.DataFrame(x[:5000, [0, 1, 6, 7, 8, 9, 10]], columns=["I", "II", "V1", "V2", "V3", "V4", "V5"])
    df.to_csv(tmp_path / "no_v6.csv", index=False)
    with pytest.raises(DataFormatError, match=r"no_v6.csv: missing lead\(s\) \['V6'\] for a 12-lead ECG"):
        load_ecg12(tmp_path / "no_v6.csv", fs=1000)
    df = pd.DataFrame(x[:5000, [0, 6, 7, 8, 9, 10, 11]], columns=["I", "V1", "V2", "V3", "V4", "V5", "V6"])
    df.to_csv(tmp_path / "one_limb.csv", index=False)
    with pytest.raises(DataFormatError, match=r"one_limb.csv: missing lead\(s\) \['two of I, II, III'\]"):
        load_ecg12(tmp_path / "one_limb.csv", fs=1000)
    np.save(tmp_path / "flat.npy", np.zeros((12, 5000)))
    with pytest.raises(DataFormatError, match="flat.npy: the signal is flat"):
        load_ecg12(tmp_path / "flat.npy", fs=1000)
    with pytest.raises(DataFormatError, match=r"s0010_re: beat must be 'auto', 'all' or a beat index"):
        load_ecg12(base, beat="middle")


def test_real_12lead_beats_t_waves_signs_and_what_the_user_sees(shared, tmp_path):
    """A heart bug hunt's list: lead-II T waves detected as beats got activation maps of their own with --beat all
    (E07506 at 0.331 s, E07500 at 8.635 s; the auto window is unchanged); '-aVR' (Cabrera) was read as aVR with its sign
    wrong; the page's 12-lead viewer drew the normalised window as mV; heart-act --out X.npy wrote CSV text into it; how
    the input was read was never said."""
    import json
    import re

    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.inference.ecg12 import load_ecg12

    from conftest import need

    d = need(shared / "real_12lead")
    for name, t_wave in (("E07506", 0.331), ("E07500", 8.635)):
        _, info = load_ecg12(d / name, beat="all")
        r = [w["r_peak_s"] for w in info["windows"]]
        assert min(abs(np.array(r) - t_wave)) > 0.05 and len(r) >= 8
    import wfdb

    rec = wfdb.rdrecord(str(d / "E07509"))
    sig = rec.p_signal.copy()
    names = list(rec.sig_name)
    k = [n.upper() for n in names].index("AVR")
    sig[:, k] *= -1
    names[k] = "-aVR"
    pd.DataFrame(sig, columns=names).to_csv(tmp_path / "cab.csv", index=False)
    X, info = load_ecg12(tmp_path / "cab.csv", fs=rec.fs)
    X0, _ = load_ecg12(d / "E07509")
    np.testing.assert_allclose(X, X0, atol=1e-3)
    assert any("aVR = -(-aVR)" in s for s in info["derived"])
    runner = CliRunner()
    res = runner.invoke(app, ["predict", "heart-act", str(d / "E07509"), "--out", str(tmp_path / "a.npy")])
    assert res.exit_code == 2 and "give --out a.csv" in res.output
    res = runner.invoke(app, ["predict", "heart-act", str(tmp_path / "absent"), "--out", str(tmp_path / "b.npy")])
    assert res.exit_code == 2 and "give --out b.csv" in res.output  # refused before the input is read
    np.save(tmp_path / "e.npy", (rec.p_signal * 1000).T.astype(np.float32))
    res = runner.invoke(app, ["predict", "heart-act", str(tmp_path / "e.npy"), "--fs", str(rec.fs), "--out",
                              str(tmp_path / "e.csv"), "--html", str(tmp_path / "e.html")])
    assert res.exit_code == 0 and "input read as:" in res.output and "assumed uV" in res.output, res.output
    page = (tmp_path / "e.html").read_text()
    fig = json.loads(re.search(r"id='heart-ecg-json'>(.*?)</script>", page, re.S).group(1))
    trace = next(t for t in fig["data"] if str(t.get("hovertemplate", "")).startswith("V1"))
    y = trace["y"]
    if isinstance(y, dict):  # plotly's typed-array encoding
        import base64

        y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    v1 = np.asarray(y, float)
    _, inf = load_ecg12(tmp_path / "e.npy", fs=rec.fs, units="uV")
    start = inf["windows"][0]["start_sample"]
    raw_v1 = rec.p_signal[start:start + int(0.5 * rec.fs), names.index("V1") if "V1" in names else 6]
    assert abs(np.ptp(v1) - np.ptp(raw_v1)) < 0.35 * np.ptp(raw_v1)  # mV, not the window divided by its scale


def test_a_flat_lead_is_said_not_hidden(shared, tmp_path):
    """A 12-lead input with one lead flat (an electrode off: zeros) was used for a heart prediction without a word."""
    from cardiacml.inference.ecg12 import load_ecg12
    from cardiacml.io import open_record

    from conftest import need

    rec = open_record(need(shared / "real_12lead") / "E07500")
    x = rec.read(0, rec.n_samples)
    _, info = load_ecg12(need(shared / "real_12lead") / "E07500")
    assert not any("flat over" in n for n in info["notes"]), info["notes"]
    x[:, list(rec.leads).index("V1")] = 0.0
    np.save(tmp_path / "v1_off.npy", x)
    _, info = load_ecg12(tmp_path / "v1_off.npy", fs=rec.fs, leads=list(rec.leads))
    assert any("lead(s) ['V1'] flat over the 10.0 s read" in n for n in info["notes"]), info["notes"]


def test_a_gap_outside_the_span_read_is_said_where_it_is(ptb, tmp_path):
    """The reader's note on a lead's gap ("read as a flat line ... as a lead off", the beat path's reading) reached the
    heart model's notes for a gap that the 12-lead window never read (after max_seconds): it now says the gap lies
    outside the span read and is not used; a gap inside that span is refused (test_ecg12_errors_name_the_file)."""
    from cardiacml.inference.ecg12 import load_ecg12

    df = pd.DataFrame(ptb[2][:20000], columns=list(LEADS))
    df.loc[15000:15099, "V3"] = np.nan
    df.to_csv(tmp_path / "late_gap.csv", index=False)
    X, info = load_ecg12(tmp_path / "late_gap.csv", fs=1000, max_seconds=10)
    assert X.shape == (1, 12, 500) and not any("flat line" in n for n in info["notes"]), info["notes"]
    assert any(n.startswith("lead 'V3': empty cell at line 15002") and n.endswith("outside the 0-10 s read, not used")
               for n in info["notes"]), info["notes"]


def test_a_flat_lead_ii_is_refused_by_name(shared, tmp_path):
    """Lead II all zero (its electrode off) gave "no QRS complex found in lead II", which did not say why; the 12-lead
    window finds its R peaks on lead II, so a flat lead II is refused saying it is flat. Without lead II, with I and
    III, the same recording is read (II derived as I + III)."""
    from cardiacml.inference.ecg12 import load_ecg12
    from cardiacml.io import open_record

    from conftest import need

    rec = open_record(need(shared / "real_12lead") / "E07500")
    df = pd.DataFrame(rec.read(0, rec.n_samples), columns=list(rec.leads))
    df.assign(II=0.0).to_csv(tmp_path / "ii_off.csv", index=False)
    with pytest.raises(DataFormatError, match=r"ii_off.csv: lead II is flat over the 10.0 s read .*derived \(II = I"):
        load_ecg12(tmp_path / "ii_off.csv", fs=rec.fs)
    df.drop(columns="II").to_csv(tmp_path / "no_ii.csv", index=False)
    X, info = load_ecg12(tmp_path / "no_ii.csv", fs=rec.fs)
    assert X.shape == (1, 12, 500) and "II = I + III" in info["derived"]


def test_limb_leads_that_break_einthoven_are_said(shared, tmp_path):
    """One limb lead inverted (or two swapped) was used as it is, unsaid: an inverted lead II moved E07503's map by up
    to 395 ms. Einthoven's and Goldberger's relations hold within 1 % in a sound recording; one that fails is noted."""
    from cardiacml.inference.ecg12 import load_ecg12
    from cardiacml.io import open_record

    from conftest import need

    rec = open_record(need(shared / "real_12lead") / "E07503")
    df = pd.DataFrame(rec.read(0, rec.n_samples), columns=list(rec.leads))
    df.to_csv(tmp_path / "sound.csv", index=False)
    _, info = load_ecg12(tmp_path / "sound.csv", fs=rec.fs)
    assert not any("limb leads" in n for n in info["notes"]), info["notes"]
    df.assign(III=-df["III"]).to_csv(tmp_path / "inv3.csv", index=False)
    _, info = load_ecg12(tmp_path / "inv3.csv", fs=rec.fs)
    assert any(n.startswith("limb leads inconsistent over the 10.0 s read: II = I + III does not hold") and
               "inverted, swapped or mislabelled" in n for n in info["notes"]), info["notes"]
    df.rename(columns={"aVL": "aVF", "aVF": "aVL"}).to_csv(tmp_path / "swap.csv", index=False)
    _, info = load_ecg12(tmp_path / "swap.csv", fs=rec.fs)
    assert any("aVL = I - II/2, aVF = II - I/2 do not hold" in n for n in info["notes"]), info["notes"]
