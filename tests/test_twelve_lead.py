"""The 12-lead input path (window version 2): one path for recordings and simulated hearts, physiological onsets."""

import numpy as np
import pytest

from conftest import SHARED, need
from cardiacml.ecg.twelve_lead import MB_PRE, PRE_MS, beat_window, qrs_onset, repeat_beats, simulated_windows

REAL = SHARED / "real_12lead"
SINUS = ("E07506", "E07511", "E07513", "E07515", "E07518")


def _real(name):
    from cardiacml.ecg.twelve_lead import to_twelve_leads
    from cardiacml.io import open_record

    rec = open_record(need(REAL / f"{name}.hea"))
    x12, _ = to_twelve_leads(rec.read(), list(rec.leads), name)
    return x12, rec.fs


@pytest.fixture(scope="module")
def sim_leads(sim_root):
    from cardiacml.datasets.intracardiac import open_dataset

    ds = open_dataset(sim_root / "data_hearts_dd_0p2_sim_s1", sim_root / "cache")
    return np.asarray(ds.ecg[:12], np.float64), np.asarray(ds.act[:12])


@pytest.mark.parametrize("name", SINUS + ("E07509",))
def test_real_windows_start_just_before_the_qrs(name):
    """The global onset lies 15-60 ms before the R peak (neurokit2's single-lead onset: up to 143 ms, on the P wave)."""
    x12, fs = _real(name)
    X, info = beat_window(x12, fs)
    w = info[0]
    assert w["window_version"] == 2 and X.shape == (1, 12, 500) and np.all(np.isfinite(X))
    assert 15 <= w["r_peak_in_window_ms"] - PRE_MS <= 60, w
    qrs = X[0][:, int(PRE_MS):int(PRE_MS) + 250]
    assert np.median(qrs.max(1) - qrs.min(1)) == pytest.approx(1.0, rel=1e-3)  # amplitude-normalised
    assert abs(float(np.median(X[0][:, :3]))) < 0.1  # PR level removed


def test_one_input_path_for_simulated_and_recorded_beats(sim_leads):
    """A simulated beat written out as a 12-lead recording gives the window training uses, to filter precision."""
    leads, _ = sim_leads
    X, off, _ = simulated_windows(leads)
    matched = 0
    for i in range(len(leads)):
        strip, starts = repeat_beats(leads[i:i + 1], 850, 3)
        W, info = beat_window(strip[0].T, 1000.0, beat="all")
        k = int(np.argmin([abs(w["start_sample"] - starts[0, 1] - off[i]) for w in info]))
        if info[k]["start_sample"] - starts[0, 1] == off[i]:  # the recording's R peaks found the middle beat
            matched += 1
            np.testing.assert_allclose(W[k], X[i], atol=5e-3)
    assert matched >= len(leads) // 2


def test_simulated_windows_move_targets_with_the_window(sim_leads):
    leads, act = sim_leads
    X, off, info = simulated_windows(leads)
    assert X.shape == (len(leads), 12, 500) and X.dtype == np.float32
    assert np.all(np.abs(off) <= 15) and np.all(np.abs(info["onset_ms"]) <= 10)  # onset found at activation start
    first = np.nanmin(act, 1) - off
    assert np.all((first >= 0) & (first <= 25)), first  # the earliest site activates just after the window starts
    A1, o1, d1 = simulated_windows(leads, np.random.default_rng(3), augment=True)
    A2, o2, _ = simulated_windows(leads, np.random.default_rng(3), augment=True)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(o1, o2)
    assert np.all(np.abs(o1 - off) <= 25) and np.all(np.isfinite(A1))
    assert {d["rate_hz"] for d in d1["recorder"]} <= {250.0, 500.0, 1000.0}


def test_qrs_onset_of_a_synthetic_beat():
    t = np.arange(700)
    beat = np.zeros((700, 12))
    qrs = np.exp(-0.5 * ((t - (MB_PRE + 30)) / 8.0) ** 2)  # a QRS of about 50 ms centred 30 ms after the fiducial
    beat += qrs[:, None] * np.linspace(-1, 1.5, 12)[None, :]
    on = int(qrs_onset(beat, MB_PRE - 80, MB_PRE + 60))
    assert MB_PRE + 5 <= on <= MB_PRE + 20


def test_shifted_rows():
    from cardiacml.datasets.lazy import ShiftedRows

    a = np.arange(2 * 6, dtype=float).reshape(2, 1, 6)
    s = ShiftedRows(a, [1, 0], [2, -1])
    np.testing.assert_array_equal(s[[0, 1]][:, 0], [[8, 9, 10, 11, 11, 11], [0, 0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(np.asarray(s), s[[0, 1]])
    assert s.shape == (2, 1, 6) and s[1].shape == (1, 6)


def test_atrial_waves_put_a_p_wave_before_every_beat():
    from cardiacml.contracts.ecg12 import LEADS
    from cardiacml.ecg.augment import AtrialRanges, atrial_waves
    from cardiacml.ecg.twelve_lead import repeat_beats

    beat = np.zeros((1, 12, 500))
    strip, starts = repeat_beats(beat, np.array([800]), 3)
    x, drawn = atrial_waves(strip, starts, np.random.default_rng(0), ranges=AtrialRanges(fibrillation_share=0.0))
    ii, avr = x[0, LEADS.index("II")], x[0, LEADS.index("aVR")]
    pr = drawn[0]["pr_ms"]
    for s in starts[0]:
        before = ii[int(s - pr):int(s)]
        assert before.max() > 0.02 and avr[int(s - pr):int(s)].min() < 0  # upright in II, inverted in aVR
        assert np.abs(ii[int(s):int(s) + 400]).max() < 1e-12  # nothing added after the ventricular onset
    fib, d = atrial_waves(strip, starts, np.random.default_rng(1), ranges=AtrialRanges(fibrillation_share=1.0))
    assert d[0]["atrial"] == "fibrillation" and np.abs(fib[0]).max() > 0.01


def test_qrs_duration_of_a_synthetic_beat():
    from cardiacml.ecg.twelve_lead import qrs_duration

    fs, t = 500.0, np.arange(5000) / 500.0
    x = np.zeros((5000, 12))
    for r in np.arange(0.5, 9.5, 0.8):  # QRS: one cycle of a 100 ms sine around each R, 1 mV
        m = (t >= r - 0.05) & (t < r + 0.05)
        x[m, :] += np.sin(2 * np.pi * (t[m] - r + 0.05) / 0.1)[:, None] * np.linspace(0.5, 1.5, 12)
    d = qrs_duration(x, fs)
    assert 85 <= d["qrs_ms"] <= 125, d  # a 100 ms QRS, widened a little by the 0.5-40 Hz band-pass


def test_a_12_lead_input_under_one_second_is_refused_in_words():
    """0.6 s of a real 12-lead recording: neurokit2's cleaning failed with "signal_smooth(): 'size' should be between 1
    and length of the signal"; the reader says how long the input is and what it needs (both R-peak paths)."""
    from cardiacml.ecg.twelve_lead import detect_qrs, detect_r_peaks_12
    from cardiacml.errors import DataFormatError

    x12, fs = _real("E07506")
    for f in (detect_qrs, detect_r_peaks_12):
        with pytest.raises(DataFormatError, match=r"short\.csv: 0\.60 s of signal; a 12-lead input needs at least 1 s"):
            f(x12[:int(0.6 * fs)], fs, "short.csv")
    assert len(detect_r_peaks_12(x12[:int(2.5 * fs)], fs, "ok.csv")) >= 2
