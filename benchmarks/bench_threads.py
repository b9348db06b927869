"""How many PyTorch threads survive a busy machine? Times one training workload under each policy, side by side.

Usage: python benchmarks/bench_threads.py [--repeats 2] [--batches 40]

Workload: BeatNet training steps (batch 128, 1 x 187 beats) in a fresh process, so each policy starts cold.
Conditions: "quiet" (whatever else runs on the machine now) and "busy" (plus one busy-looping process per core,
started by this script). Policies: 1 thread, 2 threads, PyTorch's default (one per core), and cardiacml's
default (resolve_threads: the cores the load average leaves idle). Prints seconds per 10 batches (median) and
the ratio to the best policy in the same condition.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from cardiacml.utils import cpu_cores

WORK = r"""
import os, sys, time, torch
t = sys.argv[1]
if t == "cardiacml":
    from cardiacml.utils import resolve_threads
    torch.set_num_threads(resolve_threads(None))
elif t != "torch-default":
    torch.set_num_threads(int(t))
from cardiacml.models import create_model
m = create_model("beatnet", 1, 187, 5)
opt = torch.optim.AdamW(m.parameters(), 1e-3)
x, y = torch.rand(128, 1, 187), torch.randint(0, 5, (128,))
for _ in range(3):
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
n = int(sys.argv[2]); t0 = time.perf_counter()
for _ in range(n):
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
print(10 * (time.perf_counter() - t0) / n, torch.get_num_threads())
"""


def run(policy: str, batches: int) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", WORK, policy, str(batches)], capture_output=True, text=True, check=True)
    s, k = out.stdout.split()
    return float(s), int(k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batches", type=int, default=40)
    a = ap.parse_args()
    cores = cpu_cores()
    print(f"machine: {cores} cores; workload: BeatNet training, batch 128; seconds per 10 batches (median of {a.repeats})")
    policies = ["1", "2", "torch-default", "cardiacml"]
    for cond in ("quiet", "busy"):
        hogs = []
        if cond == "busy":
            hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
            time.sleep(65)  # let the 1-minute load average see the competing load
        try:
            res = {}
            for p in policies:
                runs = [run(p, a.batches) for _ in range(a.repeats)]
                res[p] = (statistics.median(r[0] for r in runs), runs[0][1])
        finally:
            for h in hogs:
                h.kill()
        best = min(v[0] for v in res.values())
        load = os.getloadavg()[0]
        print(f"[{cond}] load average {load:.1f}")
        for p, (sec, k) in res.items():
            print(f"  {p:<14} {k} thread(s): {sec:7.2f} s / 10 batches  ({sec / best:5.1f}x the best)")


if __name__ == "__main__":
    main()
