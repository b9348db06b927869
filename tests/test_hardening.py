"""Issue 9: one test per defect found by probing inputs and interrupting long commands.

1 checkpoints never run code; 2 corrupted archives are refused; 3 a stale intracardiac cache is not reused;
4 a manifest cannot write outside --dest; 5 float32 overflow and non-finite losses/outputs are errors;
6 a run folder is replaced whole or not at all; 7 interruption leaves nothing half-written and train resumes;
8 damaged caches are rebuilt with a message, missing files and gzip'd CSVs give clear errors.
"""

import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.errors import DataFormatError, DownloadError, MissingDataError

runner = CliRunner()


# ------------------------------------------------------------------------------------ shared small runs
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mitdb):
    from cardiacml.training.run import train_run

    out = tmp_path_factory.mktemp("tiny") / "run"
    rec = train_run("task2", "kachuee", mitdb=mitdb, max_train=600, max_eval=300, out=out, log=lambda *a: None,
                    epochs=1, batch_size=64, threads=1, figures=False)
    return out, rec


# ------------------------------------------------------------------------------------ 1 malicious checkpoint
class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path, tiny_run):
    run_dir, _ = tiny_run
    evil = tmp_path / "evil"
    evil.mkdir()
    marker = tmp_path / "pwned"
    ck = torch.load(run_dir / "model.pt", weights_only=True)
    ck["hparams"] = {"x": _Payload(marker)}
    torch.save(ck, evil / "model.pt")
    beats = tmp_path / "b.npy"
    np.save(beats, np.full((2, 187), 0.5))
    for args in (["predict", str(evil), str(beats), "--out", str(tmp_path / "p.csv")], ["export", str(evil)],
                 ["evaluate", str(evil)]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "refused to load" in res.output and "could run code" in res.output
        assert not marker.exists(), f"the payload ran during {args[0]}"
    assert not (tmp_path / "p.csv").exists()


def test_truncated_checkpoint_gives_clear_error(tmp_path, tiny_run):
    run_dir, _ = tiny_run
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pt").write_bytes((run_dir / "model.pt").read_bytes()[:668])
    res = runner.invoke(app, ["export", str(bad)])
    assert res.exit_code == 2 and "not a readable cardiacml checkpoint" in res.output


# ------------------------------------------------------------------------------------ 2 archives
class _Server:
    def __init__(self, files):
        import http.server
        import threading

        files = dict(files)

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def _stored_tgz(arrays: dict) -> bytes:
    """A .tgz whose gzip uses stored (level 0) blocks: changed bytes decode silently; only the CRC catches them."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, arr in arrays.items():
            b = io.BytesIO()
            np.save(b, arr)
            info = tarfile.TarInfo(name)
            info.size = len(b.getvalue())
            tf.addfile(info, io.BytesIO(b.getvalue()))
    return gzip.compress(raw.getvalue(), compresslevel=0)


def test_archive_with_changed_bytes_is_refused(tmp_path):
    from cardiacml.datasets.download import RemoteFile, download_dataset

    vm = np.linspace(-85, 20, 500 * 75).reshape(500, 75)
    good = _stored_tgz({"data_hearts_dd_0p2_x/VmData_a.npy": vm})
    bad = bytearray(good)
    mid = len(bad) // 2
    bad[mid:mid + 64] = bytes((b + 1) % 256 for b in bad[mid:mid + 64])
    srv = _Server({"p.tgz": bytes(bad)})
    try:
        with pytest.raises(DownloadError, match="integrity check"):
            download_dataset([RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)], tmp_path / "d")
    finally:
        srv.close()
    d = tmp_path / "d"
    assert not list(d.rglob("*.npy")), "nothing may be extracted from a corrupt archive"
    assert not (d / ".p.tgz.done").exists() and (d / "p.tgz.corrupt").exists()


def test_kept_archive_is_verified_on_every_reuse(tmp_path):
    from cardiacml.datasets.download import RemoteFile, download_dataset

    good = _stored_tgz({"data_hearts_dd_0p2_x/VmData_a.npy": np.zeros((500, 75))})
    srv = _Server({"p.tgz": good})
    rf = [RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)]
    try:
        download_dataset(rf, tmp_path)
        marker = json.loads((tmp_path / ".p.tgz.done").read_text())
        assert len(marker["sha256_measured"]) == 64
        download_dataset(rf, tmp_path)  # unchanged: fine
        data = bytearray((tmp_path / "p.tgz").read_bytes())
        data[100] ^= 0xFF
        (tmp_path / "p.tgz").write_bytes(bytes(data))
        with pytest.raises(DownloadError, match="recorded at first download"):
            download_dataset(rf, tmp_path)
    finally:
        srv.close()


def test_decompression_bomb_is_refused(tmp_path):
    from cardiacml.datasets.download import extract_archive

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (50 * 2**20))
    arch = tmp_path / "bomb.zip"
    arch.write_bytes(raw.getvalue())
    assert arch.stat().st_size < 200_000
    with pytest.raises(DownloadError, match="decompression bomb"):
        extract_archive(arch, tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()
    tgz = tmp_path / "bomb.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 50 * 2**20
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(DownloadError, match="decompression bomb"):
        extract_archive(tgz, tmp_path / "out")


# ------------------------------------------------------------------------------------ 3 stale cache
def test_stale_intracardiac_cache_is_not_reused(tmp_path):
    from conftest import write_fixture_pair

    from cardiacml.datasets.intracardiac import open_dataset

    folder = tmp_path / "data_hearts_dd_0p2_a"
    rng = np.random.default_rng(0)
    for i in range(3):
        write_fixture_pair(folder, f"s{i}", rng, ecg=np.full((500, 10), float(i)))
    assert float(open_dataset(tmp_path).ecg[2, 6, 0]) == 0.0  # V1 - W with all electrodes equal
    # another dataset with exactly as many files
    shutil.rmtree(folder)
    for i in range(3):
        e = np.zeros((500, 10))
        e[:, 4] = 7.0 + i  # V1
        write_fixture_pair(folder, f"t{i}", rng, ecg=e)
    with pytest.warns(UserWarning, match="dataset changed"):
        ds = open_dataset(tmp_path)
    assert ds.names == ["t0", "t1", "t2"] and float(ds.ecg[0, 6, 0]) == 7.0


def test_changed_bytes_in_intracardiac_cache_are_detected(tmp_path, sim_root):
    from cardiacml.datasets.intracardiac import open_dataset

    root = tmp_path / "copy"
    shutil.copytree(sim_root, root, ignore=shutil.ignore_patterns(".cardiacml_cache"))
    ds = open_dataset(root)
    vm_file = ds.path / "vm.npy"
    before = np.array(ds.vm[0, 0, 100])
    del ds
    with open(vm_file, "r+b") as fh:
        fh.seek(-400, os.SEEK_END)
        fh.write(b"\x7f" * 64)
    with pytest.warns(UserWarning, match="changed bytes"):
        ds = open_dataset(root)
    assert np.array_equal(ds.vm[0, 0, 100], before)


# ------------------------------------------------------------------------------------ 4 manifest paths
@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "sub/evil.txt", "..", ""])
def test_manifest_cannot_write_outside_dest(tmp_path, name):
    man = tmp_path / "m.json"
    man.write_text(json.dumps([{"url": "http://127.0.0.1:9/x", "filename": name}]))
    dest = tmp_path / "dest"
    res = runner.invoke(app, ["data", "download", "heartbeat", "--dest", str(dest), "--manifest", str(man)])
    assert res.exit_code == 2 and "unsafe file name" in res.output
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


# ------------------------------------------------------------------------------------ 5 overflow, divergence
def test_values_overflowing_float32_are_errors(tmp_path):
    from cardiacml.datasets.kaggle import load_heartbeat_csv
    from cardiacml.datasets.intracardiac import SimulationFiles, load_simulation

    rows = np.full((3, 188), 0.5)
    rows[:, -1] = 0
    rows[1, 10] = 1e39
    np.savetxt(tmp_path / "mitbih_train.csv", rows, delimiter=",", fmt="%.18e")
    with pytest.raises(DataFormatError, match=r"row 2: sample 10 is 1e\+39, beyond float32"):
        load_heartbeat_csv(tmp_path / "mitbih_train.csv", cache=False)
    ecg = np.zeros((500, 10))
    ecg[7, 3] = 1e39
    np.save(tmp_path / "pECGData_a.npy", ecg)
    np.save(tmp_path / "VmData_a.npy", np.zeros((500, 75)))
    with pytest.raises(DataFormatError, match="beyond float32"):
        load_simulation(SimulationFiles("a", tmp_path / "pECGData_a.npy", tmp_path / "VmData_a.npy"))


def test_diverging_training_saves_nothing(tmp_path, mitdb):
    from cardiacml.tasks import load_task
    from cardiacml.training.checkpoint import TrainConfig, TrainingError
    from cardiacml.training.loop import fit

    data = load_task("task2", mitdb=mitdb, max_train=256, max_eval=64)
    data.X_train = data.X_train.copy()
    data.X_train[5, 0, :] = 3e38  # finite in float32, overflows inside the network
    cfg = TrainConfig(model="kachuee", epochs=1, batch_size=256, augment=False, threads=1)
    with pytest.raises(TrainingError, match="loss is nan|loss is inf"):
        fit(data, cfg, tmp_path / "run", log=lambda *a: None)
    assert not (tmp_path / "run").exists()


def test_predict_refuses_nonfinite_outputs_and_out_of_range_inputs(tmp_path, tiny_run):
    from cardiacml.inference.predict import run_checked

    run_dir, rec = tiny_run

    class Broken:
        contract = rec.contract

        def predict(self, X):
            return np.full((len(X), 5), np.nan)

    with pytest.raises(DataFormatError, match="NaN or infinite outputs"):
        run_checked(Broken(), np.full((3, 1, 187), 0.5, np.float32), "x.npy")
    ecg = np.zeros((1, 12, 500))
    ecg[0, 3, 7] = 1e30
    np.save(tmp_path / "e.npy", ecg)
    from cardiacml.contracts.ecg12 import ECG12

    with pytest.raises(DataFormatError, match="outside the expected range"):
        ECG12.validate(ecg, "e.npy")


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
    while time.time() < deadline and not any(x.name.startswith(".cache.tmp") for x in tmp_path.iterdir()):
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
    assert not partial_dir(out).exists()
    got = json.loads((out / "metrics.json").read_text())["test"]
    assert got["confusion_matrix"] == ref.metrics["test"]["confusion_matrix"]
    hist = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert [h["macro_f1"] for h in hist] == [h["macro_f1"] for h in ref.history]


# ------------------------------------------------------------------------------------ 8 smaller defects
def test_damaged_heartbeat_cache_is_rebuilt_with_a_message(tmp_path, shared):
    from cardiacml.datasets.kaggle import load_heartbeat_csv

    csv = shared / "kaggle_format" / "tami64_ECGformer__mitbih_train.csv"
    cache = tmp_path / "c"
    ref = load_heartbeat_csv(csv, cache_dir=cache)
    (ydir,) = list(cache.iterdir())
    (ydir / "y.npy").write_bytes(b"")  # emptied
    with pytest.warns(UserWarning, match="damaged"):
        b = load_heartbeat_csv(csv, cache_dir=cache)
    assert np.array_equal(b.X, ref.X)
    (ydir,) = list(cache.iterdir())
    x = bytearray((ydir / "X.npy").read_bytes())
    x[-10] ^= 0x55  # changed bytes that would load fine
    (ydir / "X.npy").write_bytes(bytes(x))
    with pytest.warns(UserWarning, match="changed bytes"):
        b = load_heartbeat_csv(csv, cache_dir=cache)
    assert np.array_equal(b.X, ref.X)
    res = runner.invoke(app, ["data", "check", str(csv)])
    assert res.exit_code == 0 and "Aborted" not in res.output


def test_gzipped_csv_is_read(tmp_path, shared):
    from cardiacml.datasets.kaggle import load_heartbeat_csv

    csv = shared / "kaggle_format" / "tami64_ECGformer__mitbih_train.csv"
    gz = tmp_path / "mitbih_train.csv"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    assert len(load_heartbeat_csv(gz, cache=False)) == 10
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage" * 50)
    with pytest.raises(DataFormatError, match="bin.csv"):
        load_heartbeat_csv(tmp_path / "bin.csv", cache=False)


def test_missing_signal_file_is_a_clear_error(tmp_path, shared, tiny_run):
    run_dir, _ = tiny_run
    for f in ("100.hea", "100.atr"):
        shutil.copy(shared / "wfdb_samples" / f, tmp_path / f)
    res = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "100"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "100.dat" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o.csv").exists()
