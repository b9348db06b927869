"""Input contracts of the beat classifiers, defined once.

Two contracts exist:

``"beat"`` (Kaggle / Kachuee 2018, challenge Task 2)
    One beat of 187 samples at 125 Hz starting at its R peak, 10 s window min-max scaled
    to [0, 1], zero padded. Built by :func:`cardiacml.ecg.pipeline.kachuee_beats`.

``"beat-rhythm"`` (this module's :func:`rhythm_contract`)
    One tensor per beat, shape (1, T + F), so every model, the training loop, ONNX export
    (input ``"ecg"``) and ``predict`` keep their single-tensor interface:

    * ``x[0, 0:W]``: the beat's window, ``W`` samples at ``FS`` Hz from ``PRE_S`` before
      to ``POST_S`` after the R fiducial (the largest |deflection| within +-50 ms of the
      annotated or detected peak), taken from the 0.5-40 Hz band-passed lead, with the
      record's polarity made positive and divided by the record's median QRS amplitude
      (patient-level amplitude / baseline standardisation);
    * ``x[0, W:2W]``: the local template: the sample-wise median of the same windows of
      up to ``TEMPLATE_K`` beats on each side (within ``TEMPLATE_MAX_S``), i.e. what this
      patient's beats look like right now; a beat unlike its template is ectopic;
    * ``x[0, 2W:2W+F]``: the R-R features of :data:`FEATURES` (seconds, and log-ratios
      that normalise by the record's own rhythm).

The dict returned by :func:`rhythm_contract` travels in checkpoints (``ckpt["contract"]``)
and ONNX metadata; :func:`check_contract` refuses a tensor built under another layout.
"""

from __future__ import annotations

#: AAMI EC57 mapping of MIT-BIH beat annotation symbols to class indices N=0, S=1, V=2, F=3, Q=4.
AAMI_MAP = {
    "N": 0, "L": 0, "R": 0, "e": 0, "j": 0,
    "A": 1, "a": 1, "J": 1, "S": 1,
    "V": 2, "E": 2,
    "F": 3,
    "/": 4, "f": 4, "Q": 4,
}
#: Classes (AAMI EC57 groups), same order as the Kaggle MIT-BIH labels.
CLASSES = ("N", "S", "V", "F", "Q")
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
#: R-R intervals are clipped to this range (s) before use.
RR_CLIP_S = (0.15, 3.0)
#: Window values are clipped to +-this many record QRS amplitudes.
AMP_CLIP = 6.0
#: R-R features, in order (``log_`` = natural log of a ratio).
FEATURES = (
    "pre_rr_s", "post_rr_s", "local_rr_s", "record_rr_s",
    "log_pre_over_record", "log_post_over_record", "log_local_over_record",
    "log_pre_over_post", "log_pre_over_local", "log_qrs_amp_over_record", "local_rr_irregularity",
)
#: Beats on each side over which ``local_rr_irregularity`` (median |successive difference of log R-R|) is taken.
IRREGULARITY_BEATS = 8
F = len(FEATURES)
VERSION = 2


def rhythm_contract(classes=CLASSES) -> dict:
    """The ``beat-rhythm`` input contract (JSON-friendly dict)."""
    return {
        "kind": "beat-rhythm", "version": VERSION, "fs_hz": FS, "n_samples": 2 * W + F, "n_leads": 1,
        "layout": {"beat": [0, W], "template": [W, 2 * W], "features": [2 * W, 2 * W + F]},
        "window_s": [-PRE_S, POST_S], "template_k": TEMPLATE_K, "template_max_s": TEMPLATE_MAX_S,
        "local_rr_beats": LOCAL_RR_BEATS, "irregularity_beats": IRREGULARITY_BEATS, "rr_clip_s": list(RR_CLIP_S), "amp_clip": AMP_CLIP,
        "features": list(FEATURES),
        "filters": "0.5-40 Hz Butterworth band-pass (order 2, zero phase) + 50/60 Hz notches",
        "normalisation": "record polarity made positive; divided by the record's median QRS peak-to-peak amplitude; "
                         "R-R as log-ratios to the record's median R-R",
        "r_peaks": "annotations when present and asked for, else neurokit2 detection; fiducial = max |x| within +-50 ms",
        "classes": list(classes),
    }


def kaggle_contract(classes=CLASSES) -> dict:
    """The challenge's single-beat contract (Kachuee 2018 rule), as Task 2 stores it."""
    return {"kind": "beat", "fs_hz": 125.0, "n_samples": 187, "n_leads": 1,
            "normalisation": "beat starts at its R peak; 10 s window min-max scaled to [0, 1]; zero-padded",
            "classes": list(classes)}


def check_contract(contract: dict) -> None:
    """Raise DataFormatError if a checkpoint's ``beat-rhythm`` contract differs from this code's layout."""
    from ..errors import DataFormatError

    if contract.get("kind") != "beat-rhythm":
        return
    mine = rhythm_contract(contract.get("classes", CLASSES))
    for key in ("version", "fs_hz", "n_samples", "layout", "window_s", "features", "template_k"):
        if contract.get(key) != mine[key]:
            raise DataFormatError(f"model input contract differs from this cardiacml's beat-rhythm contract in {key!r}: "
                                  f"model {contract.get(key)!r}, code {mine[key]!r}; retrain or use a matching version")
