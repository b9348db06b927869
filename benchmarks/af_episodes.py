"""AF/AFL episodes on MIT-BIH: leave-one-patient-out evaluation of cardiacml.ecg.rhythm vs published R-R baselines.

Data: MIT-BIH Arrhythmia DB, all 48 records (../shared/data/mitdb), reference rhythm from the .atr aux notes
((AFIB and (AFL count as AF), the held-out record's R peaks from the reference beat annotations (``--peaks ref``) or
cardiacml's detector (``--peaks det``); atrial-activity features from the first lead (MLII). The models are fitted on
the training records' reference R peaks, as the shipped model is (``--train-peaks det`` fits on detected ones, as
``--peaks det`` did up to RESULTS.md "fifteenth"). The hysteresis thresholds of the R-R + atrial
model (on 0.45 / off 0.35) were chosen among three pairs on these leave-one-patient-out results (the weights never
see the held-out record). Split: leave one patient out (201 and 202 are one patient and are held out together); the
logistic regression is refitted on the other records for each held-out record. Since 0.4.1 the R-R + atrial model
is fitted on each training record's MLII and on four copies of it as other recorders would give it (``COPIES``: two
"rate" draws, MLII at 128-1000 Hz with gain, polarity, noise, wander and mains, and two of the other lead); the
atrial features are taken at 250 Hz whatever the record's rate (``cardiacml.ecg.rhythm.ATRIAL_FS``); since 0.4.6
also on its MLII cut into 10-s strips, each analysed alone (``--fit-strips``, 0 to leave them out; the R-R-only
model is fitted on MLII alone). ``--no-copies`` fits without the copies (with ``--fit-strips 0``: on MLII alone); ``--copy-peaks det`` fits on the copies with R peaks detected on each copy (measured, not shipped:
RESULTS "seventh").

Metrics (seconds-level, over the analysed span first R .. last R of each record, 0.1 s grid, pooled over records):
duration Se = AF time detected / reference AF time, duration +P = detected time that is reference AF / detected time.
Episode Se: a reference episode counts as found when detected AF covers >= 50 % of it; episode +P: a detected
episode counts as true when >= 50 % of it lies in reference AF. Burden error: |detected - reference| AF fraction
per record in percentage points.

Baselines on the same beats: CoV of 16 R-R > 0.1, and COSEn (Lake & Moorman 2011, Am J Physiol Heart Circ Physiol
300:H319-H325; 16-beat segments, r = 30 ms, threshold -1.4), each with the same 30 s minimum episode rule.

Short recordings (``--strips SECONDS``): every held-out record is also cut into strips of that length, each analysed
alone with the same out-of-patient model (its own R peaks, its own signal for the atrial features), as a 10-s ECG
or an event recording is. Scored: strips all in AF (>= 95 % of their beats) and strips without AF, by the share of
their beats flagged and of strips called AF (half their beats flagged); the baselines take each strip's R-R intervals
as one segment (at least ``cardiacml.ecg.rhythm.MIN_BEATS`` beats).

Other recorders (``--signal``): the held-out record's atrial features (and, with ``--peaks det``, its R peaks) come
from MLII resampled to 128 Hz with gain 0.4, noise, wander and mains (``128Hz-noisy``), to 200 Hz (``200Hz``: the
paroxysmal-AF database's rate the issue names), to 500 Hz inverted x2.5 (``500Hz-inverted``) or from the record's other lead at 250 Hz (``other-lead-250Hz``: V1, V2, V4 or V5), made as
``bench_beats_recorders.py`` makes them; the models are still fitted on the other records' MLII, as the shipped one is.

    python benchmarks/af_episodes.py [--peaks ref|det] [--fit] [--scan] [--strips 10] [--signal MLII|128Hz-noisy|...]   (--fit writes src/cardiacml/ecg/rhythm_af.json
    from all records; --scan also varies the R-R + atrial model's moving mean, hysteresis, minimum episode and merge gap
    on the same out-of-patient probabilities)
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import time
from pathlib import Path

import numpy as np
import wfdb
from sklearn.linear_model import LogisticRegression

from cardiacml.ecg import rhythm as R
from cardiacml.io.symbols import BEAT_SYMBOLS
from cardiacml.tasks.sources import find_mitdb

MITDB = find_mitdb()  # --mitdb is not an option here: $CARDIACML_MITDB or ../shared/data/mitdb
AF = ("(AFIB", "(AFL")
PATIENT = {"202": "201"}


SIGNALS = {"MLII": None, "128Hz-noisy": "detected-128Hz-noisy", "200Hz": "detected-200Hz",
           "500Hz-inverted": "detected-500Hz-inverted",
           "other-lead-250Hz": "detected-V1-250Hz"}


def signal(name: str, which: str = "MLII"):
    """The record as another recorder would give it (``SIGNALS``), one lead."""
    from cardiacml.io import open_record

    rec = open_record(MITDB / name)
    if SIGNALS[which] is None:
        return rec
    from recorders import variant

    return variant(rec, SIGNALS[which], np.random.default_rng(int(name)))


def reference(name: str, peaks: str = "ref", rec=None):
    """R times (s), reference rhythm intervals [(start_s, end_s, label)], and record length (s); ``peaks="det"``:
    R peaks detected on ``rec`` (default: the record as stored, MLII)."""
    a = wfdb.rdann(str(MITDB / name), "atr")
    h = wfdb.rdheader(str(MITDB / name))
    fs = float(a.fs or h.fs)
    length = h.sig_len / fs
    rhythm = []
    for s, note in zip(a.sample, a.aux_note):
        note = (note or "").strip("\x00").strip()
        if note.startswith("("):
            rhythm.append((s / fs, note))
    ivals = [(t0, (rhythm[i + 1][0] if i + 1 < len(rhythm) else length), lab) for i, (t0, lab) in enumerate(rhythm)]
    if peaks == "ref":
        ok = np.isin(a.symbol, list(BEAT_SYMBOLS))
        t = a.sample[ok] / fs
    else:
        t = detected_times(rec if rec is not None else signal(name))
    return np.asarray(t, float), ivals, length


def detected_times(rec) -> np.ndarray:
    """R times (s) that cardiacml's detector finds on ``rec`` (its annotations unused), as ``predict`` finds them."""
    from cardiacml.ecg.pipeline import scan_record

    return np.asarray(scan_record(rec, None, use_annotations=False).peaks) / rec.fs


def rhythm_stretches(t, ivals, labels=AF, length: float = np.inf) -> tuple[np.ndarray, float]:
    """Which of the times ``t`` (s) lie in a reference rhythm stretch (``ivals``, :func:`reference`) labelled one of
    ``labels``, and those stretches' total duration in hours (each end clipped to ``length`` s)."""
    t = np.asarray(t, float)
    inside, hours = np.zeros(len(t), bool), 0.0
    for t0, t1, lab in ivals:
        if lab in labels:
            inside |= (t >= t0) & (t < t1)
            hours += (min(t1, length) - t0) / 3600.0
    return inside, hours


def beat_labels(t, ivals):
    """Per beat time ``t`` (s): inside a reference AF / flutter stretch."""
    return rhythm_stretches(t, ivals)[0]


def fit(X, y) -> dict:
    """Logistic regression on R-R features (8 columns) or R-R + atrial features (13 columns, plus the products
    ``R.ATRIAL_INTERACTIONS``)."""
    atrial = X.shape[1] > len(R.FEATURES)
    pairs = [list(p) for p in R.ATRIAL_INTERACTIONS] if atrial else []
    X = R.model_inputs(X, {"interactions": pairs})
    mean, scale = X.mean(0), X.std(0) + 1e-9
    lr = LogisticRegression(C=1.0, max_iter=1000).fit((X - mean) / scale, y)
    on, off = (0.45, 0.35) if atrial else (0.55, 0.45)
    return {**({"atrial_version": R.ATRIAL_VERSION} if atrial else {}),
            "features": list(R.FEATURES) + (list(R.ATRIAL_FEATURES) if atrial else []) + list(R.interaction_names(pairs)),
            "interactions": pairs, "window": R.WINDOW,
            "mean": mean.tolist(), "scale": scale.tolist(), "coef": lr.coef_[0].tolist(),
            "intercept": float(lr.intercept_[0]), "smooth": 31, "on": on, "off": off, "min_episode_s": 30.0}


def atrial_on(rec, t, realign: bool = False) -> np.ndarray:
    """Atrial-activity features of the beats at times ``t`` (s) on the first lead of ``rec`` (``realign``: ``t``
    are detected R peaks, re-marked where the detector marked beats at different waves of their QRS)."""
    return R.atrial_features(lambda a, b: rec.read(a, b, lead=0), rec.n_samples, rec.fs,
                             np.round(np.asarray(t) * rec.fs).astype(np.int64), realign=realign)


def atrial(name: str, t) -> np.ndarray:
    """Atrial-activity features of the beats at times ``t`` on the record's first lead (MLII)."""
    return atrial_on(signal(name), t)


#: Copies of every training record, as other recorders would give it, that the R-R + atrial model is also fitted on
#: (``cardiacml.datasets.mitbih.augmented_record``: "rate" = MLII at a random rate of 128-1000 Hz with random gain,
#: polarity, noise, wander and mains; "lead2" = the other lead, treated the same); two draws of each.
COPIES = (("rate", 0), ("rate", 1), ("lead2", 0), ("lead2", 1))
#: Since 0.4.6 the R-R + atrial model is also fitted on each training record's MLII cut into strips of this many
#: seconds, each analysed alone (a 10-s ECG's features come from its own few beats: ``--strips``).
FIT_STRIP_S = 10.0


def atrial_copies(name: str, t, rr: np.ndarray | None = None) -> list[np.ndarray]:
    """R-R + atrial features of the beats at times ``t`` (s) on each of ``COPIES`` of the record (R peaks: the
    reference beats, moved with the resampling); ``rr``: ``R.rr_features(t)`` when the caller has it."""
    rr = R.rr_features(t) if rr is None else rr
    return [np.hstack([rr, atrial_on(c, t)]) for c in copies(name)]


def copies(name: str) -> list:
    """The record's ``COPIES`` (in-memory records), as other recorders would give it."""
    from cardiacml.datasets.mitbih import augmented_record

    rec = signal(name)
    return [augmented_record(rec, kind, 1000 * draw + int(name) + (500 if kind == "lead2" else 0)) for kind, draw in COPIES]


def detected_copies(name: str, ivals) -> list[tuple[np.ndarray, np.ndarray]]:
    """(R-R + atrial features, AF label) per beat of each of ``COPIES`` of the record, the R peaks detected on the
    copy by cardiacml's detector (as ``predict`` finds them: missed and extra beats included), labelled by the
    reference rhythm ``ivals`` at their times."""
    out = []
    for c in copies(name):
        t = detected_times(c)
        out.append((np.hstack([R.rr_features(t), atrial_on(c, t)]), beat_labels(t, ivals)))
    return out


def grid_mask(eps, t0, t1, dt=0.1):
    g = np.arange(t0, t1, dt)
    m = np.zeros(len(g), bool)
    for e in eps:
        m |= (g >= e["start_s"]) & (g <= e["end_s"])
    return g, m


def ref_episodes(ivals, t0, t1):
    eps = []
    for a, b, lab in ivals:
        if lab in AF and b > t0 and a < t1:
            if eps and abs(eps[-1]["end_s"] - a) < 1e-6:
                eps[-1]["end_s"] = min(b, t1)
            else:
                eps.append({"start_s": max(a, t0), "end_s": min(b, t1), "rhythm": lab[1:]})
    return eps


def episode_hits(a_eps, b_mask, g):
    hit = 0
    for e in a_eps:
        w = (g >= e["start_s"]) & (g <= e["end_s"])
        hit += bool(w.any() and b_mask[w].mean() >= 0.5)
    return hit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peaks", default="ref", choices=("ref", "det"),
                    help="R peaks of the held-out record: the reference beat annotations (ref) or cardiacml's detector "
                         "(det), as predict finds them")
    ap.add_argument("--train-peaks", default="ref", choices=("ref", "det"),
                    help="R peaks of the training records' rows: reference (default, as the shipped model is fitted) "
                         "or detected (what --peaks det fitted on up to RESULTS.md 'fifteenth')")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--scan", action="store_true", help="also vary the episode rules of the R-R + atrial model")
    ap.add_argument("--no-copies", action="store_true",
                    help="fit the R-R + atrial model without the other-recorder copies (with --fit-strips 0: on MLII "
                         "alone, as 0.4.0 did)")
    ap.add_argument("--copy-peaks", default="ref", choices=("ref", "det"),
                    help="R peaks of the other-recorder copies the model is fitted on: the reference beats moved with the "
                         "resampling (ref) or detected on each copy (det)")
    ap.add_argument("--strips", type=float, default=None, metavar="SECONDS",
                    help="also score recordings of this length: every held-out record cut into strips of SECONDS, each "
                         "analysed alone (its own R peaks and signal), as a 10-s ECG or a short event recording is")
    ap.add_argument("--fit-strips", type=float, default=FIT_STRIP_S, metavar="SECONDS",
                    help=f"the R-R + atrial model is also fitted on every training record's MLII cut into strips of "
                         f"SECONDS, each analysed alone (default {FIT_STRIP_S:g}, as 0.4.6 ships; 0: without, as 0.4.5)")
    ap.add_argument("--signal", default="MLII", choices=sorted(SIGNALS),
                    help="the held-out record's signal as another recorder would give it (models fit on the others' MLII "
                         "and copies)")
    args = ap.parse_args()
    names = sorted(p.stem for p in MITDB.glob("*.atr"))
    t_start = time.time()
    if args.fit and args.signal != "MLII":
        ap.error("--fit fits on MLII and its copies: leave --signal out")
    if args.fit and args.train_peaks != "ref":
        ap.error("--fit writes the shipped models, fitted on reference R peaks: leave --train-peaks out")
    if args.no_copies and args.copy_peaks != "ref":
        ap.error("--copy-peaks chooses the R peaks of the copies, and --no-copies fits without copies: use one")
    # the training records' rows come from their --train-peaks; the held-out record is scored on its --peaks
    data = {n: reference(n, args.train_peaks) for n in names}
    feats = {n: R.rr_features(d[0]) for n, d in data.items()}
    feats_a = {n: np.hstack([feats[n], atrial(n, d[0])]) for n, d in data.items()}
    labels = {n: beat_labels(d[0], d[1]) for n, d in data.items()}
    # the atrial model's training rows of each record, (X, y) pairs: its lead as scored, then its other-recorder
    # copies (reference R peaks, labelled by the reference rhythm)
    train_a = {n: [(feats_a[n], labels[n])] for n in names}
    if not args.no_copies:
        from cardiacml.utils import progress

        for n in progress(names, desc="copies", unit="rec"):
            if args.copy_peaks == "det":
                train_a[n] += detected_copies(n, data[n][1])
            elif args.train_peaks == "ref":
                train_a[n] += [(X, labels[n]) for X in atrial_copies(n, data[n][0], feats[n])]
            else:
                t_ref, ivals, _ = reference(n, "ref")
                train_a[n] += [(X, beat_labels(t_ref, ivals)) for X in atrial_copies(n, t_ref)]
    if args.fit_strips:
        for n in names:
            train_a[n].append(strip_training_rows(n, data[n][0], data[n][1], args.fit_strips))
    # what is scored: the held-out record as the chosen recorder gives it (the training records stay MLII); the
    # other recorder's signal is built once per record, for its detected R peaks and its atrial features
    test, test_feats_a = data, feats_a
    if args.signal != "MLII" or args.peaks != args.train_peaks:
        test, test_feats_a = {}, {}
        for n in names:
            rec = signal(n, args.signal)
            if args.peaks == "det":
                test[n] = reference(n, "det", rec)
            else:
                test[n] = data[n] if args.train_peaks == "ref" else reference(n, "ref")
            test_feats_a[n] = np.hstack([R.rr_features(test[n][0]), atrial_on(rec, test[n][0], args.peaks == "det")])
    if args.fit:
        rows_rr = {n: [(feats[n], labels[n])] for n in names}
        for rows_of, fname in ((rows_rr, "rhythm_af.json"), (train_a, "rhythm_af_atrial.json")):
            model = fit(np.concatenate([X for n in names for X, _ in rows_of[n]]),
                        np.concatenate([y for n in names for _, y in rows_of[n]]))
            out = Path(R.__file__).with_name(fname)
            out.write_text(json.dumps(model, indent=1) + "\n")
            print("wrote", out)
    methods = ("cardiacml R-R + atrial", "cardiacml R-R only", "CoV>0.1", "COSEn>-1.4")
    tot = {m: np.zeros(4) for m in methods}  # tp, ref, det, (unused)
    ep = {m: np.zeros(4) for m in methods}  # ref found, n ref, det true, n det
    burden_err = {m: [] for m in methods}
    rows = []
    probs = {}  # out-of-patient per-beat probabilities of the R-R + atrial model (for --scan)
    strip_rows = []  # (record, reference AF fraction, fraction flagged by each method) per strip (for --strips)
    for n in names:
        pat = PATIENT.get(n, n)
        train = [k for k in names if PATIENT.get(k, k) != pat]
        y_tr = np.concatenate([labels[k] for k in train])
        model = fit(np.concatenate([feats[k] for k in train]), y_tr)
        model_a = fit(np.concatenate([X for k in train for X, _ in train_a[k]]),
                      np.concatenate([y for k in train for _, y in train_a[k]]))
        t, ivals, _ = test[n]
        t0, t1 = t[0], t[-1]
        if args.scan:
            probs[n] = R.af_probability(t, model_a, atrial=test_feats_a[n][:, len(R.FEATURES):])
        refe = ref_episodes(ivals, t0, t1)
        g, rm = grid_mask(refe, t0, t1)
        res = {"cardiacml R-R only": R.detect_af(t, model)["rhythm_episodes"],
               "cardiacml R-R + atrial": R.detect_af(t, model_a, atrial=test_feats_a[n][:, len(R.FEATURES):])["rhythm_episodes"]}
        for m, flag in (("CoV>0.1", R.baseline_cov(t)), ("COSEn>-1.4", R.baseline_cosen(t))):
            res[m] = R.flags_to_episodes(t, flag, 30.0, 10.0)
        if args.strips:
            rec = signal(n, args.signal) if args.peaks == "ref" else None
            strip_rows += strips(n, rec, t, ivals, args.strips, model_a, args)
        line = [n, f"{100 * rm.mean():5.1f}"]
        for m in methods:
            _, dm = grid_mask(res[m], t0, t1)
            tot[m] += [(dm & rm).sum(), rm.sum(), dm.sum(), 0]
            ep[m] += [episode_hits(refe, dm, g), len(refe), episode_hits(res[m], rm, g), len(res[m])]
            burden_err[m].append(100 * abs(dm.mean() - rm.mean()))
            line.append(f"{100 * dm.mean():5.1f}")
        rows.append(line)
    print(f"# AF/AFL episodes, MIT-BIH 48 records, leave-one-patient-out (201+202 together), R peaks: {args.peaks} "
          f"(training rows: {args.train_peaks}); "
          f"held-out signal: {args.signal}; "
          f"machine: {platform.node()} {platform.processor() or platform.machine()}, {time.time() - t_start:.0f} s")
    print("\nper-record AF burden (%): record ref " + " ".join(methods))
    for r in rows:
        if float(r[1]) > 0 or max(float(x) for x in r[2:]) > 0:
            print("  " + "  ".join(r))
    print("\n| method | dur Se | dur +P | ep Se | ep +P | burden err median / max (pp) |")
    print("|---|---|---|---|---|---|")
    for m in methods:
        tp, nr, nd, _ = tot[m]
        f, nre, tr, nde = ep[m]
        be = np.array(burden_err[m])
        print(f"| {m} | {100 * tp / max(nr, 1):.1f} | {100 * tp / max(nd, 1):.1f} | {f:.0f}/{nre:.0f} | "
              f"{tr:.0f}/{nde:.0f} | {np.median(be):.2f} / {be.max():.1f} |")
    if args.scan:
        scan(test, probs, names)
    if args.strips:
        report_strips(strip_rows, args.strips)


STRIP_METHODS = ("cardiacml R-R + atrial", "CoV>0.1", "COSEn>-1.4")


def strip_beats(rec, seconds: float, t=None, min_beats: int = 2):
    """Each ``seconds``-long strip of ``rec``'s first lead analysed alone: (start s, its R times in s from its start,
    its atrial features from its own samples only) per strip with at least ``min_beats`` beats; ``t`` (s): the R
    peaks, else detected on the strip (a strip with nothing like a beat is left out)."""
    fs = float(rec.fs)
    x_all = rec.read(lead=0)
    for s0 in np.arange(0.0, rec.n_samples / fs - seconds + 1e-9, seconds):
        a0, a1 = int(round(s0 * fs)), int(round((s0 + seconds) * fs))
        x = x_all[a0:a1]
        if t is not None:
            ts = t[(t >= s0) & (t < s0 + seconds)] - s0
        else:
            from cardiacml.errors import DataFormatError
            from cardiacml.io import ArrayRecord

            try:
                ts = detected_times(ArrayRecord(x, fs, [rec.leads[0]]))
            except DataFormatError:  # nothing like a beat in the strip (noise, a lead off): no rhythm to call
                continue
        if len(ts) < min_beats:
            continue
        yield s0, ts, R.atrial_features(lambda a, b: x[a:b], len(x), fs, np.round(ts * fs).astype(np.int64),
                                        realign=t is None)


def strips(name: str, rec, t, ivals, seconds: float, model_a: dict, args) -> list:
    """Each ``seconds``-long strip of the held-out record analysed alone (:func:`strip_beats`: its R peaks, ``t``
    within it or detected on it with ``--peaks det``, its own signal for the atrial features), with the out-of-patient
    model ``model_a``; the baselines take the strip's R-R intervals as one segment (CoV > 0.1, COSEn > -1.4: Lake &
    Moorman's 16-beat segments are about a 12-s strip). Returns (record, reference AF fraction of the strip's beats,
    fraction of its beats flagged by each of ``STRIP_METHODS``) per strip with at least 2 beats."""
    if rec is None:  # --peaks det: the strip's own detections
        rec = signal(name, args.signal)
    out = []
    for s0, ts, atr in strip_beats(rec, seconds, t if args.peaks == "ref" else None):
        lab = beat_labels(ts + s0, ivals)
        flagged = [R.detect_af(ts, model_a, atrial=atr)["beat_af"].mean()]
        rr = np.clip(np.diff(ts), 0.2, 3.0)
        whole = len(ts) >= R.MIN_BEATS  # the baselines need as many beats as cardiacml does; fewer: not AF
        flagged.append(float(whole and rr.std() / rr.mean() > 0.1))
        flagged.append(float(whole and R.cosen(rr) > -1.4))
        out.append((name, float(lab.mean()), flagged))
    return out


def strip_training_rows(name: str, t, ivals, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """R-R + atrial features and AF labels of the beats of every ``seconds``-long strip of the record's MLII, each
    strip analysed alone (:func:`strip_beats`; training rows for short recordings)."""
    Xs, ys = [], []
    for s0, ts, atr in strip_beats(signal(name), seconds, t, min_beats=R.MIN_BEATS):
        Xs.append(np.hstack([R.rr_features(ts), atr]))
        ys.append(beat_labels(ts + s0, ivals))
    if not Xs:
        return np.zeros((0, len(R.FEATURES) + len(R.ATRIAL_FEATURES))), np.zeros(0, bool)
    return np.concatenate(Xs), np.concatenate(ys)


def report_strips(rows: list, seconds: float) -> None:
    """Per method: on strips all in AF (>= 95 % of beats), the share of their beats flagged and of strips called AF
    (half their beats flagged); on strips without AF, the same (false alarms)."""
    af = [r for r in rows if r[1] >= 0.95]
    no = [r for r in rows if r[1] == 0.0]
    print(f"\n{seconds:g}-s strips, each analysed alone (out-of-patient models): {len(af)} in AF (>= 95 % of beats), "
          f"{len(no)} without AF, {len(rows) - len(af) - len(no)} mixed (not scored)")
    print("| method | AF strips: beats flagged | AF strips called AF | non-AF strips: beats flagged | non-AF strips called AF |")
    print("|---|---|---|---|---|")
    for i, m in enumerate(STRIP_METHODS):
        fa = np.array([r[2][i] for r in af]) if af else np.zeros(0)
        fn = np.array([r[2][i] for r in no]) if no else np.zeros(0)
        print(f"| {m} | {100 * fa.mean():.1f} % | {(fa >= 0.5).sum()}/{len(fa)} | {100 * fn.mean():.2f} % | "
              f"{(fn >= 0.5).sum()}/{len(fn)} |")
    bad = collections.Counter(r[0] for r in no if r[2][0] >= 0.5)
    miss = collections.Counter(r[0] for r in af if r[2][0] < 0.5)
    print("non-AF strips called AF by record:", dict(bad.most_common()), "; AF strips missed:", dict(miss.most_common()))


def scan(data, probs, names):
    """Episode rules of the R-R + atrial model on its out-of-patient probabilities: duration Se / +P, per-record burden."""
    import itertools

    print("\nepisode rules of the R-R + atrial model (same out-of-patient probabilities):")
    ref_masks = {n: grid_mask(ref_episodes(data[n][1], data[n][0][0], data[n][0][-1]), data[n][0][0], data[n][0][-1])[1]
                 for n in names}  # the reference AF of each record on the 0.1 s grid: the same for every rule
    for smooth, (on, off), min_s, gap_s in itertools.product((15, 21, 31, 45), ((0.45, 0.35), (0.5, 0.4)), (15, 30),
                                                             (10, 20)):
        tp = nr = nd = 0
        errs = {}
        for n in names:
            t, rm = data[n][0], ref_masks[n]
            eps = R.flags_to_episodes(t, R.beat_flags(probs[n], smooth, on, off), min_s, gap_s)
            _, dm = grid_mask(eps, t[0], t[-1])
            tp, nr, nd = tp + (dm & rm).sum(), nr + rm.sum(), nd + dm.sum()
            errs[n] = 100 * abs(dm.mean() - rm.mean())
        bad = " ".join(f"{k} {v:.1f}" for k, v in errs.items() if v > 5)
        shipped = "  <- shipped" if (smooth, on, off, min_s, gap_s) == (31, 0.45, 0.35, 30, 10) else ""
        print(f"smooth {smooth:2d}  on/off {on:.2f}/{off:.2f}  min {min_s:2d} s  gap {gap_s:2d} s:  Se {100 * tp / nr:.1f} "
              f"+P {100 * tp / nd:.1f}  max {max(errs.values()):4.1f}  > 5 pp: {bad}{shipped}")


if __name__ == "__main__":
    main()
