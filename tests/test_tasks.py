"""Task registry: every task is complete and consistent, loaders take explicit options and refuse the others."""

import pytest

from cardiacml.errors import UsageError
from cardiacml.tasks import get_task, list_tasks, load_task


def test_every_task_names_things_that_exist():
    from cardiacml.training.losses import LOSSES
    from cardiacml.viz.figures import FIGURES

    assert set(list_tasks()) == {"task1", "task2", "beats", "task3", "task4"}
    for name in list_tasks():
        s = get_task(name)
        assert s.figures in FIGURES, name
        assert s.loss in LOSSES, name
        assert s.protocols and s.intended_use and s.default_model
        assert set(s.loader_options()) <= {"data_dir", "mitdb", "n_sim", "lazy", "window_version"}, name


def test_unknown_names_and_options_are_usage_errors():
    with pytest.raises(UsageError, match="unknown task 'task9'"):
        get_task("task9")
    with pytest.raises(UsageError, match="protocol 'stimulus' is not one of"):
        load_task("task2", protocol="stimulus")
    with pytest.raises(UsageError, match="task2 does not take --lazy"):
        load_task("task2", lazy=True)
    with pytest.raises(UsageError, match="beats does not take --data-dir"):
        load_task("beats", data_dir="somewhere")
    with pytest.raises(UsageError, match="task3 does not take --mitdb"):
        load_task("task3", mitdb="somewhere")


def test_old_runs_stored_every_option():
    """cardiacml 0.2 stored n_sim and lazy for every task: they are dropped where the task does not take them."""
    from cardiacml.training.run import stored_data_args

    old = {"data_dir": None, "mitdb": "m", "protocol": "random", "seed": 0, "n_sim": 2000, "max_train": None,
           "max_eval": None, "lazy": False, "task": "task2"}
    assert stored_data_args("task2", old) == {"data_dir": None, "mitdb": "m", "protocol": "random", "seed": 0,
                                              "max_train": None, "max_eval": None}
    assert stored_data_args("task3", old)["n_sim"] == 2000


def test_models_serve_the_tasks_their_contract_allows():
    from cardiacml.catalog import model_catalog, tasks_served
    from cardiacml.models import get_spec

    for e in model_catalog():
        assert tasks_served(e) == get_spec(e["name"]).tasks(), e["name"]
    assert "beats" in get_spec("rhythmnet").tasks() and "task2" not in get_spec("rhythmnet").tasks()
    assert set(get_spec("tcn").tasks()) == {"task3", "task4"}


def test_heart_input_windows_same_with_worker_processes_and_without(tmp_path, monkeypatch):
    """The 12-lead training windows built by 2 worker processes (fork server / spawn, never a fork of this threaded
    process) equal the ones built in this process."""
    import numpy as np

    from cardiacml.datasets.intracardiac import open_dataset
    from cardiacml.simulate import simulate_dataset
    from cardiacml.tasks import heart

    monkeypatch.setattr(heart, "_CHUNK", 4)  # 3 chunks of work
    got = []
    for name, jobs in (("a", 1), ("b", 2)):
        folder = simulate_dataset(11, tmp_path / name, seed=1, jobs=1, show_progress=False)
        got.append(heart.input_windows(open_dataset(folder), copies=1, jobs=jobs))
    np.testing.assert_array_equal(np.asarray(got[0]["X"]), np.asarray(got[1]["X"]))
    np.testing.assert_array_equal(got[0]["offset"], got[1]["offset"])
    assert np.asarray(got[0]["X"]).shape == (22, 12, 500)


def test_test_only_reads_nothing_only_training_uses(tmp_path, monkeypatch):
    """Evaluation (``test_only``) built the ``beats`` task's DS1 training records, their augmented copies and the
    validation records before testing on DS2, and read every training window of Tasks 3-4 into memory."""
    import numpy as np

    from cardiacml.datasets.intracardiac import open_dataset
    from cardiacml.datasets.lazy import LazyRows
    from cardiacml.datasets.mitbih import DS2
    from cardiacml.simulate import simulate_dataset
    from cardiacml.tasks import beats, heart

    asked = []

    def fake_build(src, records, variants=("orig",), seed=0, cache_dir=None):
        asked.extend((r, v) for r in records for v in variants)
        n = 2 * len(records) * len(variants)
        g = np.repeat([r for r in records for _ in variants], 2)
        return np.zeros((n, 1, 8), np.float32), np.arange(n) % 5, g

    monkeypatch.setattr(beats, "build_rhythm", fake_build)
    (tmp_path / "RECORDS").write_text("100\n")
    for protocol in ("interpatient", "all"):
        asked.clear()
        full = load_task("beats", mitdb=tmp_path, protocol=protocol)
        assert any(r not in DS2 for r, _ in asked) and any(v != "orig" for _, v in asked)  # the test can tell
        asked.clear()
        data = load_task("beats", mitdb=tmp_path, protocol=protocol, test_only=True)
        assert asked == [(r, "orig") for r in DS2], protocol
        assert len(data.y_train) == len(data.y_val) == 0 and data.X_train.shape[1:] == data.X_test.shape[1:]
        np.testing.assert_array_equal(data.y_test, full.y_test)
        np.testing.assert_array_equal(data.extra["test_groups"], full.extra["test_groups"])

    with pytest.raises(UsageError, match=r"evaluates on the Kaggle MIT-BIH test CSV \(mitbih_test.csv\) and needs --data"):
        load_task("task2", protocol="kaggle", test_only=True)  # names the one file evaluation reads

    folder = simulate_dataset(11, tmp_path / "sim", seed=1, jobs=1, show_progress=False)
    heart.input_windows(open_dataset(folder), jobs=1)
    for task in ("task3", "task4"):
        full = load_task(task, data_dir=folder, protocol="random")
        data = load_task(task, data_dir=folder, protocol="random", test_only=True)
        assert isinstance(data.X_train, LazyRows) and isinstance(data.X_val, LazyRows), task  # never read
        assert isinstance(data.X_test, np.ndarray) and isinstance(full.X_train, np.ndarray)
        np.testing.assert_array_equal(data.X_test, full.X_test)
        np.testing.assert_array_equal(np.asarray(data.y_test), np.asarray(full.y_test))
        np.testing.assert_array_equal(np.asarray(data.X_train), full.X_train)  # the same rows, when asked for
        if task == "task3":  # its constant-mean baseline needs the training targets
            np.testing.assert_array_equal(data.y_train, full.y_train)
