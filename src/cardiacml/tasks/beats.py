"""The ``beats`` task: every beat of a raw recording -> AAMI class N/S/V/F/Q, with rhythm context.

Input contract ``beat-rhythm`` (:mod:`cardiacml.contracts.rhythm`): the beat's window, the patient's local
template and R-R features, all normalised by the record's own amplitude and rhythm, so that a model
crosses recorders, gains and sampling rates. Data: MIT-BIH rebuilt through the one record -> beats
pipeline (:mod:`cardiacml.ecg.pipeline`) that prediction uses too.

Protocols: ``interpatient`` (train on DS1, early stopping on DS1 records held out by record, test on
DS2: unseen patients), ``all`` (all 44 non-paced records; DS2 is then not held out) and ``random``
(random beat split, patients on both sides, labelled as such). The challenge's Kaggle single-beat
Task 2 is unchanged (``task2``). The MIT-BIH recipe of the shipped models (validation records, record
augmentation, N subsampling) lives here, in :func:`load_beats_rhythm`; the per-record builders it calls
are :mod:`cardiacml.datasets.mitbih`'s.
"""

from __future__ import annotations

import numpy as np

from ..contracts.beat import MITBIH_CLASSES
from ..datasets.mitbih import AUGMENTATIONS, DS1, DS2, PACED, build_rhythm
from ..errors import UsageError
from .common import classification_summary, left_out_note
from .registry import TaskData, TaskSpec, register_task

LIMITS = {
    "interpatient": "Inter-patient split (de Chazal DS1 -> DS2, paced records excluded): test patients are unseen and "
                    "validation records are held out of DS1 by record; the clinically honest figure. Other databases, "
                    "recorders and leads are not measured here.",
    "all": "Trained on all 44 non-paced MIT-BIH records: its DS2 figures are on training patients and say nothing "
           "about new patients (use beats-ds1's for that).",
    "random": "Random beat split: beats of the same patient are in both training and test sets; figures overstate "
              "performance on new patients.",
}


def _load(*, mitdb=None, protocol="auto", seed=0, val_fraction=0.1, max_train=None, test_only=False):
    # the recipe of the shipped models (benchmarks/train_beats.py): rate-resampled copies of training records,
    # 30 % of the redundant N training beats; validation and test records are never augmented or subsampled
    return load_beats_rhythm(mitdb, protocol="interpatient" if protocol == "auto" else protocol, seed=seed,
                             max_train=max_train, augment=("rate",), n_keep=0.3, test_only=test_only)


#: DS1 records held out (by record) for early stopping / model selection of DS1 models:
#: chosen to hold S, V and F beats from several patients (never DS2, never beats of training records).
VAL_RECORDS_DS1 = ("106", "119", "220", "223")
#: Records held out for early stopping when training on all non-paced records (``beats-all``).
VAL_RECORDS_ALL = ("119", "223", "202", "213")


def load_beats_rhythm(mitdb=None, *, protocol: str = "interpatient", seed: int = 0, augment: bool = True,
                      val_records=None, max_train: int | None = None, n_keep: float = 0.3, cache_dir=None,
                      test_only: bool = False):
    """Rhythm-aware beat data (beat-rhythm contract) as a :class:`~cardiacml.tasks.registry.TaskData`.

    Parameters
    ----------
    mitdb : path-like, optional
        Raw MIT-BIH folder (default: :func:`cardiacml.tasks.sources.find_mitdb`).
    protocol : {"interpatient", "all", "random"}
        ``"interpatient"``: train on DS1 minus :data:`VAL_RECORDS_DS1`, early-stop on those
        DS1 records (held out by record), test on DS2 (paced records excluded).
        ``"all"``: train on all 44 non-paced records minus :data:`VAL_RECORDS_ALL`, early-stop
        on those; the test split is DS2 (not held out: figures are not a generalisation
        measure). ``"random"``: stratified random beat split
        of all 48 records, paced ones included as today's random-split figure is (80/20, then 10 %
        of training beats for validation), labelled as such.
    augment : bool or tuple of str
        Add the :data:`AUGMENTATIONS` copies (or those named) of every training record (never of val/test).
    n_keep : float
        Fraction of the (highly redundant) N training beats kept, drawn at random (seeded);
        makes an epoch 3x cheaper and acts as class re-balancing. Val and test keep every beat.
    max_train : int, optional
        Random subset of training beats (quick runs).
    test_only : bool
        Evaluation: ``"interpatient"`` and ``"all"`` read the DS2 test records only (the training and validation
        splits come back empty); ``"random"`` cuts its test beats from all 48 records and still reads them all.

    Returns
    -------
    TaskData with ``task="beats"`` (5 AAMI classes) and ``contract`` = the beat-rhythm contract;
    ``extra`` holds ``test_groups`` / ``val_groups`` / ``train_records`` / ``val_records``.
    """
    from ..contracts.rhythm import rhythm_contract
    from .sources import find_mitdb

    src = find_mitdb(mitdb)
    kinds = tuple(augment) if isinstance(augment, (tuple, list)) else (AUGMENTATIONS if augment else ())
    variants = ("orig",) + kinds
    all_recs = tuple(sorted(DS1 + DS2))
    rng = np.random.default_rng(seed)
    if protocol in ("interpatient", "all"):
        val = tuple(val_records or (VAL_RECORDS_DS1 if protocol == "interpatient" else VAL_RECORDS_ALL))
        pool = DS1 if protocol == "interpatient" else all_recs
        train_recs = tuple(r for r in pool if r not in val)
        if not test_only:
            Xtr, ytr, gtr = build_rhythm(src, train_recs, variants, seed, cache_dir)
            Xva, yva, gva = build_rhythm(src, val, ("orig",), seed, cache_dir)
        Xte, yte, gte = build_rhythm(src, DS2, ("orig",), seed, cache_dir)
        if test_only:  # the training records (and their augmented copies) and the validation records are not read
            Xtr, ytr, gtr = Xva, yva, gva = Xte[:0], yte[:0], gte[:0]
        what = ("DS1 records minus held-out DS1 validation records" if protocol == "interpatient"
                else "all 44 non-paced records minus held-out validation records")
        source = f"MIT-BIH beat-rhythm beats from raw records ({src}); train: {what}; val: records {list(val)}; test: DS2"
    elif protocol == "random":
        from sklearn.model_selection import train_test_split

        all_recs = tuple(sorted(DS1 + DS2 + PACED))  # as today's random-split figure: all 48 records (paced beats = Q)
        X, y, g = build_rhythm(src, all_recs, ("orig",), seed, cache_dir)
        idx = np.arange(len(y))
        tr, te = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
        tr, va = train_test_split(tr, test_size=0.1, stratify=y[tr], random_state=seed)
        tr, va, te = np.sort(tr), np.sort(va), np.sort(te)
        Xtr, ytr, gtr, Xva, yva, gva, Xte, yte, gte = X[tr], y[tr], g[tr], X[va], y[va], g[va], X[te], y[te], g[te]
        train_recs, val = all_recs, ()
        source = f"MIT-BIH beat-rhythm beats of all 48 records ({src}), RANDOM beat split (patients on both sides)"
    else:
        raise UsageError(f"protocol {protocol!r} is not one of interpatient, all, random")
    if n_keep < 1.0:
        sel = np.flatnonzero((ytr != 0) | (rng.random(len(ytr)) < n_keep))
        Xtr, ytr, gtr = Xtr[sel], ytr[sel], gtr[sel]
    if max_train and len(ytr) > max_train:
        sel = np.sort(rng.choice(len(ytr), max_train, replace=False))
        Xtr, ytr, gtr = Xtr[sel], ytr[sel], gtr[sel]
    contract = rhythm_contract(MITBIH_CLASSES)
    return TaskData("beats", Xtr, ytr, Xva, yva, Xte, yte, contract, source, protocol,
                    {"test_groups": gte, "val_groups": gva, "train_records": list(train_recs), "val_records": list(val)})


def _metrics(y, prob, data):
    from ..ecg.aami import aami_report
    from .metrics import classification_metrics

    names = list(data.contract.target_names)
    m = classification_metrics(y, prob.argmax(1), names)
    m["aami"] = aami_report(y, prob.argmax(1), tuple(names))
    return m


def _summary(m: dict) -> str:
    a = m.get("aami") or {}
    per = a.get("per_class") or {}
    bits = [f"{c} Se {100 * per[c]['se']:.1f} / +P {100 * per[c]['ppv']:.1f}" for c in ("S", "V") if c in per]
    extra = (f"  macro-F1 N/S/V/F {a['macro_f1_nsvf']:.3f}{left_out_note(a.get('macro_f1_nsvf_left_out'))}; "
             + "; ".join(bits) if "macro_f1_nsvf" in a else "")
    return classification_summary(m) + extra


register_task(TaskSpec(
    name="beats", title="every beat of a raw recording -> N/S/V/F/Q with rhythm context (MIT-BIH records, AAMI EC57)",
    kind="classification", contract_kind="beat-rhythm", loader=_load, protocols=("interpatient", "all", "random"),
    default_model="rhythmnet", model_output="logits", loss="cross_entropy", score_key="macro_f1", higher_is_better=True,
    history_keys=("accuracy", "macro_f1"), metrics=_metrics, summary=_summary, figures="classification", limits=LIMITS,
    augmentation="none",  # rhythmnet augments gain, noise and R-R itself, in training mode
    intended_use="Research: classify every beat of a recording (any sampling rate, one lead) into AAMI classes, "
                 "with rhythm context. Not a medical device."))
