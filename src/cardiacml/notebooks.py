"""The tutorials and task notebooks (``notebooks/*.py``, jupytext percent files) listed and run in a Jupyter kernel.

``cardiacml notebooks run [NAME] [--quick]`` needs the ``notebooks`` extra (``pip install -e ".[notebooks]"``:
jupytext, nbclient, ipykernel); each notebook is executed top to bottom in a fresh ``python3`` kernel and written,
with its outputs, as ``OUT/NAME.ipynb`` (atomically). ``--quick`` sets ``CARDIACML_QUICK=1`` in the kernel: smaller
data and fewer epochs, under 2 minutes per notebook on 2 cores.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import CardiacMLError, MissingDataError, MissingDependencyError, UsageError
from .utils import atomic_path, check_output

EXTRA = 'pip install -e ".[notebooks]"  (jupytext, nbclient, ipykernel)'


def notebooks_dir(folder: str | os.PathLike | None = None) -> Path:
    """The notebooks folder: ``folder``, ``$CARDIACML_NOTEBOOKS``, else ``notebooks/`` of the source checkout."""
    found = folder or os.environ.get("CARDIACML_NOTEBOOKS") or Path(__file__).resolve().parents[2] / "notebooks"
    found = Path(found)
    if not found.is_dir() or not any(found.glob("*.py")):
        raise MissingDataError(f"no notebooks in {found}: they ship with the source checkout (git clone the repository "
                               "and install it with pip install -e), or pass --dir NOTEBOOKS_FOLDER")
    return found


def list_notebooks(folder: str | os.PathLike | None = None) -> list[dict]:
    """Every notebook: name, title (its first heading) and the run time it states (``Run time: ...`` line)."""
    out = []
    for path in sorted(notebooks_dir(folder).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not re.search(r"^# %%", text, flags=re.M):  # a plain script, not a notebook in jupytext's percent format
            continue
        title = re.search(r"^# #\s+(.+)$", text, flags=re.M)
        runtime = re.search(r"^# \*\*Run time\*\*:?\s*(.+)$", text, flags=re.M)
        run_time = re.split(r"[(;]", runtime.group(1))[0].strip() if runtime else "not measured"
        full = (re.search(r"about ([\d.]+ min) full", text) or re.search(r"full mode takes ([^.;(\n]+)", text))
        if runtime and full:  # `notebooks run NAME` runs the full mode: say how long that takes too
            run_time += f", full {full.group(1).strip()}"
        out.append({"name": path.stem, "path": path, "title": title.group(1).strip() if title else path.stem,
                    "run_time": run_time})
    if not out:  # a folder of plain scripts (benchmarks/): say so, not an empty list
        raise UsageError(f"{notebooks_dir(folder)}: no notebook (a .py file in jupytext's percent format, '# %%' cells)")
    return out


def select(names: list[str] | None, folder=None) -> list[dict]:
    """The notebooks named (a unique prefix is enough: ``tutorial_2``), or all of them."""
    every = list_notebooks(folder)
    if not names:
        return every
    chosen = []
    for name in names:
        hits = [nb for nb in every if nb["name"] == name] or [nb for nb in every if nb["name"].startswith(name)]
        if len(hits) != 1:
            if hits:  # name the ones it could be, not all of them
                raise UsageError(f"notebook {name!r} matches several: {', '.join(nb['name'] for nb in hits)} "
                                 "(give more of the name)")
            raise UsageError(f"notebook {name!r} is not one of: {', '.join(nb['name'] for nb in every)}")
        chosen.append(hits[0])
    return chosen


def _require():
    try:
        import jupytext
        import nbclient
        import nbformat
    except ImportError as exc:
        raise MissingDependencyError(f"running notebooks needs {exc.name}: {EXTRA}") from None
    return jupytext, nbclient, nbformat


@contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failed_cell(nb) -> str:
    """``"cell N (first line): "`` for the code cell that failed (N counts code cells from 1, as ``In [N]``)."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = next((i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                  None)
    if failed is None:  # a timeout or a dead kernel: the last cell that started
        started = [i for i, c in enumerate(code) if c.get("execution_count") is not None]
        failed = started[-1] if started else None
    if failed is None:
        return ""
    first = next((ln.strip() for ln in code[failed].source.splitlines() if ln.strip()), "")
    return f"cell {failed + 1} ({first[:60]}): "


def run_notebook(path: str | os.PathLike, out_dir: str | os.PathLike, *, quick: bool = False,
                 timeout_s: int = 1200) -> tuple[Path, float]:
    """Execute one notebook in a fresh ``python3`` kernel; write ``OUT_DIR/NAME.ipynb``; return (path, seconds).

    The kernel's working folder is the notebook's own folder; its temporary files (``$TMPDIR``) are removed after
    the run. A failing cell raises a one-line
    :class:`CardiacMLError` naming the cell; the executed notebook (with the traceback) is still written.
    """
    jupytext, nbclient, nbformat = _require()
    from jupyter_client.kernelspec import NoSuchKernel

    path = Path(path)
    dest = check_output(Path(out_dir) / f"{path.stem}.ipynb")  # before the run, not after minutes of it
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    failure = None
    t0 = time.perf_counter()
    try:
        # the inline backend (ipykernel's own default, matplotlib-inline ships with it): figures are saved in the
        # notebook; "Agg" here drew every figure into nothing, and a user's MPLBACKEND (TkAgg...) would open windows
        # the kernel's temporary files (Tutorial 2's simulated hearts: 200 MB quick, about 500 MB full; the tasks' run
        # folders) go to a folder of this run, removed with it: only OUT_DIR (and the cardiacml cache) is written
        with tempfile.TemporaryDirectory(prefix="cardiacml-notebook-") as scratch, \
                _env(CARDIACML_QUICK="1" if quick else "0", MPLBACKEND="module://matplotlib_inline.backend_inline",
                     TMPDIR=scratch):
            client.execute()
    except NoSuchKernel:
        raise MissingDependencyError(f"no 'python3' Jupyter kernel: {EXTRA}, or python -m ipykernel install --user") from None
    except nbclient.exceptions.CellExecutionError as exc:
        lines = [ln for ln in re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines() if ln.strip()]
        failure = lines[-1] if lines else type(exc).__name__
    except nbclient.exceptions.CellTimeoutError:
        failure = f"a cell ran longer than {timeout_s} s"
    except nbclient.exceptions.DeadKernelError:  # out of memory, a crash in native code, os._exit: not a cardiacml bug
        failure = "the Jupyter kernel died (out of memory, or a crash in native code)"
    seconds = time.perf_counter() - t0
    if failure:
        failure = f"{_failed_cell(nb)}{failure}"
    with atomic_path(dest) as tmp:
        nbformat.write(nb, str(tmp))
    if failure:
        raise CardiacMLError(f"notebook {path.stem} failed after {seconds:.0f} s: {failure} (executed notebook with the "
                             f"traceback: {dest})")
    return dest, seconds
