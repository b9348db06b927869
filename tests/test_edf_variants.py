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
