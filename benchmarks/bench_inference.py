"""Inference benchmarks: throughput (beats/s, ECGs/s) in PyTorch vs onnxruntime, model sizes, and
training time to a target macro-F1 read from run histories. Prints figures; asserts nothing.

Usage: python benchmarks/bench_inference.py [RUN_DIR ...]   (BENCH_BEATS_ONLY=1: only the beat-classifier part)
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
from cardiacml.training.checkpoint import NormalizedModel

torch.set_num_threads(2)


def rate(fn, n, repeat=7):
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


def _ort_from(net, n_samples, path):
    sess = onnx_session(net, (1, n_samples), path)
    return lambda X: sess.run(None, {"ecg": np.ascontiguousarray(X, np.float32)})[0]


def beat_record_bench(tmp, record=None):
    """Beat classifiers on one whole MIT-BIH record (batch = the record), onnxruntime, 2 threads.

    Side by side in one run: the Kachuee reference (Kaggle contract) and rhythmnet (beat-rhythm
    contract), (a) model only, (b) including building the inputs from the record's R peaks
    (rhythmnet: windows, local templates and R-R features = pass 2 of the pipeline, from the band-passed
    lead pass 1 kept; Kachuee: resampling and the 10 s-window cut), (c) the whole record from the file
    (reading, filtering, R peaks from annotations, or detected by neurokit2), (d) all of ``predict_record``
    (c plus the signal-quality check, AF episodes, the morphology consensus and the CSV; and without the consensus).
    """
    from cardiacml.contracts.rhythm import rhythm_contract
    from cardiacml.ecg.pipeline import iter_rhythm_blocks, kachuee_beats, scan_record
    from cardiacml.io import open_record
    from cardiacml.tasks.sources import find_mitdb

    rec = str(Path(record) if record else find_mitdb() / "208")
    c = rhythm_contract()
    kach = NormalizedModel(create_model("kachuee", 1, 187, 5), 0.0, 1.0).eval()
    # the shipped rhythmnet (beats-ds1): the morphology consensus's work depends on how many beats it calls V-probable
    from cardiacml.training.checkpoint import load_run

    rhy = load_run("beats-ds1")[0].eval()
    run_k = _ort_from(kach, 187, os.path.join(tmp, "k.onnx"))
    run_r = _ort_from(rhy, c.n_samples, os.path.join(tmp, "r.onnx"))
    kb = kachuee_beats(open_record(rec))
    Xk = kb["X"][:, None, :]
    scan = scan_record(open_record(rec))
    Xr = np.concatenate([x for _, x in iter_rhythm_blocks(scan, block_beats=10**6)])
    n = len(Xr)
    print(f"[beats] record {rec}: {n} beats (rhythm), {len(Xk)} (Kachuee); batch = whole record; onnxruntime, 2 threads")
    r = {
        "kachuee model": rate(lambda: run_k(Xk), len(Xk)),
        "rhythmnet model": rate(lambda: run_r(Xr), n),
        "kachuee incl. inputs": rate(lambda: run_k(kachuee_beats(open_record(rec))["X"][:, None, :]), len(Xk)),
        "rhythmnet incl. rhythm features": rate(lambda: run_r(np.concatenate([x for _, x in iter_rhythm_blocks(scan, block_beats=10**6)])), n),
        "rhythmnet whole record from file": rate(lambda: run_r(np.concatenate(
            [x for _, x in iter_rhythm_blocks(scan_record(open_record(rec)), block_beats=10**6)])), n),
        "rhythmnet whole record from file, R peaks detected": rate(lambda: run_r(np.concatenate(
            [x for _, x in iter_rhythm_blocks(scan_record(open_record(rec), use_annotations=False), block_beats=10**6)])),
            n),
        "predict_record (CSV, quality check, AF episodes, morphology consensus)": rate(
            lambda: _predict_record(run_r, c, rec, tmp), n),
        "predict_record without the morphology consensus (0.4.1)": rate(
            lambda: _predict_record(run_r, c, rec, tmp, consensus=False), n),
    }
    # the consensus only works on V-probable beats and their twins (here beats-ds1's)
    from cardiacml.contracts.rhythm import W
    from cardiacml.inference.consensus import MIN_V, morphology_consensus

    prob = _softmax(run_r(Xr))
    hot = int((prob[:, 2] >= MIN_V).sum())
    r[f"morphology consensus alone ({hot} V-probable beats)"] = rate(
        lambda: morphology_consensus(Xr[:, 0, :W], prob, ("N", "S", "V", "F", "Q"), scan.peaks / scan.fs), n)
    for k, v in r.items():
        print(f"[beats] {k}: {v:,.0f} beats/s")
    print(f"[beats] rhythmnet/kachuee model-only speed ratio {r['rhythmnet model'] / r['kachuee model']:.2f}x; "
          f"incl. inputs {r['rhythmnet incl. rhythm features'] / r['kachuee incl. inputs']:.2f}x")
    return r


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _predict_record(run, contract, rec, tmp, consensus=True):
    """The whole streamed predict path of cardiacml (what `cardiacml predict` runs), with an onnxruntime model."""
    from cardiacml.inference.beats import predict_record
    from cardiacml.io import open_record

    class P:
        def __init__(self):
            self.contract = contract

        def predict(self, X):
            return _softmax(run(X))

    predict_record(P(), open_record(rec), Path(tmp) / "p.csv", show_progress=False, consensus=consensus)


def main():
    print(f"machine: {platform.machine()}, torch {torch.__version__}, 2 threads")
    tmp = tempfile.mkdtemp()
    beat_record_bench(tmp)
    if os.environ.get("BENCH_BEATS_ONLY"):
        return
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
