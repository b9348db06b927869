"""Streaming long records: chunked == whole record, bounded reads, Ctrl-C leaves a valid partial file."""

import json

import numpy as np
import pandas as pd
import pytest

from cardiacml.io import ArrayRecord, Record, open_record
from cardiacml.contracts import rhythm as C
from cardiacml.ecg.pipeline import iter_rhythm_blocks, rhythm_beats, scan_record


class _Fake:
    def __init__(self, contract=None, stop_after=None):
        self.contract, self.calls, self.stop_after = contract or C.rhythm_contract(), 0, stop_after

    def predict(self, X):
        self.calls += 1
        if self.stop_after is not None and self.calls > self.stop_after:
            raise KeyboardInterrupt
        p = np.full((len(X), 5), 0.01)
        p[np.arange(len(X)), (X[:, 0, 2 * C.W + 4] < -0.15).astype(int)] = 0.96  # "S" when premature: any rule will do
        return p / p.sum(1, keepdims=True)


class _Counting(Record):
    """Wraps a record and remembers the largest read (samples)."""

    def __init__(self, inner):
        self.inner, self.path, self.fs, self.leads, self.n_samples = inner, inner.path, inner.fs, inner.leads, inner.n_samples
        self.max_read = 0

    def _read(self, start, stop, channels):
        self.max_read = max(self.max_read, stop - start)
        return self.inner._read(start, stop, channels)

    def annotations(self):
        return self.inner.annotations()


@pytest.mark.parametrize("name,use_ann", [("203", False), ("208", False), ("119", True)])
def test_chunked_equals_whole_record(mitdb, name, use_ann):
    """Small chunks and blocks (many borders) give the same beats, no beat lost or doubled, same inputs."""
    whole = rhythm_beats(open_record(mitdb / name), use_annotations=use_ann, chunk_s=4000.0, block_beats=10**6)
    chunked = rhythm_beats(open_record(mitdb / name), use_annotations=use_ann, chunk_s=31.0, block_beats=97, max_span_s=40.0)
    np.testing.assert_array_equal(chunked["time_s"], whole["time_s"])
    np.testing.assert_allclose(chunked["X"], whole["X"], atol=1e-5)
    if "label" in whole:
        np.testing.assert_array_equal(chunked["label"], whole["label"])


def test_reads_are_bounded_independently_of_length(mitdb):
    """Pass 1 reads chunk + 2 x settle; pass 2 reads a block's span: neither grows with the record."""
    base = open_record(mitdb / "100")
    x = base.read(lead=None)
    long = _Counting(ArrayRecord(np.tile(x, 3), base.fs, ["MLII"]))  # 90 min
    scan = scan_record(long, use_annotations=False, chunk_s=120.0)
    pass1 = long.max_read
    long.max_read = 0
    n = sum(len(i) for i, _ in iter_rhythm_blocks(scan, block_beats=300))
    assert n == len(scan.peaks) > 6000
    assert pass1 <= (120 + 2 * 12) * base.fs
    assert long.max_read < 400 * base.fs  # 300 beats (~4 min) + template neighbours + settle, not 90 min


def test_predict_record_streams_and_interrupt_leaves_valid_partial(mitdb, tmp_path):
    from cardiacml.inference.beats import predict_record

    full = predict_record(_Fake(), open_record(mitdb / "100"), tmp_path / "full.csv", block_beats=500).summary
    assert full["complete"] and full["beats"] == 2273
    out = tmp_path / "part.csv"
    out.write_text("earlier,complete\n1,2\n")  # a re-run interrupted must not replace the earlier output
    with pytest.raises(KeyboardInterrupt, match="1000 of 2273 beats.*part.partial.csv.*left as it was"):
        predict_record(_Fake(stop_after=2), open_record(mitdb / "100"), out, block_beats=500)
    assert out.read_text() == "earlier,complete\n1,2\n"
    df = pd.read_csv(tmp_path / "part.partial.csv")  # a plain CSV: no comment line to skip
    ref = pd.read_csv(tmp_path / "full.csv")
    assert len(df) == 1000
    pd.testing.assert_frame_equal(df, ref.iloc[:1000])
    summ = json.loads((tmp_path / "part.partial.summary.json").read_text())
    assert summ["complete"] is False and summ["beats"] == 1000 and summ["stopped_at_s"] == pytest.approx(df["time_s"].iloc[-1], abs=1e-3)
    # rates per hour divide by the analysed time, not the whole recording
    assert summ["analysed_s"] == pytest.approx(summ["stopped_at_s"], abs=1e-3)
    assert summ["analysed_s"] < summ["duration_s"]
    n_beats = sum(summ["counts"].values())
    assert sum(summ["per_hour"].values()) == pytest.approx(n_beats / (summ["analysed_s"] / 3600), rel=1e-2)
    assert not list(tmp_path.glob(".*tmp*"))
    # a complete run of the same output supersedes the partial files
    predict_record(_Fake(), open_record(mitdb / "100"), out, block_beats=500)
    assert not (tmp_path / "part.partial.csv").exists() and not (tmp_path / "part.partial.summary.json").exists()
    # interrupted before the first block: no output at all
    out2 = tmp_path / "none.csv"
    with pytest.raises(KeyboardInterrupt):
        predict_record(_Fake(stop_after=0), open_record(mitdb / "100"), out2)
    assert not out2.exists() and not list(tmp_path.glob(".*tmp*"))


def test_ctrl_c_after_the_last_beat_finishes_the_results_first(mitdb, tmp_path, monkeypatch):
    """Ctrl-C once the classification was done (while the rhythm context, the CSV and the summary were made) threw all
    the work away with no partial file; the results are finished and written first, and the message says so. A file
    of the user's named like a partial one is not removed by a complete run."""
    import os
    import signal

    import cardiacml.inference.beats as B

    real = B._in_context

    def interrupted(*a, **k):
        os.kill(os.getpid(), signal.SIGINT)  # arrives while the results are made
        return real(*a, **k)

    monkeypatch.setattr(B, "_in_context", interrupted)
    out = tmp_path / "o.csv"
    (tmp_path / "o.partial.csv").write_text("my notes\n")
    with pytest.raises(B.PredictionInterrupted, match="results were finished first.*o.csv and o.summary.json are complete"):
        B.predict_record(_Fake(), open_record(mitdb / "100"), out, block_beats=500)
    assert len(pd.read_csv(out)) == 2273 and json.loads((tmp_path / "o.summary.json").read_text())["complete"]
    assert (tmp_path / "o.partial.csv").read_text() == "my notes\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_progress_log_lines_when_not_a_terminal(mitdb, tmp_path, capsys, monkeypatch):
    from cardiacml.inference.beats import predict_record

    monkeypatch.setenv("CARDIACML_PROGRESS", "")  # conftest silences progress; here we want the log lines
    predict_record(_Fake(), open_record(mitdb / "100"), tmp_path / "p.csv")
    err = capsys.readouterr().err
    assert "[classify] 2,273 of 2,273 (100 %)" in err and "s left" in err


@pytest.mark.parametrize("stop_after", [1, 4])
def test_an_interrupted_runs_summary_counts_quality_up_to_its_stop(mitdb, tmp_path, stop_after):
    """predict_record hands the stop to the quality summary: MIT-BIH 105 (noise bursts), the partial summary counts
    only the windows, rejected windows and stretches up to the last classified beat."""
    from cardiacml.inference.beats import predict_record

    full = predict_record(_Fake(), open_record(mitdb / "105"), tmp_path / "full.csv", block_beats=500).summary["quality"]
    out = tmp_path / "part.csv"
    with pytest.raises(KeyboardInterrupt):
        predict_record(_Fake(stop_after=stop_after), open_record(mitdb / "105"), out, block_beats=500)
    summ = json.loads((tmp_path / "part.partial.summary.json").read_text())
    q, stop = summ["quality"], summ["stopped_at_s"]
    df = pd.read_csv(tmp_path / "part.partial.csv")
    assert q["low_quality_beats"] == int(df["low_quality"].sum())
    assert q["windows"] == int(stop // 10) + 1 < full["windows"]
    assert all(a <= stop and b <= stop for a, b in q["low_quality_stretches_s"])
    if stop_after == 1:  # 500 beats, before 105's first noise burst
        assert stop < 400 and q["low_quality_windows"] == 0 and q["low_quality_stretches_s"] == []
    else:  # 2,000 beats, 1,415.6 s: the first two of 105's noisy stretches (the same figures counted by hand)
        assert full["low_quality_windows"] > q["low_quality_windows"] == 8 and q["low_quality_beats"] == 119
        assert q["low_quality_stretches_s"] == [[1190.0, 1240.0], [1300.0, 1330.0]]


def test_an_interrupted_runs_af_minutes_count_up_to_its_stop(mitdb, tmp_path):
    """An AF episode that runs on past the stop counts up to the stop: the burden stays <= 1 and the AF minutes per
    hour <= 60 (was 180 min/h on 203)."""
    from cardiacml.inference.beats import predict_record

    with pytest.raises(KeyboardInterrupt):
        predict_record(_Fake(stop_after=2), open_record(mitdb / "203"), tmp_path / "p.csv", block_beats=500)
    summ = json.loads((tmp_path / "p.partial.summary.json").read_text())
    stop, eps = summ["stopped_at_s"], summ["rhythm_episodes"]
    assert eps and all(e["start_s"] <= stop for e in eps) and any(e["end_s"] > stop for e in eps)
    in_af = sum(min(e["end_s"], stop) - e["start_s"] for e in eps)
    assert 0 < summ["af_minutes_per_hour"] <= 60.0
    first = pd.read_csv(tmp_path / "p.partial.csv")["time_s"].iloc[0]
    assert summ["af_burden"] == pytest.approx(min(1.0, in_af / (stop - first)), abs=1e-4) and summ["af_burden"] <= 1.0
    # the minutes per hour and the burden of the same time, as in a complete run (not the burden over first beat to
    # the stop against minutes per hour from 0 s)
    assert abs(summ["af_minutes_per_hour"] - 60.0 * summ["af_burden"]) < 0.01


def test_an_interrupted_run_inside_a_bridged_break_lists_the_episode_after_it(mitdb, tmp_path):
    """MIT-BIH 202 stopped inside the break between two AF episodes (1532.9-1579.4 s): the break is in the AF context
    and listed, and so is the episode after it that puts it there; no AF time is counted past the stop."""
    from cardiacml.inference.beats import predict_record

    with pytest.raises(KeyboardInterrupt):
        predict_record(_Fake(stop_after=6), open_record(mitdb / "202"), tmp_path / "p.csv", block_beats=300)
    summ = json.loads((tmp_path / "p.partial.summary.json").read_text())
    stop, eps, bridges = summ["stopped_at_s"], summ["rhythm_episodes"], summ["rhythm"]["context_bridges"]
    inside = [b for b in bridges if b["start_s"] <= stop < b["end_s"]]
    assert inside, (stop, bridges)  # the stop falls in a bridged break (else the test says nothing)
    assert any(e["start_s"] == inside[0]["end_s"] for e in eps)
    in_af = sum(max(0.0, min(e["end_s"], stop) - e["start_s"]) for e in eps)
    assert summ["af_burden"] <= 1.0 and abs(summ["af_minutes_per_hour"] - 60 * summ["af_burden"]) < 0.01
    assert in_af < stop
