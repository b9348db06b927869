"""The tutorials and task notebooks (jupytext percent files) run top to bottom in a Jupyter kernel, through the
documented command (`cardiacml notebooks run --quick`), each in under 2 minutes, each stating its run time."""

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cardiacml.cli import app

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
runner = CliRunner()


def _run_cells(tmp_path, name: str, title: str, *cells: str, out: str = "out"):
    """Write a one-off notebook ``name`` (a markdown title, then ``cells`` of code) into ``tmp_path/nb`` and run it
    with `cardiacml notebooks run --dir ... --out tmp_path/out`; the CLI result."""
    pytest.importorskip("nbclient")
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    (nbdir / f"{name}.py").write_text(f"# %% [markdown]\n# # {title}\n\n# %%\n" + "\n\n# %%\n".join(cells))
    return runner.invoke(app, ["notebooks", "run", "--dir", str(nbdir), "--out", str(tmp_path / out)])


def test_all_six_present_and_each_states_its_run_time():
    assert len(NOTEBOOKS) == 6
    for path in NOTEBOOKS:
        head = "\n".join(path.read_text().splitlines()[:8])
        assert re.search(r"^# \*\*Run time\*\*: \d+ s quick", head, flags=re.M), f"{path.name}: no run time at the top"


def test_notebooks_command_arguments():
    res = runner.invoke(app, ["notebooks", "list"])
    assert res.exit_code == 0 and all(p.stem in res.output for p in NOTEBOOKS) and "not measured" not in res.output
    res = runner.invoke(app, ["notebooks", "run", "nonexistent"])
    assert res.exit_code == 2 and "'nonexistent' is not one of" in res.output and "tutorial_1" in res.output
    res = runner.invoke(app, ["notebooks", "run", "task"])  # an ambiguous prefix
    assert res.exit_code == 2 and "matches several: task_1" in res.output and "tutorial" not in res.output, res.output
    res = runner.invoke(app, ["notebooks", "list", "--dir", "/nonexistent-folder"])
    assert res.exit_code == 2 and "no notebooks in /nonexistent-folder" in res.output
    res = runner.invoke(app, ["notebooks", "run", "tutorial_1", "--timeout", "0"])  # was accepted
    assert res.exit_code == 2 and "--timeout 0: a cell needs at least 1 s" in res.output


def test_missing_extra_is_a_one_line_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_nbclient(name, *a, **k):
        if name == "nbclient":
            raise ImportError("No module named 'nbclient'", name="nbclient")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_nbclient)
    res = runner.invoke(app, ["notebooks", "run", "tutorial_1", "--out", str(tmp_path)])
    assert res.exit_code == 2 and 'pip install -e ".[notebooks]"' in res.output and "Traceback" not in res.output
    assert not list(tmp_path.iterdir())


def test_a_failing_notebook_is_a_one_line_error_and_still_written(tmp_path):
    res = _run_cells(tmp_path, "broken", "Broken", "print('before')", "1 / 0\n")
    assert res.exit_code == 2 and "notebook broken failed" in res.output and "ZeroDivisionError" in res.output
    assert "cell 2 (1 / 0)" in res.output  # the failing cell is named, as run_notebook's docstring promises
    assert (tmp_path / "out" / "broken.ipynb").is_file()


def test_a_dead_kernel_is_a_one_line_error_and_still_written(tmp_path):
    res = _run_cells(tmp_path, "dies", "Dies", "print('before')", "import os\n\nos._exit(1)\n")
    assert res.exit_code == 2 and "notebook dies failed" in res.output and "kernel died" in res.output
    assert "Traceback" not in res.output and "bug in cardiacml" not in res.output
    assert (tmp_path / "out" / "dies.ipynb").is_file()


def test_the_notebooks_temporary_files_are_removed_after_the_run(tmp_path):
    """Tutorial 2 simulates hundreds of MB of hearts into tempfile.mkdtemp(): a run leaves nothing of it behind."""
    res = _run_cells(tmp_path, "temp", "Temp", "import os\nimport tempfile\n\n"
                     "d = tempfile.mkdtemp()\nopen(os.path.join(d, 'big.npy'), 'w').write('x')\n"
                     "open('../where.txt', 'w').write(d)  # the kernel runs in the notebook's folder\n")
    assert res.exit_code == 0, res.output
    where = (tmp_path / "where.txt").read_text()
    assert where and not os.path.exists(where), f"{where} left behind"


def test_an_unusable_output_is_refused_before_the_notebook_runs(tmp_path):
    (tmp_path / "afile").write_text("mine")
    res = _run_cells(tmp_path, "ran", "Ran", "open('../ran.txt', 'w').write('ran')\n", out="afile")
    assert res.exit_code == 2 and "is a file, not a folder" in res.output
    assert not (tmp_path / "ran.txt").exists(), "the notebook ran (minutes in full mode) before its output was refused"
    assert (tmp_path / "afile").read_text() == "mine"


def test_figures_are_saved_inline_in_the_executed_notebook(tmp_path):
    """The notebooks draw with matplotlib (plot_beat, plot_confusion, ...): their figures must be in the saved notebook."""
    res = _run_cells(tmp_path, "fig", "Figure", "import matplotlib.pyplot as plt\n\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])\n")
    assert res.exit_code == 0, res.output
    import nbformat

    nb = nbformat.read(str(tmp_path / "out" / "fig.ipynb"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the figure is missing from the saved notebook"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_in_quick_mode_under_two_minutes(path, tmp_path):
    pytest.importorskip("nbclient")
    import nbformat

    from cardiacml.notebooks import run_notebook

    dest, seconds = run_notebook(path, tmp_path, quick=True)
    print(f"{path.stem}: {seconds:.0f} s")
    nb = nbformat.read(str(dest), as_version=4)
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 2, "a tutorial explains itself"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "the notebook printed or showed something"
    assert seconds < 120, f"{path.stem} took {seconds:.0f} s in quick mode"
