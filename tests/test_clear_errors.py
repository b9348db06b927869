"""Expected problems are clear errors naming the file (gzip'd CSVs read, missing signal files named)."""

import gzip
import shutil

import pytest
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.errors import DataFormatError

runner = CliRunner()


def test_gzipped_csv_is_read(tmp_path, shared):
    from cardiacml.datasets.kaggle import load_heartbeat_csv

    csv = shared / "kaggle_format" / "tami64_ECGformer__mitbih_train.csv"
    gz = tmp_path / "mitbih_train.csv"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    assert len(load_heartbeat_csv(gz, cache=False)) == 10
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage" * 50)
    with pytest.raises(DataFormatError, match="bin.csv"):
        load_heartbeat_csv(tmp_path / "bin.csv", cache=False)


def test_missing_signal_file_is_a_clear_error(tmp_path, shared, tiny_run):
    run_dir, _ = tiny_run
    for f in ("100.hea", "100.atr"):
        shutil.copy(shared / "wfdb_samples" / f, tmp_path / f)
    res = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "100"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "100.dat" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o.csv").exists()
