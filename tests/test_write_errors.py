"""An output that cannot be written (permission denied, disk full, read-only file system) is a one-line error naming
it, never a traceback that calls itself a bug; nothing half-written is left."""

import errno
import os

import pytest
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.errors import OutputError
from cardiacml.utils import atomic_path

runner = CliRunner()


def test_write_failures_become_one_line_output_errors(tmp_path):
    final = tmp_path / "page.html"
    with pytest.raises(OutputError, match=r"cannot write .*page\.html: Permission denied"):
        with atomic_path(final) as tmp:
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp))
    with pytest.raises(OutputError, match="No space left on device"):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not list(tmp_path.iterdir()), "nothing half-written left"
    # an error about another file (an input read inside the block) is not turned into one about the output
    with pytest.raises(PermissionError) as info:
        with atomic_path(final):
            raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "input.dat"))
    assert not isinstance(info.value, OutputError)


def test_unwritable_page_is_one_line(tmp_path, monkeypatch):
    real = os.replace

    def denied(src, dst, *a, **k):
        if str(dst).endswith(".html"):
            raise PermissionError(errno.EACCES, "Permission denied", str(src), None, str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", denied)
    res = runner.invoke(app, ["report", "heart-act", "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2, res.output
    assert "cannot write" in res.output and "r.html" in res.output and "Traceback" not in res.output
    assert "bug" not in res.output and not list(tmp_path.iterdir())
