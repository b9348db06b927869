"""Outputs are atomic: a run folder or cache is replaced whole or not at all; interruptions leave nothing half-written and training resumes to the same result."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


# ------------------------------------------------------------------------------------ 6 atomic run folder
def test_failed_save_keeps_the_previous_run_whole(tmp_path, tiny_run):
    from cardiacml.training.checkpoint import load_run, save_run

    run_dir, rec = tiny_run
    target = tmp_path / "run"
    shutil.copytree(run_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}

    def boom(tmp):
        (tmp / "figures").mkdir()
        raise OSError("disk full (simulated)")

    with pytest.raises(OSError, match="disk full"):
        save_run(rec, target, extra=boom)
    after = {p.name: p.read_bytes() for p in target.iterdir() if p.is_file()}
    assert after == before and not (target / "figures").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")], "no temporary folder left"
    load_run(target)


# ------------------------------------------------------------------------------------ 7 interruption, resume
def test_interrupted_cache_build_leaves_nothing(tmp_path, sim_root, monkeypatch):
    import cardiacml.datasets.intracardiac as ic

    calls = {"n": 0}
    real = ic.load_simulation

    def flaky(sim):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(sim)

    monkeypatch.setattr(ic, "load_simulation", flaky)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        ic.build_cache(sim_root, cache)
    assert not cache.exists() and not list(tmp_path.iterdir())
    # a folder left by a process that was killed outright is removed by the next build
    stale = tmp_path / ".cache.tmp99999999"
    stale.mkdir()
    (stale / "ecg.npy").write_bytes(b"x" * 1000)
    monkeypatch.setattr(ic, "load_simulation", real)
    ic.build_cache(sim_root, cache)
    assert not stale.exists() and cache.is_dir()


def test_sigterm_during_cache_build_leaves_no_temp(tmp_path, sim_root):
    code = ("import time, cardiacml.datasets.intracardiac as ic\n"
            "real = ic.load_simulation\n"
            "def slow(s):\n    time.sleep(0.05)\n    return real(s)\n"
            "ic.load_simulation = slow\n"
            "from cardiacml.cli import app\n"
            f"app(['data', 'cache', r'{sim_root}', '--out', r'{tmp_path / 'cache'}'])\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(x.name.startswith(".cache.") and ".tmp" in x.name for x in tmp_path.iterdir()):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=60)
    assert p.returncode == 130, out
    assert "interrupted" in out
    assert list(tmp_path.iterdir()) == [], [x.name for x in tmp_path.iterdir()]


def test_train_resumes_after_interruption_to_the_same_result(tmp_path, mitdb):
    from cardiacml.training.run import Interrupted, partial_dir, train_run

    kw = dict(mitdb=mitdb, max_train=500, max_eval=200, epochs=3, batch_size=64, threads=1, figures=False, patience=10)
    ref = train_run("task2", "kachuee", out=tmp_path / "ref", log=lambda *a: None, **kw)

    def stop_after_first_epoch(msg):
        if "epoch=1 " in msg or msg.strip().startswith("epoch=1"):
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(Interrupted, match=r"--resume --out"):
        train_run("task2", "kachuee", out=out, log=stop_after_first_epoch, **kw)
    assert not out.exists() and (partial_dir(out) / "last.pt").is_file()
    res = runner.invoke(app, ["train", "task2", "--resume", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "resuming after epoch 1" in res.output
    assert "own settings" not in res.output, res.output  # no option given: nothing disagrees (it compared CLI defaults)
    assert not partial_dir(out).exists()
    got = json.loads((out / "metrics.json").read_text())["test"]
    assert got["confusion_matrix"] == ref.metrics["test"]["confusion_matrix"]
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert [h["macro_f1"] for h in hist] == [h["macro_f1"] for h in ref.history]
    # interrupted after the last epoch (while the run is being finished): the resume hint, the weights kept
    import cardiacml.training.run as R

    def stop(*a, **k):
        raise KeyboardInterrupt

    real, R._finish_run = R._finish_run, stop
    try:
        with pytest.raises(Interrupted, match=r"after the last epoch.*--resume --out"):
            train_run("task2", "kachuee", out=tmp_path / "late", log=lambda *a: None, **kw)
    finally:
        R._finish_run = real
    assert not (tmp_path / "late").exists() and (partial_dir(tmp_path / "late") / "last.pt").is_file()
    # resuming another task / model is refused at once (it simulated 2,000 hearts before failing)
    res = runner.invoke(app, ["train", "task3", "--resume", "--out", str(tmp_path / "late")])
    assert res.exit_code == 2 and "the run to resume is task2 with kachuee" in res.output, res.output
    # a fresh start over a resumable checkpoint says it discards it
    msgs = []
    train_run("task2", "kachuee", out=tmp_path / "late", log=msgs.append, **kw)
    assert any("discards it" in m for m in msgs)

    # interrupted before any epoch finished: no resume hint that cannot work
    import cardiacml.training.run as R2

    real_fit = R2.fit

    def no_epoch(*a, **k):
        raise KeyboardInterrupt

    R2.fit = no_epoch
    try:
        with pytest.raises(Interrupted, match="before the first epoch finished.*nothing to resume"):
            train_run("task2", "kachuee", out=tmp_path / "early", log=lambda *a: None, **kw)
    finally:
        R2.fit = real_fit
