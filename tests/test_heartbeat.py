import numpy as np
import pytest

from cardiacml.contracts.beat import MITBIH_CLASSES, PTB_CLASSES
from cardiacml.datasets.kaggle import BeatSet, load_heartbeat_csv, load_mitbih, load_ptbdb, write_heartbeat_csv
from cardiacml.errors import DataFormatError, MissingDataError


def test_real_kaggle_rows_load(shared, tmp_path):
    path = shared / "kaggle_format" / "tami64_ECGformer__mitbih_train.csv"
    b = load_heartbeat_csv(path, cache_dir=tmp_path)
    assert b.X.shape == (10, 187) and b.X.dtype == np.float32
    assert b.y.tolist() == [0] * 10
    assert 0.0 <= b.X.min() and b.X.max() <= 1.0
    assert np.median(b.X[:, 0]) > 0.7, "Kaggle beats start at their R peak"
    # the second load comes from the .npy cache and is identical
    b2 = load_heartbeat_csv(path, cache_dir=tmp_path)
    np.testing.assert_array_equal(b.X, b2.X)
    assert len(list(tmp_path.rglob("X.npy"))) == 1


def test_write_matches_kaggle_format(shared, tmp_path):
    src = shared / "kaggle_format" / "tami64_ECGformer__mitbih_test.csv"
    b = load_heartbeat_csv(src, cache=False)
    out = write_heartbeat_csv(b, tmp_path / "mitbih_test.csv")
    lines = out.read_text().splitlines()
    assert all(len(ln) + 1 == 4700 for ln in lines), "real rows are 4,700 bytes: 188 values written as %.18e"
    assert lines[0].split(",")[0] == src.read_text().splitlines()[0].split(",")[0]
    np.testing.assert_array_equal(load_heartbeat_csv(out, cache=False).X, b.X)


def _csv(tmp_path, rows, name="mitbih_train.csv"):
    p = tmp_path / name
    p.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return p


def test_wrong_column_count_names_file_and_row(tmp_path):
    p = _csv(tmp_path, [[0.1] * 187 + [0], [0.1] * 186 + [0]])
    with pytest.raises(DataFormatError, match=r"mitbih_train.csv, row 2"):
        load_heartbeat_csv(p, cache=False)
    p = _csv(tmp_path, [[0.1] * 180 + [0]])
    with pytest.raises(DataFormatError, match=r"row 1: expected 188"):
        load_heartbeat_csv(p, cache=False)


def test_nan_and_bad_label(tmp_path):
    rows = [[0.2] * 187 + [1] for _ in range(5)]
    rows[3][10] = "nan"
    with pytest.raises(DataFormatError, match=r"row 4: sample 10"):
        load_heartbeat_csv(_csv(tmp_path, rows), cache=False)
    rows = [[0.2] * 187 + [1], [0.2] * 187 + [7]]
    with pytest.raises(DataFormatError, match=r"row 2: label 7"):
        load_heartbeat_csv(_csv(tmp_path, rows, "b.csv"), MITBIH_CLASSES, cache=False)
    with pytest.raises(DataFormatError, match=r"label 1.5"):
        load_heartbeat_csv(_csv(tmp_path, [[0.2] * 187 + [1.5]], "c.csv"), cache=False)


def test_missing_file(tmp_path):
    with pytest.raises(MissingDataError, match="no such file"):
        load_heartbeat_csv(tmp_path / "nope.csv")


def test_cache_invalidated_when_file_changes(tmp_path):
    p = _csv(tmp_path, [[0.3] * 187 + [2]])
    cache = tmp_path / "cache"
    assert load_heartbeat_csv(p, cache_dir=cache).y.tolist() == [2]
    import os
    import time

    p.write_text(",".join(["0.3"] * 187 + ["4"]) + "\n")
    os.utime(p, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert load_heartbeat_csv(p, cache_dir=cache).y.tolist() == [4]


def test_corrupt_cache_is_rebuilt(tmp_path):
    p = _csv(tmp_path, [[0.3] * 187 + [2]] * 3)
    cache = tmp_path / "cache"
    load_heartbeat_csv(p, cache_dir=cache)
    xfile = next(cache.rglob("X.npy"))
    xfile.write_bytes(xfile.read_bytes()[:50])  # truncated
    with pytest.warns(UserWarning, match="is damaged .*rebuilding it from the CSV"):
        assert load_heartbeat_csv(p, cache_dir=cache).X.shape == (3, 187)


def test_kaggle_folder_loaders(tmp_path):
    rng = np.random.default_rng(0)
    for name, label, n in [("mitbih_train", 3, 6), ("mitbih_test", 4, 2), ("ptbdb_normal", 0, 3), ("ptbdb_abnormal", 1, 4)]:
        write_heartbeat_csv(BeatSet(rng.random((n, 187), np.float32), np.full(n, label), MITBIH_CLASSES), tmp_path / f"{name}.csv")
    tr, te = load_mitbih(tmp_path, cache_dir=tmp_path / "c")
    assert (len(tr), len(te)) == (6, 2) and set(te.y) == {4}
    ptb = load_ptbdb(tmp_path, cache_dir=tmp_path / "c")
    assert ptb.classes == PTB_CLASSES and ptb.y.tolist() == [0] * 3 + [1] * 4
