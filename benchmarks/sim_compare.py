"""Simulated vs real LLNL data: the statistics of ../shared/data/real_reference/README.md for N
simulated hearts beside the real values, the issue-12 goals, and plots drawn like the real
notebooks' (lead-I overlay of 100 hearts, 12 leads and Vm at 75 sites of one heart).
Optionally the simulator's throughput with 1 and 2 worker processes (files written).

Usage: python benchmarks/sim_compare.py [--n 100] [--seed 0] [--out sim_compare_out] [--speed 1000]
Prints figures; asserts nothing. Same statistics as `cardiacml simulate --compare-real`.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("sim_compare_out"))
    ap.add_argument("--speed", type=int, default=0, help="also time simulate_dataset for this many hearts with 1 and 2 jobs")
    a = ap.parse_args()

    from cardiacml.simulate import HeartModel, simulate_dataset, simulate_one
    from cardiacml.simulate.compare import compare_pairs
    from cardiacml.simulate.simulator import SIM_VERSION

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; SIM_VERSION {SIM_VERSION}")
    t = time.perf_counter()
    model = HeartModel()
    print(f"model set-up {time.perf_counter() - t:.1f} s")
    pairs = [simulate_one(model, a.seed, i)[:2] for i in range(a.n)]
    text, checks = compare_pairs(pairs, a.out)
    print(f"{a.n} simulated hearts (seed {a.seed}) vs the real reference:")
    print(text)
    print(f"plots: {a.out}/lead1_overlay.png, ecg12_sim0.png, vm75_sim0.png; per-heart statistics {a.out}/heart_stats.csv")
    if a.speed:
        with tempfile.TemporaryDirectory() as d:
            for jobs in (1, 2):
                t = time.perf_counter()
                simulate_dataset(a.speed, Path(d) / f"j{jobs}", seed=1, jobs=jobs, model=model, show_progress=False)
                dt = time.perf_counter() - t
                print(f"[simulate] {a.speed} hearts, files written, jobs={jobs}: {dt:.1f} s ({a.speed / dt:.0f}/s)")


if __name__ == "__main__":
    main()
