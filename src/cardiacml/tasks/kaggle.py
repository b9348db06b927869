"""Tasks 1 and 2: single heartbeats (187 samples at 125 Hz, Kaggle format) -> class.

Task 1: PTB Diagnostic healthy vs abnormal (myocardial infarction) beats, from the Kaggle
``ptbdb_normal.csv`` / ``ptbdb_abnormal.csv``. Without those files it stops and says how to get
them; ``protocol="mitbih"`` trains an explicit stand-in (MIT-BIH normal vs arrhythmic beats),
which every output labels as such.

Task 2: MIT-BIH N/S/V/F/Q beats, from the Kaggle CSVs (their random split) or rebuilt from
raw records (random beat split, or de Chazal's inter-patient DS1 -> DS2 split with
validation records held out of DS1).
"""

from __future__ import annotations

import numpy as np

from ..contracts.beat import KAGGLE_BEAT, MITBIH_CLASSES, PTB_CLASSES
from ..datasets.kaggle import BeatSet
from ..errors import DataFormatError, MissingDataError, UsageError
from .common import classification_summary, classification_task_metrics
from .registry import TaskData, TaskSpec, register_task

LIMITS = {
    "random": "Beat-level random split: beats of the same patient are in both training and test sets, so these "
              "figures overstate performance on new patients (see the inter-patient protocol).",
    "kaggle": "Kaggle split: a random beat-level split, beats of one patient are on both sides; figures overstate "
              "performance on new patients.",
    "interpatient": "Inter-patient split (de Chazal DS1 -> DS2): test patients are unseen and validation records are held "
                    "out of DS1 by record; this is the clinically honest figure.",
    "mitbih": "Stand-in data (no PTB files): MIT-BIH normal vs arrhythmic beats, random beat split. The model does "
              "not detect what PTB's 'abnormal' means (myocardial infarction).",
}
MITBIH_STANDIN = "MIT-BIH normal (N) vs arrhythmic (S/V/F/Q) beats; does not detect infarction (PTB's 'abnormal')"


def _val_split(y, frac: float, seed: int, groups=None):
    """Stratified random validation split, or (``groups`` given) whole records held out."""
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(len(y))
    if groups is None:
        from ..datasets.mitbih import stratified_split

        return stratified_split(y, frac, seed)
    # hold out ~frac of the records; among a few seeded draws keep the one whose validation set has most classes
    best = None
    for k in range(20):
        tr, va = next(GroupShuffleSplit(1, test_size=max(frac, 0.15), random_state=seed + k).split(idx, groups=groups))
        n_cls = len(np.unique(y[va]))
        if best is None or n_cls > best[0]:
            best = (n_cls, tr, va)
    return np.sort(best[1]), np.sort(best[2])


def _beats_loader(task: str):
    def load(*, data_dir=None, mitdb=None, protocol="auto", seed=0, val_fraction=0.1, max_train=None, test_only=False):
        # test_only (evaluation): Task 2's Kaggle test file is its test split, so mitbih_train.csv is not read; PTB's
        # test split and the raw records' are cut from the same beats as the training split, which are read whole
        from ..datasets import kaggle as hb
        from ..datasets.mitbih import split_interpatient, split_random
        from .sources import find_mitdb, rebuilt_beats

        train = test = source = None
        if task == "task1" and protocol != "mitbih":
            if data_dir is None:
                raise MissingDataError(
                    "Task 1 is PTB healthy vs abnormal (myocardial infarction) beats and needs the Kaggle files "
                    "ptbdb_normal.csv and ptbdb_abnormal.csv: get them with `cardiacml data download heartbeat --dest DIR` "
                    "and pass --data-dir DIR. To train the MIT-BIH stand-in instead (normal vs arrhythmic beats; it does "
                    "not detect infarction), pass --protocol mitbih.")
            beats = hb.load_ptbdb(data_dir)
            train, test = split_random(beats, 0.2, seed)
            source, protocol = f"Kaggle PTB CSVs in {data_dir}", "random"
        elif task == "task2" and data_dir is None and protocol == "kaggle":
            raise UsageError(
                ("--protocol kaggle evaluates on the Kaggle MIT-BIH test CSV (mitbih_test.csv)" if test_only else
                 "--protocol kaggle trains and tests on the Kaggle MIT-BIH CSVs (mitbih_train.csv, mitbih_test.csv)")
                + " and needs --data-dir DIR: get them with `cardiacml data download heartbeat --dest DIR`; without "
                "them use --protocol random or interpatient (beats rebuilt from the raw MIT-BIH records)")
        elif task == "task2" and data_dir is not None and protocol in ("auto", "kaggle"):
            if test_only:
                test = hb.load_mitbih_test(data_dir)
                train = test.subset(slice(0, 0))
            else:
                train, test = hb.load_mitbih(data_dir)
            source, protocol = f"Kaggle MIT-BIH CSVs in {data_dir}", "kaggle"
        if source is None and data_dir is not None:  # --data-dir was given and would be ignored: say so, do not
            raise UsageError(  # train on other data under its name
                f"--data-dir {data_dir} holds Kaggle CSVs, but --protocol {protocol} uses beats rebuilt from the raw "
                "MIT-BIH records (the CSVs carry no record ids"
                + (", and the inter-patient split needs them" if protocol == "interpatient" else "")
                + f"); leave out --data-dir, or use --protocol {'kaggle' if task == 'task2' else 'auto'} for the CSVs")
        if source is None:  # raw records (the Kaggle CSVs carry no record ids, so interpatient always lands here)
            beats = rebuilt_beats(mitdb)
            if task == "task1":
                beats = BeatSet(beats.X, (beats.y > 0).astype(np.int64), PTB_CLASSES, beats.groups)
            if protocol == "interpatient":
                train, test = split_interpatient(beats)
            else:
                protocol = "mitbih" if task == "task1" else "random"
                train, test = split_random(beats, 0.2, seed)
            what = MITBIH_STANDIN if task == "task1" else "MIT-BIH beats"
            source = f"{what}, rebuilt from raw records ({find_mitdb(mitdb)})"
        classes = PTB_CLASSES if task == "task1" else MITBIH_CLASSES
        target = "PTB normal vs abnormal" if task == "task1" else "AAMI beat class"
        contract = KAGGLE_BEAT.with_targets(target, "class", classes)
        extra = {"test_groups": None if test.groups is None else np.asarray(test.groups)}
        X_test = test.X[:, None, :]
        if test_only:  # no training beats to check or split: the training and validation splits are empty
            return TaskData(task, X_test[:0], test.y[:0], X_test[:0], test.y[:0], X_test, test.y, contract, source,
                            protocol, extra)
        seen = np.unique(train.y)
        if len(seen) == 0:  # e.g. --protocol interpatient on a folder of DS2 records only (seen[0] was an IndexError)
            raise DataFormatError(f"{source}: no training beats under --protocol {protocol}"
                                  + (" (the inter-patient split trains on the DS1 records)" if protocol == "interpatient"
                                     else ""))
        if len(seen) < 2:  # nothing to tell apart: training would "learn" one answer
            raise DataFormatError(f"{source}: the training beats are all of one class ({classes[int(seen[0])]}, "
                                  f"{len(train.y)} beats); a classifier needs beats of two classes or more (a file cut "
                                  "from the start of a class-sorted CSV holds one)")
        by_record = protocol == "interpatient"
        tr, va = _val_split(train.y, val_fraction, seed, groups=np.asarray(train.groups) if by_record else None)
        if max_train and len(tr) > max_train:
            tr = np.sort(np.random.default_rng(seed).choice(tr, max_train, replace=False))
        X = train.X[:, None, :]
        return TaskData(task, X[tr], train.y[tr], X[va], train.y[va], X_test, test.y, contract, source, protocol, extra)

    return load


def _task1_note(data) -> str:
    return MITBIH_STANDIN if data.protocol == "mitbih" else ""


COMMON = dict(kind="classification", contract_kind="beat", default_model="beatnet", model_output="logits",
              loss="cross_entropy", score_key="macro_f1", higher_is_better=True, history_keys=("accuracy", "macro_f1"),
              metrics=classification_task_metrics, summary=classification_summary, figures="classification", limits=LIMITS, augmentation="beat")

register_task(TaskSpec(
    name="task1", title="healthy vs abnormal beat (PTB Diagnostic, Kaggle format)", loader=_beats_loader("task1"),
    protocols=("random", "mitbih"), data_note=_task1_note,
    intended_use="Research and teaching: flag single heartbeats as normal or abnormal (PTB: myocardial infarction). "
                 "Not a medical device.", **COMMON))
register_task(TaskSpec(
    name="task2", title="5-class beat type N/S/V/F/Q (MIT-BIH, Kaggle format)", loader=_beats_loader("task2"),
    protocols=("random", "interpatient", "kaggle"),
    intended_use="Research and teaching: classify single heartbeats into AAMI classes N/S/V/F/Q. Not a medical device.",
    **COMMON))
