"""Fuzz-style: hundreds of malformed inputs and options give a one-line error (exit 2) or a result (exit 0), never a
traceback. Inputs are generated programmatically: malformed recordings and options (predict), run folders (report,
evaluate), checkpoints and ONNX files (export, predict), simulator options (simulate) and manifests (data download)."""

import json
import math
import time

import numpy as np
from typer.testing import CliRunner

from cardiacml.cli import app

runner = CliRunner()

ODD = [None, "x", "", -1, 0, 1.5, float("nan"), [], {}, True, "121", 10 ** 30]


def _jsonable(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _cases(tmp):
    """Yield (label, argv) pairs; files are written under ``tmp`` as needed."""
    rng = np.random.default_rng(0)
    # ---------------------------------------------------------------- predict: malformed recordings
    files = {
        "empty.csv": b"", "blank.csv": b"\n\n\n", "binary.csv": bytes(rng.integers(0, 256, 3000, dtype=np.uint8)),
        "text.csv": b"MLII\nabc\ndef\n", "ragged.csv": b"a,b\n1,2\n3\n4,5,6\n", "nan.csv": b"MLII\nnan\nnan\nnan\n",
        "inf.csv": b"MLII\n" + b"inf\n" * 400, "huge.csv": b"MLII\n" + b"1e30\n" * 400, "one.csv": b"MLII\n0.1\n",
        "header_only.csv": b"MLII,V5\n", "semicolon.csv": b"a;b\n1,2;3\n", "neg_time.csv": b"time,MLII\n0,1\n-1,2\n0.5,3\n",
        "dup_time.csv": b"time,MLII\n0,1\n0,2\n0,3\n", "wide.csv": (",".join(["1"] * 2000) + "\n").encode(),
        "bad.npy": b"\x93NUMPY garbage", "empty.npy": b"", "bad.npz": b"PK\x03\x04garbage", "bad.edf": b"0" * 300,
        "bad.hea": b"100 2 360 zzz\n", "x.tsv": b"\t\t\t\n", "bad.dat": b"\x00" * 10,
        "obj.npy": None, "str.npy": None, "3d.npy": None, "flat.csv": b"MLII\n" + b"0\n" * 4000,
        "nanrow.npy": None, "big_cols.npz": None, "zero_fs.npz": None,
    }
    for name, data in files.items():
        p = tmp / name
        if name == "obj.npy":
            np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        elif name == "str.npy":
            np.save(p, np.array(["a", "b"]))
        elif name == "3d.npy":
            np.save(p, rng.normal(size=(2, 3, 4)))
        elif name == "nanrow.npy":
            np.save(p, np.full((1000, 1), np.nan))
        elif name == "big_cols.npz":
            np.savez(p, signal=rng.normal(size=(10, 5000)), fs=np.array(360.0))
        elif name == "zero_fs.npz":
            np.savez(p, signal=rng.normal(size=(1000, 1)), fs=np.array(0.0))
        else:
            p.write_bytes(data)
        for model in ("beats-all", "beats-ds1", "heart-act"):
            yield f"predict {model} {name}", ["predict", model, str(p), "--fs", "360", "--out", str(tmp / "o.csv")]
    rec = tmp / "rec.csv"
    rec.write_text("MLII\n" + "\n".join(f"{v:.3f}" for v in np.sin(np.arange(3000) / 20)))
    for opt, vals in {"--fs": ["0", "-1", "nan", "inf", "1e9", "abc", "5"], "--lead": ["99", "-1", "nosuch", ""],
                      "--units": ["furlongs", "", "kV"], "--beat": ["abc", "-3", "1.5"]}.items():
        for v in vals:
            argv = ["predict", "beats-all", str(rec), "--out", str(tmp / "o.csv"), opt, v]
            if opt != "--fs":
                argv += ["--fs", "360"]
            yield f"predict option {opt} {v!r}", argv
    for name in ("nosuch-model", str(tmp / "empty.csv"), str(tmp / "garbage.onnx"), str(tmp / "empty.onnx"),
                 str(tmp / "bad.pt"), str(tmp)):
        yield f"predict model {name}", ["predict", name, str(rec), "--fs", "360", "--out", str(tmp / "o.csv")]
    (tmp / "garbage.onnx").write_bytes(bytes(rng.integers(0, 256, 500, dtype=np.uint8)))
    (tmp / "empty.onnx").write_bytes(b"")
    (tmp / "bad.pt").write_bytes(b"not a checkpoint")
    # ---------------------------------------------------------------- report: malformed run folders
    meta = {"task": "task2", "kind": "classification", "model": "beatnet", "n_parameters": 10,
            "cardiacml_version": "0.3", "train_time_s": 1.0, "data": {}, "config": {}}
    k = 0
    for key in list(meta):
        for v in ODD:
            run = tmp / f"run{k}"
            run.mkdir()
            (run / "run.json").write_text(json.dumps({**meta, key: _jsonable(v)}))
            (run / "metrics.json").write_text(json.dumps({"test": {"n": 1, "accuracy": v if v == v else None}}))
            k += 1
            yield f"report run.json {key}={v!r}", ["report", str(run)]
    for text in ("", "{", "[]", "null", '"s"', "{\"test\": 1}", "\x00\x01"):
        run = tmp / f"runm{k}"
        run.mkdir()
        (run / "run.json").write_text(json.dumps(meta))
        (run / "metrics.json").write_text(text)
        k += 1
        yield f"report metrics.json {text!r}", ["report", str(run)]
    # ---------------------------------------------------------------- evaluate / export: malformed runs
    for name in ("nosuch", str(tmp / "bad.pt"), str(tmp / "run0"), str(tmp / "empty.onnx"), str(tmp)):
        yield f"evaluate {name}", ["evaluate", name]
        yield f"export {name}", ["export", name, "--out", str(tmp / "e.onnx")]
    for out in (str(tmp / "rec.csv"), str(tmp / "x.pt"), str(tmp), "/dev/null"):
        yield f"export --out {out}", ["export", "beats-ds1", "--out", out]
    # ---------------------------------------------------------------- simulate: invalid options (none runs)
    for opts in (["--cv-min", "0.9", "--cv-max", "0.5"], ["--cv-min", "-1"], ["--cv-min", "0"], ["--cv-max", "nan"],
                 ["--cv-min", "inf"], ["--noise-mv", "nan"], ["--noise-mv", "-1"], ["--noise-mv", "inf"],
                 ["--wander-mv", "nan"], ["--wander-mv", "-0.5"], ["--n", "0"], ["--n", "-5"], ["--jobs", "0"],
                 ["--shard", "3/2"], ["--shard", "x"], ["--shard", "1/0"], ["--shard", "-1/2"], ["--n", "abc"],
                 ["--cv-max", "-2"], ["--jobs", "-1"]):
        yield f"simulate {opts}", ["simulate", "--out", str(tmp / "sim"), *opts]
    # ---------------------------------------------------------------- data download: malformed manifests
    good = {"url": "http://127.0.0.1:9/x.tgz", "filename": "x.tgz"}
    for key in ("url", "filename", "sha256", "size", "extract"):
        for v in ODD:
            m = tmp / f"m{k}.json"
            m.write_text(json.dumps([{**good, key: _jsonable(v)}]))
            k += 1
            yield f"download manifest {key}={v!r}", ["data", "download", "heartbeat", "--dest", str(tmp / "dl"),
                                                     "--manifest", str(m), "--retries", "0"]
    for text in ("", "{", "{}", "[1]", '[{"url": "x"}]', '[{"filename": "../x", "url": "http://a"}]', "null",
                 '[{"url": "x", "filename": "a", "extra": 1}]'):
        m = tmp / f"m{k}.json"
        m.write_text(text)
        k += 1
        yield f"download manifest {text!r}", ["data", "download", "heartbeat", "--dest", str(tmp / "dl"),
                                             "--manifest", str(m), "--retries", "0"]


def test_malformed_inputs_never_give_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIACML_PROGRESS", "")
    t0 = time.time()
    bad, n = [], 0
    for label, argv in _cases(tmp_path):
        res = runner.invoke(app, argv)
        n += 1
        out = res.output + (res.stderr if res.stderr_bytes else "")
        if res.exit_code not in (0, 2) or "Traceback" in out:
            bad.append(f"{label}: exit {res.exit_code}: {out.strip().splitlines()[-1:] if out.strip() else res.exception!r}")
    elapsed = time.time() - t0
    print(f"{n} malformed inputs in {elapsed:.1f} s")
    assert n >= 200
    assert not bad, f"{len(bad)} of {n} cases failed:\n" + "\n".join(bad)
