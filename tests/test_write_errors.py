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


def _one_line_error(final, write=lambda tmp: tmp.write_text("x")) -> str:
    with pytest.raises(OutputError) as info:
        with atomic_path(final) as tmp:
            write(tmp)
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg


def test_a_folder_that_cannot_be_created_or_read_is_named_not_the_output(tmp_path, monkeypatch):
    """An OSError about a folder above the output was worded "cannot write OUTPUT", as if the file itself could not
    be written; now the message says what failed (creating / reading which folder) and the system's reason."""
    import cardiacml.utils as utils

    (tmp_path / "afile").write_text("not a folder")  # a parent that is a regular file: refused up front, named
    msg = _one_line_error(tmp_path / "afile" / "sub" / "out.csv")
    assert f"{tmp_path / 'afile'} is a file, not a folder" in msg and "cannot write" not in msg, msg
    link = tmp_path / "results"  # a parent that is a broken link: mkdir fails on the link, not on the output
    link.symlink_to(tmp_path / "gone")
    for final in (link / "out.csv", link / "sub" / "out.csv"):
        msg = _one_line_error(final)
        assert msg.startswith(f"cannot create folder {link} for output {final}: File exists ({link} is a symbolic "
                              f"link to {tmp_path / 'gone'}, which does not exist)"), msg
    assert not (tmp_path / "gone").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "results"]
    long = tmp_path / ("x" * 300)  # a folder name longer than the file system allows: an OSError traceback
    msg = _one_line_error(long / "out.csv")
    assert msg.startswith(f"output {long / 'out.csv'}: cannot look up ") and msg.endswith(
        f"({long} is 300 bytes): File name too long"), msg

    def unreadable(folder, name=None):  # root reads any folder: the listing's PermissionError as the system gives it
        raise PermissionError(errno.EACCES, "Permission denied", str(folder))

    monkeypatch.setattr(utils, "clean_stale_temps", unreadable)
    final = tmp_path / "out" / "page.html"
    assert _one_line_error(final) == f"cannot read folder {final.parent} for output {final}: Permission denied"


def test_a_file_of_a_folder_output_that_cannot_be_written_is_named(tmp_path):
    """A file inside a folder output is named where it would be (``out/figures/a.png``), not as the temporary."""
    final = tmp_path / "run"

    def write(tmp):
        (tmp / "figures").mkdir(parents=True)
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp / "figures" / "a.png"))

    assert _one_line_error(final, write) == f"cannot write {final / 'figures' / 'a.png'}: Permission denied"
    assert not list(tmp_path.iterdir()), "nothing half-written left"


def test_an_output_name_near_the_file_name_limit_is_written(tmp_path):
    """An output named with 245-255 bytes could not be written: its temporary sibling ``.NAME.tmpPID`` was over the
    255-byte limit (a raw OSError). Now the temporary carries a shortened stem; a stale one of a dead process is still
    removed, and another long name sharing the beginning keeps its own."""
    import os

    from cardiacml.utils import _temp_stem, atomic_path

    for n in (240, 250, 255):
        final = tmp_path / ("é" * ((n - 4) // 2) + "a" * ((n - 4) % 2) + ".csv")
        assert len(final.name.encode()) == n
        with atomic_path(final) as tmp:
            assert len(tmp.name.encode()) <= 255
            tmp.write_text("x")
        assert final.read_text() == "x" and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    a, b = "a" * 250 + ".csv", "a" * 250 + ".txt"
    assert _temp_stem(a) != _temp_stem(b) and _temp_stem("short.csv") == "short.csv"
    dead = 2 ** 22 + 12345  # above Linux's largest PID: no such process
    stale = tmp_path / f".{_temp_stem(a)}.tmp{dead}"
    stale.write_text("half")
    with atomic_path(tmp_path / a) as tmp:
        tmp.write_text("y")
    assert not stale.exists() and (tmp_path / a).read_text() == "y" and os.path.exists(tmp_path / a)


@pytest.mark.parametrize("args", [
    ["predict", "beats-ds1", "IN", "--out", "loop/x.csv"],
    ["predict", "beats-ds1", "IN", "--out", "ok.csv", "--html", "loop/p.html"],
    ["export", "beats-ds1", "--out", "loop/m.onnx"],
    ["evaluate", "beats-ds1", "--out", "loop/ev"],
])
def test_an_output_inside_a_loop_of_symbolic_links_is_one_line(tmp_path, monkeypatch, mitdb, args):
    """A path through a loop of symbolic links made Path.resolve raise RuntimeError ("Symlink loop", Python 3.11):
    a traceback calling itself a bug. Now one line naming the output."""
    monkeypatch.chdir(tmp_path)
    os.symlink("loop2", "loop")
    os.symlink("loop", "loop2")
    args = [str(mitdb / "100") if a == "IN" else a for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "symbolic links" in lines[0] and "Traceback" not in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop", "loop2"]


def test_a_link_planted_at_the_temporary_name_is_never_written_through(tmp_path):
    """The temporary sibling was ``.NAME.tmpPID``, a name known in advance: a link another user planted there (a shared
    folder) had the output written over the file it pointed to, and the output became that link. Now the temporary
    lies in a fresh folder of an unpredictable name; a stale one of a dead process is still removed, as are those of
    the earlier naming, and one of another output is kept."""
    from cardiacml.simulate.simulator import _save_atomic
    from cardiacml.utils import clean_stale_temps

    import numpy as np

    shared, victim = tmp_path / "shared", tmp_path / "victim.txt"
    shared.mkdir()
    victim.write_text("precious")
    for kind in ("tmp", "old"):
        os.symlink(victim, shared / f".out.csv.{kind}{os.getpid()}")
        os.symlink(victim, shared / f".a.npy.{kind}{os.getpid()}")
    with atomic_path(shared / "out.csv") as tmp:
        tmp.write_text("a,b\n")
    _save_atomic(shared / "a.npy", np.zeros(3))
    assert victim.read_text() == "precious"
    assert not (shared / "out.csv").is_symlink() and (shared / "out.csv").read_text() == "a,b\n"
    assert not (shared / "a.npy").is_symlink() and np.load(shared / "a.npy").tolist() == [0, 0, 0]
    dead = 2 ** 22 + 12345  # above Linux's largest PID: no such process
    stale = [shared / f".out.csv.abcd_123.tmp{dead}", shared / f".out.csv.tmp{dead}", shared / f".out.csv.old{dead}"]
    other = shared / f".out.csv.x.abcd_123.tmp{dead}"  # output "out.csv.x"
    for p in (*stale, other):
        p.mkdir()
    assert sorted(clean_stale_temps(shared, "out.csv")) == sorted(stale) and other.exists()


@pytest.mark.parametrize("failing", [1, 2])
def test_a_folder_output_that_cannot_be_moved_in_keeps_the_old_one(tmp_path, monkeypatch, failing):
    """Replacing a folder output moves the old one aside, then the new one in. When a move failed (a reader holding a
    file of it on Windows, a folder made at that name meanwhile), the old folder, moved into the temporary folder, was
    deleted with it: the output was gone and the error was a raw PermissionError. Now the old folder is put back and
    the error is one line naming the output."""
    import cardiacml.utils as utils

    out = tmp_path / "run"
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "run.json").write_text("old")
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(src)
        if len(calls) == failing:
            raise PermissionError(errno.EACCES, "Permission denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(utils.os, "replace", flaky)
    with pytest.raises(OutputError, match=r"cannot write .*run: Permission denied") as err:
        with atomic_path(out) as tmp:
            tmp.mkdir()
            (tmp / "run.json").write_text("new")
    assert "\n" not in str(err.value)
    assert (out / "run.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_stale_temporaries_are_never_probed_with_os_kill_on_windows(tmp_path, monkeypatch):
    """clean_stale_temps (run before every atomic write) probed a temporary's PID with os.kill(pid, 0), which on Windows
    is TerminateProcess: it killed the process of that PID (another cardiacml writing there, or any process that reused
    the number). There a temporary is now taken as its process's while it lasts (`cache clear` still removes it)."""
    import sys

    from cardiacml.utils import clean_stale_temps

    box = tmp_path / f".out.csv.abcd_123.tmp{os.getpid()}"
    box.mkdir()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(os, "kill", lambda *a: pytest.fail(f"os.kill{a} on Windows terminates the process"))
    assert clean_stale_temps(tmp_path, "out.csv") == [] and box.is_dir()
    with atomic_path(tmp_path / "out.csv") as tmp:
        tmp.write_text("a\n")
    assert (tmp_path / "out.csv").read_text() == "a\n" and box.is_dir()


def test_a_killed_write_inside_an_earlier_output_does_not_make_it_foreign(tmp_path):
    """A run folder holding the temporary of a write killed inside it (``.report.html.RANDOM.tmpPID/``, its process
    gone) was refused as "a folder holding files cardiacml did not write" when the run was written again. The dead
    process's temporary is removed; a live one's, or a user's file, still makes the folder foreign."""
    import subprocess
    import sys

    from cardiacml.errors import OutputError
    from cardiacml.utils import atomic_path, check_output_folder

    run = tmp_path / "run"
    with atomic_path(run) as tmp:
        tmp.mkdir()
        (tmp / "run.json").write_text("{}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run / f".report.html.abcd1234.tmp{dead.pid}"
    stale.mkdir()
    (stale / "report.html").write_text("half")
    assert check_output_folder(run) == run and not stale.exists()
    (run / f".report.html.abcd1234.tmp{os.getpid()}").mkdir()  # a write going on now
    (run / f".report.html.abcd1234.tmp{os.getpid()}" / "report.html").write_text("half")
    with pytest.raises(OutputError, match="holding files cardiacml did not write"):
        check_output_folder(run)
