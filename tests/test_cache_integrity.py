"""Caches are keyed on content: a stale or changed cache is detected and rebuilt with a message."""

import os
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()


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


def test_edited_simulation_metadata_is_noticed(tmp_path):
    """An edited simulations.csv (it decides the split) or cache meta.csv is noticed: the cache is rebuilt."""
    import pandas as pd
    from conftest import write_fixture_pair

    from cardiacml.datasets.intracardiac import open_dataset

    folder = tmp_path / "data_hearts_dd_0p2_a"
    rng = np.random.default_rng(0)
    for i in range(3):
        write_fixture_pair(folder, f"s{i}", rng)
    pd.DataFrame({"name": ["s0", "s1", "s2"], "cv": [0.4, 0.5, 0.6]}).to_csv(folder / "simulations.csv", index=False)
    ds = open_dataset(tmp_path)
    assert list(ds.meta["cv"]) == [0.4, 0.5, 0.6]
    # 1. the source metadata edited: same file names, sizes could match; its bytes are in the key
    pd.DataFrame({"name": ["s0", "s1", "s2"], "cv": [0.9, 0.5, 0.6]}).to_csv(folder / "simulations.csv", index=False)
    with pytest.warns(UserWarning, match="dataset changed"):
        ds = open_dataset(tmp_path)
    assert list(ds.meta["cv"]) == [0.9, 0.5, 0.6]
    # 2. the cache's own meta.csv edited: its crc32 no longer matches
    meta = ds.path / "meta.csv"
    meta.write_text(meta.read_text().replace("0.9", "0.1"))
    with pytest.warns(UserWarning, match="changed bytes"):
        ds = open_dataset(tmp_path)
    assert list(ds.meta["cv"]) == [0.9, 0.5, 0.6]
