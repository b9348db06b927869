"""Reading raw ECG recordings: the bottom floor of cardiacml (above :mod:`cardiacml.errors` and utils only).

* :mod:`.records` - :class:`Record` (lazy ``read(start, stop, lead)`` in mV), :class:`ArrayRecord`,
  :class:`WfdbRecord`;
* :mod:`.units` - units given, read or guessed, amplitude checks, :class:`ScaledRecord`;
* :mod:`.formats` - CSV/TSV/TXT and NumPy readers (:mod:`.edf`: EDF/EDF+/BDF);
* :mod:`.open` - :func:`open_record` and its static table of formats;
* :mod:`.symbols` - the beat-annotation vocabulary.

Nothing here imports the signal processing (:mod:`cardiacml.ecg`) or the datasets above it.
"""

from .amplitude import unit_scale
from .open import FORMATS, open_record
from .records import PREFERRED_LEADS, ArrayRecord, Record, WfdbRecord, wfdb_base
from .symbols import BEAT_SYMBOLS

__all__ = ["ArrayRecord", "BEAT_SYMBOLS", "FORMATS", "PREFERRED_LEADS", "Record", "WfdbRecord", "open_record",
           "unit_scale", "wfdb_base"]
