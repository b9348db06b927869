"""The challenge's single-beat contract (Tasks 1-2, Kaggle "ECG Heartbeat Categorization Dataset").

One beat of :data:`N_SAMPLES` = 187 samples at :data:`FS` = 125 Hz starting at its R peak, its 10 s
window min-max scaled to [0, 1] and zero padded (Kachuee, Fazeli & Sarrafzadeh 2018). Built from raw
records by :func:`cardiacml.ecg.pipeline.kachuee_beats`; read from the Kaggle CSVs by
:mod:`cardiacml.datasets.kaggle`.
"""

from __future__ import annotations

from .base import SignalContract

#: Sampling rate (Hz) and samples per beat of the Kaggle beats.
FS = 125.0
N_SAMPLES = 187
#: Window (s) over which the Kachuee rule min-max scales a record.
WINDOW_S = 10.0
#: AAMI EC57 classes, in the order of the Kaggle MIT-BIH labels 0..4.
CLASSES = ("N", "S", "V", "F", "Q")
MITBIH_CLASSES = CLASSES
#: Kaggle PTB labels 0 / 1.
PTB_CLASSES = ("normal", "abnormal")

#: Input contract of the Kaggle heartbeat files (Tasks 1-2): one beat, 187 samples at 125 Hz in [0, 1].
KAGGLE_BEAT = SignalContract(
    kind="beat", n_leads=1, n_samples=N_SAMPLES, fs_hz=FS, units="normalised", value_range=(-0.5, 1.5), leads=("ECG",),
    target="beat class", target_units="class", target_names=CLASSES,
    normalisation="beat starts at its R peak; 10 s window min-max scaled to [0, 1]; zero-padded to 187 samples "
                  "(Kachuee et al. 2018)",
)


def kaggle_contract(classes=CLASSES) -> SignalContract:
    """The single-beat contract with ``classes`` as targets (Task 1 uses the two PTB classes)."""
    return KAGGLE_BEAT.with_targets("beat class", "class", classes)
