"""Signal contracts, defined once: what a model takes and returns (see :class:`SignalContract`).

* :mod:`.base` - :class:`SignalContract`, float32 and finiteness checks;
* :mod:`.beat` - the challenge's single beat (Tasks 1-2): 187 samples at 125 Hz, classes;
* :mod:`.rhythm` - the rhythm-aware ``beat-rhythm`` beat (the ``beats`` task);
* :mod:`.ecg12` - the 12-lead beat window of Tasks 3-4: leads, electrodes, 500 samples at 1 kHz.

Checkpoints and ONNX files carry a contract as a plain dict (:meth:`SignalContract.to_dict`);
:meth:`SignalContract.from_dict` reads it back, also from cardiacml 0.1 checkpoints.
"""

from .base import FLOAT32_MAX, SignalContract, check_float32, check_outputs_finite
from .beat import KAGGLE_BEAT, kaggle_contract
from .ecg12 import ECG12, ELECTRODES, LEADS, leads_from_electrodes
from .rhythm import check_contract, rhythm_contract

__all__ = ["ECG12", "ELECTRODES", "FLOAT32_MAX", "KAGGLE_BEAT", "LEADS", "SignalContract", "check_contract",
           "check_float32", "check_outputs_finite", "kaggle_contract", "leads_from_electrodes", "rhythm_contract"]
