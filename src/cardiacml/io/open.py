"""Open any raw recording: one static table of formats, no registration at import time.

:func:`open_record` recognises WFDB records by their ``.hea`` header and every other format
by its suffix (:data:`FORMATS`). Each format accepts a fixed set of options; an option that
does not apply to the file's format (``fs`` for an EDF file, which carries its own rate) is
refused with a one-line error instead of being silently ignored. Options given as ``None``
mean "not given" and are dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataFormatError, MissingDataError, UsageError
from .records import Record, WfdbRecord, wfdb_base

#: File formats: suffixes, reader (``"module:function"`` in :mod:`cardiacml.io.formats`), options it takes.
FORMATS = {
    "CSV/TSV/TXT": ((".csv", ".tsv", ".txt"), "read_csv_record", ("fs", "leads", "units", "delimiter", "check_units")),
    "NumPy": ((".npy", ".npz"), "read_numpy_record", ("fs", "leads", "units", "layout", "check_units")),
    "EDF/EDF+/BDF": ((".edf", ".bdf", ".rec"), "read_edf_record", ("leads", "units", "check_units")),
}
#: Options of WFDB records (the header gives rate, lead names and units).
WFDB_OPTIONS = ("annotator",)
#: Why an option does not apply, for the message.
_WHY = {"fs": "the file gives its own sampling rate", "units": "the file gives its own units",
        "leads": "the file names its own leads"}


def _format_of(suffix: str):
    for name, (suffixes, reader, options) in FORMATS.items():
        if suffix in suffixes:
            return name, reader, options
    return None


def _check_options(path, fmt: str, allowed, options: dict) -> dict:
    given = {k: v for k, v in options.items() if v is not None}
    bad = [k for k in given if k not in allowed]
    if bad:
        why = "; ".join(f"{k}: {_WHY.get(k, 'not an option of this format')}" for k in bad)
        raise UsageError(f"{path}: option(s) {', '.join(bad)} do not apply to a {fmt} recording ({why}); "
                         f"it takes {', '.join(allowed) or 'no options'}")
    return given


def _wfdb_refusal(path, bad: list) -> str:
    """Why options ``bad`` do not apply to the WFDB record ``path``: what its header gives instead (read from it)."""
    rec = WfdbRecord(path)
    gives = {"fs": f"the sampling rate ({rec.fs:g} Hz)", "leads": f"the lead names ({', '.join(rec.leads)})",
             "units": f"the units ({', '.join(dict.fromkeys(rec._unit_names))})"}
    known, other = [k for k in bad if k in gives], [k for k in bad if k not in gives]
    msg = f"{rec.path}: option(s) {', '.join(bad)} do not apply to a WFDB recording"
    if known:
        flags = " / ".join(f"{k}= (--{k})" if k != "leads" else "leads=" for k in known)
        msg += (f": its header ({rec.path.name}.hea) already gives {' and '.join(gives[k] for k in known)}; leave out "
                f"{flags}, and correct the header if it is wrong")
    if other:
        msg += f"; {', '.join(other)}: not an option of a WFDB record (it takes {', '.join(WFDB_OPTIONS)})"
    return msg


def open_record(path: str | os.PathLike, **options) -> Record:
    """Open a raw recording of any supported format.

    WFDB records are recognised by their ``.hea`` header (give the record name or any
    of its files); other formats by suffix (see :data:`FORMATS`). ``options`` (e.g.
    ``fs``, ``units``, ``leads``) go to the format's reader; ``None`` means not given. ``units`` is mV, uV, V, or
    ``"counts/N"`` for raw ADC counts with N counts per mV (a CSV or NumPy file; a WFDB or EDF header gives its gain).

    Raises
    ------
    MissingDataError
        The file (or a file the header names) does not exist.
    DataFormatError
        The format is unknown or the file is malformed; the message names the file.
    UsageError
        An option that the file's format does not take; a ``path`` that is no path (None, a number...).
    """
    from ..utils import as_path

    path = as_path(path, "open_record: path")
    if wfdb_base(path) is not None:
        given = {k: v for k, v in options.items() if v is not None}
        if any(k not in WFDB_OPTIONS for k in given):
            raise UsageError(_wfdb_refusal(path, [k for k in given if k not in WFDB_OPTIONS]))
        return WfdbRecord(path, **given)
    p = Path(path)
    suffixes = ", ".join(s for v in FORMATS.values() for s in v[0])
    if not p.exists():
        raise MissingDataError(f"{p}: no such file (expected a WFDB record with a .hea header, or a {suffixes} file)")
    if p.is_dir():
        raise DataFormatError(f"{p} is a folder: give one recording in it (a WFDB record name, without extension, "
                              f"or a {suffixes} file)")
    fmt = _format_of(p.suffix.lower())
    if fmt is None:
        raise DataFormatError(f"{p}: unknown recording format {p.suffix!r}; supported: WFDB (.hea/.dat), {suffixes}")
    name, reader, allowed = fmt
    from . import formats  # pandas / edfio load on use

    return getattr(formats, reader)(p, **_check_options(p, name, allowed, options))
