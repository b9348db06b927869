"""The beat-annotation vocabulary of PhysioNet (MIT-BIH) records, at the bottom of the package.

File readers use it to tell beat annotations from other annotation text (EDF+ annotations,
WFDB ``.atr`` files); the AAMI grouping of these symbols into classes N/S/V/F/Q lives above,
in :mod:`cardiacml.ecg.aami`.
"""

#: MIT-BIH beat annotation symbols (PhysioNet ``ann_label_table``, beats only) and their meaning.
BEAT_SYMBOLS = {
    "N": "normal beat", "L": "left bundle branch block beat", "R": "right bundle branch block beat",
    "e": "atrial escape beat", "j": "nodal (junctional) escape beat",
    "A": "atrial premature beat", "a": "aberrated atrial premature beat", "J": "nodal (junctional) premature beat",
    "S": "supraventricular premature beat",
    "V": "premature ventricular contraction", "E": "ventricular escape beat",
    "F": "fusion of ventricular and normal beat",
    "/": "paced beat", "f": "fusion of paced and normal beat", "Q": "unclassifiable beat",
}
