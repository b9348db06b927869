"""Raw-signal readers, measured side by side in one run. Prints figures; asserts nothing.

MIT-BIH record 100 (2 leads, 360 Hz, 30 min; ../shared/data/mitdb or $CARDIACML_MITDB), repeated
``REPEAT`` times end to end, is written as WFDB's own file (read in place), CSV with a time column,
EDF (16 bit) and .npy, then for each format:

* open + read everything (mV, float64);
* open + read 60 random 10 s windows of one lead (what streaming and the 12-lead window do);
* peak Python/NumPy memory of open + read-all (tracemalloc: numpy and pandas buffers are traced;
  memory-mapped pages are not, they belong to the page cache) and of open + the 60 windows.

Usage: python benchmarks/bench_readers.py [REPEAT]
"""

import os
import platform
import tracemalloc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main(repeat: int = 1):
    import edfio
    import pandas as pd

    from cardiacml.io import open_record

    mitdb = Path(os.environ.get("CARDIACML_MITDB", REPO.parent / "shared" / "data" / "mitdb"))
    wf = open_record(mitdb / "100")
    sig = np.tile(wf.read(0, 649_800), (repeat, 1))
    fs = wf.fs
    n = len(sig)
    tmp = Path(tempfile.mkdtemp())
    pd.DataFrame({"time (s)": np.arange(n) / fs, "MLII": sig[:, 0], "V5": sig[:, 1]}).to_csv(
        tmp / "r.csv", index=False, float_format="%.8g")
    edfio.Edf([edfio.EdfSignal(sig[:, i], fs, label=name, physical_dimension="mV", physical_range=(-10.24, 10.24))
               for i, name in enumerate(wf.leads)]).write(tmp / "r.edf")
    np.save(tmp / "r.npy", sig.astype(np.float32))
    del sig
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}; "
          f"record 100 x {repeat}: {n} samples x 2 leads ({n / fs / 3600:.2f} h)")
    sizes = {k: (tmp / f"r.{k}").stat().st_size / 1e6 for k in ("csv", "edf", "npy")}
    rng = np.random.default_rng(0)
    starts = rng.integers(0, n - int(10 * fs), 60)
    rows = []
    for name, path, kw in (("npy (mmap)", tmp / "r.npy", {"fs": fs}), ("EDF (edfio lazy)", tmp / "r.edf", {}),
                           ("WFDB", mitdb / "100", {}), ("CSV (pandas)", tmp / "r.csv", {})):
        if name == "WFDB" and repeat != 1:
            continue
        tracemalloc.start()
        t = time.perf_counter()
        r = open_record(path, **kw)
        t_open = time.perf_counter() - t
        t = time.perf_counter()
        x = r.read()
        t_all = time.perf_counter() - t
        mem_all = tracemalloc.get_traced_memory()[1] / 1e6
        del x, r
        tracemalloc.stop()
        tracemalloc.start()
        r = open_record(path, **kw)
        t = time.perf_counter()
        for s in starts:
            r.read(int(s), int(s + 10 * fs), lead=0)
        t_win = time.perf_counter() - t
        mem_win = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        del r
        size = sizes.get(path.suffix.lstrip("."), float("nan"))
        rows.append((name, size, t_open, t_all, t_win, mem_all, mem_win))
    print(f"{'format':18s} {'file MB':>8s} {'open s':>8s} {'read all s':>11s} {'60x10 s windows s':>18s} "
          f"{'peak MB (all)':>14s} {'peak MB (windows)':>18s}")
    for name, size, a, b, c, m1, m2 in rows:
        print(f"{name:18s} {size:8.1f} {a:8.3f} {b:11.3f} {c:18.3f} {m1:14.0f} {m2:18.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
