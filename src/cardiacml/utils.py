"""Small shared helpers: progress bars, seeding, atomic writes."""

from __future__ import annotations

import errno
import json
import os
import random
import re
import sys
from contextlib import contextmanager
from pathlib import Path


class _LogLines:
    """Minimal stand-in for a tqdm bar when stderr is not a terminal: one plain line every ``every`` seconds."""

    def __init__(self, iterable=None, total=None, desc=None, unit="it", every=30.0, initial=0, **_):
        import time

        self.iterable, self.total, self.desc, self.unit, self.every = iterable, total, desc or "progress", unit, every
        self.n = initial
        self.t0 = self.last = time.time()
        self.postfix = ""
        self._finished = False
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)

    def __iter__(self):
        for x in self.iterable:
            yield x
            self.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, k=1):
        import time

        self.n += k
        now = time.time()
        if now - self.last >= self.every or (self.total and self.n >= self.total and not self._finished):
            self.last = now
            self._finished = bool(self.total and self.n >= self.total)
            self._line(now)

    def _line(self, now):
        rate = self.n / max(now - self.t0, 1e-9)
        left = ""
        if self.total:
            left = (f" of {self.total:,.0f} ({100 * self.n / self.total:.0f} %), about "
                    f"{(self.total - self.n) / max(rate, 1e-9):.0f} s left")
        print(f"[{self.desc}] {self.n:,.0f}{left}, {rate:,.1f} {self.unit}/s {self.postfix}".rstrip(), file=sys.stderr,
              flush=True)

    def set_postfix(self, refresh=True, **kw):
        self.postfix = " ".join(f"{k}={v}" for k, v in kw.items())

    def set_description(self, desc):
        self.desc = desc

    def close(self):
        pass


def progress(iterable=None, *, total=None, desc=None, unit="it", disable=None, every_s: float | None = None, **kw):
    """A progress bar: tqdm on a terminal; elsewhere (logs, CI) a plain line every ``every_s`` seconds.

    The one progress reporter of cardiacml (training epochs, simulation, record scans, prediction).
    ``CARDIACML_PROGRESS=0`` silences it, ``=1`` forces tqdm. ``disable=True`` silences it too.
    Log lines every ``every_s`` seconds, else ``CARDIACML_PROGRESS_EVERY`` (default 30); the last
    line is printed when the work completes.
    """
    from tqdm.auto import tqdm

    forced = os.environ.get("CARDIACML_PROGRESS")
    if disable is True or forced == "0":
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=True, **kw)
    if forced == "1" or sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, dynamic_ncols=True, **kw)
    every = float(every_s if every_s is not None else os.environ.get("CARDIACML_PROGRESS_EVERY", "30"))
    return _LogLines(iterable, total=total, desc=desc, unit=unit, every=every, initial=kw.get("initial", 0))


def worker_context():
    """The multiprocessing context for cardiacml's worker pools: a fork server (spawn where there is none), never a
    fork of the calling process. A caller may have torch's or BLAS's threads running (training, a notebook, the test
    suite), and a forked child of a threaded process can deadlock or die (a ``multiprocessing.Pool`` then waits for the
    lost work forever)."""
    import multiprocessing as mp

    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def cpu_cores() -> int:
    """The CPU cores this process may run on: its affinity mask (a container's or ``taskset``'s limit), not the
    machine's count (``os.cpu_count``), which a container limited to 2 of 64 cores reports as 64."""
    if hasattr(os, "process_cpu_count"):  # Python 3.13
        return os.process_cpu_count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def resolve_threads(threads: int | None = None) -> int:
    """CPU threads to use (PyTorch, onnxruntime).

    ``threads`` if given, else ``$CARDIACML_THREADS``, else the cores left idle by other
    processes: ``cores - round(1-minute load average)`` (:func:`cpu_cores`), at least 1. On a busy machine
    PyTorch's default (one thread per core) fights the other processes for every core and
    can run tens of times slower; see benchmarks/bench_threads.py for the measurement.
    A count below 1 is refused (UsageError); one above the cores this process may run on (:func:`cpu_cores`) is cut
    to them, with a warning (more threads than cores only fight each other).
    """
    from .errors import UsageError

    n = cpu_cores()
    given, what = threads, "--threads"
    if given is None and os.environ.get("CARDIACML_THREADS"):
        given, what = os.environ["CARDIACML_THREADS"], "$CARDIACML_THREADS"
    if given is not None:
        try:
            count = int(given) if not isinstance(given, (bool, float)) or float(given).is_integer() else None
        except ValueError:
            count = None
        if isinstance(given, bool) or count is None or count < 1:
            raise UsageError(f"{what} must be a whole number of threads, 1 or more (leave it out for the default), "
                             f"got {given!r}")
        if count > n:
            import warnings

            warnings.warn(f"{what} {count}: this process may run on {n} CPU cores; using {n}", stacklevel=2)
        return min(count, n)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        load = 0.0
    return max(1, min(n, n - int(round(load))))


def format_percentile(p: float) -> str:
    """A percentile as the console and the pages show it: whole numbers, one decimal at the ends (99.8 is not 100,
    0.3 is not 0)."""
    return f"{p:.1f}" if p > 99.5 or p < 0.5 else f"{p:.0f}"


def format_duration(seconds: float) -> str:
    """A duration (or a time into a recording) as the console and the pages say it: ``9.5 s`` under a minute,
    ``12 min 04 s``, ``1 h 29 min 59 s``."""
    s = float(seconds)
    if round(s, 1) < 60:
        return f"{s:.1f} s"
    s = int(round(s))
    return f"{s // 3600:d} h {s % 3600 // 60:02d} min {s % 60:02d} s" if s >= 3600 else f"{s // 60:d} min {s % 60:02d} s"


def silent(*_args, **_kwargs) -> None:
    """A log function that says nothing (processes of a distributed run other than rank 0)."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if imported) PyTorch random generators."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


#: a file every output folder written through :func:`atomic_path` holds: a folder with it may be replaced whole
OUTPUT_MARKER = ".cardiacml-output"


#: names cardiacml writes in its output folders (runs, evaluations, caches), and its sub-folders: what a folder of an
#: earlier version (no marker, or a marker without its list of files) is taken to hold
CARDIACML_NAMES = frozenset({
    OUTPUT_MARKER, "run.json", "metrics.json", "model.pt", "last.pt", "model.onnx", "history.json", "examples.npz",
    "report.html", "run_args.json", "confusion.json", "captions.json", "index.json", "meta.json", "meta.csv",
    "names.txt", "simulations.csv", "ecg.npy", "act.npy", "vm.npy", "y.npy", "offset.npy", "comparison.txt",
    "examples_error.txt", "heart_render_error.txt"})
CARDIACML_SUBFOLDERS = frozenset({"figures", "eval", "examples"})


def _is_late_output(name: str) -> bool:
    """What other commands add to a run folder after it was written: ``report`` (``report.html``, a large report's
    ``*_interactive.html``) and ``export`` (``model.onnx``)."""
    return name in ("report.html", "model.onnx") or name.endswith("_interactive.html")


def _manifest(folder: Path) -> frozenset | None:
    """The files (relative, posix) the marker of ``folder`` lists as written with it; None for a marker of an earlier
    version (empty) or an unreadable one."""
    try:
        text = (folder / OUTPUT_MARKER).read_text()
        return frozenset(json.loads(text)["files"]) if text.strip() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_marker(folder: Path) -> None:
    """The marker of a folder written through :func:`atomic_path`, listing the files it was written with."""
    files = sorted(q.relative_to(folder).as_posix() for q in folder.rglob("*") if not q.is_dir()
                   and q.name != OUTPUT_MARKER)
    (folder / OUTPUT_MARKER).write_text(json.dumps({"files": files}))


def add_to_output(folder: str | os.PathLike, *files) -> None:
    """List ``files`` (paths inside ``folder``) in the marker of the output folder cardiacml wrote, after the fact (a
    figure added to a run folder once it was saved): they count as cardiacml's when the folder is replaced."""
    folder = Path(folder)
    listed = _manifest(folder)
    if listed is None:
        return
    extra = {Path(f).resolve().relative_to(folder.resolve()).as_posix() for f in files}
    (folder / OUTPUT_MARKER).write_text(json.dumps({"files": sorted(set(listed) | extra)}))


def _foreign_files(folder: Path, new: Path | None = None) -> list[Path]:
    """Files of ``folder`` cardiacml did not write (relative paths): not rewritten by ``new``, not listed by the marker
    of the innermost marked folder holding them (a run's ``eval/``, a cache's window folder carry their own), not
    what a later command adds to a run folder (:func:`_is_late_output`). Dates are not trusted (``mv``, ``cp -p``,
    ``rsync -a`` and archives keep old ones). Under a marker of an earlier version, or none (a folder of an earlier
    version holding ``run.json`` / ``metrics.json``), only cardiacml's names count: :data:`CARDIACML_NAMES` at the top
    of the marked folder, anything under :data:`CARDIACML_SUBFOLDERS`."""
    rewritten = ({q.relative_to(new).as_posix() for q in new.rglob("*") if not q.is_dir()}
                 if new is not None and new.is_dir() else set())
    manifests: dict = {}
    out = []
    for q in folder.rglob("*"):
        if q.is_dir() and not q.is_symlink():  # a link to a folder is the user's entry too (deleted with the folder)
            continue
        rel = q.relative_to(folder)
        if rel.as_posix() in rewritten:
            continue
        home = next((d for d in [q.parent, *q.parent.parents] if (d / OUTPUT_MARKER).is_file() or d == folder), folder)
        inner = q.relative_to(home)
        if home not in manifests:
            manifests[home] = _manifest(home) if (home / OUTPUT_MARKER).is_file() else None
        listed = manifests[home]
        if inner.name == OUTPUT_MARKER and len(inner.parts) == 1:
            continue
        if listed is not None:
            if inner.as_posix() in listed or (len(inner.parts) == 1 and _is_late_output(inner.name)):
                continue
        elif ((len(inner.parts) == 1 and (inner.name in CARDIACML_NAMES or _is_late_output(inner.name)))
              or inner.parts[0] in CARDIACML_SUBFOLDERS):
            continue
        out.append(rel)
    return sorted(out)


def _own_folder(folder: Path, new: Path) -> bool:
    """True if ``folder`` may be replaced by ``new``: empty, or holding no file cardiacml did not write
    (:func:`_foreign_files`). A folder with neither the marker nor a run's / evaluation's files must be rewritten
    file for file."""
    if any((folder / n).is_file() for n in (OUTPUT_MARKER, "run.json", "metrics.json")):
        return not _foreign_files(folder, new)
    old = {p.relative_to(folder) for p in folder.rglob("*") if not p.is_dir() or p.is_symlink()}
    return old <= {p.relative_to(new) for p in new.rglob("*") if not p.is_dir()}


def _foreign_note(folder: Path, new: Path | None = None) -> str:
    files = _foreign_files(folder, new)
    return f" ({', '.join(map(str, files[:3]))}{', ...' if len(files) > 3 else ''})" if files else ""


def check_output(path: str | os.PathLike, inputs=(), *, what: str = "output") -> Path:
    """Refuse an output path that would destroy something of the user's; returns it as a Path.

    The one guard of every write (also applied by :func:`atomic_path`): an output that is a symbolic link,
    a device or other non-regular file, a read-only file (no write permission bit: checked on the mode, so also
    as root), or that resolves to one of ``inputs`` (files the command reads; a WFDB record ``DIR/100`` also
    covers its ``.hea``/``.dat``/``.atr`` files) raises :class:`~cardiacml.errors.OutputError`; so does a path
    that cannot be looked up (a folder name too long for the file system...), naming the part that failed.
    """
    from .errors import OutputError

    path = Path(path)
    try:
        _check_output_path(path, what)
        target = path.resolve()
    except OutputError:
        raise
    except OSError as exc:  # a name too long, a folder that cannot be searched...: the path that failed, and why
        where = exc.filename or path
        if exc.errno == errno.ENAMETOOLONG:  # the system names the whole path: the part too long
            long = _too_long_part(path)
            where = f"{where} ({long} is {len(os.fsencode(long.name))} bytes)" if long is not None else where
        raise OutputError(f"{what} {path}: cannot look up {where}: {exc.strerror or exc}") from None
    except RuntimeError:  # Path.resolve before Python 3.13 on a loop of symbolic links (3.13: OSError ELOOP, above)
        raise OutputError(f"{what} {path}: cannot look up {path}: {os.strerror(errno.ELOOP)}") from None
    for inp in inputs:
        if inp is None:
            continue
        inp = Path(inp)
        candidates = [inp] + [inp.with_name(inp.name + ext) for ext in (".hea", ".dat", ".atr")]
        for c in candidates:
            if c.exists() and c.resolve() == target:
                raise OutputError(f"{what} {path} is the input file {c}: refusing to overwrite it (choose another "
                                  "output name)")
    return path


def _too_long_part(path: Path) -> Path | None:
    """The first folder or file of ``path`` whose name is longer than its file system allows, else None."""
    parts = [*reversed(path.parents), path]
    for k, part in enumerate(parts[1:], 1):
        try:
            limit = os.pathconf(next(q for q in reversed(parts[:k]) if q.is_dir()), "PC_NAME_MAX")
        except (OSError, ValueError, StopIteration):
            limit = 255
        if len(os.fsencode(part.name)) > limit:
            return part
    return None


def _check_output_path(path: Path, what: str) -> None:
    """:func:`check_output`'s checks of ``path`` itself and its folders (OSErrors of looking them up propagate)."""
    import stat

    from .errors import OutputError

    if path.is_symlink():
        raise OutputError(f"{what} {path} is a symbolic link: refusing to replace it (give a plain file name)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{what} {path}: {parent} is a file, not a folder (choose another output path)")
            break
    if path.exists():
        mode = path.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise OutputError(f"{what} {path} is a device or special file, not a regular file: refusing to write it")
        if stat.S_ISREG(mode) and not mode & 0o222:
            raise OutputError(f"{what} {path} is read-only: refusing to replace it (make it writable or choose "
                              "another name)")


def _not_the_current_folder(path: Path, what: str = "") -> None:
    """An output to be replaced whole may not be the current folder or one holding it ("." has no name to put a
    temporary sibling beside, and replacing it would pull the working folder away): one-line OutputError."""
    from .errors import OutputError

    cwd, here = Path.cwd().resolve(), resolved(path)
    if here == cwd or here in cwd.parents:
        raise OutputError(f"{what + ' ' if what else ''}{path} is the current folder or holds it: refusing to replace "
                          "it (give a folder of its own, e.g. ./out)")


def check_output_folder(path: str | os.PathLike, ours=("run.json", "metrics.json"), *, what: str = "--out") -> Path:
    """Refuse, before any work, an output folder that holds files cardiacml did not write.

    A missing or empty folder, one with the :data:`OUTPUT_MARKER`, or one of an earlier cardiacml (holding one
    of ``ours``) passes; :func:`atomic_path` checks again, file by file, before replacing it.
    """
    from .errors import OutputError

    path = check_output(path, what=what)
    _not_the_current_folder(path, what)
    if path.is_dir() and any((path / n).exists() for n in (OUTPUT_MARKER, *ours)):
        clean_stale_temps(path)  # a killed write inside an earlier output of ours (.report.html.RANDOM.tmpPID/)
    if path.is_dir() and any(path.iterdir()) and (not any((path / n).exists() for n in (OUTPUT_MARKER, *ours))
                                                  or _foreign_files(path)):
        raise OutputError(f"{what} {path} is a folder holding files cardiacml did not write{_foreign_note(path)}: "
                          "refusing to replace it (move them away or choose another folder)")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} is a file, not a folder: choose another output folder")
    return path


def as_path(value, what: str = "path") -> Path:
    """``value`` as a :class:`~pathlib.Path`: a str or os.PathLike that is not empty. Anything else (None, a number,
    bytes, an array) is a one-line :class:`~cardiacml.errors.UsageError` naming the argument (``Path(None)`` was a
    TypeError from pathlib; ``""`` read as the current folder)."""
    if isinstance(value, (str, os.PathLike)) and str(value).strip() != "":
        return Path(value)
    from .errors import UsageError

    if isinstance(value, (str, os.PathLike)):
        raise UsageError(f"{what} is empty: give a path")
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise UsageError(f"{what} must be a str or pathlib.Path, got {type(value).__name__} {shown}")


def resolved(path: str | os.PathLike) -> Path:
    """``Path(path).resolve()``, or the absolute path where it cannot be resolved (a loop of symbolic links: a
    RuntimeError before Python 3.13, an OSError after), for comparing paths before :func:`check_output` names the
    problem in one line."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def check_distinct_outputs(**outputs) -> None:
    """Refuse two options naming the same output file (``--out X --html X``)."""
    from .errors import OutputError

    seen = {}
    for opt, p in outputs.items():
        if p is None:
            continue
        r = resolved(p)
        if r in seen:
            raise OutputError(f"--{seen[r]} and --{opt} both name {p}: give them different files")
        seen[r] = opt.replace("_", "-")


@contextmanager
def atomic_path(final: str | os.PathLike):
    """Yield a temporary sibling path; move it onto ``final`` only if the block succeeds.

    A crash or Ctrl-C never leaves a half-written file or folder under the final name:
    the temporary path is removed on any exception (KeyboardInterrupt included), and
    one left behind by a killed process is removed by :func:`clean_stale_temps`.
    ``tmp`` may be a file or a directory. It lies in a fresh folder of an unpredictable name
    (``.NAME.RANDOM.tmpPID``, made by :func:`tempfile.mkdtemp`, readable by its owner only) beside ``final``:
    a link planted at a name known in advance could have redirected the write to a file elsewhere. An existing directory at ``final`` is replaced
    whole: it is first renamed aside, the new one renamed in, then the old one deleted,
    so at every instant ``final`` is either the complete old or the complete new folder.

    Raises
    ------
    OutputError
        ``final`` may not be written (:func:`check_output`), or writing it failed: one line saying what failed
        and where, with the system's reason: creating or reading its folder (``cannot create folder DIR for output
        FINAL: ...``, naming the folder that failed, which may be one above ``final``'s), or writing ``final`` or a
        file of the folder written (``cannot write PATH: ...``).
    """
    import shutil
    import tempfile

    from .errors import OutputError

    final = check_output(final)
    _not_the_current_folder(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(_folder_error(exc, final, "create folder")) from None
    try:
        clean_stale_temps(final.parent, final.name)
    except OSError as exc:
        raise OutputError(_folder_error(exc, final, "read folder")) from None
    try:
        box = Path(tempfile.mkdtemp(prefix=f".{_temp_stem(final.name)}.", suffix=f".tmp{os.getpid()}",
                                    dir=final.parent))
    except OSError as exc:  # a folder the user may not write in, a full disk...: said of the output, as a write's
        raise OutputError(f"cannot write {final}: {exc.strerror or exc}") from None
    tmp = box / final.name
    try:
        try:
            yield tmp
        except OSError as exc:
            _raise_write_error(exc, final, tmp)
            raise
        if tmp.is_dir() and final.is_dir():
            if not _own_folder(final, tmp):
                raise OutputError(f"{final} is a folder holding files cardiacml did not write{_foreign_note(final, tmp)}: "
                                  "refusing to replace it (move them away or choose another output folder)")
            _write_marker(tmp)
            old = box / ("old" if final.name != "old" else "old2")
            try:
                os.replace(final, old)
                try:
                    os.replace(tmp, final)
                except OSError:
                    os.replace(old, final)  # the old folder back under its name: never deleted with the box
                    raise
            except OSError as exc:  # a reader holding a file of it (Windows), a folder made there meanwhile...
                _raise_write_error(exc, final, tmp)
                raise
        else:
            if tmp.is_dir():
                _write_marker(tmp)
            if final.exists() and tmp.is_dir() != final.is_dir():
                raise OutputError(f"{final} exists and is a {'folder' if final.is_dir() else 'file'}: refusing to "
                                  "replace it (choose another output name)")
            try:
                os.replace(tmp, final)
            except OSError as exc:
                _raise_write_error(exc, final, tmp)
                raise
    finally:
        shutil.rmtree(box, ignore_errors=True)


#: errno values that only a write gives (disk full, quota, read-only file system, file too large)
_WRITE_ERRNOS = {getattr(errno, n) for n in ("ENOSPC", "EDQUOT", "EROFS", "EFBIG") if hasattr(errno, n)}


def _folder_error(exc: OSError, final: Path, doing: str) -> str:
    """The one-line message of an OSError met preparing the folder of output ``final``.

    Parameters
    ----------
    exc : OSError
        The error; its ``filename`` is the path that failed (a folder above ``final``'s when ``mkdir`` created
        several).
    final : Path
        The output.
    doing : {"create folder", "read folder"}
        The step that failed: creating ``final``'s folder, or listing it for stale temporaries (removing one
        that a killed run left is said so).

    Returns
    -------
    str
        ``cannot DOING PATH for output FINAL: REASON``.
    """
    where = Path(exc.filename) if exc.filename is not None else final.parent
    if doing == "read folder" and where != final.parent:
        doing = "remove the stale temporary"
    why = exc.strerror or str(exc)
    if exc.errno == errno.EEXIST:  # mkdir of a name taken by something that is not a folder: a broken link
        try:
            if where.is_symlink():
                why += f" ({where} is a symbolic link to {os.readlink(where)}, which does not exist)"
        except OSError:
            pass
    return f"cannot {doing} {where} for output {final}: {why}"


def _raise_write_error(exc: OSError, final: Path, tmp: Path) -> None:
    """Raise a one-line OutputError for an OSError of writing ``final`` (through ``tmp``): permission denied, disk
    full, read-only file system...; return (the caller re-raises ``exc``) for an error of something else, e.g. reading
    an input inside the block, or one of cardiacml's own errors.

    The message names the path that failed: ``final``, the file of a folder output (``tmp/a/b`` is said as
    ``final/a/b``), or a folder above ``final`` (``cannot write in folder DIR for output FINAL``)."""
    from .errors import CardiacMLError, OutputError

    if isinstance(exc, CardiacMLError) or exc.errno is None:
        return
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    inside = [n for n in names if n.startswith(str(tmp) + os.sep)]
    parents = [n for n in names if Path(n) in final.parents]
    ours = inside or parents or any(n in (str(tmp), str(final)) for n in names)
    if exc.errno in _WRITE_ERRNOS or ours:
        why = exc.strerror or exc
        if parents:
            raise OutputError(f"cannot write in folder {parents[0]} for output {final}: {why}") from None
        target = final / Path(inside[0]).relative_to(tmp) if inside else final
        raise OutputError(f"cannot write {target}: {why}") from None


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still exist (its temporaries are then kept). On Windows always True: ``os.kill(pid,
    0)`` is TerminateProcess there, not a probe."""
    if sys.platform == "win32":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: Longest stem (bytes) of a temporary sibling's name: ``.STEM.RANDOM.tmpPID`` must fit a file name (255 bytes on
#: Linux, macOS and Windows file systems) with mkdtemp's 8 random characters and a PID of up to 10 digits.
_TEMP_STEM_BYTES = 255 - len(".") - len(".") - 8 - len(".tmp") - 10


def _temp_stem(name: str) -> str:
    """The output's name as its temporary siblings carry it (``.STEM.RANDOM.tmpPID``): the name itself, or,
    when that would not fit a file name (an output named with 241-255 bytes), its first bytes then ``~`` and the
    CRC-32 of the whole name, so that two long names sharing a beginning still get their own temporaries."""
    import zlib

    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= _TEMP_STEM_BYTES:
        return name
    head = raw[:_TEMP_STEM_BYTES - 9].decode("utf-8", "ignore")  # a character cut in two is dropped
    return f"{head}~{zlib.crc32(raw) & 0xFFFFFFFF:08x}"


def _temp_of(found: str, stem: str) -> bool:
    """Whether a temporary's name part ``found`` (``STEM`` or ``STEM.RANDOM``) is that of the output of stem ``stem``."""
    return found == stem or (len(found) == len(stem) + 9 and found.startswith(stem + ".")
                             and re.fullmatch(r"[a-z0-9_]{8}", found[-8:]) is not None)


def clean_stale_temps(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove temporary siblings (``.NAME.RANDOM.tmpPID``; ``.NAME.tmpPID`` / ``.NAME.oldPID`` of earlier versions)
    left by killed processes; with ``name``, only those of output ``name``.

    Only entries whose process no longer exists are removed. Returns what was removed.
    """
    import shutil

    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)(?P<pid>\d+)$")
    removed = []
    for p in folder.iterdir():
        m = pattern.match(p.name)
        if not m or (name is not None and not _temp_of(m["name"], _temp_stem(name))) or _pid_alive(int(m["pid"])):
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def file_checksum(path: str | os.PathLike, chunk: int = 1 << 24) -> str:
    """CRC-32 of a file's bytes as 8 hex digits (fast: about 2 GB/s; guards caches against changed bytes)."""
    import zlib

    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            crc = zlib.crc32(block, crc)
    return f"{crc & 0xFFFFFFFF:08x}"


@contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt (so cleanup code runs as for Ctrl-C)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def default_cache_dir() -> Path:
    """Cache directory: $CARDIACML_CACHE, else $XDG_CACHE_HOME/cardiacml, else ~/.cache/cardiacml.

    One that is a file, or lies under one, is a one-line UsageError (evaluate raised FileExistsError from mkdir, a
    traceback; train rebuilt the MIT-BIH beats first and then told the user to choose another output path)."""
    env = os.environ.get("CARDIACML_CACHE")
    if env:
        path = Path(env)
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cardiacml"
    first = path
    while not first.exists() and first != first.parent:  # the first part of it that exists must be a folder
        first = first.parent
    if first.exists() and not first.is_dir():
        from .errors import UsageError

        where = "$CARDIACML_CACHE" if env else "the cache folder"
        raise UsageError(f"{where} {path}: {first} is a file, not a folder; point $CARDIACML_CACHE at a folder")
    return path

