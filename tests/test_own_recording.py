"""A user's own recording: the options of ``open_record`` / ``Record.read`` / ``cardiacml predict`` that describe it
(annotator, fs, check_units, lead, units) are checked, and a wrong one is refused in one line naming it."""

import re

import numpy as np
import pytest

from cardiacml.errors import DataFormatError, MissingDataError, UsageError

FS = 360


def _ecg(seconds=20, fs=FS):
    """A synthetic ECG (mV): one narrow 1.5 mV R wave a second over a slow baseline."""
    t = np.arange(int(seconds * fs)) / fs
    x = 0.05 * np.sin(2 * np.pi * 0.3 * t)
    for k in range(int(seconds)):
        x += 1.5 * np.exp(-(((t - k - 0.5) / 0.01) ** 2))
    return x


def _wfdb(tmp_path, name="r", names=("MLII", "V1"), scale=1.0):
    import wfdb

    x = _ecg()
    sig = np.column_stack([x * (1 - 0.5 * k) for k in range(len(names))]) * scale
    wfdb.wrsamp(name, fs=FS, units=["mV"] * len(names), sig_name=list(names), p_signal=sig, fmt=["32"] * len(names),
                write_dir=str(tmp_path))
    return tmp_path / name


def _open(path, **kw):
    from cardiacml.io import open_record

    return open_record(path, **kw)


def test_an_annotator_named_without_its_file_is_refused(tmp_path):
    """``open_record(rec, annotator="zzz")`` without ``rec.zzz`` read as a record without annotations, silently (a
    typo in the extension ran the R-peak detector instead of the reference beats)."""
    import wfdb

    rec = _wfdb(tmp_path)
    assert _open(rec).annotations() is None  # not asked for: none is fine
    with pytest.raises(MissingDataError, match=r"r\.zzz: no such annotation file \(annotator='zzz'\); annotation files "
                                               r"of the record: none"):
        _open(rec, annotator="zzz")
    wfdb.wrann("r", "qrs", np.array([180, 540]), symbol=["N", "N"], write_dir=str(tmp_path))
    assert list(_open(rec, annotator="qrs").annotations()[0]) == [180, 540]
    with pytest.raises(MissingDataError, match=r"annotation files of the record: \['qrs'\]"):
        _open(rec, annotator="atr")
    for bad in ("", 5):
        with pytest.raises(UsageError, match=r"r: annotator must be an annotation file's extension"):
            _open(rec, annotator=bad)


def test_a_sampling_rate_of_true_is_refused(tmp_path):
    """``fs=True`` read as 1 Hz (a bool is an int), in open_record (CSV, NumPy, an .npz's own ``fs``) and ArrayRecord;
    an .npz's complex ``fs`` lost its imaginary part with NumPy's ComplexWarning."""
    from cardiacml.io import ArrayRecord

    x = _ecg()
    np.save(tmp_path / "s.npy", x)
    np.savetxt(tmp_path / "s.csv", x)
    np.savetxt(tmp_path / "t.csv", np.column_stack([np.arange(len(x)) / FS, x]), header="time,II", comments="",
               delimiter=",")
    for name in ("s.npy", "s.csv", "t.csv"):
        assert _open(tmp_path / name, fs=FS).fs == FS
        for bad in (True, np.True_, 360 + 0j):
            with pytest.raises(DataFormatError, match=rf"{name}: sampling rate must be a number of Hz, got"):
                _open(tmp_path / name, fs=bad)
    for bad in (True, np.bool_(True), 360 + 1j):
        np.savez(tmp_path / "z.npz", signal=x, fs=bad)
        with pytest.raises(DataFormatError, match=r"z.npz \(its array 'fs'\): sampling rate must be a number of Hz"):
            _open(tmp_path / "z.npz")
    for bad in (True, np.True_, 360 + 0j):
        with pytest.raises(DataFormatError, match=r"<array>: sampling rate must be a positive number of Hz, got"):
            ArrayRecord(x, bad)


def test_check_units_takes_a_bool_only(tmp_path):
    """``check_units="no"`` (a non-empty string: true) kept the check on: a file the user asked not to check was
    refused for its amplitudes, and ``check_units="yes"`` / ``0`` / None meant what Python's truth says."""
    import edfio

    x = _ecg()
    np.save(tmp_path / "s.npy", x)
    np.savetxt(tmp_path / "s.csv", x)
    edfio.Edf([edfio.EdfSignal(x, FS, label="II", physical_dimension="mV", physical_range=(-10, 10))]).write(
        tmp_path / "s.edf")
    # values in mV said to be uV: refused when checked, read as given when not
    with pytest.raises(DataFormatError, match=r"s.npy: amplitudes look wrong for units 'uV'"):
        _open(tmp_path / "s.npy", fs=FS, units="uV", check_units=True)
    assert _open(tmp_path / "s.npy", fs=FS, units="uV", check_units=False).read(0, 10, 0).shape == (10,)
    for name, kw in (("s.npy", {"fs": FS}), ("s.csv", {"fs": FS}), ("s.edf", {})):
        for bad in ("no", "False", 0, 1):
            with pytest.raises(UsageError, match=rf"{name}: check_units must be True or False, got"):
                _open(tmp_path / name, units="uV", check_units=bad, **kw)


def test_a_lead_name_that_two_leads_have_is_refused_or_picked_by_index(tmp_path):
    """Two leads of one name were accepted and a lead picked by that name was the first, silently: a CSV header's second
    "II" became pandas' "II.1"; lead names given twice (``leads="II,ii"``) were kept; a WFDB header or an EDF file
    with two channels of one name gave the first for ``read(lead="II")`` / ``leads="II"``; a 12-lead record with two
    V1 used the first."""
    import edfio

    from cardiacml.inference.ecg12 import load_ecg12
    from cardiacml.io import ArrayRecord

    x = _ecg()
    (tmp_path / "dup.csv").write_text("time,II,ii\n" + "".join(f"{i / FS:.6f},{v:.4f},{v / 2:.4f}\n"
                                                                 for i, v in enumerate(x)))
    with pytest.raises(DataFormatError, match=r"dup.csv: columns 2 and 3 of the header are both named 'ii': give each "
                                              r"column its own name"):
        _open(tmp_path / "dup.csv")
    np.save(tmp_path / "two.npy", np.column_stack([x, x / 2]))
    for bad in ("II,ii", ["V1", "V1"]):
        with pytest.raises(DataFormatError, match=r"two.npy: lead '(ii|V1)' named twice in"):
            _open(tmp_path / "two.npy", fs=FS, leads=bad)
    with pytest.raises(DataFormatError, match=r"<array>: lead 'II' named twice"):
        ArrayRecord(np.column_stack([x, x]), FS, ["II", "II"])
    # a WFDB header with two channels named II (wfdb.wrsamp refuses to write one: edited by hand)
    rec = _wfdb(tmp_path, "dd", names=("II", "XX"))
    (tmp_path / "dd.hea").write_text((tmp_path / "dd.hea").read_text().replace(" XX", " II"))
    r = _open(rec)
    assert r.leads == ("II", "II")
    for bad in ("II", ["ii", 0]):
        with pytest.raises(DataFormatError, match=r"dd: lead '(II|ii)' is ambiguous: channels \[0, 1\] \(0-based\) of "
                                                  r"\['II', 'II'\] have that name; choose one by its 0-based index"):
            r.read(0, 10, bad)
    assert np.allclose(r.read(0, 3600, 1), x[:3600] / 2, atol=1e-4)  # by index: the second
    edfio.Edf([edfio.EdfSignal(v, FS, label="ECG", physical_dimension="mV", physical_range=(-10, 10))
               for v in (x, x / 2)]).write(tmp_path / "dup.edf")
    with pytest.raises(DataFormatError, match=r"dup.edf: lead 'ecg' is ambiguous: channels \[0, 1\] \(0-based\) of "
                                              r"\['ECG', 'ECG'\] have that name; open the file without leads="):
        _open(tmp_path / "dup.edf", leads="ecg")
    # a 12-lead recording with V1 twice
    names = ["I", "II", "V1", "V1", "V3", "V4", "V5", "V6"]
    sig = np.column_stack([x * (1 + k / 10) for k in range(len(names))])
    np.savetxt(tmp_path / "12.csv", sig, delimiter=",")
    with pytest.raises(DataFormatError, match=r"lead 'V1' named twice"):
        load_ecg12(tmp_path / "12.csv", fs=FS, leads=names)
    import wfdb

    wfdb.wrsamp("v1", fs=FS, units=["mV"] * 8, sig_name=names[:3] + ["XX"] + names[4:], p_signal=sig,
                fmt=["32"] * 8, write_dir=str(tmp_path))
    (tmp_path / "v1.hea").write_text((tmp_path / "v1.hea").read_text().replace(" XX", " V1"))
    with pytest.raises(DataFormatError, match=r"v1: lead V1 is given twice: channels \[2, 3\] \(0-based\) of"):
        load_ecg12(tmp_path / "v1")


@pytest.mark.filterwarnings("error")
def test_complex_values_are_refused_not_cut_to_their_real_part(tmp_path):
    """A complex .npy / .npz was refused already; ``ArrayRecord`` (the in-memory record) took a complex signal with
    NumPy's ComplexWarning and dropped its imaginary part."""
    from cardiacml.io import ArrayRecord

    x = _ecg() + 0.5j
    np.save(tmp_path / "c.npy", x)
    np.savez(tmp_path / "c.npz", signal=x, fs=FS)
    for name, kw in (("c.npy", {"fs": FS}), ("c.npz", {})):
        with pytest.raises(DataFormatError, match=rf"{name}: array has dtype complex128; a signal must be numeric"):
            _open(tmp_path / name, **kw)
    for sig in (x, list(x[:1000]), np.column_stack([x, x]).astype(np.complex64)):
        with pytest.raises(DataFormatError, match=r"<array>: a signal must be real numbers \(mV\), got complex values"):
            ArrayRecord(sig, FS)


def test_a_lead_of_true_or_false_is_refused(tmp_path):
    """``read(lead=True)`` read lead 1 (a bool is an int), ``read(lead=[True, False])`` leads 1 and 0;
    ``lead_index(np.True_)`` said there was no lead named np.True_."""
    from cardiacml.io import ArrayRecord

    for r in (_open(_wfdb(tmp_path)), ArrayRecord(np.column_stack([_ecg(), _ecg()]), FS, ["MLII", "V1"])):
        assert r.read(0, 10, lead=1).shape == (10,)
        for bad in (True, False, np.True_, [True, False], [0, True]):
            with pytest.raises(DataFormatError, match=r"lead must be a name(, | or )a 0-based index"):
                r.read(0, 10, lead=bad)
        with pytest.raises(DataFormatError, match=r"lead must be a name or a 0-based index, got (np\.)?True"):
            r.lead_index(np.True_)


def test_an_edf_lead_index_counts_the_leads_read_as_the_help_says(tmp_path):
    """``--lead N`` on an EDF file counts the leads read, not the file's skipped channels, as ``predict --help`` says;
    an index past them said "record has 2 leads" of a file of 3 channels without saying why."""
    import edfio
    from typer.testing import CliRunner

    from cardiacml.cli import app

    x = _ecg(60)
    edfio.Edf([edfio.EdfSignal(np.full(len(x), 36.6), FS, label="Temp", physical_dimension="degC"),
               edfio.EdfSignal(x, FS, label="MLII", physical_dimension="mV", physical_range=(-10, 10)),
               edfio.EdfSignal(-x / 2, FS, label="V5", physical_dimension="mV", physical_range=(-10, 10))]).write(
        tmp_path / "m.edf")
    r = _open(tmp_path / "m.edf")
    assert r.leads == ("MLII", "V5") and np.allclose(r.read(0, 3600, 1), -x[:3600] / 2, atol=1e-3)
    with pytest.raises(DataFormatError, match=r"m.edf: lead index 2 out of range: an index counts the 2 leads read "
                                              r"\['MLII', 'V5'\] \(0-based\), not the skipped channels \[\"Temp"):
        r.read(0, 10, lead=2)
    runner = CliRunner()
    help_text = re.sub(r"[\s\u2502]+", " ", runner.invoke(app, ["predict", "--help"]).output)  # rich's box edges too
    assert "0-based index among the channels read" in help_text and "are not counted" in help_text
    res = runner.invoke(app, ["predict", "beats-ds1", str(tmp_path / "m.edf"), "--lead", "1", "--out",
                              str(tmp_path / "o.csv")])
    assert res.exit_code == 0 and "(V5, 360 Hz" in res.output and "skipped channels" in res.output, res.output
    res = runner.invoke(app, ["predict", "beats-ds1", str(tmp_path / "m.edf"), "--lead", "2", "--out",
                              str(tmp_path / "o2.csv")])
    assert res.exit_code == 2 and "not the skipped channels" in res.output, res.output


def test_fs_or_units_for_a_wfdb_record_say_what_its_header_gives(tmp_path):
    """``--fs`` / ``--units`` for a WFDB record were refused with "...; it takes annotator", an option the command
    line does not have; the refusal now says what the header gives instead (read from it) and how to leave them out."""
    from typer.testing import CliRunner

    from cardiacml.cli import app

    rec = _wfdb(tmp_path)
    with pytest.raises(UsageError, match=r"r: option\(s\) fs do not apply to a WFDB recording: its header \(r.hea\) "
                                         r"already gives the sampling rate \(360 Hz\); leave out fs= \(--fs\)") as e:
        _open(rec, fs=250)
    assert "annotator" not in str(e.value)
    with pytest.raises(UsageError, match=r"gives the units \(mV\); leave out units= \(--units\)"):
        _open(rec, units="uV")
    res = CliRunner().invoke(app, ["predict", "beats-ds1", str(rec), "--fs", "250", "--units", "uV", "--out",
                                   str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "annotator" not in res.output and "already gives the sampling rate (360 Hz) and the " \
        "units (mV); leave out fs= (--fs) / units= (--units)" in " ".join(res.output.split()), res.output


def test_a_wfdb_12_lead_records_units_warning_reaches_the_notes(shared, tmp_path):
    """A WFDB 12-lead record whose header says mV over values in uV was warned of, but the warning, added to the
    record's notes as it is read, missed ``info["notes"]`` (copied from the record before reading), where the other
    notes of the input are."""
    import warnings

    import wfdb

    from cardiacml.inference.ecg12 import load_ecg12

    r = _open(shared / "real_12lead" / "E07500")
    wfdb.wrsamp("uv12", fs=r.fs, units=["mV"] * 12, sig_name=list(r.leads), p_signal=r.read() * 1000,
                fmt=["32"] * 12, write_dir=str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, info = load_ecg12(tmp_path / "uv12")
    said = [str(w.message) for w in caught if "the header gives" in str(w.message)]
    assert len(said) == 12 and [n for n in info["notes"] if "the header gives" in n] == said
    _, info = load_ecg12(shared / "real_12lead" / "E07500")
    assert not [n for n in info["notes"] if "the header gives" in n]


def test_units_are_guessed_from_the_ecg_leads_not_a_channel_named_as_something_else(tmp_path):
    """A CSV's unit was guessed from the largest amplitude over every column: a respiration counter (0..10800) beside
    MLII and V5 in mV made the file read as uV, MLII 1000 times too small ("no detectable beats"). The guess (and the
    amplitude check) now looks at the ECG leads only; the note names the channels left out."""
    import pandas as pd

    from cardiacml.io import open_record

    t = np.arange(20 * 360) / 360
    mlii = np.sin(2 * np.pi * 1.2 * t) ** 31  # narrow 1-mV peaks, 72 /min
    pd.DataFrame({"MLII": mlii, "V5": 0.5 * mlii, "resp": np.arange(t.size) % 10800}).to_csv(tmp_path / "a.csv",
                                                                                           index=False)
    rec = open_record(tmp_path / "a.csv", fs=360)
    np.testing.assert_allclose(np.abs(rec.read(lead="MLII")).max(), 1.0, rtol=1e-6)
    assert any("assumed mV" in n and "'resp'" in n for n in rec.notes), rec.notes
    # with no ECG-named column left, every column counts, as before
    pd.DataFrame({"resp": mlii * 1000}).to_csv(tmp_path / "b.csv", index=False)
    assert any("assumed uV" in n for n in open_record(tmp_path / "b.csv", fs=360).notes)


def test_raw_adc_counts_are_read_with_the_gain_given_as_units_counts_per_mv(tmp_path):
    """A recording stored as raw ADC counts (int16, 200 counts per mV, no unit in the file) was guessed as uV: five
    times too small, with no way to give the gain (``--units`` took mV, uV or V only). ``units="counts/200"`` (``--units
    counts/200``) now reads it in mV, says the gain in the notes and checks the amplitude after it; a gain that is no
    positive number is refused in one line, and so is a gain for WFDB and EDF files, which carry their own."""
    import edfio
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.inference.ecg12 import load_ecg12

    x = _ecg()
    counts = np.round(x * 200).astype(np.int16)
    np.save(tmp_path / "c.npy", counts)
    np.savetxt(tmp_path / "c.csv", counts, fmt="%d")
    for name in ("c.npy", "c.csv"):
        guessed = _open(tmp_path / name, fs=FS)
        assert any("assumed uV" in n and "every value is a whole number" in n and "counts/N" in n for n in guessed.notes), guessed.notes
        r = _open(tmp_path / name, fs=FS, units="counts/200")
        np.testing.assert_allclose(r.read(lead=0), x, atol=0.5 / 200 + 1e-9)
        assert "units: 200 counts per mV (given)" in r.notes, r.notes
        assert np.allclose(_open(tmp_path / name, fs=FS, units=" Counts / 2e2 ").read(), r.read())
    # the amplitude check applies after the gain: 2 counts per mV makes a QRS of some 150 mV
    with pytest.raises(DataFormatError, match=r"c.npy: amplitudes look wrong for units 'counts/2' \(given\): robust "
                                              r"amplitude .* = 111.* mV.*check N of counts/N"):
        _open(tmp_path / "c.npy", fs=FS, units="counts/2")
    for bad, why in (("counts/0", "'0'"), ("counts/-200", "'-200'"), ("counts/nan", "'nan'"), ("counts/inf", "'inf'"),
                     ("counts/abc", "'abc'"), ("counts/", "''"), ("counts", "no gain")):
        with pytest.raises(DataFormatError, match=r"c.npy: units " + re.escape(repr(bad)) + ".*counts/N.*" + why) as e:
            _open(tmp_path / "c.npy", fs=FS, units=bad)
        assert "\n" not in str(e.value)
    with pytest.raises(DataFormatError, match=r"c.npy: unknown unit True; use one of mV, uV, V, or counts/N"):
        _open(tmp_path / "c.npy", fs=FS, units=True)
    # files that carry their own gain
    with pytest.raises(UsageError, match=r"r: option\(s\) units do not apply to a WFDB recording"):
        _open(_wfdb(tmp_path), units="counts/200")
    edfio.Edf([edfio.EdfSignal(x, FS, label="MLII", physical_dimension="mV", physical_range=(-10, 10))]).write(
        tmp_path / "m.edf")
    with pytest.raises(UsageError, match=r"m.edf: units 'counts/200' do not apply to an EDF/BDF file whose leads have "
                                         r"a voltage unit \(MLII mV\): its header gives the gain .*; leave out "
                                         r"counts/N") as e:
        _open(tmp_path / "m.edf", units="counts/200")
    assert "\n" not in str(e.value)
    assert _open(tmp_path / "m.edf", units="mV").leads == ("MLII",)  # a unit still overrides the header's
    # a 12-lead array of counts for the heart models (version 1: the window in mV)
    sig = np.column_stack([x * (1 + k / 10) for k in range(12)])
    np.save(tmp_path / "mv12.npy", sig)
    np.save(tmp_path / "c12.npy", np.round(sig * 200).astype(np.int16))
    ref, _ = load_ecg12(tmp_path / "mv12.npy", fs=FS, units="mV", version=1)
    X, info = load_ecg12(tmp_path / "c12.npy", fs=FS, units="counts/200", version=1)
    np.testing.assert_allclose(X, ref, atol=0.02)
    assert "units: 200 counts per mV (given)" in info["notes"], info["notes"]
    # the command line
    runner = CliRunner()
    help_text = re.sub(r"[\s\u2502]+", " ", runner.invoke(app, ["predict", "--help"]).output)
    assert "counts/N" in help_text, help_text
    res = runner.invoke(app, ["predict", "beats-ds1", str(tmp_path / "c.npy"), "--fs", str(FS), "--units",
                              "counts/200", "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 0 and "200 counts per mV" in res.output, res.output
    res = runner.invoke(app, ["predict", "beats-ds1", str(tmp_path / "c.npy"), "--fs", str(FS), "--units",
                              "counts/0", "--out", str(tmp_path / "o0.csv")])
    assert res.exit_code == 2 and "counts/N" in res.output and "Traceback" not in res.output, res.output


def test_leads_for_a_wfdb_12_lead_record_are_refused_as_the_beat_path_refuses_them(tmp_path):
    """``load_ecg12(record, leads=[...])`` ignored ``leads=`` for a WFDB record, silently: names given in another order
    were not applied, and channels named c0..c7 were refused with "give leads named ..." while they had been given.
    The header names the leads (as ``open_record`` says for the beat path): ``leads=`` is refused in one line."""
    import wfdb

    from cardiacml.inference.ecg12 import load_ecg12
    from cardiacml.inference.inputs import read_ecg12

    x = _ecg()
    names = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    sig = np.column_stack([x * (1 + k / 10) for k in range(len(names))])
    wfdb.wrsamp("w", fs=FS, units=["mV"] * 8, sig_name=names, p_signal=sig, fmt=["32"] * 8, write_dir=str(tmp_path))
    assert load_ecg12(tmp_path / "w")[0].shape == (1, 12, 500)  # without leads=: read by the header's names
    for load in (load_ecg12, read_ecg12):
        for given in (names[::-1], "I,II,V1,V2,V3,V4,V5,V6"):
            with pytest.raises(UsageError, match=r"w: option\(s\) leads do not apply to a WFDB recording: its header "
                                                 r"\(w.hea\) already gives the lead names \(I, II, V1, .*V6\); leave "
                                                 r"out leads=") as e:
                load(tmp_path / "w", leads=given)
            assert "\n" not in str(e.value)
