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


def test_version_option():
    from cardiacml import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"cardiacml {__version__}"


def test_train_help_lists_every_task_with_its_registered_default_model():
    from cardiacml.tasks import get_task, list_tasks

    out = " ".join(runner.invoke(app, ["train", "--help"], terminal_width=200).output.split())
    for t in list_tasks():
        assert f"{t} " in out and f"default model {get_task(t).default_model};" in out
    assert "beats" in list_tasks() and "default model rhythmnet" in out


def test_start_here_points_to_the_beats_task_for_unseen_patients():
    out = runner.invoke(app, ["--help"]).output
    assert "train beats" in out and "--protocol interpatient" not in out and "cache info" in out


def test_models_listing_fits_the_terminal():
    res = runner.invoke(app, ["models"], env={"COLUMNS": "80"})
    assert res.exit_code == 0 and "tcn" in res.output
    assert max(len(line) for line in res.output.splitlines()) <= 80


def test_cache_info_and_clear_stay_inside_the_cache(tmp_path, monkeypatch):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (cache / "heartbeat").mkdir(parents=True)
    (cache / "heartbeat" / "a.npy").write_bytes(b"x" * 3000)
    (cache / "mitbih_beats.npz").write_bytes(b"y" * 10)
    (cache / ".mitbih_beats.npz.k2j3l4m5.tmp123").mkdir()  # atomic_path's temporary, left by a killed run
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    (cache / "link").symlink_to(outside, target_is_directory=True)
    (cache / "heartbeat" / "inner").symlink_to(outside, target_is_directory=True)
    (cache / "my_notes.txt").write_text("not cardiacml's")  # $CARDIACML_CACHE at a folder of one's own: it stays
    monkeypatch.setenv("CARDIACML_CACHE", str(cache))
    res = runner.invoke(app, ["cache", "info"])
    assert res.exit_code == 0 and str(cache) in res.output and "heartbeat/" in res.output and "3.0 KB" in res.output
    res = runner.invoke(app, ["cache", "clear"], input="n\n")
    assert "nothing deleted" in res.output and (cache / "mitbih_beats.npz").exists()
    res = runner.invoke(app, ["cache", "clear", "--yes"])
    assert res.exit_code == 0 and "freed" in res.output and "left 2 entries cardiacml did not write" in res.output
    assert cache.is_dir() and sorted(p.name for p in cache.iterdir()) == ["link", "my_notes.txt"]
    assert (outside / "keep.txt").read_text() == "mine"  # the link inside heartbeat/ was removed, not followed
    # a cache folder that is itself a link out is refused, nothing deleted
    monkeypatch.setenv("CARDIACML_CACHE", str(tmp_path / "cachelink"))
    (tmp_path / "cachelink").symlink_to(outside, target_is_directory=True)
    res = runner.invoke(app, ["cache", "clear", "--yes"])
    assert res.exit_code == 2 and "symbolic link" in res.output and (outside / "keep.txt").exists()


def test_default_output_names_derive_from_the_input():
    from types import SimpleNamespace

    from cardiacml.inference.predict import default_output

    beats = SimpleNamespace(kind="beat-rhythm", target_units="")
    act = SimpleNamespace(kind="ecg12", target_units="ms")
    vm = SimpleNamespace(kind="ecg12", target_units="mV")
    assert str(default_output("../shared/data/mitdb/100", beats)) == "100.beats.csv"
    assert str(default_output("/x/my_holter.edf", beats)) == "my_holter.beats.csv"
    assert str(default_output("signal.csv.gz", beats)) == "signal.beats.csv"
    assert str(default_output("data/s0010_re", act)) == "s0010_re.heart-act.csv"
    assert str(default_output("data/s0010_re", vm)) == "s0010_re.heart-vm.csv"


def test_predict_without_out_writes_a_file_named_after_the_input_in_the_current_folder(tmp_path, monkeypatch, shared):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["predict", "heart-act", str(shared / "wfdb_samples" / "s0010_re"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s0010_re.heart-act.csv").is_file() and not (tmp_path / "predictions.csv").exists()


def test_readme_commands_write_distinct_outputs():
    """Every predict command in README writes its own files: pasting the block whole replaces nothing."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    outputs = []
    for line in re.findall(r"^cardiacml predict .*$", readme, flags=re.M):
        args = shlex.split(line.split("#")[0])
        kind = "beats" if args[2].startswith("beats") else args[2]
        stem = Path(args[3]).name.split(".")[0]
        out = args[args.index("--out") + 1] if "--out" in args else f"{stem}.{kind}.csv"
        outputs.append(out)
        if "--html" in args:
            outputs.append(args[args.index("--html") + 1])
    assert len(outputs) >= 4 and len(outputs) == len(set(outputs)), outputs


@pytest.mark.parametrize("name", ["beats-ds1", "heart-act"])
def test_report_of_a_pretrained_name_has_no_empty_section_no_build_path_no_json_dump(tmp_path, monkeypatch, name):
    import re

    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["report", name])
    assert res.exit_code == 0, res.output
    page = (tmp_path / f"{name}-report.html").read_text()
    figures = page.split("<h2>Figures</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<img" in figures or "No static figures" in figures
    text = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"(?<![\w.:/])/(work|home|root|tmp|Users)/", text), "a build-machine path in the report"
    assert "<pre>{" not in page and "<th>setting</th>" in page
    if name == "heart-act":
        assert "first time Vm rises above 0 mV" in text


@pytest.mark.parametrize("taken", ["task4-tcn", "task2-beatnet"])
def test_demo_refuses_a_taken_run_folder_before_any_work(tmp_path, taken):
    """`demo --out D` where D/task4-tcn (or task2-beatnet) held a user's file simulated hearts and trained Task 3
    first (a minute quick, several full), then refused Task 4's folder, leaving D/task3-tcn behind."""
    (tmp_path / taken).mkdir()
    (tmp_path / taken / "notes.txt").write_text("mine")
    res = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path)])
    assert res.exit_code == 2 and f"{taken} is a folder holding files cardiacml did not write" in res.output, res.output
    assert "== task3" not in res.output and sorted(p.name for p in tmp_path.iterdir()) == [taken]


def test_a_cache_that_is_a_file_is_one_line_before_any_work(tmp_path, monkeypatch):
    """$CARDIACML_CACHE naming a file: `evaluate beats-ds1` raised FileExistsError (a traceback calling itself a bug),
    `train` rebuilt the MIT-BIH beats and then said "choose another output path", `cache info` said "(empty)"."""
    f = tmp_path / "f.txt"
    f.write_text("mine")
    for cache in (f, f / "sub"):
        monkeypatch.setenv("CARDIACML_CACHE", str(cache))
        for args in (["cache", "info"], ["cache", "clear", "--yes"],
                     ["evaluate", "beats-ds1", "--out", str(tmp_path / "ev")],
                     ["train", "task2", "--epochs", "1", "--max-train", "100", "--out", str(tmp_path / "run")]):
            res = runner.invoke(app, args)
            assert res.exit_code == 2 and "$CARDIACML_CACHE" in res.output and "is a file, not a folder" in res.output, \
                (args, res.output)
            assert "Traceback" not in res.output and "[records]" not in res.output
    assert f.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_every_api_name_the_readme_gives_exists():
    """README and CONTRIBUTING name modules, functions and constants in backticks (`cardiacml.ecg.rhythm.detect_af`,
    or short forms relative to cardiacml, cardiacml.ecg or cardiacml.inference: `ecg.detect.first_beats`,
    `rhythm.MIN_BEATS`): each must exist. README named `detect.tiny_detections`, which lives in ecg.nonbeats."""
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "README.md").read_text() + (root / "CONTRIBUTING.md").read_text()
    bases = ("cardiacml", "cardiacml.ecg", "cardiacml.inference")
    rooms = {"datasets"} | {m.name for b in bases for m in pkgutil.iter_modules(importlib.import_module(b).__path__)}
    # summary JSON keys written as group.key, not Python names; cardiacml.data is the removed 0.2 package
    not_api = {"rhythm.context_bridge_s", "rhythm.context_bridges", "rhythm.s_reassigned_to_n_in_bridges",
               "quality.low_quality_counts", "cardiacml.data"}

    def exists(dotted: str) -> bool:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                return False
            return True
        return False

    names = set(re.findall(r"`([A-Za-z_]\w*(?:\.\w+)+)(?:\([^`]*\))?`", text))
    checked = [n for n in names if n not in not_api and (n.split(".")[0] == "cardiacml" or n.split(".")[0] in rooms)
               and n.rsplit(".", 1)[1] not in ("py", "csv", "json", "md", "npz", "npy", "onnx", "html", "pt")]
    assert len(checked) >= 30, sorted(checked)
    missing = [n for n in checked
               if not any(exists(n if n.startswith("cardiacml.") else f"{b}.{n}") for b in bases)]
    assert not missing, f"README / CONTRIBUTING name what does not exist: {sorted(missing)}"


@pytest.mark.parametrize("command", [["train"], ["evaluate"], ["data", "build-beats"]])
def test_mitdb_help_names_the_folders_in_the_order_they_are_tried(command, tmp_path, monkeypatch):
    """`train --help` and `data build-beats --help` said "default ../shared/data/mitdb or $CARDIACML_MITDB", but a set
    $CARDIACML_MITDB wins over ../shared/data/mitdb (tasks.sources.find_mitdb)."""
    from cardiacml.tasks.sources import find_mitdb

    mine, near = tmp_path / "mine", tmp_path / "shared" / "data" / "mitdb"
    for d in (mine, near):
        d.mkdir(parents=True)
        (d / "RECORDS").write_text("100\n")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("CARDIACML_MITDB", str(mine))
    assert find_mitdb() == mine
    out = " ".join(runner.invoke(app, [*command, "--help"], terminal_width=200).output.split())
    text = out.split("--mitdb", 1)[1].split(" --", 1)[0]
    assert text.index("$CARDIACML_MITDB") < text.index("../shared/data/mitdb"), text
