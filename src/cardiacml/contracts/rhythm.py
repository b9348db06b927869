"""The rhythm-aware beat contract ``"beat-rhythm"`` (the ``beats`` task; :func:`rhythm_contract`).

(The challenge's single-beat contract ``"beat"`` is :mod:`cardiacml.contracts.beat`.)

``"beat-rhythm"``
    One tensor per beat, shape (1, T + F), so every model, the training loop, ONNX export
    (input ``"ecg"``) and ``predict`` keep their single-tensor interface:

    * ``x[0, 0:W]``: the beat's window, ``W`` samples at ``FS`` Hz from ``PRE_S`` before
      to ``POST_S`` after the R fiducial (the largest |deflection| within +-50 ms of the
      annotated or detected peak), taken from the 0.5-40 Hz band-passed lead, with the
      record's polarity made positive and divided by the median QRS amplitude of the
      reference span (patient-level amplitude / baseline standardisation);
    * ``x[0, W:2W]``: the local template: the sample-wise median of the same windows of
      up to ``TEMPLATE_K`` beats on each side (within ``TEMPLATE_MAX_S``), i.e. what this
      patient's beats look like right now; a beat unlike its template is ectopic;
    * ``x[0, 2W:2W+F]``: the R-R features of :data:`FEATURES` (seconds, and log-ratios
      that normalise by the patient's own rhythm: the :data:`REFERENCE_RR_PERCENTILE`-th percentile
      of the R-R intervals of the reference span).

The reference span is the whole record when it lasts at most ``REFERENCE_SPAN_S`` (40 min;
every MIT-BIH record, 30 min: one whole-record reference, as in version 2), and otherwise the
``REFERENCE_SPAN_S`` centred on the beat (kept inside the record). Version 2 took the whole
record whatever its length: on a long recording whose rate or amplitude drifts (a Holter's day
and night, posture, an electrode re-placed) every beat of the faster stretches looked premature.
On the DS2 records joined into a 24-hour Holter, whole-day vs v3 references: V F1 0.871 vs 0.910
and S F1 0.337 vs 0.449 for 0.3.0's beats-ds1, V F1 0.876 vs 0.905 for 0.3.2's
(``benchmarks/bench_holter_drift.py``).

Version 4 (cardiacml 0.4.0) takes the 90th percentile of the R-R intervals as the R-R reference, where versions 1-3
took their median. Premature beats shorten intervals and compensatory pauses lengthen them, so the patient's
underlying cycle sits in the upper part of the distribution; the median is the ectopic interval itself once about half
the beats are premature (bigeminy, runs of atrial ectopics). On MIT-BIH DS2 record 232 (sick sinus: 1,382 of 1,780
beats are atrial premature, in runs, between sinus pauses) the median made its S beats look on time (pre-R-R / median
0.99) and beats-ds1 called 948 of them N. The choice was made after that diagnosis on DS2, so DS2 is no longer blind
to it; on the DS1 records held out of training it was neutral (three seeds each, mean macro-F1 0.619 with the 90th
percentile, 0.626 with the median). Its risk, measured on DS2 record 231 (stretches of 2:1 AV block): when more than a
tenth of the intervals are blocked beats or pauses (or beats a detector missed), the reference is a pause and
conducted beats look premature (the shipped beats-ds1 calls 104 of 231's sinus beats S, other draws 386 and 1,128).

The contract travels in checkpoints (``ckpt["contract"]``, as :meth:`SignalContract.to_dict`) and
ONNX metadata; :func:`check_contract` refuses a model built under another layout.
"""

from __future__ import annotations

from .base import SignalContract
from .beat import CLASSES

#: Sampling rate of the morphology windows (Hz).
FS = 125.0
#: Window extent around the R fiducial (s).
PRE_S, POST_S = 0.5, 0.7
#: Samples per window.
W = int(round((PRE_S + POST_S) * FS))  # 150
#: Neighbours on each side in the local template, and how far in time they may be.
TEMPLATE_K = 8
TEMPLATE_MAX_S = 20.0
#: Local mean R-R over this many preceding intervals.
LOCAL_RR_BEATS = 10
#: Span (s) of the long-term references (R-R percentile and median QRS amplitude): the whole record up to this length,
#: else this span centred on each beat. Longer than the 30-min records the models learn from, so their inputs are
#: unchanged; close to it, so a Holter's beats are judged against as much of their own rhythm as training showed.
REFERENCE_SPAN_S = 2400.0
#: Percentile of the reference span's R-R intervals that is the patient's reference R-R (version 4; 50 before).
REFERENCE_RR_PERCENTILE = 90.0
#: R-R intervals are clipped to this range (s) before use.
RR_CLIP_S = (0.15, 3.0)
#: Window values are clipped to +-this many record QRS amplitudes.
AMP_CLIP = 6.0
#: R-R features, in order (``log_`` = natural log of a ratio).
FEATURES = (
    "pre_rr_s", "post_rr_s", "local_rr_s", "reference_rr_s",
    "log_pre_over_reference", "log_post_over_reference", "log_local_over_reference",
    "log_pre_over_post", "log_pre_over_local", "log_qrs_amp_over_reference", "local_rr_irregularity",
)
#: Beats on each side over which ``local_rr_irregularity`` (median |successive difference of log R-R|) is taken.
IRREGULARITY_BEATS = 8
F = len(FEATURES)
VERSION = 4


def rhythm_contract(classes=CLASSES) -> SignalContract:
    """The ``beat-rhythm`` input contract (its facts beyond the shape are in ``extra``)."""
    return SignalContract(
        kind="beat-rhythm", n_leads=1, n_samples=2 * W + F, fs_hz=FS, units="normalised", leads=("ECG",),
        target="AAMI beat class", target_units="class", target_names=tuple(classes),
        normalisation="record polarity made positive; divided by the median QRS peak-to-peak amplitude of the reference "
                      f"span (the whole record up to {REFERENCE_SPAN_S:g} s, else the {REFERENCE_SPAN_S:g} s centred on "
                      f"the beat); R-R as log-ratios to the {REFERENCE_RR_PERCENTILE:g}th percentile of its R-R intervals",
        layout={"beat": [0, W], "template": [W, 2 * W], "features": [2 * W, 2 * W + F]},
        extra={"version": VERSION, "window_s": [-PRE_S, POST_S], "template_k": TEMPLATE_K,
               "template_max_s": TEMPLATE_MAX_S, "local_rr_beats": LOCAL_RR_BEATS, "reference_span_s": REFERENCE_SPAN_S,
               "reference_rr_percentile": REFERENCE_RR_PERCENTILE,
               "irregularity_beats": IRREGULARITY_BEATS, "rr_clip_s": list(RR_CLIP_S), "amp_clip": AMP_CLIP,
               "features": list(FEATURES), "filters": "0.5-40 Hz Butterworth band-pass (order 2, zero phase) + 50/60 Hz notches",
               "r_peaks": "annotations when present and asked for, else neurokit2 detection; fiducial = max |x| within +-50 ms"})


#: Facts a model's beat-rhythm contract must share with this code's.
_CHECKED = ("version", "fs_hz", "n_samples", "layout", "window_s", "features", "template_k", "reference_span_s",
            "reference_rr_percentile")


def check_contract(contract, where=None) -> None:
    """Raise DataFormatError if a model's ``beat-rhythm`` contract differs from this code's layout.

    ``contract``: a :class:`SignalContract` (or the plain dict a checkpoint stores); ``where``: the model's file or
    name, to begin the message with.
    """
    from ..errors import DataFormatError

    c = SignalContract.from_dict(contract) if isinstance(contract, dict) else contract
    if c.kind != "beat-rhythm":
        return
    mine = rhythm_contract(c.target_names).to_dict()
    theirs = c.to_dict()
    for key in _CHECKED:
        if theirs.get(key) != mine[key]:
            raise DataFormatError(("" if where is None else f"{where}: ")
                                  + f"model input contract differs from this cardiacml's beat-rhythm contract in {key!r}: "
                                  f"model {theirs.get(key)!r}, code {mine[key]!r}; retrain or use a matching version")
