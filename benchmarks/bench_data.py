"""Data-layer benchmarks, measured side by side in one run. Prints figures; asserts nothing.

1. Kaggle heartbeat CSV: parse vs cached .npy (goal: cache >= 10x faster). The CSV is written in the
   exact Kaggle format (%.18e, 188 columns) from real MIT-BIH beats rebuilt from ../shared/data/mitdb.
2. Intracardiac: one epoch over N simulations read file by file (2N np.load) vs the consolidated
   memory-mapped cache. Files have the real names and shapes (simulator output).
3. Simulator throughput (simulations/s) with 1 and 2 worker processes.

Usage: python benchmarks/bench_data.py [N_ROWS] [N_SIMS]
"""

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main():
    n_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    n_sims = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    tmp = Path(tempfile.mkdtemp())
    os.environ["CARDIACML_CACHE"] = str(tmp / "cache")
    os.environ["CARDIACML_PROGRESS"] = "0"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")

    from cardiacml.datasets.kaggle import BeatSet, load_heartbeat_csv, write_heartbeat_csv
    from cardiacml.tasks.sources import rebuilt_beats

    beats = rebuilt_beats()
    idx = np.random.default_rng(0).choice(len(beats), n_rows, replace=False)
    csv = write_heartbeat_csv(BeatSet(beats.X[idx], beats.y[idx], beats.classes), tmp / "mitbih_train.csv")
    size_mb = csv.stat().st_size / 1e6
    t_parse = best_of(lambda: load_heartbeat_csv(csv, cache=False))
    load_heartbeat_csv(csv)  # builds the cache
    t_cache = best_of(lambda: load_heartbeat_csv(csv))
    t_mmap = best_of(lambda: np.asarray(load_heartbeat_csv(csv, mmap=True).X).sum())
    print(f"[heartbeat CSV] {n_rows} real beats, {size_mb:.0f} MB: parse {t_parse:.2f} s, cache {t_cache * 1000:.1f} ms "
          f"-> {t_parse / t_cache:.0f}x faster (mmap + full read {t_mmap * 1000:.1f} ms)")

    from cardiacml.datasets.intracardiac import build_cache, discover_simulations, load_simulation
    from cardiacml.simulate import HeartModel, simulate_dataset

    model = HeartModel()
    t1 = time.perf_counter()
    simulate_dataset(n_sims, tmp / "sim1", jobs=1, model=model, show_progress=False)
    t1 = time.perf_counter() - t1
    t2 = time.perf_counter()
    simulate_dataset(n_sims, tmp / "sim2", jobs=2, model=model, show_progress=False)
    t2 = time.perf_counter() - t2
    print(f"[simulator] {n_sims} simulations (files written): 1 job {n_sims / t1:.0f}/s, 2 jobs {n_sims / t2:.0f}/s")

    root = tmp / "sim1"
    sims = discover_simulations(root)

    def per_file():
        s = 0.0
        for sim in sims:
            e, v = load_simulation(sim)
            s += e[0, 0] + v[0, 0]
        return s

    t_files = best_of(per_file, 2)
    t_build = time.perf_counter()
    ds = build_cache(root, tmp / "icache")
    t_build = time.perf_counter() - t_build

    def cached():
        s = 0.0
        for i in range(0, len(ds), 64):  # a batched epoch, as a DataLoader would read it
            s += float(np.asarray(ds.ecg[i:i + 64]).sum() + np.asarray(ds.vm[i:i + 64]).sum())
        return s

    t_cached = best_of(cached, 3)
    print(f"[intracardiac] epoch over {len(sims)} simulations: per-file ({2 * len(sims)} np.load, validated) {t_files:.2f} s, "
          f"consolidated memmap cache {t_cached:.3f} s -> {t_files / t_cached:.0f}x faster (one-off cache build {t_build:.1f} s)")


if __name__ == "__main__":
    main()
