"""The ``beats`` task: every beat of a raw recording -> AAMI class N/S/V/F/Q, with rhythm context.

Input contract ``beat-rhythm`` (:mod:`cardiacml.ecg.contract`): the beat's window, the patient's local
template and R-R features, all normalised by the record's own amplitude and rhythm, so that a model
crosses recorders, gains and sampling rates. Data: MIT-BIH rebuilt through the one record -> beats
pipeline (:mod:`cardiacml.ecg.pipeline`) that prediction uses too.

Protocols: ``interpatient`` (train on DS1, early stopping on DS1 records held out by record, test on
DS2: unseen patients), ``all`` (all 44 non-paced records; DS2 is then not held out) and ``random``
(random beat split, patients on both sides, labelled as such). The challenge's Kaggle single-beat
Task 2 is unchanged (``task2``).
"""

from __future__ import annotations

from . import TaskData, TaskSpec, register_task
from .beats import _figures, classification_summary

LIMITS = {
    "interpatient": "Inter-patient split (de Chazal DS1 -> DS2, paced records excluded): test patients are unseen and "
                    "validation records are held out of DS1 by record; the clinically honest figure. Other databases, "
                    "recorders and leads are not measured here.",
    "all": "Trained on all 44 non-paced MIT-BIH records: its DS2 figures are on training patients and say nothing "
           "about new patients (use beats-ds1's for that).",
    "random": "Random beat split: beats of the same patient are in both training and test sets; figures overstate "
              "performance on new patients.",
}


def _load(data_dir=None, mitdb=None, protocol="auto", seed=0, max_train=None, **_):
    from ..data.mitbih import load_beats_rhythm

    if data_dir is not None:
        from ..errors import DataFormatError

        raise DataFormatError("the beats task is built from raw annotated records (--mitdb DIR), not Kaggle CSVs "
                              "(single beats carry no rhythm)")
    # the recipe of the shipped models (benchmarks/train_beats.py): rate-resampled copies of training records,
    # 30 % of the redundant N training beats; validation and test records are never augmented or subsampled
    return load_beats_rhythm(mitdb, protocol="interpatient" if protocol == "auto" else protocol, seed=seed,
                             max_train=max_train, augment=("rate",), n_keep=0.3)


def _metrics(y, prob, data):
    from ..ecg.aami import aami_report
    from ..training.metrics import classification_metrics

    names = list(data.contract.target_names)
    m = classification_metrics(y, prob.argmax(1), names)
    m["aami"] = aami_report(y, prob.argmax(1), tuple(names))
    return m


def _summary(m: dict) -> str:
    a = m.get("aami") or {}
    per = a.get("per_class") or {}
    bits = [f"{c} Se {100 * per[c]['se']:.1f} / +P {100 * per[c]['ppv']:.1f}" for c in ("S", "V") if c in per]
    extra = f"  macro-F1 N/S/V/F {a['macro_f1_nsvf']:.3f}; " + "; ".join(bits) if "macro_f1_nsvf" in a else ""
    return classification_summary(m) + extra


register_task(TaskSpec(
    name="beats", title="every beat of a raw recording -> N/S/V/F/Q with rhythm context (MIT-BIH records, AAMI EC57)",
    kind="classification", contract_kind="beat-rhythm", loader=_load, protocols=("interpatient", "all", "random"),
    default_model="rhythmnet", model_output="logits", loss="cross_entropy", score_key="macro_f1", higher_is_better=True,
    history_keys=("accuracy", "macro_f1"), metrics=_metrics, summary=_summary, figures=_figures, limits=LIMITS,
    augmentation="none",  # rhythmnet augments gain, noise and R-R itself, in training mode
    intended_use="Research: classify every beat of a recording (any sampling rate, one lead) into AAMI classes, "
                 "with rhythm context. Not a medical device."))
