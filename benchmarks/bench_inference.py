"""Inference benchmarks: throughput (beats/s, ECGs/s) in PyTorch vs onnxruntime, model sizes, and
training time to a target macro-F1 read from run histories. Prints figures; asserts nothing.

Usage: python benchmarks/bench_inference.py [RUN_DIR ...]
  RUN_DIR: folders made by `cardiacml train` / benchmarks/train_beats.py (for time-to-target).
Threads: 2 (the CI machine's cores).
"""

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cardiacml.models import count_parameters, create_model
from cardiacml.training.loop import NormalizedModel

torch.set_num_threads(2)


def rate(fn, n, repeat=3):
    fn()
    best = min(_timed(fn) for _ in range(repeat))
    return n / best


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def onnx_session(model, shape, path):
    import onnxruntime as ort

    torch.onnx.export(model, (torch.rand(2, *shape),), path, input_names=["ecg"], output_names=["output"],
                      dynamic_axes={"ecg": {0: "batch"}, "output": {0: "batch"}}, opset_version=17, dynamo=False)
    o = ort.SessionOptions()
    o.intra_op_num_threads = 2
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def main():
    print(f"machine: {platform.machine()}, torch {torch.__version__}, 2 threads")
    tmp = tempfile.mkdtemp()
    cases = [("beatnet", (1, 187), 5, {}, 4096), ("kachuee", (1, 187), 5, {}, 4096),
             ("tcn", (12, 500), 75, {"out": "sequence"}, 64), ("tcn", (12, 500), 75, {"out": "vector"}, 64),
             ("squeezenet1d", (12, 500), 75, {"out": "sequence"}, 64)]
    for name, shape, n_out, hp, batch in cases:
        net = NormalizedModel(create_model(name, shape[0], shape[1], n_out, **hp), 0.0, 1.0).eval()
        x = torch.rand(batch, *shape)
        with torch.inference_mode():
            r_torch = rate(lambda: net(x), batch)
        sess = onnx_session(net, shape, os.path.join(tmp, f"{name}.onnx"))
        xn = x.numpy()
        r_ort = rate(lambda: sess.run(None, {"ecg": xn}), batch)
        size_kb = os.path.getsize(os.path.join(tmp, f"{name}.onnx")) / 1024
        unit = "beats/s" if shape[1] == 187 else "ECGs/s"
        print(f"[{name}{'/' + hp['out'] if hp else ''}] {count_parameters(net)} params, ONNX {size_kb:.0f} KB, batch {batch}: "
              f"torch {r_torch:,.0f} {unit}, onnxruntime {r_ort:,.0f} {unit} (ort/torch {r_ort / r_torch:.2f}x)")
    for run in sys.argv[1:]:
        hist = json.loads((Path(run) / "history.json").read_text())
        meta = json.loads((Path(run) / "run.json").read_text())
        for target in (0.85, 0.90):
            hit = next((h for h in hist if h.get("macro_f1", 0) >= target), None)
            msg = f"{hit['time_s']:.0f} s (epoch {hit['epoch']})" if hit else "not reached"
            print(f"[time to val macro-F1 >= {target}] {meta['model']} ({run}): {msg}")


if __name__ == "__main__":
    main()
