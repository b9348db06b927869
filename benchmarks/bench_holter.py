"""24-hour (and 72-hour) Holter benchmark: wall time, peak memory and beats/s, before and after streaming.

Builds a single-lead 360 Hz WFDB record by joining the 48 MIT-BIH records (MLII, else the
first channel; 48 x 30 min = 24.1 h, 31.2 M samples, with the joined .atr annotations) into
the cache directory (``$CARDIACML_CACHE/holter``, never the repository), then runs, each in
its own process so peak RSS is that run's alone:

* ``before``: today's (0.1.0) predict path for a raw record: whole record read with
  ``wfdb.rdrecord``, ``.atr`` annotations, resample to 125 Hz, Kachuee cut, beatnet in
  PyTorch, pandas CSV (the legacy reader is reproduced verbatim below);
* ``after``: :func:`cardiacml.inference.beats.predict_record` streamed with a beat-rhythm model
  (``beats-ds1`` when shipped, else an untrained rhythmnet: same cost), PyTorch and
  onnxruntime, with annotations and with neurokit2 R-peak detection. A mode ending in ``-noconsensus``
  (e.g. ``after-onnx-detect-noconsensus``) runs the same path without the morphology consensus, to time what the
  consensus costs side by side.

Usage: python benchmarks/bench_holter.py [--hours 24] [--hours72] [--only before,after-onnx,...] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MITDB = Path(os.environ.get("CARDIACML_MITDB", Path(__file__).resolve().parents[2] / "shared" / "data" / "mitdb"))


def build_holter(hours: float, out_dir: Path) -> Path:
    """Join MIT-BIH records (repeating the list as needed) into one single-lead WFDB record of ``hours``."""
    import wfdb

    name = f"holter_{hours:g}h"
    base = out_dir / name
    if (out_dir / f"{name}.hea").is_file() and (out_dir / f"{name}.atr").is_file():
        return base
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [n for n in (MITDB / "RECORDS").read_text().split()]
    n_target = int(round(hours * 3600 * 360))
    sig, samples, symbols, total, i = [], [], [], 0, 0
    while total < n_target:
        n = names[i % len(names)]
        i += 1
        rec = wfdb.rdrecord(str(MITDB / n), physical=False)
        ch = rec.sig_name.index("MLII") if "MLII" in rec.sig_name else 0
        d = rec.d_signal[:, ch].astype(np.int16)[: n_target - total]
        ann = wfdb.rdann(str(MITDB / n), "atr")
        keep = np.asarray(ann.sample) < len(d)
        samples.append(np.asarray(ann.sample)[keep] + total)
        symbols += list(np.asarray(ann.symbol)[keep])
        sig.append(d)
        total += len(d)
    d = np.concatenate(sig)[:, None]
    wfdb.wrsamp(name, fs=360, units=["mV"], sig_name=["MLII"], d_signal=d, fmt=["16"], adc_gain=[200.0], baseline=[1024],
                write_dir=str(out_dir))
    s = np.concatenate(samples)
    wfdb.wrann(name, "atr", s, np.asarray(symbols), write_dir=str(out_dir))
    return base


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it is not inherited across fork+exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- child runs ------------------------------------------------------------------------------------
def _legacy_read_record_beats(base: Path):
    """cardiacml 0.1.0 inference/inputs.py ``_read_record_beats`` (annotated record), verbatim in substance."""
    import wfdb

    from cardiacml.ecg.aami import AAMI_MAP
    from cardiacml.ecg.filters import resample as resample_signal
    from cardiacml.ecg.pipeline import segment_beats

    rec = wfdb.rdrecord(str(base))
    names = [n.upper() for n in rec.sig_name]
    ch = names.index("MLII") if "MLII" in names else 0
    x = rec.p_signal[:, ch]
    ann = wfdb.rdann(str(base), "atr")
    sym = np.asarray(ann.symbol)
    keep = np.isin(sym, list(AAMI_MAP))
    r = np.asarray(ann.sample)[keep]
    labels = np.array([AAMI_MAP[s] for s in sym[keep]])
    sig = resample_signal(x, rec.fs, 125.0)
    r125 = np.clip(np.round(r * 125.0 / rec.fs).astype(np.int64), 0, len(sig) - 1)
    beats, kept = segment_beats(sig, r125)
    return {"X": beats[:, None, :], "time_s": r[kept] / rec.fs, "label": labels[kept]}


class _Torch:
    def __init__(self, model, contract):
        import torch

        self.model, self.contract, self.torch = model.eval(), contract, torch

    def predict(self, X):
        with self.torch.inference_mode():
            out = []
            for i in range(0, len(X), 8192):
                out.append(self.torch.softmax(self.model(self.torch.as_tensor(X[i:i + 8192])), -1).numpy())
            return np.concatenate(out)


def _rhythm_model():
    from cardiacml.contracts.rhythm import rhythm_contract
    from cardiacml.models import create_model
    from cardiacml.training.checkpoint import NormalizedModel, load_checkpoint

    try:
        from cardiacml.pretrained import pretrained_path

        model, ck = load_checkpoint(pretrained_path("beats-ds1"))
        return model, ck["contract"], "beats-ds1"
    except Exception:
        c = rhythm_contract()
        return NormalizedModel(create_model("rhythmnet", 1, c.n_samples, 5), 0.0, 1.0), c, "untrained rhythmnet"


def child(mode: str, record: str, out_dir: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    out = Path(out_dir)
    af = ""
    if mode == "before":
        import pandas as pd

        from cardiacml.models import create_model
        from cardiacml.training.checkpoint import NormalizedModel
        from cardiacml.training.loop import predict_array

        net = NormalizedModel(create_model("beatnet", 1, 187, 5), 0.0, 1.0)
        beats = _legacy_read_record_beats(Path(record))
        prob = predict_array(net, beats["X"])
        classes = ["N", "S", "V", "F", "Q"]
        df = pd.DataFrame({"beat": np.arange(len(prob)), "time_s": np.round(beats["time_s"], 4)})
        df["predicted"] = [classes[i] for i in prob.argmax(1)]
        for j, k in enumerate(classes):
            df[f"p_{k}"] = np.round(prob[:, j], 6)
        df["reference"] = [classes[i] for i in beats["label"]]
        df.to_csv(out / "before.csv", index=False)
        n, what = len(df), "0.1.0 predict path (whole record, Kachuee beats, beatnet/PyTorch)"
    else:
        from cardiacml.inference.beats import predict_record

        model, contract, name = _rhythm_model()
        if "onnx" in mode:
            from cardiacml.inference.onnx_export import OnnxPredictor

            p = out / "rhythm.onnx"
            torch.onnx.export(model, (torch.rand(2, 1, contract["n_samples"]),), str(p), input_names=["ecg"],
                              output_names=["output"], dynamic_axes={"ecg": {0: "batch"}, "output": {0: "batch"}},
                              opset_version=17, dynamo=False)
            import onnx

            proto = onnx.load(str(p))
            e = proto.metadata_props.add()
            e.key, e.value = "cardiacml", json.dumps({"task": "beats", "kind": "classification", "contract": contract})
            onnx.save(proto, str(p))
            pred = OnnxPredictor(p, threads=threads)
        else:
            pred = _Torch(model, contract)
        t0 = time.perf_counter()  # model loading/export is not part of the record's processing
        from cardiacml.io import open_record

        consensus = not mode.endswith("-noconsensus")
        s = predict_record(pred, open_record(record), out / f"{mode}.csv", use_annotations="detect" not in mode,
                           show_progress=False, consensus=consensus).summary
        n, what = s["beats"], f"streamed predict_record, {name}, {'onnxruntime' if 'onnx' in mode else 'PyTorch'}, " \
                              f"R peaks from {'neurokit2' if 'detect' in mode else 'annotations'}" \
                              f"{'' if consensus else ', no morphology consensus'}"
        af = f"AF burden {100 * s.get('af_burden', 0):.1f} %, {len(s.get('rhythm_episodes', []))} episodes"
    wall = time.perf_counter() - t0
    rss = _peak_rss_mib()
    return {"mode": mode, "what": what, "beats": int(n), "wall_s": round(wall, 1), "peak_rss_mib": round(rss),
            "beats_per_s": round(n / wall), "rhythm": af}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--only", default="before,after-torch,after-onnx,after-onnx-detect",
                    help="comma-separated runs: before, after-torch, after-onnx, after-onnx-detect; add -noconsensus to "
                         "an after-* run to leave the morphology consensus out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "RECORD", "OUT"))
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(*args.child, args.threads)), flush=True)
        return
    from cardiacml.utils import default_cache_dir

    cache = default_cache_dir() / "holter"
    t = time.time()
    base = build_holter(args.hours, cache)
    print(f"record: {base} ({args.hours:g} h single lead, 360 Hz, joined MIT-BIH; built/found in {time.time() - t:.0f} s)")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, threads {args.threads}; each run in its own process")
    rows = []
    for mode in args.only.split(","):
        r = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", mode, str(base), str(cache)],
                           capture_output=True, text=True, env=dict(os.environ, CARDIACML_PROGRESS="0"))
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
        if r.returncode or not line:
            print(f"[{mode}] failed (rc {r.returncode}): {r.stderr[-2000:]}")
            continue
        res = json.loads(line[0][7:])
        rows.append(res)
        print(f"[{mode}] {res['what']}: {res['beats']:,} beats in {res['wall_s']} s, peak RSS {res['peak_rss_mib']} MiB, "
              f"{res['beats_per_s']:,} beats/s", flush=True)
    ref = next((r for r in rows if r["mode"] == "before"), None)
    if ref:
        for r in rows:
            if r is not ref:
                print(f"[{r['mode']}] vs before: {ref['wall_s'] / r['wall_s']:.1f}x faster, "
                      f"{ref['peak_rss_mib'] / r['peak_rss_mib']:.1f}x less peak memory")


if __name__ == "__main__":
    main()
