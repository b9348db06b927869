import numpy as np
import pytest

from cardiacml.ecg.aami import AAMI_MAP
from cardiacml.datasets.mitbih import DS1, DS2, KAGGLE_COUNTS, PACED, read_record_beats, split_interpatient, split_random
from cardiacml.ecg.pipeline import segment_beats
from cardiacml.errors import DataFormatError


def test_record_100_matches_its_annotations(mitdb):
    b = read_record_beats(mitdb / "100")
    # MIT-BIH record 100 is annotated with 2239 N, 33 A and 1 V beats
    assert b.class_counts() == {"N": 2239, "S": 33, "V": 1, "F": 0, "Q": 0}
    assert b.X.shape == (2273, 187)
    assert set(b.groups) == {"100"}
    assert np.median(b.X[:, 0]) > 0.7, "beats start at the R peak, near the window maximum"
    lengths = (b.X > 0).sum(1)
    # 1.2 x median RR (~0.8 s at 125 Hz) is about 120 samples; the rest is zero padding
    assert 100 < np.median(lengths) < 140


def test_record_without_mlii_uses_first_lead(mitdb):
    b = read_record_beats(mitdb / "102")
    assert len(b) > 2000 and b.class_counts()["Q"] > 1000  # paced record


def test_full_build_matches_kaggle_counts(all_beats):
    counts = all_beats.class_counts()
    for c, k in KAGGLE_COUNTS.items():
        assert abs(counts[c] - k) <= 0.01 * k + 5, (c, counts[c], k)
    assert len(set(all_beats.groups)) == 48


def test_interpatient_split_has_no_shared_record(all_beats):
    tr, te = split_interpatient(all_beats)
    assert set(tr.groups) == set(DS1) and set(te.groups) == set(DS2)
    assert not set(tr.groups) & set(te.groups)
    assert not set(PACED) & (set(tr.groups) | set(te.groups))
    assert len(tr) > 45000 and len(te) > 45000


def test_random_split_is_stratified(all_beats):
    tr, te = split_random(all_beats, 0.2, seed=0)
    ftr = np.bincount(tr.y, minlength=5) / len(tr)
    fte = np.bincount(te.y, minlength=5) / len(te)
    np.testing.assert_allclose(ftr, fte, atol=2e-3)


def test_aami_map():
    assert {AAMI_MAP[s] for s in "NLRej"} == {0}
    assert {AAMI_MAP[s] for s in "AaJS"} == {1}
    assert AAMI_MAP["V"] == AAMI_MAP["E"] == 2 and AAMI_MAP["F"] == 3
    assert {AAMI_MAP[s] for s in "/fQ"} == {4}


def test_segment_beats_rules():
    fs = 125.0
    sig = np.zeros(2500)
    peaks = np.arange(50, 2450, 100)
    sig[peaks] = 1.0
    beats, kept = segment_beats(sig, peaks, fs)
    assert beats.shape == (len(peaks), 187)
    assert np.all(beats[:, 0] == 1.0)
    # 1.2 x RR (100 samples) = 120 samples kept, zero padding after
    assert np.all(beats[:, 120:] == 0)
    with pytest.raises(DataFormatError, match="125 Hz"):
        segment_beats(sig, peaks, fs=360.0)
    sig[5] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        segment_beats(sig, peaks, fs)



def test_rhythm_beats_of_a_record_keep_every_annotated_beat(mitdb):
    from cardiacml.datasets.mitbih import read_record_rhythm
    from cardiacml.contracts import rhythm as C

    d = read_record_rhythm(mitdb / "100")
    assert d["X"].shape == (2273, 1, 2 * C.W + C.F)
    assert np.bincount(d["y"], minlength=5).tolist() == [2239, 33, 1, 0, 0]


@pytest.mark.parametrize("kind", ["rate", "recorder", "lead2"])
def test_augmented_records_look_like_other_recorders(mitdb, kind):
    from cardiacml.datasets.mitbih import augmented_record, read_record_rhythm
    from cardiacml.io import open_record

    rec = open_record(mitdb / "119")
    aug = augmented_record(rec, kind, seed=3)
    assert aug.fs != rec.fs or kind == "lead2"
    assert aug.leads[0] == ("V1" if kind == "lead2" else "MLII")
    a = read_record_rhythm(mitdb / "119", kind, seed=3)
    o = read_record_rhythm(mitdb / "119")
    np.testing.assert_array_equal(a["y"], o["y"])  # every annotated beat survives resampling / another lead
    v = a["y"] == 2
    assert np.abs(a["X"][v, 0, :150] - a["X"][v, 0, 150:300]).mean() > np.abs(a["X"][~v, 0, :150] - a["X"][~v, 0, 150:300]).mean()


def test_recorder_effects_add_muscle_bursts_and_motion_to_a_flat_lead():
    from scipy.signal import butter, sosfiltfilt

    from cardiacml.datasets.mitbih import _recorder_effects

    fs, n = 360.0, int(360 * 300)
    y = _recorder_effects(np.zeros(n), fs, np.random.default_rng(5))
    hf = sosfiltfilt(butter(4, 25.0, btype="highpass", fs=fs, output="sos"), y)
    rms = np.sqrt(np.convolve(hf ** 2, np.ones(int(fs)) / fs, "same"))
    busy = rms > 0.5 * np.percentile(rms, 99)
    assert 0.02 < busy.mean() < 0.6  # muscle noise comes in bursts, not everywhere
    assert np.isfinite(y).all() and np.abs(y).max() < 5.0  # artefacts of a few mV at most, drained by the high-pass
