"""The first hour of a new user (issue 24): no silent fallbacks, default output names, help generated from the
registries, the cache command, the notebooks command."""

import pytest
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args, needle", [
    (["train", "task2", "--class-weighting", "foo"], "--class-weighting 'foo'"),
    (["train", "task3", "--class-weighting", "foo"], "--class-weighting 'foo'"),
    (["train", "task2", "--protocol", "kaggle"], "--data-dir"),
    (["train", "task2", "--protocol", "nonsense"], "nonsense"),
])
def test_unknown_or_incomplete_options_are_one_line_errors(tmp_path, args, needle):
    res = runner.invoke(app, args + ["--out", str(tmp_path / "run"), "--epochs", "1"])
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output
    assert not (tmp_path / "run").exists()
