"""Raw-signal readers (CSV, NumPy, EDF/BDF) on MIT-BIH record 100 written to those formats.

The files are written here from the WFDB signal (pandas, numpy, edfio), then read back
through ``open_record`` and ``read_beats`` and compared with the WFDB record itself.
"""

import numpy as np
import pandas as pd
import pytest

from cardiacml.errors import DataFormatError, MissingDataError

FS = 360.0
N_EDF = 649_800  # 1805 s: EDF data records of 1 s need a whole number of seconds


@pytest.fixture(scope="module")
def rec100(mitdb):
    from cardiacml.io import open_record

    rec = open_record(mitdb / "100")
    return rec, rec.read()


@pytest.fixture(scope="module")
def wfdb_beats(mitdb):
    """Beats of the WFDB record: from the .atr annotations and from the R-peak detector."""
    from cardiacml.inference.inputs import read_beats

    return read_beats(mitdb / "100"), read_beats(mitdb / "100", use_annotations=False)


@pytest.fixture(scope="module")
def edf100(rec100, tmp_path_factory):
    """Record 100 as EDF+: physical range +-10.24 mV, 16 bit, beat annotations as EDF+ annotations."""
    import edfio

    rec, sig = rec100
    path = tmp_path_factory.mktemp("edf") / "100.edf"
    signals = [edfio.EdfSignal(sig[:N_EDF, i], FS, label=name, physical_dimension="mV", physical_range=(-10.24, 10.24))
               for i, name in enumerate(rec.leads)]
    samples, symbols = rec.annotations()
    anns = [edfio.EdfAnnotation(s / FS, None, str(y)) for s, y in zip(samples, symbols) if s < N_EDF]
    edfio.Edf(signals, annotations=anns).write(path)
    return path


def _open(path, **kw):
    from cardiacml.io import open_record

    return open_record(path, **kw)


# ------------------------------------------------------------------------------------------ CSV
def test_csv_with_time_column_same_samples_and_beats(rec100, wfdb_beats, tmp_path):
    from cardiacml.inference.inputs import read_beats

    rec, sig = rec100
    csv = tmp_path / "100.csv"
    pd.DataFrame({"time (s)": np.arange(len(sig)) / FS, "MLII": sig[:, 0], "V5": sig[:, 1]}).to_csv(
        csv, index=False, float_format="%.8g")
    r = _open(csv)
    assert r.fs == FS and r.leads == ("MLII", "V5") and r.n_samples == rec.n_samples
    assert np.abs(r.read() - sig).max() < 1e-6
    assert np.abs(r.read(1000, 1100, "v5") - sig[1000:1100, 1]).max() < 1e-6
    assert any("time column" in n for n in r.notes)
    # same beats as the WFDB record through the same detector (a CSV has no annotations)
    got, ref = read_beats(csv), wfdb_beats[1]
    assert "detector" in got["source"] and len(got["X"]) == len(ref["X"]) > 2000
    np.testing.assert_array_equal(got["time_s"], ref["time_s"])
    assert np.abs(got["X"] - ref["X"]).max() < 1e-4


@pytest.mark.parametrize("sep,decimal,name", [(";", ",", "semicolon_decimal_comma.csv"), ("\t", ".", "tab.tsv"),
                                              (" ", ".", "spaces.txt")])
def test_csv_headerless_delimiters_need_fs_and_take_lead_names(rec100, tmp_path, sep, decimal, name):
    rec, sig = rec100
    part = sig[:36_000]
    path = tmp_path / name
    pd.DataFrame(part).to_csv(path, sep=sep, decimal=decimal, header=False, index=False, float_format="%.4f")
    with pytest.raises(DataFormatError, match=f"{name}.*sampling rate is unknown.*fs"):
        _open(path)
    r = _open(path, fs=FS, leads="MLII,V5")
    assert r.leads == ("MLII", "V5") and r.fs == FS
    assert np.abs(r.read() - part).max() < 1e-4
    r = _open(path, fs=FS)
    assert r.leads == ("lead0", "lead1")


def test_csv_time_in_ms_without_header_and_units_from_header(rec100, tmp_path):
    rec, sig = rec100
    part = sig[:36_000]
    t_ms = np.arange(len(part)) * 1000 / FS
    path = tmp_path / "ms.csv"
    np.savetxt(path, np.column_stack([t_ms, part]), delimiter=",", fmt="%.5f")
    r = _open(path, leads=["MLII", "V5"])
    assert r.fs == FS and r.leads == ("MLII", "V5")
    path = tmp_path / "uv.csv"
    pd.DataFrame({"t_ms": t_ms, "MLII (uV)": part[:, 0] * 1000, "V5 [uV]": part[:, 1] * 1000}).to_csv(path, index=False)
    r = _open(path)
    assert r.fs == FS and r.leads == ("MLII", "V5")
    assert np.abs(r.read() - part).max() < 1e-6
    assert any("uV" in n for n in r.notes)


def test_csv_sample_counters_quotes_and_hash_in_names(rec100, tmp_path):
    """What people's CSVs hold: pandas' default index column (header ',MLII,V5'), a quoted "'sample #'" counter (the
    widely shared MIT-BIH CSV layout, raw ADC units), a headerless row counter; each counter is dropped and said so,
    never a lead, never a time column; a '#' inside a header name is no comment."""
    rec, sig = rec100
    part = sig[:3600]
    path = tmp_path / "pd.csv"
    pd.DataFrame(part, columns=["MLII", "V5"]).to_csv(path)  # index on: header ",MLII,V5"
    r = _open(path, fs=FS)
    assert r.leads == ("MLII", "V5") and np.abs(r.read() - part).max() < 1e-6
    assert any("sample counter" in n for n in r.notes)
    adc = np.round(part * 200 + 1024).astype(int)
    path = tmp_path / "k.csv"
    path.write_text("'sample #','MLII','V5'\n" + "".join(f"{i},{a},{b}\n" for i, (a, b) in enumerate(adc)))
    r = _open(path, fs=FS, units="uV")
    assert r.leads == ("MLII", "V5") and np.allclose(r.read(0, 5), adc[:5] / 1000.0)
    path = tmp_path / "nh.csv"
    np.savetxt(path, np.column_stack([np.arange(len(part)), part]), delimiter=",", fmt="%.5f")
    with pytest.raises(DataFormatError, match="give fs"):  # a counter is no time column: 1000 Hz was a guess
        _open(path)
    r = _open(path, fs=FS)
    assert r.fs == FS and r.leads == ("lead0", "lead1") and np.abs(r.read() - part).max() < 1e-4
    path = tmp_path / "hash.csv"
    pd.DataFrame({"time": np.arange(len(part)) / FS, "ECG #1": part[:, 0], "ECG #2": part[:, 1]}).to_csv(path, index=False)
    r = _open(path)
    assert r.fs == FS and r.leads == ("ECG #1", "ECG #2") and np.abs(r.read() - part).max() < 1e-5


def test_units_guessed_given_and_refused(rec100, tmp_path):
    rec, sig = rec100
    path = tmp_path / "uv.npy"
    np.save(path, (sig[:36_000] * 1000).astype(np.float32))
    r = _open(path, fs=FS)
    assert np.abs(r.read() - sig[:36_000]).max() < 1e-6
    assert any("assumed uV" in n for n in r.notes)
    assert np.abs(_open(path, fs=FS, units="uV").read() - sig[:36_000]).max() < 1e-6
    with pytest.raises(DataFormatError, match=r"uv\.npy: amplitudes look wrong for units 'mV'.*look like uV"):
        _open(path, fs=FS, units="mV")
    with pytest.raises(DataFormatError, match=r"uv\.npy: unknown unit 'furlong'"):
        _open(path, fs=FS, units="furlong")
    np.save(tmp_path / "volts.npy", sig[:36_000] / 1000)
    with pytest.raises(DataFormatError, match="volts.npy: amplitudes look wrong.*look like V"):
        _open(tmp_path / "volts.npy", fs=FS, units="mV")


def test_csv_a_column_of_text_is_dropped_and_said(tmp_path):
    """A device's CSV with a notes / event column: it blocked the whole file ('text in column notes'); a stray word
    in a signal column, or text in the time column, is still refused with its line."""
    x = np.round(np.sin(np.arange(3000) / 20), 4)
    notes = np.full(3000, "", dtype=object)
    notes[[0, 1500]] = ["start", "cough"]
    pd.DataFrame({"time": np.arange(3000) / 250, "II": x, "notes": notes, "event": ["none"] * 3000}).to_csv(
        tmp_path / "dev.csv", index=False)
    rec = _open(tmp_path / "dev.csv")
    assert rec.leads == ("II",) and rec.fs == 250
    assert any("column 'notes' holds text ('start' at line 2): dropped" in n for n in rec.notes), rec.notes
    assert any("column 'event' holds text" in n for n in rec.notes), rec.notes
    np.testing.assert_allclose(rec.read(0, 3000, None), x, atol=1e-4)
    stray = x.astype(object)
    stray[7] = "lead off"
    pd.DataFrame({"time": np.arange(3000) / 250, "II": stray}).to_csv(tmp_path / "stray.csv", index=False)
    with pytest.raises(DataFormatError, match=r"stray.csv: text 'lead off' in column 'II' at line 9"):
        _open(tmp_path / "stray.csv")
    # clock times and date-times in the time column: seconds (they were refused as text)
    pd.DataFrame({"time": [f"00:00:{i / 250:06.3f}" for i in range(3000)], "II": x}).to_csv(tmp_path / "hms.csv",
                                                                                           index=False)
    rec = _open(tmp_path / "hms.csv")
    assert rec.fs == 250 and "time column of clock times (hh:mm:ss): read as seconds" in rec.notes, rec.notes
    assert "time column 'time' in seconds -> fs = 250 Hz" in rec.notes, rec.notes
    pd.DataFrame({"Time": [f"{i // 15000}:{(i % 15000) / 250:06.3f}" for i in range(30000)],
                  "II": np.tile(x, 10)}).to_csv(tmp_path / "mss.csv", index=False)  # mm:ss.fff over 2 minutes
    assert _open(tmp_path / "mss.csv").fs == 250
    stamps = pd.date_range("2024-03-01 10:00:00", periods=3000, freq="4ms").strftime("%Y-%m-%d %H:%M:%S.%f")
    pd.DataFrame({"timestamp": stamps, "II": x}).to_csv(tmp_path / "dt.csv", index=False)
    rec = _open(tmp_path / "dt.csv")
    assert rec.fs == 250 and any("date-times: read as seconds from its first, 2024-03-01 10:00" in n for n in rec.notes)
    np.testing.assert_allclose(rec.read(0, 3000, None), x, atol=1e-4)
    bad = [f"00:00:{i / 250:06.3f}" for i in range(3000)]
    bad[5] = "soon"
    pd.DataFrame({"time": bad, "II": x}).to_csv(tmp_path / "hms_bad.csv", index=False)
    with pytest.raises(DataFormatError, match=r"hms_bad.csv: text 'soon' in column 'time' at line 7"):
        _open(tmp_path / "hms_bad.csv")
    bad[5] = ""
    pd.DataFrame({"time": bad, "II": x}).to_csv(tmp_path / "hms_gap.csv", index=False)
    with pytest.raises(DataFormatError, match=r"hms_gap.csv: empty cell in the time column at line 7"):
        _open(tmp_path / "hms_gap.csv")
    # a timestamp beside the time column is no lead (it was read as one and set the units guess: the ECG 1000x small)
    pd.DataFrame({"time": np.arange(3000) / 250, "timestamp": stamps, "II": x}).to_csv(tmp_path / "both.csv", index=False)
    rec = _open(tmp_path / "both.csv")
    assert rec.leads == ("II",) and any("'timestamp' holds clock times besides the time column" in n for n in rec.notes)
    # a lead's column of text (decimal commas, units in the cells) is refused, not dropped for another lead
    commas = pd.Series(x).map(lambda v: f"{v:.4f}".replace(".", ","))
    pd.DataFrame({"time": np.arange(3000) / 250, "II": commas, "V1": x}).to_csv(tmp_path / "commas.csv", index=False)
    with pytest.raises(DataFormatError, match=r"commas.csv: text '0,0000' in column 'II' at line 2"):
        _open(tmp_path / "commas.csv")


@pytest.mark.parametrize("name", ["DateTime", "date_time", "Date Time"])
def test_csv_a_date_time_column_named_so_is_the_time_column(tmp_path, name):
    # README: a CSV's time column may hold date-times; one headed "DateTime" was dropped as a column of notes and the
    # file refused for having no time column
    x = np.round(np.sin(np.arange(3000) / 20), 4)
    stamps = pd.date_range("2024-03-01 10:00:00", periods=3000, freq="4ms").strftime("%Y-%m-%d %H:%M:%S.%f")
    pd.DataFrame({name: stamps, "II": x}).to_csv(tmp_path / "dt.csv", index=False)
    rec = _open(tmp_path / "dt.csv")
    assert rec.fs == 250 and rec.leads == ("II",), rec.notes
    assert any("date-times: read as seconds from its first, 2024-03-01 10:00" in n for n in rec.notes), rec.notes
    np.testing.assert_allclose(rec.read(0, 3000, None), x, atol=1e-4)


def test_csv_gaps_read_as_a_lead_off_and_an_empty_column_blocks_only_itself(tmp_path):
    """A NaN / empty cell is a gap: it reads as a flat line at the lead's median (a lead off to the beat pipeline;
    until 0.4.16 it made the whole lead unusable), and a note says where and how many. A column with no value at all
    is unusable, and blocks only itself."""
    x = np.round(np.sin(np.arange(3000) / 20), 4)
    spo2 = np.full(3000, 97.0).astype(object)
    spo2[10:40], spo2[2000] = "", "nan"
    pd.DataFrame({"time": np.arange(3000) / 250, "II": x, "SpO2": spo2}).to_csv(tmp_path / "gaps.csv", index=False)
    rec = _open(tmp_path / "gaps.csv")
    assert rec.leads == ("II", "SpO2") and rec.lead_index(None) == 0
    assert any("lead 'SpO2': empty cell at line 12 (30 in that column" in n and "read as a flat line at the lead's "
               "median (97 mV)" in n for n in rec.notes), rec.notes
    # the written-out NaN of that column is a gap too, and said (the note gave 30 gaps for 31, none at line 2002)
    assert any("(30 in that column; ragged CSV or missing value) and 1 NaN or infinite value(s) (the first at line "
               "2002)" in n for n in rec.notes), rec.notes
    np.testing.assert_allclose(rec.read(0, 3000, None), x, atol=1e-4)
    np.testing.assert_array_equal(rec.read(0, 3000, "all")[:, 1], np.full(3000, 97.0))
    # a column of NaN and empty cells only: unusable, and no numpy "All-NaN slice" warning on the console
    pd.DataFrame({"time": np.arange(3000) / 250, "II": x, "V5": ["" if i % 7 else "nan" for i in range(3000)]}).to_csv(
        tmp_path / "empty.csv", index=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = _open(tmp_path / "empty.csv")
    assert any("lead 'V5' unusable" in n for n in rec.notes), rec.notes
    with pytest.raises(DataFormatError, match=r"empty.csv: lead 'V5' cannot be used: empty cell at line 3"):
        rec.read(0, 10, "all")
    np.testing.assert_allclose(rec.read(0, 3000, "II"), x, atol=1e-4)
    # a NaN value (not an empty cell) in the ECG lead: read as the lead's median, the same in chunks as whole
    pd.DataFrame({"time": np.arange(3000) / 250, "II": np.where((np.arange(3000) >= 7) & (np.arange(3000) < 400), np.nan, x),
                  "V1": -x}).to_csv(tmp_path / "nan_ii.csv", index=False, na_rep="NaN")
    rec = _open(tmp_path / "nan_ii.csv")
    ii = rec.read(0, 3000, None)
    assert np.allclose(ii[7:400], np.median(x[np.r_[0:7, 400:3000]]), atol=1e-9) and np.all(ii[7:400] == ii[7])
    assert np.allclose(ii[400:], x[400:], atol=1e-4)
    np.testing.assert_array_equal(np.concatenate([rec.read(a, a + 250, None) for a in range(0, 3000, 250)]), ii)
    assert any("lead 'II': NaN or infinite value at sample 7 (393 in that lead): read as a flat line" in n
               for n in rec.notes), rec.notes
    np.testing.assert_allclose(rec.read(0, 3000, "V1"), -x, atol=1e-4)
    # every lead without a value: refused at once
    pd.DataFrame({"time": np.arange(3000) / 250, "II": np.full(3000, np.nan)}).to_csv(tmp_path / "all_bad.csv",
                                                                                    index=False, na_rep="NaN")
    with pytest.raises(DataFormatError, match=r"all_bad.csv: lead .II.: NaN or infinite value at sample 0 \(3000 in that "
                                              r"lead\): no value in that lead; nothing to read"):
        _open(tmp_path / "all_bad.csv")
    # an empty time cell: refused; a trailing delimiter's empty column: dropped
    lines = pd.DataFrame({"time": np.arange(3000) / 250, "II": x}).to_csv(index=False).splitlines()
    (tmp_path / "trail.csv").write_text("\n".join(ln + "," for ln in lines))
    rec = _open(tmp_path / "trail.csv")
    assert rec.leads == ("II",) and "empty column(s) [3]: dropped" in rec.notes
    lines[100] = "," + lines[100].split(",")[1]
    (tmp_path / "no_time.csv").write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match="no_time.csv: empty cell in the time column at line 101"):
        _open(tmp_path / "no_time.csv")


def test_csv_malformed_inputs_name_the_file(tmp_path):
    x = np.round(np.sin(np.arange(3000) / 20), 4)
    good = pd.DataFrame({"time": np.arange(3000) / 250, "II": x, "V1": -x})
    # wrong delimiter: '|' is none of comma, semicolon, tab, whitespace
    good.to_csv(tmp_path / "pipe.csv", sep="|", index=False)
    with pytest.raises(DataFormatError, match="pipe.csv: cannot find the column delimiter"):
        _open(tmp_path / "pipe.csv")
    # ragged rows (after the sniffed head, and inside it)
    lines = good.to_csv(index=False).splitlines()
    lines[200] += ",0.5"
    (tmp_path / "ragged.csv").write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match="ragged.csv: ragged CSV: row 201 has 4 fields, expected 3"):
        _open(tmp_path / "ragged.csv")
    lines = good.to_csv(index=False).splitlines()
    lines[300] = lines[300].rsplit(",", 1)[0]
    (tmp_path / "short_row.csv").write_text("\n".join(lines))
    short = _open(tmp_path / "short_row.csv")  # the short row leaves a one-sample gap in V1, read as its median
    assert short.read(0, 400, "II").shape == (400,)
    assert any("lead 'V1': empty cell at line 301 (1 in that column" in n for n in short.notes), short.notes
    v1 = short.read(0, 400, "V1")
    assert np.isfinite(v1).all() and np.allclose(np.delete(v1, 299), np.delete(-x[:400], 299), atol=1e-4)
    lines = good.to_csv(index=False).splitlines()
    lines[5] += ",1"
    (tmp_path / "ragged_head.csv").write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match="ragged_head.csv: cannot find the column delimiter"):
        _open(tmp_path / "ragged_head.csv")
    # text in a column
    lines = good.to_csv(index=False).splitlines()
    lines[1000] = lines[1000].split(",")[0] + ",n/a," + lines[1000].split(",")[2]
    (tmp_path / "text.csv").write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"text.csv: text 'n/a' in column 'II' at line 1001"):
        _open(tmp_path / "text.csv")
    # missing lead
    good.to_csv(tmp_path / "good.csv", index=False)
    with pytest.raises(DataFormatError, match=r"good.csv: lead\(s\) \['MLII'\] not in the header"):
        _open(tmp_path / "good.csv", leads="MLII")
    from cardiacml.inference.inputs import read_beats

    with pytest.raises(DataFormatError, match=r"good.csv: lead 'V5' not in record"):
        read_beats(tmp_path / "good.csv", lead="V5")
    # time column contradicting fs, non-uniform time
    with pytest.raises(DataFormatError, match="good.csv: fs=360 Hz given, but the time column says 250 Hz"):
        _open(tmp_path / "good.csv", fs=360)
    bad = good.copy()
    bad.loc[1500:, "time"] += 1.0
    bad.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(DataFormatError, match="gap.csv: the time column is not uniformly sampled"):
        _open(tmp_path / "gap.csv")
    # a gap (dropped samples) is named with the rate around it, not as a row off the whole span's grid (a 2-s gap in
    # 3 minutes at 360 Hz said "row 21601 is 1.32583 away from a uniform grid of step 0.00280899")
    with pytest.raises(DataFormatError, match=r"jumps by 1.004 between rows 1500 and 1501 \(5.996 -> 7; step 0.004 "
                                              r"elsewhere\): samples are missing"):
        _open(tmp_path / "gap.csv")
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(DataFormatError, match="empty.csv: the file is empty"):
        _open(tmp_path / "empty.csv")
    with pytest.raises(MissingDataError, match="nothere.csv"):
        _open(tmp_path / "nothere.csv")
    (tmp_path / "x.abc").write_text("1,2\n")
    with pytest.raises(DataFormatError, match=r"x.abc: unknown recording format '.abc'"):
        _open(tmp_path / "x.abc")


# ------------------------------------------------------------------------------------------ NumPy
def test_npy_layouts_lazy_and_beats(rec100, wfdb_beats, tmp_path):
    from cardiacml.io.units import ScaledRecord
    from cardiacml.inference.inputs import read_beats

    rec, sig = rec100
    np.save(tmp_path / "lf.npy", sig.T.astype(np.float32))
    np.save(tmp_path / "sf.npy", sig)
    a, b = _open(tmp_path / "lf.npy", fs=FS), _open(tmp_path / "sf.npy", fs=360)
    assert isinstance(a, ScaledRecord) and isinstance(a._raw, np.memmap)
    assert "leads x samples" in a.notes[0] and "samples x leads" in b.notes[0]
    assert a.n_samples == b.n_samples == rec.n_samples and len(a.leads) == 2
    assert np.abs(a.read(5000, 6000) - sig[5000:6000]).max() < 1e-6
    np.testing.assert_array_equal(b.read(), sig)
    got = read_beats(tmp_path / "lf.npy", fs=FS, lead="0", use_annotations=False)
    np.testing.assert_array_equal(got["time_s"], wfdb_beats[1]["time_s"])
    assert np.abs(got["X"] - wfdb_beats[1]["X"]).max() < 1e-4
    # 1-D and .npz with fs / leads / units inside
    np.save(tmp_path / "one.npy", sig[:, 0])
    assert _open(tmp_path / "one.npy", fs=FS).leads == ("ECG",)
    np.savez(tmp_path / "rec.npz", signal=sig[:36_000] * 1000, fs=FS, leads=np.array(["MLII", "V5"]), units="uV")
    z = _open(tmp_path / "rec.npz")
    assert z.fs == FS and z.leads == ("MLII", "V5") and np.abs(z.read() - sig[:36_000]).max() < 1e-9


def test_npy_malformed_inputs_name_the_file(rec100, tmp_path):
    from cardiacml.inference.inputs import read_beats

    rec, sig = rec100
    np.save(tmp_path / "nofs.npy", sig[:3600])
    with pytest.raises(DataFormatError, match="nofs.npy: the sampling rate is unknown.*fs"):
        _open(tmp_path / "nofs.npy")
    with pytest.raises(DataFormatError, match=r"nofs.npy: shape \(3600, 2\) is neither beats .* give fs"):
        read_beats(tmp_path / "nofs.npy")
    obj = np.empty(3, dtype=object)
    obj[:] = [np.zeros(5), "x", None]
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    with pytest.raises(DataFormatError, match="obj.npy: holds Python objects.*never unpickles"):
        _open(tmp_path / "obj.npy", fs=FS)
    with pytest.raises(DataFormatError, match="obj.npy: holds Python objects"):
        read_beats(tmp_path / "obj.npy", fs=FS)
    np.save(tmp_path / "square.npy", np.zeros((100, 100)))
    with pytest.raises(DataFormatError, match=r"square.npy: cannot tell leads from samples in shape \(100, 100\)"):
        _open(tmp_path / "square.npy", fs=FS)
    bad = sig[:3600].copy()
    bad[1234, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    rec = _open(tmp_path / "nan.npy", fs=FS)  # a gap in lead1: read as its median, and said
    assert rec.read(0, 3600, "lead0").shape == (3600,) and np.isfinite(rec.read(0, 3600, "lead1")).all()
    assert any("lead 'lead1': NaN or infinite value at sample 1234 (1 in that lead)" in n for n in rec.notes), rec.notes
    np.save(tmp_path / "nan1.npy", np.full(3600, np.nan))
    with pytest.raises(DataFormatError, match="nan1.npy: lead 'ECG': NaN or infinite value at sample 0 .*no value"):
        _open(tmp_path / "nan1.npy", fs=FS)
    np.save(tmp_path / "text.npy", np.array(["1.0", "2.0"] * 100))
    with pytest.raises(DataFormatError, match="text.npy: array has dtype <U3"):
        _open(tmp_path / "text.npy", fs=FS)
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "nofs.npy").read_bytes()[:500])
    with pytest.raises(DataFormatError, match="trunc.npy: unreadable or truncated NumPy file"):
        _open(tmp_path / "trunc.npy", fs=FS)


def test_kaggle_beats_still_recognised(shared, tmp_path):
    from cardiacml.inference.inputs import looks_like_beats, read_beats

    csv = need_kaggle(shared)
    assert looks_like_beats(csv)
    assert read_beats(csv)["X"].shape[1:] == (1, 187)
    with pytest.raises(DataFormatError, match="125 Hz"):
        read_beats(csv, fs=360)
    np.save(tmp_path / "beats.npy", np.full((4, 187), 0.5))
    assert looks_like_beats(tmp_path / "beats.npy") and read_beats(tmp_path / "beats.npy")["X"].shape == (4, 1, 187)
    # a raw CSV (header, any width) is not taken for beats
    pd.DataFrame({"II": np.sin(np.arange(3000) / 20)}).to_csv(tmp_path / "raw.csv", index=False)
    assert not looks_like_beats(tmp_path / "raw.csv")


def need_kaggle(shared):
    files = sorted((shared / "kaggle_format").glob("*mitbih_test*.csv"))
    if not files:
        pytest.skip("no Kaggle-format CSV in shared data")
    return files[0]


# ------------------------------------------------------------------------------------------ EDF / BDF
def test_edf_same_samples_and_beats_as_wfdb(rec100, wfdb_beats, edf100):
    from cardiacml.io.formats import EdfRecord
    from cardiacml.inference.inputs import read_beats

    rec, sig = rec100
    r = _open(edf100)
    assert isinstance(r, EdfRecord) and r.fs == FS and r.leads == rec.leads and r.n_samples == N_EDF
    step = 20.48 / 65535  # 16-bit quantisation of the physical range
    assert np.abs(r.read() - sig[:N_EDF]).max() <= step / 2 + 1e-9
    assert np.abs(r.read(100_000, 100_360, "V5") - sig[100_000:100_360, 1]).max() <= step / 2 + 1e-9
    # EDF+ beat annotations -> the same labelled beats as the .atr file (the last 10 s window is cut short)
    got, ref = read_beats(edf100), wfdb_beats[0]
    assert "annotations" in got["source"]
    n = int(np.sum(ref["time_s"] < N_EDF / FS - 10))
    np.testing.assert_array_equal(got["time_s"][:n], ref["time_s"][:n])
    np.testing.assert_array_equal(got["label"][:n], ref["label"][:n])
    assert np.abs(got["X"][:n] - ref["X"][:n]).max() < 1e-3
    # and through the detector, the same R peaks as the WFDB record
    got = read_beats(edf100, use_annotations=False)
    n = int(np.sum(wfdb_beats[1]["time_s"] < N_EDF / FS - 10))
    np.testing.assert_array_equal(got["time_s"][:n], wfdb_beats[1]["time_s"][:n])


def test_edf_units_channels_and_bdf(rec100, tmp_path):
    import edfio

    rec, sig = rec100
    part = sig[:36_000]
    signals = [edfio.EdfSignal(part[:, 0] * 1000, FS, label="MLII", physical_dimension="uV"),
               edfio.EdfSignal(part[:, 1] * 1000, FS, label="V5", physical_dimension="uV"),
               edfio.EdfSignal(np.full(len(part), 36.6), FS, label="Temp", physical_dimension="degC"),
               edfio.EdfSignal(part[::2, 0], FS / 2, label="slow", physical_dimension="mV")]
    edfio.Edf(signals).write(tmp_path / "mixed.edf")
    r = _open(tmp_path / "mixed.edf")
    assert r.leads == ("MLII", "V5") and r.fs == FS
    assert np.abs(r.read() - part).max() < 1e-3
    assert any("Temp" in n and "slow" in n for n in r.notes)
    with pytest.raises(DataFormatError, match=r"mixed.edf: channel Temp \(unit 'degC'\) was skipped"):
        r.read(lead="temp")
    # leads asked for by name at two rates: refused (the most common rate won and the other lead was dropped silently)
    with pytest.raises(DataFormatError, match=r"mixed.edf: the leads asked for are sampled at different rates "
                                              r"\(MLII 360 Hz, slow 180 Hz\)"):
        _open(tmp_path / "mixed.edf", leads=["MLII", "slow"])
    edfio.Edf([edfio.EdfSignal(part[:, 0], FS, label="ECG II", physical_dimension="mV")]).write(tmp_path / "sp.edf")
    assert _open(tmp_path / "sp.edf", leads="ECG II").leads == ("ECG II",)  # a space is part of a name
    bdf = [edfio.BdfSignal(part[:, i], FS, label=name, physical_dimension="mV", physical_range=(-10.24, 10.24))
           for i, name in enumerate(rec.leads)]
    edfio.Bdf(bdf).write(tmp_path / "rec.bdf")
    b = _open(tmp_path / "rec.bdf")
    assert b.leads == rec.leads and np.abs(b.read() - part).max() < 2e-6  # 24 bit
    # wrong unit in the header: microvolt values labelled mV
    edfio.Edf([edfio.EdfSignal(part[:, 0] * 1000, FS, label="II", physical_dimension="mV")]).write(tmp_path / "lie.edf")
    with pytest.raises(DataFormatError, match=r"lie.edf: amplitudes look wrong for units 'mV' \(from the EDF header\)"):
        _open(tmp_path / "lie.edf")
    assert np.abs(_open(tmp_path / "lie.edf", units="uV").read(lead=0) - part[:, 0]).max() < 1e-3
    edfio.Edf([edfio.EdfSignal(np.full(3600, 36.6), FS, label="Temp", physical_dimension="degC")]).write(tmp_path / "t.edf")
    with pytest.raises(DataFormatError, match="t.edf: no ECG channel"):
        _open(tmp_path / "t.edf")


@pytest.mark.parametrize("micro", [b"\xb5V", "\u00b5V".encode("utf-8")])
def test_edf_microvolt_written_in_latin1_or_utf8(rec100, tmp_path, micro):
    # "µV" in the header's physical dimension (not ASCII, but what recorders write): read as uV, not refused as a
    # non-voltage unit ("no ECG channel: every signal has a non-voltage unit (["ECG (unit '\ufffdV')"])")
    import edfio

    part = rec100[1][:36_000, 0]
    edfio.Edf([edfio.EdfSignal(part * 1000, FS, label="ECG", physical_dimension="uV")]).write(tmp_path / "mu.edf")
    raw = (tmp_path / "mu.edf").read_bytes()
    at = 256 + 96  # one signal: label (16), transducer (80), then the physical dimension (8)
    assert raw[at:at + 8] == b"uV      "
    (tmp_path / "mu.edf").write_bytes(raw[:at] + micro.ljust(8) + raw[at + 8:])
    r = _open(tmp_path / "mu.edf")
    assert r.leads == ("ECG",) and np.abs(r.read(lead=0) - part).max() < 1e-3


def test_truncated_edf_names_the_file(edf100, tmp_path):
    data = edf100.read_bytes()
    for name, cut in (("trunc.edf", len(data) - 5000), ("head.edf", 100), ("sighead.edf", 300)):
        (tmp_path / name).write_bytes(data[:cut])
        with pytest.raises(DataFormatError, match=f"{name}: truncated"):
            _open(tmp_path / name)
    (tmp_path / "junk.edf").write_bytes(b"x" * 1000)
    with pytest.raises(DataFormatError, match="junk.edf: not an EDF file"):
        _open(tmp_path / "junk.edf")


def test_npz_rate_conflict_wfdb_other_units_multisegment_and_mat_suffix(rec100, tmp_path):
    """An .npz's own fs contradicted by fs= is refused (as a CSV time column is); a WFDB record with a blood-pressure
    channel is read for its ECG (the pressure channel never the default, refused by name); a multi-segment record
    and the Challenge's NAME.mat path get clear answers."""
    import wfdb

    rec, sig = rec100
    part = sig[:3600]
    p = tmp_path / "m.npz"
    np.savez(p, signal=part[:, 0], fs=FS)
    with pytest.raises(DataFormatError, match="fs=250 Hz given, but the .npz says 360 Hz"):
        _open(p, fs=250)
    assert _open(p, fs=FS).fs == FS and _open(p).fs == FS
    abp = 80 + 20 * np.sin(np.arange(len(part)) / 50)
    wfdb.wrsamp("abp", fs=FS, units=["mmHg", "mV"], sig_name=["ABP", "MLII"], p_signal=np.column_stack([abp, part[:, 0]]),
                fmt=["16", "16"], write_dir=str(tmp_path))
    r = _open(tmp_path / "abp")
    assert r.leads[r.lead_index(None)] == "MLII" and np.abs(r.read(lead="MLII") - part[:, 0]).max() < 0.01
    with pytest.raises(DataFormatError, match="'ABP' is in 'mmHg', not an ECG lead"):
        r.lead_index("ABP")
    (tmp_path / "ms.hea").write_text("ms/2 1 360 7200\nabp 3600\nabp 3600\n")
    with pytest.raises(DataFormatError, match="multi-segment WFDB record"):
        _open(tmp_path / "ms")
    (tmp_path / "abp.mat").write_bytes(b"")  # the Challenge's layout names the signal file NAME.mat
    assert _open(tmp_path / "abp.mat").leads == ("ABP", "MLII")


def test_the_default_lead_is_the_ecg_not_another_channel(rec100, tmp_path):
    """MLII / II however written, else ECG / EKG, else the first channel not named as EEG, EOG, SpO2, blood
    pressure...; an EDF whose ECG runs at another rate than its EEG channels is read at the ECG's rate."""
    import edfio

    from cardiacml.io.records import default_lead

    assert default_lead(["V5", "MLII"]) == 1 and default_lead(["I", "ECG II", "V1"]) == 1
    assert default_lead(["Lead I", "Lead II"]) == 1 and default_lead(["'sample'", "II"]) == 1
    assert default_lead(["EEG C3-A2", "EOG L", "EKG", "SpO2"]) == 2 and default_lead(["ECG1", "ECG2"]) == 0
    assert default_lead(["EEG Fpz-Cz", "Resp", "V2"]) == 2 and default_lead(["V5", "V2"]) == 0
    rec, sig = rec100
    x = sig[:int(60 * FS), 0]
    t512 = np.arange(60 * 512) / 512
    ecg = np.interp(t512, np.arange(len(x)) / FS, x)
    eeg = 0.02 * np.sin(2 * np.pi * 10 * np.arange(60 * 256) / 256)
    path = tmp_path / "psg.edf"
    edfio.Edf([edfio.EdfSignal(eeg, 256, label="EEG C3-A2", physical_dimension="uV", physical_range=(-500, 500)),
               edfio.EdfSignal(eeg, 256, label="EEG C4-A1", physical_dimension="uV", physical_range=(-500, 500)),
               edfio.EdfSignal(ecg, 512, label="ECG", physical_dimension="mV", physical_range=(-10, 10))]).write(path)
    r = _open(path)
    assert r.fs == 512 and r.leads[r.lead_index(None)] == "ECG"
    assert np.abs(r.read(lead="ECG") - ecg).max() < 0.01


def test_tab_separated_with_decimal_commas(rec100, tmp_path):
    """A European "text (tab delimited)" export: tabs between fields, commas in the numbers."""
    rec, sig = rec100
    part = sig[:3600]
    lines = ["time\tMLII\tV5"] + [f"{i / FS:.6f}\t{a:.4f}\t{b:.4f}".replace(".", ",") for i, (a, b) in enumerate(part)]
    path = tmp_path / "tab.txt"
    path.write_text("\n".join(lines) + "\n")
    r = _open(path)
    assert r.fs == FS and r.leads == ("MLII", "V5") and np.abs(r.read() - part).max() < 1e-4


def test_headerless_csv_time_column_note_names_no_column(tmp_path):
    """The note said "time column None in seconds"."""
    t = np.arange(3000) / 250
    np.savetxt(tmp_path / "nh.csv", np.c_[t, np.sin(t * 3)], delimiter=",", fmt="%.5f")
    rec = _open(tmp_path / "nh.csv")
    assert rec.fs == 250 and "time column in seconds -> fs = 250 Hz" in rec.notes, rec.notes


def test_time_column_jitter_is_judged_on_every_row_not_on_the_first_and_last(tmp_path):
    """Times jittered by up to 0.3 of a step (a recorder's clock): the grid was drawn through the first and last rows,
    so the same jitter was read when those two fell near their grid points and refused ("row 3588 is 0.00166 away
    from a uniform grid") when they leant apart, as MIT-BIH 119 written so was while 100, 105, 201 were read."""
    n = 3600
    t = np.arange(n) / 360.0
    ecg = np.sin(2 * np.pi * 1.2 * t)
    jit = np.random.default_rng(0).uniform(-0.3, 0.3, n) / 360.0
    jit[0], jit[-1] = 0.3 / 360.0, -0.3 / 360.0  # the two ends leaning apart
    pd.DataFrame({"time": t + jit, "MLII": ecg}).to_csv(tmp_path / "jitter.csv", index=False, float_format="%.7f")
    rec = _open(tmp_path / "jitter.csv")
    assert rec.fs == 360 and rec.n_samples == n
    # more than half a step off the grid is still refused, naming a row that is off
    jit[1800] = 0.7 / 360.0
    pd.DataFrame({"time": t + jit, "MLII": ecg}).to_csv(tmp_path / "off.csv", index=False, float_format="%.7f")
    with pytest.raises(DataFormatError, match=r"off.csv: the time column is not uniformly sampled \(row 1801 is "):
        _open(tmp_path / "off.csv")


def test_a_time_column_that_goes_back_is_not_said_to_have_too_few_digits(tmp_path):
    """Times that go back (rows out of order, jitter over half a step) were refused with "written with too few
    digits?", the hint for equal times; each case now gets its own hint."""
    t = np.arange(3600) / 360.0
    ecg = np.sin(2 * np.pi * 1.2 * t)
    back = t.copy()
    back[[10, 11]] = back[[11, 10]]
    pd.DataFrame({"time": back, "MLII": ecg}).to_csv(tmp_path / "back.csv", index=False, float_format="%.7f")
    with pytest.raises(DataFormatError, match=r"back.csv: the time column must increase strictly \(row 12 is before "
                                              r"row 11: rows out of order or times jittered") as exc:
        _open(tmp_path / "back.csv")
    assert "too few digits" not in str(exc.value)
    pd.DataFrame({"time": np.round(t, 2), "MLII": ecg}).to_csv(tmp_path / "digits.csv", index=False)
    with pytest.raises(DataFormatError, match=r"digits.csv: the time column must increase strictly \(row \d+ is not "
                                              r"after row \d+; written with too few digits\?\)"):
        _open(tmp_path / "digits.csv")


@pytest.mark.parametrize("bad", ["inf", "nan", "-inf"])
def test_a_time_column_with_a_value_that_is_no_number_names_its_row(tmp_path, bad):
    """A time of inf (since the least-squares step) was a ValueError traceback ("cannot convert float NaN to
    integer"); a nan was "row 2 is not after row 1; written with too few digits?", another row and the wrong hint."""
    t = (np.arange(3600) / 360.0).astype(object)
    t[1000] = bad
    pd.DataFrame({"time": t, "MLII": np.sin(np.arange(3600) / 50)}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataFormatError, match=rf"t.csv: the time column holds {bad!r} at row 1001, not a time") as e:
        _open(tmp_path / "t.csv")
    assert "\n" not in str(e.value)


def test_a_truncated_wfdb_signal_file_is_said_to_be_truncated(tmp_path, shared):
    """numpy's 'cannot reshape' / 'could not broadcast' was all the message said."""
    from cardiacml.io import open_record

    src = shared / "mitdb"
    for ext in ("hea", "dat"):
        (tmp_path / f"100.{ext}").write_bytes((src / f"100.{ext}").read_bytes())
    dat = tmp_path / "100.dat"
    dat.write_bytes(dat.read_bytes()[: dat.stat().st_size // 3])
    with pytest.raises(DataFormatError, match=r"100: cannot read samples .*truncated or damaged"):
        open_record(tmp_path / "100").read(0, 650000, None)


def test_units_guessed_from_the_ecg_between_long_flat_stretches(rec100, tmp_path):
    # a lead off (zeros, or a constant) over most of a long recording with the ECG in between: the 20-s windows the
    # units are guessed from all fell in the flat stretches, and the file was refused as "flat (every value equal)"
    rec, sig = rec100
    ecg = sig[:int(60 * FS), 0]
    for name, before, after in (("zeros", 0.0, 0.0), ("constant", -0.35, -0.35)):
        x = np.concatenate([np.full(int(300 * FS), before), ecg, np.full(int(300 * FS), after)])
        np.save(tmp_path / f"{name}.npy", x)
        r = _open(tmp_path / f"{name}.npy", fs=FS)
        assert any("assumed mV" in n for n in r.notes), r.notes
        assert np.abs(r.read(int(300 * FS), int(360 * FS))[:, 0] - ecg).max() < 1e-9
    np.save(tmp_path / "flat.npy", np.zeros(int(660 * FS)))
    with pytest.raises(DataFormatError, match="flat.npy: the signal is flat"):
        _open(tmp_path / "flat.npy", fs=FS)


def _npz_member(path, shape, data_bytes):
    """An .npz whose 'signal' member has an .npy header of ``shape`` (float64) and ``data_bytes`` zero bytes, deflated."""
    import io
    import zipfile

    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("signal.npy", "w", force_zip64=True) as f:
        f.write(hdr.getvalue())
        for k in range(0, data_bytes, 1 << 24):
            f.write(bytes(min(1 << 24, data_bytes - k)))


def test_npz_decompression_bomb_and_lying_header_are_one_line(tmp_path):
    from cardiacml.io import open_record

    bomb = tmp_path / "bomb.npz"  # 200 MB of zeros in 0.2 MB (4 GB in 3.9 MB was read whole: 4.6 GB resident)
    _npz_member(bomb, (25_000_000,), 200_000_000)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DataFormatError, match="decompression bomb"):
        open_record(bomb, fs=360)
    lying = tmp_path / "lying.npz"  # 7 TiB claimed, 800 bytes held: a MemoryError traceback
    _npz_member(lying, (10**12,), 800)
    with pytest.raises(DataFormatError, match="too large"):
        open_record(lying, fs=360)


def test_npz_bytes_lead_names_and_units_are_decoded(tmp_path):
    # h5py / MATLAB converters store strings as bytes: np.array([b"V1", b"MLII"]) must name the leads V1 and MLII
    # (the default lead is then MLII), not "b'V1'" / "b'MLII'" (the default lead silently V1, the first)
    from cardiacml.io.records import default_lead

    sig = np.sin(np.arange(3600) / 20.0)[None, :] * np.array([[1.0], [2.0]]) * 1000
    np.savez(tmp_path / "b.npz", signal=sig, fs=np.array([360.0]), leads=np.array([b"V1", b"MLII"]),
             units=np.array(b"uV"))
    z = _open(tmp_path / "b.npz")
    assert z.leads == ("V1", "MLII") and default_lead(z.leads) == 1
    assert np.abs(z.read(lead=1) - sig[1] / 1000).max() < 1e-9


def test_csv_in_latin1_with_microvolt_header(tmp_path):
    # a spreadsheet's "CSV" saved in Windows / Latin-1 encoding ("II (µV)" as byte 0xB5) was refused: "cannot read as
    # a delimited text file ('utf-8' codec can't decode byte 0xb5 ...)"
    t = np.arange(3600) / FS
    x = np.sin(t * 7.0)
    body = "".join(f"{a:.5f},{b * 1000:.2f}\n" for a, b in zip(t, x))
    (tmp_path / "lat1.csv").write_bytes(("time,II (µV)\n" + body).encode("latin-1"))
    r = _open(tmp_path / "lat1.csv")
    assert r.leads == ("II",) and r.fs == FS and np.abs(r.read(lead=0) - x).max() < 1e-4
    assert any("Latin-1" in n for n in r.notes) and any("µV" in n for n in r.notes)


# ------------------------------------------------------------------------------------------ WFDB units
def _qrs_train(seconds=20, fs=FS, mv=1.2):
    """An ECG-like trace in mV: a 20-ms-wide QRS of ``mv`` every 0.8 s on a slow baseline wander."""
    t = np.arange(int(seconds * fs)) / fs
    beats = np.arange(0.4, seconds, 0.8)
    qrs = mv * np.exp(-0.5 * ((t[:, None] - beats[None, :]) / 0.01) ** 2).sum(1)
    return qrs + 0.05 * np.sin(2 * np.pi * 0.3 * t)


def _unit_warnings(record):
    """The unit warnings reading every channel of ``record`` gives, twice (a channel is judged once)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = record.read()
        record.read(0, 100)
        record.read(lead=0)
    return [str(w.message) for w in caught if "the header gives" in str(w.message)], first


def test_wfdb_units_that_disagree_with_the_amplitudes_are_warned_and_the_header_trusted(tmp_path):
    """A header saying mV over values in the thousands (really uV), or uV over values about 1 (really mV), was read
    silently with amplitudes 1000 times off. Each is read as the header says, with one warning naming the header,
    the channel, the stated unit and what the values look like; a correct header gives no warning."""
    import wfdb

    x = _qrs_train()
    cases = {  # name: (units, values written, unit the values look like per channel or None)
        "ok": (["mV", "uV"], np.column_stack([x, 1000 * x]), [None, None]),
        "uv_as_mv": (["mV", "mV"], np.column_stack([x, 1000 * x]), [None, "uV"]),
        "mv_as_uv": (["uV"], x[:, None], ["mV"]),
        "mv_as_v": (["V"], x[:, None], ["mV"]),
    }
    for name, (units, sig, looks) in cases.items():
        names = ["MLII", "V1"][: sig.shape[1]]
        wfdb.wrsamp(name, fs=FS, units=units, sig_name=names, p_signal=sig, fmt=["16"] * sig.shape[1],
                    write_dir=str(tmp_path))
        r = _open(tmp_path / name)
        msgs, read = _unit_warnings(r)
        bad = [k for k, v in enumerate(looks) if v]
        assert len(msgs) == len(bad), (name, msgs)
        assert getattr(r, "notes", []) == msgs, name
        for msg, k in zip(msgs, bad):
            assert "\n" not in msg and msg.startswith(f"{tmp_path / name}.hea: channel {names[k]!r}: "), msg
            assert f"the header gives unit {units[k]}, but the amplitudes look like {looks[k]}" in msg, msg
            assert f"read as {units[k]}, as the header says" in msg, msg
        scale = np.array([{"mV": 1.0, "uV": 1e-3, "V": 1e3}[u] for u in units])
        assert np.allclose(read, sig * scale, rtol=1e-3, atol=1e-3 * np.abs(sig * scale).max()), name


def test_wfdb_no_unit_in_the_header_is_mv_and_checked_so(tmp_path, monkeypatch):
    """A header without units is read as mV (the WFDB default) and said to give none; a long record, read lazily in
    chunks, is judged once on windows spread over it, not on the chunk asked for."""
    import wfdb

    from cardiacml.io.records import WfdbRecord

    x = _qrs_train(seconds=300)
    wfdb.wrsamp("nounit", fs=FS, units=["uV"], sig_name=["ECG"], p_signal=1000 * x[:, None], fmt=["16"],
                write_dir=str(tmp_path))
    hea = tmp_path / "nounit.hea"
    hea.write_text(hea.read_text().replace("/uV", ""))
    monkeypatch.setattr(WfdbRecord, "WHOLE_READ_SAMPLES", 1000)
    r = _open(tmp_path / "nounit")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for start in range(0, r.n_samples, 20_000):
            r.read(start, start + 20_000)
    msgs = [str(w.message) for w in caught if "the header gives" in str(w.message)]
    assert len(msgs) == 1 and "'ECG': the header gives no unit (mV, the WFDB default), but the amplitudes look " \
        "like uV" in msgs[0], msgs
    assert np.abs(r.read(0, 3600, 0) - 1000 * x[:3600]).max() < 1


@pytest.mark.parametrize("record", ["100", "203", "231"])
def test_mitdb_headers_agree_with_their_amplitudes(mitdb, record):
    """The real records' headers (mV) fit their amplitudes (robust amplitudes 0.8-1.7 mV): no warning."""
    r = _open(mitdb / record)
    msgs, _ = _unit_warnings(r)
    assert msgs == [] and not getattr(r, "notes", None)


def test_the_command_line_prints_a_warning_on_one_line(tmp_path):
    """On the command line a warning is ``warning: MESSAGE``, one line, not Python's source path and code line."""
    import subprocess
    import sys

    import wfdb

    x = _qrs_train()
    wfdb.wrsamp("uv", fs=FS, units=["mV"], sig_name=["MLII"], p_signal=1000 * x[:, None], fmt=["16"],
                write_dir=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "cardiacml.cli", "predict", "beats-ds1", str(tmp_path / "uv.hea"),
                        "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stderr.splitlines() if "the header gives" in ln]
    assert r.returncode == 0 and len(lines) == 1 and lines[0].startswith("warning: ") and "UserWarning" not in r.stderr, \
        r.stderr
