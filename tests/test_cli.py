import subprocess
import sys

from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.io import open_record

runner = CliRunner()


def test_help_does_not_import_torch():
    code = "import sys; from cardiacml.cli import app; assert 'torch' not in sys.modules and 'vtk' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    r = subprocess.run([sys.executable, "-m", "cardiacml.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for cmd in ("train", "evaluate", "predict", "export", "report", "simulate", "demo", "data"):
        assert cmd in r.stdout


def test_subcommand_help():
    for args in (["data", "--help"], ["train", "--help"], ["data", "build-beats", "--help"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0 and "Usage" in res.output


def test_models_command():
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0 and "beatnet" in res.output and "tcn" in res.output


def test_data_check_and_errors(shared, tmp_path):
    res = runner.invoke(app, ["data", "check", str(shared / "kaggle_format" / "tami64_ECGformer__mitbih_train.csv")])
    assert res.exit_code == 0 and "10 beats" in res.output and "'N': 10" in res.output
    res = runner.invoke(app, ["data", "check", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "no such file" in res.output
    res = runner.invoke(app, ["train", "task2", "--protocol", "sideways"])
    assert res.exit_code == 2 and "protocol" in res.output


def test_build_beats_prints_kaggle_comparison(mitdb, tmp_path):
    res = runner.invoke(app, ["data", "build-beats", "--mitdb", str(mitdb), "--out", str(tmp_path / "b.npz")])
    assert res.exit_code == 0, res.output
    assert "Kaggle" in res.output and "90589" in res.output and "DS1" in res.output
    from cardiacml.datasets.mitbih import load_beats

    assert len(load_beats(tmp_path / "b.npz")) > 109000


def test_simulate_and_cache_commands(tmp_path):
    res = runner.invoke(app, ["simulate", "--n", "12", "--out", str(tmp_path), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["data", "cache", str(tmp_path)])
    assert res.exit_code == 0 and "12 simulations" in res.output
    res = runner.invoke(app, ["data", "check", str(tmp_path)])
    assert res.exit_code == 0 and "12 valid" in res.output


def test_progress_prints_periodic_lines_when_not_a_terminal(monkeypatch, capsys):
    import time

    from cardiacml.utils import progress

    monkeypatch.setenv("CARDIACML_PROGRESS", "")
    monkeypatch.setenv("CARDIACML_PROGRESS_EVERY", "0.01")
    for _ in progress(range(5), desc="work", unit="step"):
        time.sleep(0.02)
    err = capsys.readouterr().err
    assert "[work]" in err and "of 5" in err and "s left" in err


def test_help_starts_with_newcomer_commands_and_documents_every_option():
    r = runner.invoke(app, ["--help"])
    assert r.output.index("demo") < r.output.index("simulate") and "Start here" in r.output
    for cmd in ("train", "predict", "evaluate", "demo", "simulate", "export"):
        out = runner.invoke(app, [cmd, "--help"]).output
        opts = [ln.strip().split()[0] for ln in out.splitlines() if ln.strip().startswith("--") and not ln.strip().startswith("--help")]
        assert opts, cmd
        for ln in out.splitlines():
            s = ln.strip()
            if s.startswith("--") and not s.startswith("--help"):
                assert len(s.split()) > 2 or "[" in s, f"{cmd}: option without help: {s}"


def test_models_and_tasks_listings():
    r = runner.invoke(app, ["models"])
    assert r.exit_code == 0 and "55,013" in r.output and "task3" in r.output and "ecg12" in r.output
    r = runner.invoke(app, ["tasks"])
    assert r.exit_code == 0 and "interpatient" in r.output and "stimulus" in r.output


def test_user_errors_are_one_line_and_bugs_show_a_traceback(monkeypatch):
    """Only cardiacml's own errors are one-line user errors (exit 2); anything else is a bug: traceback, report request."""
    from typer.testing import CliRunner

    from cardiacml.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["train", "task9"])
    assert r.exit_code == 2 and r.output.strip().startswith("error: unknown task 'task9'") and "Traceback" not in r.output
    r = runner.invoke(app, ["train", "task2", "--hparam", "width"])
    assert r.exit_code == 2 and "--hparam expects KEY=VALUE" in r.output

    def bug(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("cardiacml.report.write_report", bug)
    r = runner.invoke(app, ["report", "somewhere"])
    assert r.exit_code == 1 and "Traceback" in r.output and "ZeroDivisionError: a bug" in r.output
    assert "this is a bug in cardiacml" in r.output and "please report it" in r.output


def test_outputs_named_as_users_write_them(tmp_path, mitdb):
    """A page bug hunt's list: report / export --out DIR/ write the default name inside (report wrote a file called
    DIR, export refused); an upper-case .ONNX is an ONNX model; a read-only summary is refused before any work (a new
    CSV was left beside the old summary); --html naming the summary is refused; a one-column CSV headed 'Lead II' reads;
    a time column's start is said; notebooks list gives the full-mode time too."""
    import os

    import numpy as np

    res = runner.invoke(app, ["report", "beats-ds1", "--out", f"{tmp_path / 'rep'}/"])
    assert res.exit_code == 0 and (tmp_path / "rep" / "beats-ds1-report.html").is_file(), res.output
    res = runner.invoke(app, ["export", "beats-ds1", "--out", f"{tmp_path / 'onx'}/"])
    assert res.exit_code == 0 and (tmp_path / "onx" / "beats-ds1.onnx").is_file(), res.output
    os.replace(tmp_path / "onx" / "beats-ds1.onnx", tmp_path / "Up.ONNX")
    x = open_record(mitdb / "100").read(0, 360 * 60, None)
    (tmp_path / "leadii.csv").write_text("Lead II\n" + "\n".join(f"{v:.3f}" for v in x) + "\n")
    res = runner.invoke(app, ["predict", str(tmp_path / "Up.ONNX"), str(tmp_path / "leadii.csv"), "--fs", "360",
                              "--out", str(tmp_path / "u.csv")])
    assert res.exit_code == 0 and "(Lead II, 360 Hz" in res.output, res.output
    (tmp_path / "v.summary.json").write_text("{}")
    (tmp_path / "v.summary.json").chmod(0o444)
    res = runner.invoke(app, ["predict", "beats-all", str(tmp_path / "leadii.csv"), "--fs", "360",
                              "--out", str(tmp_path / "v.csv")])
    assert res.exit_code == 2 and "v.summary.json is read-only" in res.output and not (tmp_path / "v.csv").exists()
    res = runner.invoke(app, ["predict", "beats-all", str(tmp_path / "leadii.csv"), "--fs", "360",
                              "--out", str(tmp_path / "w.csv"), "--html", str(tmp_path / "w.summary.json")])
    assert res.exit_code == 2 and "is the summary this run writes" in res.output
    t = 3600 + np.arange(len(x)) / 360
    (tmp_path / "t.csv").write_text("time_s,II\n" + "\n".join(f"{a:.5f},{b:.3f}" for a, b in zip(t, x)) + "\n")
    assert any("it starts at 3600 s" in n for n in open_record(tmp_path / "t.csv").notes)
    res = runner.invoke(app, ["notebooks", "list"])
    assert "about 2.5 min" in res.output or "full" in res.output


def test_train_protocol_help_names_every_task_and_protocol():
    """--protocol's help lists each task's split protocols (the beats task's were missing)."""
    import inspect
    import re

    from cardiacml.cli import train
    from cardiacml.tasks import get_task, list_tasks

    text = inspect.signature(train).parameters["protocol"].default.help
    for name in list_tasks():
        label = {"task3": "tasks 3-4", "task4": "tasks 3-4"}.get(name, name)
        m = re.search(re.escape(label) + r": ([a-z |]+?)[;.(]", text)
        assert m, f"--protocol help says nothing of {name}"
        assert set(get_task(name).protocols) == {p.strip() for p in m.group(1).split("|")}, name


def test_build_beats_never_writes_over_its_input_records(mitdb, tmp_path):
    import shutil

    src, mitdb = mitdb, tmp_path / "mitdb"
    mitdb.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(src / f"100.{ext}", mitdb)
        (mitdb / f"100.{ext}").chmod(0o644)
    (mitdb / "RECORDS").write_text("100\n")
    before = {p.name: p.read_bytes() for p in mitdb.iterdir()}
    for out in ("100.atr", "RECORDS"):
        res = runner.invoke(app, ["data", "build-beats", "--mitdb", str(mitdb), "--out", str(mitdb / out), "--jobs", "1"])
        assert res.exit_code == 2 and "input file" in res.output, res.output
    (tmp_path / "afile").write_text("x")
    res = runner.invoke(app, ["data", "build-beats", "--mitdb", str(mitdb), "--out", str(tmp_path / "b.npz"),
                              "--csv-dir", str(tmp_path / "afile"), "--jobs", "1"])
    assert res.exit_code == 2 and "afile is a file" in res.output, res.output
    assert not (tmp_path / "b.npz").exists()  # refused before any work: no half of the outputs
    (tmp_path / "folder").mkdir()
    res = runner.invoke(app, ["data", "build-beats", "--mitdb", str(mitdb), "--out", str(tmp_path / "folder"),
                              "--jobs", "1"])
    assert res.exit_code == 2 and "is a folder: build-beats writes one .npz file" in res.output, res.output
    res = runner.invoke(app, ["data", "build-beats", "--mitdb", str(mitdb), "--out", str(tmp_path / "b.npz"),
                              "--jobs", "0"])
    assert res.exit_code == 2 and "--jobs must be >= 1, got 0" in res.output, res.output
    assert {p.name: p.read_bytes() for p in mitdb.iterdir()} == before


def test_data_check_refuses_what_data_cache_refuses(tmp_path):
    res = runner.invoke(app, ["simulate", "--n", "3", "--out", str(tmp_path), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    folder = next(tmp_path.glob("data_hearts_dd_0p2*"))
    res = runner.invoke(app, ["data", "cache", str(tmp_path), "--out", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["data", "check", str(tmp_path / "cache")])
    assert res.exit_code == 0 and "3 simulations" in res.output, res.output
    for f in folder.glob("*_000002.npy"):  # a pair its simulations.csv lists is gone
        f.unlink()
    for cmd in ("check", "cache"):
        res = runner.invoke(app, ["data", cmd, str(tmp_path)])
        assert res.exit_code == 2 and "have no file pair" in res.output, (cmd, res.output)


def test_data_check_csv_with_blank_first_line_is_not_called_empty(tmp_path):
    row = ",".join(["0.5"] * 187 + ["1"])
    p = tmp_path / "lead_blank.csv"
    p.write_text("\n\n" + row + "\n" + row + "\n")
    res = runner.invoke(app, ["data", "check", str(p)])
    assert res.exit_code == 0 and "2 beats" in res.output and "'S': 2" in res.output, res.output
    p.write_text("\n\n1,2,3\n")
    res = runner.invoke(app, ["data", "check", str(p)])
    assert res.exit_code == 2 and "expected 188" in res.output and "empty" not in res.output, res.output
    p.write_text("\n \n")
    res = runner.invoke(app, ["data", "check", str(p)])
    assert res.exit_code == 2 and "empty" in res.output, res.output


def test_an_onnx_file_given_to_export_or_evaluate_is_named_as_one(tmp_path):
    res = runner.invoke(app, ["export", "beats-ds1", "--out", str(tmp_path / "m.onnx")])
    assert res.exit_code == 0, res.output
    for cmd in (["export", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "again.onnx")],
                ["evaluate", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "ev")]):
        res = runner.invoke(app, cmd)
        assert res.exit_code == 2 and "exported ONNX model" in res.output and "damaged" not in res.output, res.output
    assert not (tmp_path / "again.onnx").exists() and not (tmp_path / "ev").exists()


def test_evaluate_finds_a_run_relative_data_dir_from_another_folder(tmp_path, monkeypatch):
    import numpy as np

    rng = np.random.default_rng(0)
    data = tmp_path / "work" / "csvs"
    data.mkdir(parents=True)
    for name, n in (("mitbih_train.csv", 60), ("mitbih_test.csv", 20)):
        arr = np.concatenate([rng.random((n, 187)), (np.arange(n) % 2)[:, None]], axis=1)
        np.savetxt(data / name, arr, delimiter=",", fmt="%.6f")
    monkeypatch.chdir(tmp_path / "work")
    res = runner.invoke(app, ["train", "task2", "--data-dir", "csvs", "--epochs", "1", "--max-train", "40",
                              "--out", str(tmp_path / "run"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    res = runner.invoke(app, ["evaluate", str(tmp_path / "run"), "--threads", "1"])
    assert res.exit_code == 0 and "n=20" in res.output, res.output


def test_evaluate_reads_only_the_test_csv(tmp_path, monkeypatch):
    """`evaluate --data-dir DIR` parsed mitbih_train.csv too, which evaluation never uses: a folder holding only
    mitbih_test.csv was refused ("mitbih_train.csv not found") and a damaged training file stopped the evaluation."""
    import numpy as np

    import cardiacml.datasets.kaggle as hb

    rng = np.random.default_rng(0)

    def write(folder, name, n):
        folder.mkdir(exist_ok=True)
        arr = np.concatenate([rng.random((n, 187)), (np.arange(n) % 2)[:, None]], axis=1)
        np.savetxt(folder / name, arr, delimiter=",", fmt="%.6f")

    write(tmp_path / "csvs", "mitbih_train.csv", 60)
    write(tmp_path / "csvs", "mitbih_test.csv", 20)
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "task2", "--data-dir", str(tmp_path / "csvs"), "--epochs", "1",
                              "--max-train", "40", "--out", str(run), "--threads", "1"])
    assert res.exit_code == 0, res.output
    other = tmp_path / "other"
    write(other, "mitbih_test.csv", 30)
    read = []
    parse = hb.load_heartbeat_csv
    monkeypatch.setattr(hb, "load_heartbeat_csv", lambda path, *a, **k: read.append(path.name) or parse(path, *a, **k))
    for i, train_file in enumerate((None, "not,a,beat\n")):  # absent, then unreadable: neither is looked at
        if train_file:
            (other / "mitbih_train.csv").write_text(train_file)
        res = runner.invoke(app, ["evaluate", str(run), "--data-dir", str(other), "--out", str(tmp_path / f"ev{i}"),
                                  "--threads", "1"])
        assert res.exit_code == 0 and "n=30" in res.output, res.output
    assert read == ["mitbih_test.csv", "mitbih_test.csv"]
    res = runner.invoke(app, ["evaluate", str(run), "--threads", "1"])  # the run's own data: its test file only
    assert res.exit_code == 0 and "n=20" in res.output and read[-1] == "mitbih_test.csv" and len(read) == 3, res.output
    (other / "mitbih_test.csv").write_text("1,2\n")  # what evaluation does read is still checked: one line, the file
    res = runner.invoke(app, ["evaluate", str(run), "--data-dir", str(other), "--out", str(tmp_path / "ev2")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert f"{other / 'mitbih_test.csv'}, row 1: expected 188" in res.output, res.output
    (other / "mitbih_test.csv").unlink()
    res = runner.invoke(app, ["evaluate", str(run), "--data-dir", str(other), "--out", str(tmp_path / "ev2")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert f"mitbih_test.csv not found under {other}" in res.output and "mitbih_train" not in res.output, res.output


def test_data_cache_refuses_a_foreign_out_folder_before_reading_the_data(tmp_path, monkeypatch):
    res = runner.invoke(app, ["simulate", "--n", "2", "--out", str(tmp_path / "sim"), "--jobs", "1"])
    assert res.exit_code == 0, res.output
    import cardiacml.datasets.intracardiac as ic

    def never(*a, **k):
        raise AssertionError("the data was read before --out was checked")

    monkeypatch.setattr(ic, "load_simulation", never)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    (tmp_path / "afile").write_text("x")
    for out in ("mine", "afile"):
        res = runner.invoke(app, ["data", "cache", str(tmp_path / "sim"), "--out", str(tmp_path / out)])
        assert res.exit_code == 2 and str(tmp_path / out) in res.output, res.output
    assert (tmp_path / "mine" / "notes.txt").read_text() == "x" and (tmp_path / "afile").read_text() == "x"
    monkeypatch.undo()
    res = runner.invoke(app, ["data", "cache", str(tmp_path / "sim")])
    res = runner.invoke(app, ["data", "cache", str(tmp_path / "sim")])  # an existing cache is rebuilt in place
    assert res.exit_code == 0 and "2 simulations" in res.output, res.output


def test_report_on_a_broken_evaluation_says_to_evaluate_again(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    for name, n in (("mitbih_train.csv", 60), ("mitbih_test.csv", 20)):
        arr = np.concatenate([rng.random((n, 187)), (np.arange(n) % 2)[:, None]], axis=1)
        np.savetxt(tmp_path / name, arr, delimiter=",", fmt="%.6f")
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", "task2", "--data-dir", str(tmp_path), "--epochs", "1", "--max-train", "40",
                              "--out", str(run), "--threads", "1"])
    assert res.exit_code == 0, res.output
    (run / "eval").mkdir()
    (run / "eval" / "metrics.json").write_text("{bad")
    res = runner.invoke(app, ["report", str(run)])
    assert res.exit_code == 2 and "cardiacml evaluate" in res.output and "cardiacml train" not in res.output, res.output
