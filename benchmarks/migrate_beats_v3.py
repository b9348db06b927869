"""Carry the shipped beat models from contract beat-rhythm v2 to v3 without changing a weight.

Contract v3 (cardiacml 0.3.2) takes the R-R and QRS-amplitude references over the whole record up to
``REFERENCE_SPAN_S`` (40 min) and over the 40 minutes centred on each beat in longer recordings; v2 took the whole
record however long. The models were trained on MIT-BIH records, 30 minutes each, for which the two are the same. This
script checks that on every one of the 48 records (reference R peaks: the training path) -- the R-R features and the
amplitude references under v3 equal those under whole-record references, bit for bit -- and only then rewrites the
contract stored in ``beats-ds1.pt`` / ``beats-all.pt`` (and the cards) to v3. Every other contract fact must already
match; the weights are untouched.

    python benchmarks/migrate_beats_v3.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from cardiacml.contracts import SignalContract
from cardiacml.contracts import rhythm as C
from cardiacml.datasets.mitbih import list_records
from cardiacml.ecg.pipeline import rr_features, scan_record
from cardiacml.io import open_record
from cardiacml.tasks.sources import find_mitdb

PRETRAINED = Path(__file__).resolve().parents[1] / "src" / "cardiacml" / "pretrained"
#: v2 feature names -> v3 (same features, same order: "record" became "reference")
RENAMED = {"record_rr_s": "reference_rr_s", "log_pre_over_record": "log_pre_over_reference",
           "log_post_over_record": "log_post_over_reference", "log_local_over_record": "log_local_over_reference",
           "log_qrs_amp_over_record": "log_qrs_amp_over_reference"}


def same_inputs_on_mitbih() -> int:
    mitdb = find_mitdb()
    span = C.REFERENCE_SPAN_S
    names = list_records(mitdb)
    for name in names:
        scan = scan_record(open_record(mitdb / name))
        assert scan.peaks[-1] / scan.fs <= span, name
        s3 = scan.beat_scale
        v3 = rr_features(scan.peaks, scan.fs, scan.qrs_ptp, s3), s3
        C.REFERENCE_SPAN_S = float("inf")
        try:
            s2 = scan.beat_scale
            v2 = rr_features(scan.peaks, scan.fs, scan.qrs_ptp, s2), s2
        finally:
            C.REFERENCE_SPAN_S = span
        for a, b in zip(v3, v2):
            if not np.array_equal(a, b):
                raise SystemExit(f"record {name}: v3 inputs differ from whole-record ones; retrain instead")
    return len(names)


def main() -> None:
    n = same_inputs_on_mitbih()
    print(f"{n} MIT-BIH records: v3 references == whole-record references (R-R features and amplitude scale)")
    for name in ("beats-ds1", "beats-all"):
        path = PRETRAINED / f"{name}.pt"
        ck = torch.load(path, map_location="cpu", weights_only=True)
        old = ck["contract"]
        if old.get("version") == C.VERSION:
            print(f"{name}: contract already v{C.VERSION}")
            continue
        theirs = SignalContract.from_dict(old).to_dict()  # the stored dict, in today's layout
        new = C.rhythm_contract(tuple(theirs["target_names"])).to_dict()
        # every layout fact the contract check compares must match, but for the version, the span and the names
        diff = {k for k in C._CHECKED if k not in ("version", "reference_span_s", "features") and theirs.get(k) != new.get(k)}
        if [RENAMED.get(f, f) for f in theirs.get("features", [])] != list(new["features"]):
            diff.add("features")
        if old.get("version") != 2 or diff:
            raise SystemExit(f"{name}: contract v{old.get('version')} differs in {sorted(diff)}; retrain instead")
        ck["contract"] = new
        note = (f"weights trained by cardiacml 0.3.0 under contract v2; carried to v{C.VERSION} by "
                "benchmarks/migrate_beats_v3.py (the inputs of every MIT-BIH record are the same under both)")
        ck.setdefault("card", {})["contract_note"] = note
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save(ck, tmp)
        os.replace(tmp, path)
        card_path = path.with_suffix(".json")
        card = json.loads(card_path.read_text())
        card["contract"] = f"beat-rhythm v{C.VERSION}"
        card["contract_note"] = note
        tmp = card_path.with_name(f".{card_path.name}.tmp")
        tmp.write_text(json.dumps(card, indent=1))
        os.replace(tmp, card_path)
        print(f"{name}: contract v2 -> v{C.VERSION} (weights unchanged)")


if __name__ == "__main__":
    main()
