"""Distributed training gives the same run as one process (torchrun, gloo on CPU), and batches stream from memory-mapped data."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from cardiacml.errors import UsageError
from cardiacml.training.checkpoint import load_run


def _train(out, *extra, env=None):
    cmd = [sys.executable, "-m", "cardiacml.cli", "train", "task2", "--model", "kachuee", "--max-train", "768",
           "--max-eval", "256", "--epochs", "2", "--batch-size", "64", "--threads", "1", "--out", str(out), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CARDIACML_PROGRESS": "0", **(env or {})},
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path, mitdb):
    one = _train(tmp_path / "one")
    two = _train(tmp_path / "two", "--nproc", "2")
    assert "2 processes" in two and "2 processes" not in one
    h1 = json.loads((tmp_path / "one" / "history.json").read_text())
    h2 = json.loads((tmp_path / "two" / "history.json").read_text())
    # Same global batches, augmentation and normalisation: only float summation order differs.
    for a, b in zip(h1, h2):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["macro_f1"] == pytest.approx(b["macro_f1"], abs=1e-3)
    m1, r1 = load_run(tmp_path / "one")
    m2, r2 = load_run(tmp_path / "two")  # a checkpoint written by 2 processes loads in one
    diff = max(float((r1.state_dict[k] - r2.state_dict[k]).abs().max()) for k in r1.state_dict)
    assert diff < 1e-3, diff
    assert set(r1.state_dict) == set(r2.state_dict), "no DDP 'module.' prefixes: the formats are the same"
    assert r2.card["distributed"] == {"processes": 2} and "distributed" not in r1.card
    assert not (tmp_path / "two.partial").exists()


def test_lazy_memory_mapped_training_with_workers_matches_in_memory(tmp_path, sim_root):
    from cardiacml.datasets.lazy import LazyRows
    from cardiacml.tasks import load_task
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit

    lazy = load_task("task3", data_dir=sim_root, lazy=True)
    assert isinstance(lazy.X_train, LazyRows) and isinstance(lazy.X_train.array, np.memmap)
    eager = load_task("task3", data_dir=sim_root)
    np.testing.assert_array_equal(np.asarray(lazy.X_test), eager.X_test)
    cfg = dict(task="task3", model="tcn", epochs=1, batch_size=16, threads=1, hparams={"width": 16, "n_blocks": 2})
    _, a = fit(eager, TrainConfig(**cfg), log=lambda *x: None)
    _, b = fit(lazy, TrainConfig(**cfg, workers=2), log=lambda *x: None)
    assert a.metrics["test"]["mae_ms"] == pytest.approx(b.metrics["test"]["mae_ms"], rel=1e-5)


def test_lazy_rows_indexing():
    from cardiacml.datasets.lazy import LazyRows, chunked_mean_std

    base = np.arange(60, dtype=np.float32).reshape(10, 2, 3)
    v = LazyRows(base, [7, 2, 5])
    assert v.shape == (3, 2, 3) and len(v) == 3
    np.testing.assert_array_equal(v[[2, 0]], base[[5, 7]])
    np.testing.assert_array_equal(v[1:], base[[2, 5]])
    np.testing.assert_array_equal(np.asarray(v), base[[7, 2, 5]])
    m, s = chunked_mean_std(base, chunk=3)
    np.testing.assert_allclose(m[:, 0], base.mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(s[:, 0], base.std(axis=(0, 2)), rtol=1e-6)


def test_data_cache_merges_shards_and_refuses_a_missing_one(tmp_path):
    from typer.testing import CliRunner

    from cardiacml.cli import app

    r = CliRunner()
    for i in range(3):
        res = r.invoke(app, ["simulate", "--n", "9", "--shard", f"{i}/3", "--out", str(tmp_path), "--jobs", "1"])
        assert res.exit_code == 0, res.output
    folder = next(tmp_path.glob("data_hearts_dd_0p2_*"))
    assert len(list(folder.glob("simulations_shard*of3.csv"))) == 3
    res = r.invoke(app, ["data", "cache", str(tmp_path)])
    assert res.exit_code == 0 and "9 simulations" in res.output, res.output
    from cardiacml.datasets.intracardiac import IntracardiacData

    ds = IntracardiacData(tmp_path / ".cardiacml_cache")
    assert sorted(ds.meta["index"].astype(int)) == list(range(9))
    (folder / "simulations_shard1of3.csv").unlink()
    for f in folder.glob("*_00000[345].npy"):
        f.unlink()
    res = r.invoke(app, ["data", "cache", str(tmp_path), "--out", str(tmp_path / "c2")])
    assert res.exit_code == 2 and "indices missing" in res.output and "--shard" in res.output


def test_loss_normalisers_of_a_global_batch():
    from cardiacml.training.losses import normaliser as _normaliser

    rows = np.array([4, 0, 2])
    vm = np.zeros((6, 75, 500), np.float32)
    assert _normaliser("mse_tv", vm, rows, None) == _normaliser("mse", vm, rows, None) == 3 * 75 * 500
    act = np.ones((6, 75))
    act[2, :5] = np.nan
    assert _normaliser("masked_l1", act, rows, None) == 3 * 75 - 5
    y = np.array([0, 1, 0, 2, 1, 0])
    w = torch.tensor([0.5, 2.0, 3.0])
    assert _normaliser("cross_entropy", y, rows, w) == pytest.approx(0.5 + 0.5 + 2.0)
    assert _normaliser("cross_entropy", y, rows, None) == 3


def test_a_workers_error_under_nproc_is_its_one_line_and_its_exit_code(tmp_path):
    """torchrun printed its own traceback and failure table and exited 1 whatever the workers said."""
    cmd = [sys.executable, "-m", "cardiacml.cli", "train", "task2", "--nproc", "2", "--data-dir", str(tmp_path / "none"),
           "--out", str(tmp_path / "run")]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CARDIACML_PROGRESS": "0"}, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "mitbih_train.csv not found" in r.stderr and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert "error [rank" not in r.stderr, r.stderr  # the folder named is the same on every process: said once
    assert "ChildFailedError" not in r.stderr and "OMP_NUM_THREADS" not in r.stdout + r.stderr


def test_a_missing_data_folder_under_nproc_is_said_by_rank_0_only(tmp_path):
    """``train --nproc 2 --mitdb DIR`` with no such DIR: each worker printed the refusal (``error:`` and ``error [rank
    1]:``). A folder named on the command line, or an option's value, is the same on every process: rank 0 alone says
    it (status 2); an error that may be one process's own is still said by the process that meets it."""
    from cardiacml.training.run import train_run

    none = tmp_path / "none"
    r = subprocess.run([sys.executable, "-m", "cardiacml.cli", "train", "task2", "--nproc", "2", "--mitdb", str(none),
                        "--out", str(tmp_path / "run")], capture_output=True, text=True,
                       env={**os.environ, "CARDIACML_PROGRESS": "0"}, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert out.strip().splitlines() == [f"error: --mitdb {none}: no such folder"], out
    for kw in (dict(max_train=0), dict(class_weighting="cube"), dict(hparams={"no_such_option": 1})):
        with pytest.raises(UsageError) as e:
            train_run("task2", "kachuee", out=tmp_path / "run", log=lambda *a: None, **kw)
        assert getattr(e.value, "every_process", False), (kw, e.value)
    with pytest.raises(UsageError) as e:
        train_run("no-such-task", out=tmp_path / "run", log=lambda *a: None)
    assert getattr(e.value, "every_process", False), e.value


def test_more_processes_than_gpus_is_refused_in_one_line(monkeypatch):
    """NCCL takes one GPU per process: --nproc 2 on one GPU failed at set_device / the first collective."""
    from cardiacml.errors import UsageError
    from cardiacml.training.distributed import init_distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UsageError, match=r"need 2 GPUs.*--nproc 1, or --device cpu"):
        init_distributed("auto")


@pytest.mark.slow
def test_sigterm_under_nproc_stops_the_workers_and_says_how_to_resume(tmp_path, mitdb):
    """SIGTERM to `train --nproc 2`: exit 130, the resume hint, no torchrun log lines or traceback, no worker left."""
    import signal
    import time

    cmd = [sys.executable, "-m", "cardiacml.cli", "train", "task2", "--model", "kachuee", "--mitdb", str(mitdb),
           "--max-train", "768", "--max-eval", "256", "--epochs", "200", "--patience", "500", "--batch-size", "64",
           "--threads", "1", "--nproc", "2", "--out", str(tmp_path / "run")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "CARDIACML_PROGRESS": "0"})
    t0 = time.time()
    while not (tmp_path / "run.partial" / "last.pt").is_file() and time.time() - t0 < 240:
        time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 130, out
    assert "Resume with: cardiacml train task2 --resume" in out and "--nproc 2" in out, out
    assert "Traceback" not in out and "death signal" not in out, out


def test_torchrun_stops_its_workers_once_whatever_signals_follow(monkeypatch):
    """A second signal while torchrun stopped its workers raised inside that shutdown: workers left running, a traceback."""
    import signal

    from torch.distributed.elastic.multiprocessing import api

    from cardiacml.training._torchrun import stop_once

    monkeypatch.setattr(api, "_terminate_process_handler", api._terminate_process_handler)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    try:
        stop_once()
        signal.signal(signal.SIGINT, api._terminate_process_handler)  # as torchrun's PContext.start() does
        with pytest.raises(api.SignalException):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # ignored: the first one's shutdown runs to its end
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def test_stop_once_stops_the_workers_where_sighup_and_sigquit_do_not_exist(monkeypatch):
    """Windows has no SIGHUP / SIGQUIT (torchrun skips them there): stop_once's handler looked them up and raised
    AttributeError on the first Ctrl-C, so torchrun's own handler (the workers' shutdown) never ran."""
    import signal

    from torch.distributed.elastic.multiprocessing import api

    from cardiacml.training._torchrun import stop_once

    monkeypatch.setattr(api, "_terminate_process_handler", api._terminate_process_handler)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.delattr(signal, "SIGHUP")
    monkeypatch.delattr(signal, "SIGQUIT")
    try:
        stop_once()
        with pytest.raises(api.SignalException):
            api._terminate_process_handler(signal.SIGINT, None)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def _children(pid):
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")
def test_a_burst_of_signals_under_nproc_leaves_no_worker_and_no_traceback(tmp_path, mitdb):
    """Several Ctrl-C (or timeout's signal to a process group) reached torchrun while it stopped its workers."""
    import signal
    import time

    cmd = [sys.executable, "-m", "cardiacml.cli", "train", "task2", "--model", "kachuee", "--mitdb", str(mitdb),
           "--max-train", "256", "--max-eval", "128", "--epochs", "300", "--patience", "500", "--batch-size", "64",
           "--threads", "1", "--nproc", "2", "--out", str(tmp_path / "run")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "CARDIACML_PROGRESS": "0"})
    t0 = time.time()
    while not (tmp_path / "run.partial" / "last.pt").is_file() and time.time() - t0 < 120:
        time.sleep(0.2)
    launcher = _children(p.pid)
    workers = [w for t in launcher for w in _children(t)]
    assert len(workers) == 2, (launcher, workers)
    for _ in range(6):
        os.kill(launcher[0], signal.SIGINT)
        time.sleep(0.002)
    out, _ = p.communicate(timeout=120)
    alive = [w for w in workers if os.path.exists(f"/proc/{w}") and open(f"/proc/{w}/stat").read().split()[2] != "Z"]
    for w in alive:  # do not leave them running if the test fails
        os.kill(w, signal.SIGKILL)
    assert p.returncode == 130, out
    assert not alive, f"workers {alive} still running after the launcher exited"
    assert "Traceback" not in out and "SignalException" not in out, out
    assert "Resume with: cardiacml train task2 --resume" in out, out


def _rank_of(pid):
    env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    return next(int(e[5:]) for e in env if e.startswith(b"RANK="))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")
def test_a_worker_killed_under_nproc_is_one_line_with_the_resume_hint(tmp_path, mitdb):
    """One worker killed (the OOM killer, kill -9): the other's gloo error was a traceback called a cardiacml bug."""
    import signal
    import time

    cmd = [sys.executable, "-m", "cardiacml.cli", "train", "task2", "--model", "kachuee", "--mitdb", str(mitdb),
           "--max-train", "256", "--max-eval", "128", "--epochs", "300", "--patience", "500", "--batch-size", "64",
           "--threads", "1", "--nproc", "2", "--out", str(tmp_path / "run")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env={**os.environ, "CARDIACML_PROGRESS": "0"})
    t0 = time.time()
    while not (tmp_path / "run.partial" / "last.pt").is_file() and time.time() - t0 < 120:
        time.sleep(0.2)
    time.sleep(0.3)
    workers = [w for t in _children(p.pid) for w in _children(t)]
    os.kill(next(w for w in workers if _rank_of(w) == 1), signal.SIGKILL)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGKILL, out
    assert "Traceback" not in out and "a bug in cardiacml" not in out, out
    # rank 0's collective fails ("another of the 2 ... stopped"), unless torchrun, seeing rank 1 gone, stops it first
    # (SIGTERM: "training interrupted"): a race on a busy machine; either is one line with the resume command
    assert "another of the 2 training processes stopped" in out or "training interrupted; the last finished" in out, out
    assert "Resume with: cardiacml train task2 --resume" in out and "--nproc 2" in out, out
    assert (tmp_path / "run.partial" / "last.pt").is_file() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra, says", [
    (["--nproc", "0"], "--nproc must be 1 or more, got 0"),
    (["--nproc=-1"], "--nproc must be 1 or more, got -1"),
    (["--nproc", "99", "--device", "cpu"], "--nproc 99: this process may run on 2 CPU cores"),
    (["--nproc", "2", "--device", "cuda"], "--device cuda asked for, but PyTorch sees no CUDA GPU"),
    (["--nproc", "2", "--batch-size", "1"], "--nproc 2 with --batch-size 1"),
])
def test_impossible_nproc_is_one_line_before_any_process_starts(monkeypatch, tmp_path, extra, says):
    """--nproc 0 / -1 trained with one process; 99 on 2 cores started 99 (none reached an epoch); cuda without a GPU
    failed in every worker after loading the data; more processes than --batch-size trained on nothing."""
    from typer.testing import CliRunner

    import cardiacml.training.run as run_mod
    import cardiacml.utils
    from cardiacml.cli import app

    monkeypatch.setattr(cardiacml.utils, "cpu_cores", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(run_mod, "launch_distributed", lambda *a: pytest.fail("launched"))
    monkeypatch.setattr(run_mod, "train_run", lambda *a, **k: pytest.fail("trained"))
    r = CliRunner().invoke(app, ["train", "task2", "--out", str(tmp_path / "run"), *extra])
    assert r.exit_code == 2, r.output
    assert says in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_more_processes_than_the_batch_is_refused_by_fit(monkeypatch):
    """Under torchrun (or --resume of a run with a small batch) every batch was skipped: a run that trained nothing."""
    from cardiacml.errors import UsageError
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit

    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(UsageError, match=r"4 processes with --batch-size 2"):
        fit(None, TrainConfig(task="task2", model="kachuee", batch_size=2), log=lambda *a: None)


def test_resume_with_more_processes_than_the_batch_is_said_once_before_the_data_is_read(tmp_path):
    """``--resume --nproc 2`` of a run with --batch-size 1 (check_processes cannot know the run's batch) loaded the data
    in both workers, then each printed the refusal (``error:`` and ``error [rank 1]:``); rank 0 now says it once,
    before any data is read, and the command's status is 2."""
    partial = tmp_path / "run.partial"
    partial.mkdir()
    (partial / "run_args.json").write_text(json.dumps({
        "config": {"task": "task2", "model": "kachuee", "batch_size": 1, "epochs": 1, "threads": 1},
        "data_args": {"max_train": 64, "max_eval": 32, "mitdb": str(tmp_path / "no-such-mitdb")}}))
    r = subprocess.run([sys.executable, "-m", "cardiacml.cli", "train", "task2", "--resume", "--out",
                        str(tmp_path / "run"), "--nproc", "2"], capture_output=True, text=True,
                       env={**os.environ, "CARDIACML_PROGRESS": "0"}, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert out.strip().splitlines() == ["error: 2 processes with --batch-size 1: each batch is shared among the processes "
                                        "and each needs an example of it; use --batch-size 2 or more, or fewer "
                                        "processes"], out


def test_an_error_every_process_meets_is_said_by_rank_0_only(monkeypatch, capsys):
    """The same refusal on every process was printed by each (``error [rank 1]: ...``): the others now wait, quietly,
    for rank 0 to say it (torchrun then stops them) and leave with the same status."""
    import time

    import typer

    from cardiacml.cli import _fail
    from cardiacml.training.distributed import refuse_batch_share

    with pytest.raises(UsageError) as e:
        refuse_batch_share(2, 1, "--nproc 2")
    assert str(e.value).startswith("--nproc 2 with --batch-size 1: each batch is shared")
    monkeypatch.setattr(time, "sleep", lambda s: None)
    for rank, said in (("1", ""), ("0", "error: --nproc 2 with --batch-size 1")):
        monkeypatch.setenv("RANK", rank)
        with pytest.raises(typer.Exit) as ex:
            _fail(e.value)
        assert ex.value.exit_code == 2
        err = capsys.readouterr().err
        assert (said in err) if said else not err, err
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(typer.Exit):
        _fail(UsageError("this process's own problem"))
    assert "error [rank 1]: this process's own problem" in capsys.readouterr().err


def test_resuming_with_another_process_count_says_so_and_the_card_records_it(tmp_path, mitdb):
    """A run started with --nproc 2 and resumed with 1 (or the reverse) gave another model (batch statistics) unsaid."""
    from cardiacml.tasks import load_task
    from cardiacml.training.checkpoint import TrainConfig, safe_load
    from cardiacml.training.loop import fit

    data = load_task("task2", mitdb=mitdb, max_train=128, max_eval=64)
    cfg = TrainConfig(task="task2", model="kachuee", epochs=2, batch_size=64, threads=1)

    def stop_after_epoch_1(msg):
        if "epoch=1 " in msg:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(data, cfg, log=stop_after_epoch_1, checkpoint_dir=tmp_path)
    st = safe_load(tmp_path / "last.pt")
    assert st["processes"] == 1
    _, same = fit(data, cfg, log=lambda *a: None)
    st["processes"] = 2  # as rank 0 of `train --nproc 2` writes it
    torch.save(st, tmp_path / "last.pt")
    msgs = []
    _, rec = fit(data, cfg, log=msgs.append, checkpoint_dir=tmp_path, resume=True)
    said = [m for m in msgs if "started with 2 processes" in m]
    assert len(said) == 1 and "resumed with 1" in said[0] and "--nproc 2" in said[0], msgs
    assert rec.card["distributed"] == {"processes": 1, "before_resume": {"processes": 2, "epochs": 1}}
    assert "distributed" not in same.card
