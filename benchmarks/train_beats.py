"""Train and evaluate beat classifiers on MIT-BIH; print AAMI EC57-style results; build the shipped pretrained models.

Usage
-----
Rhythm-aware model (beat-rhythm contract, ``rhythmnet``):

    python benchmarks/train_beats.py --pretrained beats-ds1     # DS1 only -> src/cardiacml/pretrained/beats-ds1.{pt,json}
    python benchmarks/train_beats.py --pretrained beats-all     # all 44 non-paced records -> beats-all.{pt,json}
    python benchmarks/train_beats.py --protocol interpatient --epochs 12 --out runs/rhythm-ds1
    python benchmarks/train_beats.py --protocol random --epochs 8 --out runs/rhythm-random

Legacy Kaggle single-beat runs (Task 2 as before): python benchmarks/train_beats.py MODEL PROTOCOL EPOCHS [OUT_DIR]
  MODEL: beatnet | kachuee | classical;  PROTOCOL: random | interpatient

Data: ../shared/data/mitdb (48 records; paced 102, 104, 107, 217 excluded from the rhythm runs).
interpatient = train on DS1 (minus 4 DS1 records held out BY RECORD for early stopping), test on DS2
(de Chazal 2004). random = stratified random beat split (patients on both sides), labelled as such.
Threads: 2 by default (``--threads``), run under ``nice``. Seeded: the same command gives the same model.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

PRETRAINED = {
    # one recipe for both, chosen on DS1 only: "rate" augmentation alone gave held-out-record validation macro-F1 0.635
    # vs 0.622 with rate + other-lead copies, 0.600 with sqrt class weights, 0.633 with rate + detected-peak copies.
    # 0.3.1 tried rate + "recorder" copies (recorder band-pass, muscle noise, electrode motion): better on DS1 (4-fold
    # cross-validation 0.527 vs 0.507, held-out records 0.655 vs 0.635) but it calls 5 % of record 100's normal beats F,
    # which the acceptance tests refuse, and it was worse on DS2; not shipped (see README). 1 thread: bit-reproducible on one machine
    # (since 0.3.2 also whatever the progress display). Seeds spread widely, so 0.4.0 (contract v4) trained seeds 0-3 of
    # each and kept the one with the best macro-F1 on its own held-out records (DS1: 0.676 / 0.606 / 0.571 / 0.631;
    # all: 0.621 / 0.592 / 0.582 / 0.644); DS2 was read only afterwards (README).
    "beats-ds1": {"protocol": "interpatient", "epochs": 10, "seed": 0, "n_keep": 0.3, "augment_kinds": "rate", "threads": 1},
    "beats-all": {"protocol": "all", "epochs": 10, "seed": 3, "n_keep": 0.3, "augment_kinds": "rate", "threads": 1},
}

#: What the cards say a user should know (contract v4, measured on MIT-BIH; README "Beats on new patients").
_V4_RISK = ("The R-R reference is the 90th percentile of the record's R-R intervals (contract v4): where more than about "
            "a tenth of the intervals are pauses, blocked beats (2:1 AV block, sinus arrest) or beats the R-peak "
            "detector missed, conducted beats can look premature and be called S{example}; --adapt-minutes fixes such a "
            "patient. Trained on MIT-BIH only (MLII mostly, 360 Hz); other leads score lower{leads}.")
LIMITS = {
    "beats-ds1": _V4_RISK.format(example=" (DS2 record 231, unseen: 104 of its sinus beats)",
                                 leads=" (V1 at 250 Hz: DS2 macro-F1 0.55)") + " F beats of new patients are rarely found "
                                 "(DS2 F1 0.23).",
    "beats-all": _V4_RISK.format(example="", leads="") + " Its DS2 figures are on training patients: for new patients "
                                 "see beats-ds1's.",
}


def legacy(argv):
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit
    from cardiacml.tasks.metrics import classification_metrics
    from cardiacml.tasks import load_task

    model, protocol, epochs = argv[0], argv[1], int(argv[2])
    out = Path(argv[3] if len(argv) > 3 else f"runs/task2-{model}-{protocol}")
    data = load_task("task2", protocol=protocol)
    t0 = time.time()
    if model == "classical":
        from cardiacml.models.classical import ClassicalBeatClassifier

        clf = ClassicalBeatClassifier().fit(np.concatenate([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val]))
        m = classification_metrics(data.y_test, clf.predict(data.X_test), data.contract["classes"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"test": m}, indent=1))
    else:
        _, ck = fit(data, TrainConfig(model=model, epochs=epochs, batch_size=128, lr=3e-3, patience=5, threads=2), out,
                    data_args={"protocol": protocol, "seed": 0, "data_dir": None, "mitdb": None})
        m = ck["metrics"]["test"]
    print(f"RESULT model={model} protocol={protocol} n_test={m['n']} accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f} "
          f"per_class_f1={ {c: round(v['f1'], 3) for c, v in m['per_class'].items()} } train_s={time.time() - t0:.0f} "
          f"machine={platform.machine()} cpus=2")


def rhythm(args):
    import torch

    from cardiacml.tasks.beats import load_beats_rhythm
    from cardiacml.ecg.aami import aami_report, format_report
    from cardiacml.training.checkpoint import TrainConfig
    from cardiacml.training.loop import fit, predict_array

    torch.set_num_threads(args.threads)
    t0 = time.time()
    augment = False if args.no_augment else (tuple(args.augment_kinds.split(",")) if args.augment_kinds else True)
    data = load_beats_rhythm(args.mitdb, protocol=args.protocol, seed=args.seed, augment=augment,
                             max_train=args.max_train, n_keep=args.n_keep)
    print(f"data: {data.source}\n  train {len(data.y_train)} {np.bincount(data.y_train, minlength=5).tolist()}  "
          f"val {len(data.y_val)} {np.bincount(data.y_val, minlength=5).tolist()}  test {len(data.y_test)}  "
          f"({time.time() - t0:.0f} s)", flush=True)
    cfg = TrainConfig(task="beats", model="rhythmnet", epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      patience=args.patience, seed=args.seed, class_weighting=args.class_weighting, augment=False,
                      threads=args.threads, hparams={"strided": True} if args.strided else {})
    out = Path(args.out)
    if args.reuse and (out / "model.pt").is_file():  # evaluate / install a finished run of the same command
        from cardiacml.training.checkpoint import load_checkpoint

        model, ck = load_checkpoint(out)
    else:
        # data_args: what `cardiacml evaluate` needs to rebuild this split (the beats task's loader, same recipe)
        model, ck = fit(data, cfg, out, data_args={"protocol": args.protocol, "seed": args.seed, "mitdb": None,
                                                   "data_dir": None, "max_train": None, "max_eval": None})
    prob = predict_array(model, data.X_test, batch_size=4096)
    rep = aami_report(data.y_test, prob.argmax(1))
    val = aami_report(data.y_val, predict_array(model, data.X_val, batch_size=4096).argmax(1))
    # the held-out DS1 records again, R peaks detected as predict does on unannotated records (for model choice too)
    from cardiacml.datasets.mitbih import build_rhythm
    from cardiacml.tasks.sources import find_mitdb

    val_det = None
    if data.extra["val_records"]:
        Xd, yd, _ = build_rhythm(find_mitdb(args.mitdb), data.extra["val_records"], ("detect",), args.seed)
        val_det = aami_report(yd, predict_array(model, Xd, batch_size=4096).argmax(1))
        print(f"validation, detected R peaks: macro-F1 NSVF {val_det['macro_f1_nsvf']:.3f}")
    title = {"interpatient": "DS1 -> DS2 (inter-patient, paced excluded)", "all": "trained on all non-paced records; DS2 (SEEN in training)",
             "random": "RANDOM beat split (patients on both sides), 20 % test"}[args.protocol]
    text = format_report(rep, f"### {title}")
    print(text)
    print(f"validation (held-out records {data.extra['val_records']}): macro-F1 NSVF {val['macro_f1_nsvf']:.3f}")
    m = ck["metrics"]["test"]
    print(f"RESULT protocol={args.protocol} accuracy={m['accuracy']:.4f} macro_f1(5 classes)={m['macro_f1']:.4f} "
          f"macro_f1_nsvf={rep['macro_f1_nsvf']:.4f} best_epoch={ck['best_epoch']} train_s={time.time() - t0:.0f} "
          f"machine={platform.machine()} threads={args.threads}")
    (out / "aami.json").write_text(json.dumps({"test": rep, "val": val, "title": title}, indent=1))
    return out, rep, (val, val_det), ck, data


def main():
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        return legacy(sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pretrained", choices=sorted(PRETRAINED))
    ap.add_argument("--protocol", default="interpatient", choices=["interpatient", "all", "random"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--patience", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--class-weighting", default="none", choices=["none", "sqrt", "inverse"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-train", type=int)
    ap.add_argument("--n-keep", type=float, default=0.3, help="fraction of N training beats kept")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--augment-kinds", help="comma-separated recording augmentations (default: all of rate,recorder,lead2)")
    ap.add_argument("--mitdb")
    ap.add_argument("--strided", action="store_true", help="rhythmnet with strided convolutions (faster)")
    ap.add_argument("--reuse", action="store_true", help="use OUT/model.pt if it exists instead of training again")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.pretrained:
        for k, v in PRETRAINED[args.pretrained].items():
            setattr(args, k, v)
        args.out = args.out or f"runs/{args.pretrained}"
    args.out = args.out or f"runs/rhythm-{args.protocol}"
    out, rep, (val, val_det), ck, data = rhythm(args)
    if args.pretrained:
        dest = Path(__file__).resolve().parents[1] / "src" / "cardiacml" / "pretrained"
        card = {
            "name": args.pretrained, "model": "rhythmnet", "contract": "beat-rhythm v%d" % data.contract.extra["version"],
            "training_data": data.source, "train_records": data.extra["train_records"], "val_records": data.extra["val_records"],
            "protocol": ("DS1 only (de Chazal 2004 split); early stopping on held-out DS1 records; DS2 never seen"
                         if args.protocol == "interpatient" else
                         "all 44 non-paced MIT-BIH records (DS1 + DS2), early stopping on 4 held-out records; no unseen MIT-BIH test set"),
            "ds2": {"honest": args.protocol == "interpatient",
                    "per_class": {c: {k: round(v[k], 4) for k in ("se", "ppv", "f1", "support")} for c, v in rep["per_class"].items()},
                    "macro_f1_nsvf": round(rep["macro_f1_nsvf"], 4), "confusion": rep["confusion"]},
            "val_macro_f1_nsvf": round(val["macro_f1_nsvf"], 4),
            "val_detected_macro_f1_nsvf": None if val_det is None else round(val_det["macro_f1_nsvf"], 4), "best_epoch": ck["best_epoch"],
            "train_time_s": round(ck["train_time_s"]), "machine": f"{platform.machine()}, {args.threads} threads",
            "retrain": f"python benchmarks/train_beats.py --pretrained {args.pretrained}",
            "limits": LIMITS[args.pretrained],
            "size_bytes": os.path.getsize(out / "model.pt"),
        }
        # weights and card replace the shipped pair together (each written beside it, then renamed)
        for src, name, text in ((out / "model.pt", f"{args.pretrained}.pt", None),
                                (None, f"{args.pretrained}.json", json.dumps(card, indent=1))):
            tmp = dest / f".{name}.tmp"
            shutil.copyfile(src, tmp) if src else tmp.write_text(text)
            os.replace(tmp, dest / name)
        print(f"pretrained -> {dest / args.pretrained}.pt ({card['size_bytes'] / 1024:.0f} KB) + .json")


if __name__ == "__main__":
    main()
