"""EDF files as Holter and sleep-lab software writes them, on tiny synthetic signals: channels named only by number
at several rates, a header that counts -1 data records (a recording still being written)."""

import warnings

import numpy as np

from cardiacml.io import open_record


def _spikes(fs, seconds, amp):
    """A 'QRS' spike a second (amplitude ``amp``) on a flat line: enough for the reader, no beat detection needed."""
    x = np.zeros(int(fs * seconds))
    x[int(fs * 0.5)::int(fs)] = amp
    return x


def test_the_ecg_is_read_when_generic_channel_names_leave_slow_channels_the_majority(tmp_path):
    """Chan 1 and Chan 2 at 32 Hz (respiration, unlabelled) beside the ECG, Chan 3, at 256 Hz: the most common
    rate, 32 Hz, was read, and the ECG could not be picked (by name or index: "was skipped"); predict then said
    "sampling rate 32 Hz is below 100 Hz". A rate too low for a QRS is no ECG's when a channel at >= 100 Hz exists."""
    import edfio

    slow = 100 * np.sin(2 * np.pi * 0.25 * np.arange(32 * 20) / 32)
    path = tmp_path / "holter.edf"
    edfio.Edf([edfio.EdfSignal(slow, 32, label="Chan 1", physical_dimension="uV", physical_range=(-1000, 1000)),
               edfio.EdfSignal(slow, 32, label="Chan 2", physical_dimension="uV", physical_range=(-1000, 1000)),
               edfio.EdfSignal(_spikes(256, 20, 1500), 256, label="Chan 3", physical_dimension="uV",
                               physical_range=(-5000, 5000))]).write(path)
    r = open_record(path)
    assert r.fs == 256 and r.leads == ("Chan 3",), (r.fs, r.leads)
    assert any("Chan 1 (32 Hz)" in n and "Chan 2 (32 Hz)" in n for n in r.notes), r.notes
    assert np.abs(r.read(lead=0) - _spikes(256, 20, 1.5)).max() < 0.01
    # ECG-named channels still win over another fast channel, and an all-slow file is read as before
    edfio.Edf([edfio.EdfSignal(slow, 32, label="Chan 1", physical_dimension="uV", physical_range=(-1000, 1000)),
               edfio.EdfSignal(slow, 32, label="Chan 2", physical_dimension="uV", physical_range=(-1000, 1000))]
              ).write(tmp_path / "slow.edf")
    assert open_record(tmp_path / "slow.edf").fs == 32


def test_a_header_counting_minus_one_records_is_read_and_said_not_warned(tmp_path):
    """EDF+ allows -1 data records while recording: edfio counted them but printed its UserWarnings ("Updating
    header", "Incomplete data record ... truncated") on stderr; an incomplete last record was dropped unsaid."""
    import edfio

    path = tmp_path / "live.edf"
    edfio.Edf([edfio.EdfSignal(_spikes(256, 20, 1.5), 256, label="ECG", physical_dimension="mV",
                               physical_range=(-5, 5))]).write(path)
    raw = path.read_bytes()
    path.write_bytes(raw[:236] + b"-1".ljust(8) + raw[244:-100])  # 19 whole records of 1 s, then 156 of 512 bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = open_record(path)
        assert r.n_samples == 19 * 256 and r.read().shape == (19 * 256, 1)
    assert any("-1 data records" in n and "19" in n and "incomplete" in n for n in r.notes), r.notes


def test_channels_in_counts_are_read_with_the_gain_given_as_counts_per_mv(tmp_path):
    """Holter exports whose physical dimension is "counts": the ECG was skipped (no unit to read it in), and
    ``units="counts/N"`` (``--units counts/N``) was refused for every EDF file, as if its header had made the values mV
    already. The channels in counts (or with no unit) are now scaled by 1/N, said in the notes; a channel with a voltage
    unit keeps it, and a file whose leads all have one still refuses counts/N."""
    import re

    import edfio
    import pytest

    from cardiacml.errors import DataFormatError, UsageError

    def counts(label, dim="counts"):
        return edfio.EdfSignal(_spikes(256, 20, 300), 256, label=label, physical_dimension=dim,
                               physical_range=(-32768, 32767), digital_range=(-32768, 32767))

    spo2 = edfio.EdfSignal(np.full(256 * 20, 97.0), 256, label="SpO2", physical_dimension="%", physical_range=(0, 100))
    path = tmp_path / "holter.edf"
    edfio.Edf([counts("ECG1"), spo2]).write(path)
    with pytest.raises(DataFormatError, match=r"no ECG channel.*ECG1 \(unit .counts.\).*--units counts/N"):
        open_record(path)
    edfio.Edf([counts("ECG1"), counts("ECG2", ""), spo2]).write(path)
    r = open_record(path, units="counts/200")
    assert r.leads == ("ECG1", "ECG2"), (r.leads, r.notes)
    np.testing.assert_allclose(r.read(), np.column_stack([_spikes(256, 20, 1.5)] * 2), atol=1e-9)
    assert any("200 counts per mV" in n for n in r.notes) and any("SpO2" in n for n in r.notes), r.notes
    # beside a lead in mV: each in its own unit
    edfio.Edf([counts("ECG"), edfio.EdfSignal(_spikes(256, 20, 1.5), 256, label="MLII", physical_dimension="mV",
                                              physical_range=(-5, 5))]).write(tmp_path / "mixed.edf")
    r = open_record(tmp_path / "mixed.edf", units="counts/200")
    assert np.abs(r.read() - np.column_stack([_spikes(256, 20, 1.5)] * 2)).max() < 1e-3, r.notes
    # the leads read all in a voltage unit: refused as before
    with pytest.raises(UsageError, match=re.escape("units 'counts/200' do not apply to an EDF/BDF file whose leads "
                                                   "have a voltage unit (MLII mV)")):
        open_record(tmp_path / "mixed.edf", units="counts/200", leads=["MLII"])
