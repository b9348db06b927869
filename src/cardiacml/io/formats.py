"""Readers of raw ECG files besides WFDB: CSV/TSV/TXT, NumPy ``.npy``/``.npz``, EDF/EDF+/BDF.

Each reader returns a :class:`~cardiacml.io.records.Record` (``fs``, ``leads``,
``n_samples``, ``read(start, stop, lead)`` in mV); :func:`cardiacml.io.open_record` picks
the reader from the file suffix (its static table :data:`cardiacml.io.open.FORMATS`).
Every decision a reader takes on the user's behalf (units guessed from the amplitude,
array layout, time column, delimiter, channels skipped) is written to ``record.notes``
so that callers can show it.

Memory: a CSV is parsed whole (pandas' C parser) into float32; a ``.npy`` is memory-mapped
(``read(start, stop)`` touches only those samples); EDF signals are read lazily by edfio
(BDF is loaded eagerly: edfio has no lazy BDF loader). ``np.load`` is always called with
``allow_pickle=False``. Units: see :mod:`cardiacml.io.units`.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingDataError, UsageError
from .records import one_lead
from .units import (TIME_NAMES, ScaledRecord, check_fs, finish_record, parse_leads, split_unit, time_unit)

# --------------------------------------------------------------------------------------------------
# CSV / TSV / TXT
# --------------------------------------------------------------------------------------------------
def _decimal_comma(line: str) -> bool:
    """A data line written with decimal commas: a comma between digits and no point."""
    return bool(re.search(r"\d,\d", line)) and "." not in line


def _sniff(path: Path, head: str) -> tuple[str | None, str]:
    """Delimiter (None = whitespace) and decimal mark, from the first lines.

    csv.Sniffer is fooled by numeric files (it picks '.' or a digit), so the rule is
    explicit: the first of ``\\t``, ``;``, ``,`` that splits every sampled line into the same
    number (> 1) of fields; else runs of whitespace; else a single column.
    """
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith("#")][:50]
    if len(head) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line read may be cut
    if not lines:
        raise DataFormatError(f"{path}: the file is empty")
    for d in ("\t", ";", ","):
        counts = {len(next(csv.reader([ln], delimiter=d))) for ln in lines}
        if len(counts) == 1 and counts.pop() > 1:
            return d, "," if d in (";", "\t") and _decimal_comma(lines[-1]) else "."
    # one column (no delimiter in the data): decimal commas ("-0,61") read as decimals, never split at the comma
    one = ((";", ",") if any(_decimal_comma(ln) for ln in lines[1:]) else (",", "."))
    if (len(lines) > 1 and not any(d in lines[0] for d in "\t;,") and not _is_number(lines[0].strip())
            and all(_is_number(ln.strip()) for ln in lines[1:])):
        return one  # one column under a header whose name holds a space ("Lead II")
    counts = [len(ln.split()) for ln in lines]
    if len(set(counts)) == 1 and counts[0] > 1:  # whitespace-separated, decimal commas as a European export writes them
        return None, "," if _decimal_comma(lines[-1]) else "."
    if all(c == 1 for c in counts) and all(_is_number(ln.strip()) for ln in lines[1:]):
        return one  # one column
    per = {repr(d): sorted({len(next(csv.reader([ln], delimiter=d))) for ln in lines}) for d in ("\t", ";", ",")}
    raise DataFormatError(f"{path}: cannot find the column delimiter (tried tab, semicolon, comma and whitespace; "
                          f"field counts over the first {len(lines)} lines: {per}); the rows must all have the same "
                          f"number of fields. First line: {lines[0][:120]!r}")


#: the most columns a text recording may have (leads + a time column); wider files are refused before parsing
MAX_CSV_COLUMNS = 1024


def _is_number(s: str) -> bool:
    try:
        float(s.replace(",", ".") if s.count(",") == 1 and "." not in s else s)
        return True
    except ValueError:
        return False


#: Header names of a column that counts samples (compared lower-case, quotes stripped): dropped when it counts 0, 1, 2...
COUNTER_NAMES = {"", "unnamed: 0", "index", "idx", "sample", "samples", "sample #", "sample#", "sample no",
                 "sample_number", "sample number", "n"}


def _counter_column(df, names) -> int | None:
    """Index of a column that only counts samples (consecutive integers, step 1): with a header, one of
    :data:`COUNTER_NAMES`; without, the first column (integers in steps of exactly 1 are no time column: in ms they
    would be 1000 Hz exactly, which a file without a header cannot tell from a row counter). None if there is none."""
    if df.shape[1] < 2:  # the only column is the signal, whatever it holds
        return None
    cand = [j for j, n in enumerate(names) if n.lower() in COUNTER_NAMES] if names else [0]
    for j in cand:
        v = df.iloc[:, j].to_numpy(np.float64)
        if len(v) > 1 and np.all(v == np.round(v)) and np.all(np.diff(v) == 1.0):
            return j
    return None


def read_csv_record(path: str | os.PathLike, *, fs: float | None = None, leads=None, units: str | None = None,
                    delimiter: str | None = None, check_units: bool = True) -> ScaledRecord:
    """Open a raw ECG stored as text, one row per sample, one column per lead.

    Parameters
    ----------
    path : path-like
        A ``.csv``, ``.tsv`` or ``.txt`` file. The delimiter (comma, semicolon, tab or
        whitespace) is detected unless ``delimiter`` is given; a semicolon file may use
        decimal commas. Lines starting with ``#`` are comments.
    fs : float, optional
        Sampling rate (Hz). Needed when the file has no time column; checked (1 %) against it otherwise.
    leads : str or sequence of str, optional
        Lead names for a file without a header (``"I,II,V1"``), or a selection of
        columns for a file with one.
    units : {"mV", "uV", "V", "counts/N"}, optional
        Unit of the values (``"counts/N"``: raw ADC counts, N per mV); by default taken from the header (``II (uV)``,
        ``V1_mV``) or guessed from the amplitude (see :func:`resolve_units`).
    delimiter : str, optional
        Force the delimiter (``","``, ``";"``, ``"\\t"``, ``" "`` for whitespace).
    check_units : bool
        Refuse amplitudes implausible for the unit (default True).

    A header is recognised when a field of the first line is not a number. A time column
    is one named time/t/seconds/ms/timestamp... (unit from the name, else seconds when
    the step is < 0.1, milliseconds otherwise); a file without a header has one when its
    first column increases with a uniform step.

    Returns
    -------
    ScaledRecord
        Samples held as float32 (n_samples, n_leads); ``read`` returns mV.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such file")
    fs = None if fs is None else check_fs(fs, path, "")
    with open(path, "r", encoding="utf-8-sig", errors="replace") as fh:
        head = fh.read(65536)
    if len(head) >= 65536 and "\n" not in head and "\r" not in head:  # refused at once, not after parsing megabytes
        raise DataFormatError(f"{path}: the first line is longer than 64 kB: not a recording with one row per sample "
                              "(write one line per sample, one column per lead)")
    if delimiter is not None and not (isinstance(delimiter, str) and (len(delimiter) == 1 or not delimiter.strip())):
        # 5 was an AttributeError ('int' object has no attribute 'strip'), ";;" csv's TypeError
        raise UsageError(f"{path}: delimiter must be one character (',', ';', '\\t') or ' ' for whitespace, got "
                         f"{delimiter!r:.40}")
    if delimiter is None:
        sep, decimal = _sniff(path, head)
    else:
        sep, decimal = (None if delimiter.strip() == "" else delimiter), "."
    head_lines = head.splitlines()
    first = next((ln for ln in head_lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    # whole comment lines only (a '#' inside a header name, "sample #", is no comment: pandas' comment= cut the line there
    # and shifted every column)
    comment_rows = [i for i, ln in enumerate(head_lines) if ln.lstrip().startswith("#")]
    fields = first.split() if sep is None else next(csv.reader([first], delimiter=sep))
    if len(fields) > MAX_CSV_COLUMNS:
        raise DataFormatError(f"{path}: {len(fields)} columns in the first line; a recording has one column per lead "
                              f"(at most {MAX_CSV_COLUMNS}): one row per sample, not one row per recording")
    has_header = any(not _is_number(f.strip()) for f in fields if f.strip() != "")
    named = [f.strip().strip("'\"").strip().upper() for f in fields] if has_header else []
    twice = next((j for j, n in enumerate(named) if n and n in named[:j]), None)
    if twice is not None:  # pandas read the second "II" as "II.1"; a lead picked by name would be either
        raise DataFormatError(f"{path}: columns {named.index(named[twice]) + 1} and {twice + 1} of the header are both "
                              f"named {fields[twice].strip()!r}: give each column its own name")
    notes = [f"{'whitespace' if sep is None else repr(sep)}-separated text"
             + (", decimal comma" if decimal == "," else "") + (", header row" if has_header else ", no header")]
    read = dict(sep=r"\s+" if sep is None else sep, header=0 if has_header else None, decimal=decimal,
                skiprows=comment_rows or None, skip_blank_lines=True, low_memory=False, keep_default_na=False,
                na_values=[""])
    try:
        try:
            df = pd.read_csv(path, encoding="utf-8-sig", **read)
        except UnicodeDecodeError:  # a spreadsheet's "CSV" in Windows / Latin-1 encoding: "II (µV)" in the header
            df = pd.read_csv(path, encoding="latin-1", **read)
            notes.append("not UTF-8 text: read as Latin-1")
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        msg = (f"row {m.group(2)} has {m.group(3)} fields, expected {m.group(1)}" if m else str(exc).strip())
        raise DataFormatError(f"{path}: ragged CSV: {msg} (delimiter {'whitespace' if sep is None else repr(sep)}); "
                              "every row must have one value per column") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataFormatError(f"{path}: cannot read as a delimited text file ({exc})") from None
    if df.shape[0] == 0:
        raise DataFormatError(f"{path}: no data rows")
    names = [str(c).strip().strip("'\"").strip() for c in df.columns] if has_header else None
    if names is not None and len(names) != len(fields):
        raise DataFormatError(f"{path}: the header has {len(fields)} fields but the rows {len(names)} columns; every row "
                              "must have one value per header name")
    # empty cells (or a short row): the column is kept but unusable (refused when read, see finish_record); a column
    # with no value at all (a trailing delimiter on every line) is dropped
    hollow = [j for j in range(df.shape[1]) if df.iloc[:, j].isna().all()]
    if hollow and len(hollow) < df.shape[1]:
        named = [names[j] for j in hollow if not names[j].startswith("Unnamed:")] if names else []
        notes.append(f"empty column(s) {[j + 1 for j in hollow]}" + (f" {named}" if named else "") + ": dropped")
        df = df.drop(columns=df.columns[hollow])
        if names:
            names = [n for j, n in enumerate(names) if j not in hollow]
    empty = df.isna()
    # text in a column: a named column of text (most of its values: notes, events) is dropped; else the first
    # offending cell is named
    texts, clock = [], None
    for j, col in enumerate(df.columns):
        if df[col].dtype.kind not in "fiub":
            num = pd.to_numeric(df[col], errors="coerce")
            spelled = df[col].astype(str).str.strip().str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity"])
            bad = num.isna() & df[col].notna() & ~spelled
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                line = i + 1 + int(has_header)
                cname = f"{names[j]!r}" if names else f"{j + 1}"
                timeish = names is not None and (split_unit(names[j])[0].strip().lower() in TIME_NAMES
                                                 or names[j].strip().lower() in TIME_NAMES)
                secs = _clock_seconds(df[col]) if timeish else None
                if secs is not None and clock is None:  # hh:mm:ss.fff clock times or date-times: seconds
                    df[col], clock = secs[0], col
                    notes.append(secs[1])
                    continue
                if secs is not None or (names is not None and not timeish and not _lead_like(names[j])
                                        and bad.sum() >= 0.5 * df[col].notna().sum()):
                    # a second clock column (a timestamp beside the time), or a column of notes / events: no lead
                    texts.append(j)
                    notes.append(f"column {cname} holds " + ("clock times besides the time column" if secs is not None
                                 else f"text ({str(df[col].iloc[i])[:40]!r} at line {line})") + ": dropped")
                    continue
                if timeish:  # name the first cell that is neither a number nor a clock time (not the first clock time)
                    odd = (bad | df[col].isna()) & _clock_seconds_each(df[col]).isna()
                    if odd.any():
                        i = int(np.flatnonzero(odd.to_numpy())[0])
                        line = i + 1 + int(has_header)
                        if df[col].isna().iloc[i]:
                            raise DataFormatError(f"{path}: empty cell in the time column at line {line} (ragged CSV "
                                                  "or missing value); every row needs its time")
                raise DataFormatError(f"{path}: text {str(df[col].iloc[i])[:40]!r} in column {cname} at line {line} "
                                      "(only numbers are allowed below the header)")
            df[col] = num
    if texts:
        if len(texts) == df.shape[1]:
            raise DataFormatError(f"{path}: every column holds text; no signal to read")
        df, empty = df.drop(columns=df.columns[texts]), empty.drop(columns=empty.columns[texts])
        names = [n for j, n in enumerate(names) if j not in texts]
    # a sample counter (pandas' to_csv index, a "sample #" column): 0, 1, 2, ... in steps of exactly 1 -- no lead
    counter = _counter_column(df, names)
    if counter is not None:
        notes.append(f"column {names[counter]!r} is a sample counter: dropped" if names
                     else "first column counts samples (0, 1, 2, ...): dropped, not read as time")
        df, empty = df.drop(columns=df.columns[counter]), empty.drop(columns=empty.columns[counter])
        if names:
            names.pop(counter)
        if df.shape[1] == 0:
            raise DataFormatError(f"{path}: no signal column besides the sample counter")
    # time column
    time_col, time_name = None, None
    if names:
        for j, n in enumerate(names):
            base, unit = split_unit(n)
            key = base.strip().lower()
            if key in TIME_NAMES or n.strip().lower() in TIME_NAMES:
                time_col, time_name = j, n
                break
    elif df.shape[1] > 1:
        c0 = df.iloc[:, 0].to_numpy(np.float64)
        if len(c0) > 3 and np.all(np.diff(c0) > 0) and np.max(np.abs(
                c0 - np.linspace(c0[0], c0[-1], len(c0)))) <= 0.5 * (c0[-1] - c0[0]) / (len(c0) - 1):
            time_col = 0
            notes.append("first column increases uniformly: read as time")
    if time_col is not None:
        if empty.iloc[:, time_col].any():
            i = int(np.flatnonzero(empty.iloc[:, time_col].to_numpy())[0])
            raise DataFormatError(f"{path}: empty cell in the time column at line {i + 1 + int(has_header)} (ragged CSV "
                                  "or missing value); every row needs its time")
        in_s = clock is not None and df.columns[time_col] == clock  # converted to seconds above
        fs_t, note = time_unit(f"{split_unit(time_name)[0]} (s)" if in_s else time_name,
                               df.iloc[:, time_col].to_numpy(np.float64), path)
        if in_s:
            note = note.replace(repr(f"{split_unit(time_name)[0]} (s)"), repr(time_name))
        if fs is not None and abs(float(fs) - fs_t) > 0.01 * fs_t:
            raise DataFormatError(f"{path}: fs={float(fs):g} Hz given, but the time column says {fs_t:.6g} Hz")
        fs = float(fs) if fs is not None else fs_t
        notes.append(note)
        df, empty = df.drop(columns=df.columns[time_col]), empty.drop(columns=empty.columns[time_col])
        if names:
            names.pop(time_col)
    if clock is not None and clock in list(df.columns):  # clock times beside the time column read (a timestamp): no lead
        k = list(df.columns).index(clock)
        notes.append(f"column {names[k]!r} holds clock times besides the time column: dropped")
        df, empty = df.drop(columns=[clock]), empty.drop(columns=[clock])
        names.pop(k)
    fs = check_fs(fs, path, "the file has no time column (time, t, seconds, ms...); give fs= / --fs")
    if df.shape[1] == 0:
        raise DataFormatError(f"{path}: no signal column besides the time column"
                              + (f" ({'; '.join(n for n in notes if 'holds' in n)})" if texts else ""))
    want = parse_leads(leads, path)
    unit_per_lead = None
    if names:
        split = [split_unit(n) for n in names]
        names = [s[0] for s in split]
        if any(s[1] for s in split):
            unit_per_lead = [s[1] for s in split]
        if want is not None:
            upper = [n.upper() for n in names]
            missing = [w for w in want if w.upper() not in upper]
            if missing:
                raise DataFormatError(f"{path}: lead(s) {missing} not in the header (has {names})")
            idx = [one_lead(w, names, path, "give each its own name in the header") for w in want]
            df, empty = df.iloc[:, idx], empty.iloc[:, idx]
            names = [names[i] for i in idx]
            if unit_per_lead:
                unit_per_lead = [unit_per_lead[i] for i in idx]
    else:
        if want is not None:
            if len(want) != df.shape[1]:
                raise DataFormatError(f"{path}: {len(want)} lead name(s) {want} given for {df.shape[1]} signal column(s)")
            names = want
        else:
            names = ["ECG"] if df.shape[1] == 1 else [f"lead{j}" for j in range(df.shape[1])]
            notes.append(f"no header: leads named {names}")
    raw = df.to_numpy(np.float32)
    missing = {}
    for j in range(df.shape[1]):
        rows = np.flatnonzero(empty.iloc[:, j].to_numpy())
        if len(rows):  # the NaN / infinite values written out in that column too (they read as gaps alike)
            other = np.setdiff1d(np.flatnonzero(~np.isfinite(raw[:, j])), rows)
            missing[j] = (f"empty cell at line {int(rows[0]) + 1 + int(has_header)} ({len(rows)} in that column; ragged "
                          "CSV or missing value)" + (f" and {len(other)} NaN or infinite value(s) (the first at line "
                                                     f"{int(other[0]) + 1 + int(has_header)})" if len(other) else ""))
    return finish_record(raw, fs, names, path, units, notes, check_units=check_units,
                         unit_per_lead=None if units is not None else unit_per_lead, missing=missing)


_LEAD_NAME = re.compile(r"^(?:(?:LEAD|ECG|EKG)[\s_\-]*)?(?:ML\s*II|ML2|I{1,3}|AVR|AVL|AVF|V[1-9]|D(?:I{1,3}|[123])|C[1-6])$|"
                        r"^(?:ECG|EKG)", re.IGNORECASE)


def _lead_like(name: str) -> bool:
    """Whether a column name is an ECG lead's (II, MLII, V1, ECG1, "Lead II"...): its text is refused, not dropped."""
    return bool(_LEAD_NAME.match(split_unit(name)[0].strip()))


def _clock_seconds_each(col):
    """Per cell: a clock time or date-time parsed (NaT where it is neither)."""
    import pandas as pd

    txt = col.astype(str).str.strip()
    td = pd.to_timedelta(txt.where(txt.str.count(":") != 1, "00:" + txt), errors="coerce")
    return td.where(td.notna(), pd.to_datetime(txt.where(txt.str.match(r"^\d{4}-\d{2}-\d{2}")), errors="coerce",
                                                format="mixed") - pd.Timestamp(0))


def _clock_seconds(col):
    """A time column (a pandas Series) of clock times (``hh:mm:ss.fff``, ``mm:ss.fff``) or date-times as seconds, and
    a note; None when its values are not all such (nor all of one kind)."""
    td = _clock_seconds_each(col)
    if not td.notna().all():
        return None
    txt = col.astype(str).str.strip()
    dated = txt.str.match(r"^\d{4}-\d{2}-\d{2}")
    if not dated.any():
        return td.dt.total_seconds().to_numpy(np.float64), "time column of clock times (hh:mm:ss): read as seconds"
    if dated.all():
        return ((td - td.iloc[0]).dt.total_seconds().to_numpy(np.float64),
                f"time column of date-times: read as seconds from its first, {txt.iloc[0]}")
    return None


# --------------------------------------------------------------------------------------------------
# NumPy .npy / .npz
# --------------------------------------------------------------------------------------------------
#: Largest number of leads accepted for a 2-D array (the smaller axis is the lead axis).
MAX_LEADS = 64
#: An .npz member is read whole: one that inflates over this many times its stored size, past NPZ_BOMB_BYTES, is a
#: decompression bomb (a recording compresses 2-10-fold), refused before any of it is read.
NPZ_MAX_RATIO, NPZ_BOMB_BYTES = 100, 64 * 2**20


def check_npz_members(z, path) -> None:
    """Refuse (DataFormatError) an opened ``np.load`` .npz ``z`` with a member that would inflate over
    :data:`NPZ_MAX_RATIO` times its stored size past :data:`NPZ_BOMB_BYTES`, before any member is read."""
    for info in z.zip.infolist():
        if info.file_size > NPZ_BOMB_BYTES and info.file_size > NPZ_MAX_RATIO * max(1, info.compress_size):
            raise DataFormatError(f"{path}: member {info.filename!r} would inflate {info.file_size / max(1, info.compress_size):.0f}"
                                  f"-fold ({info.compress_size} -> {info.file_size} bytes), over the {NPZ_MAX_RATIO}x "
                                  "limit; refused (a decompression bomb?)")


def _orient(arr, path: Path, n_names: int | None, layout: str | None):
    """A 1-D or 2-D array -> (samples, leads) view and a note on the layout chosen."""
    if arr.ndim == 1:
        return arr[:, None], f"1-D array: one lead of {arr.shape[0]} samples"
    if arr.ndim != 2:
        raise DataFormatError(f"{path}: a raw signal must be 1-D (samples,) or 2-D (leads, samples) / (samples, leads), "
                              f"got shape {arr.shape}")
    a, b = arr.shape
    if layout in ("leads_first", "leads x samples"):
        return arr.T, f"leads x samples as given ({a} leads, {b} samples)"
    if layout in ("samples_first", "samples x leads"):
        return arr, f"samples x leads as given ({b} leads, {a} samples)"
    if layout is not None:
        raise DataFormatError(f"{path}: layout must be 'leads_first' or 'samples_first', got {layout!r}")
    if n_names is not None and (a == n_names) != (b == n_names):
        leads_first = a == n_names
    elif min(a, b) > MAX_LEADS or a == b:
        raise DataFormatError(f"{path}: cannot tell leads from samples in shape {arr.shape} (a raw signal has at most "
                              f"{MAX_LEADS} leads); give layout='leads_first' or 'samples_first', or lead names")
    else:
        leads_first = a < b
    if leads_first:
        return arr.T, f"shape {arr.shape} read as leads x samples ({a} leads, {b} samples): the smaller axis is leads"
    return arr, f"shape {arr.shape} read as samples x leads ({b} leads, {a} samples): the smaller axis is leads"


def load_npy(path: Path, mmap: bool):
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise DataFormatError(f"{path}: holds Python objects (object dtype); cardiacml never unpickles files. "
                                  "Save a numeric array (e.g. arr.astype(np.float32))") from None
        raise DataFormatError(f"{path}: unreadable or truncated NumPy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: unreadable or truncated NumPy file ({exc})") from None


def _text(x) -> str:
    """A lead name or unit from an .npz: bytes (``np.array([b"MLII"])``, as h5py and MATLAB converters write them)
    decoded, not ``"b'MLII'"``."""
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


def _numeric(arr, path: Path, what: str = "array"):
    if arr.dtype.kind not in "fiu":
        raise DataFormatError(f"{path}: {what} has dtype {arr.dtype}; a signal must be numeric (float or int)")
    return arr


def read_numpy_record(path: str | os.PathLike, *, fs: float | None = None, leads=None, units: str | None = None,
                      layout: str | None = None, check_units: bool = True) -> ScaledRecord:
    """Open a raw ECG saved with NumPy.

    Parameters
    ----------
    path : path-like
        ``.npy``: a 1-D signal, or 2-D leads x samples / samples x leads (the smaller axis,
        at most 64, is taken as leads; the choice is in ``record.notes``); memory-mapped,
        so ``read(start, stop)`` reads only that range. ``.npz``: an array ``signal`` (or
        the only array), optional scalars ``fs`` and ``units`` and a string array ``leads``.
    fs : float
        Sampling rate (Hz); required unless the ``.npz`` holds ``fs``.
    leads : str or sequence of str, optional
        Lead names (default ``lead0``..., or ``ECG`` for one lead).
    units : {"mV", "uV", "V", "counts/N"}, optional
        Unit of the values (``"counts/N"``: raw ADC counts, N per mV, e.g. an int16 array); guessed from the
        amplitude when not given.
    layout : {"leads_first", "samples_first"}, optional
        Force the orientation of a 2-D array.

    Returns
    -------
    ScaledRecord
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such file")
    notes, names, fs = [], parse_leads(leads, path), None if fs is None else check_fs(fs, path, "")
    if path.suffix.lower() == ".npz":
        try:
            z = np.load(path, allow_pickle=False)
            keys = list(z.files)
        except Exception as exc:
            raise DataFormatError(f"{path}: unreadable .npz file ({exc})") from None
        check_npz_members(z, path)
        key = "signal" if "signal" in keys else (keys[0] if len(keys) == 1 else None)
        if key is None:
            raise DataFormatError(f"{path}: .npz must hold an array named 'signal' (has {keys})")
        try:
            arr = z[key]
            if "fs" in keys:
                fs_file = check_fs(np.asarray(z["fs"]).reshape(-1)[0], f"{path} (its array 'fs')", "")
                if fs is not None and abs(float(fs) - fs_file) > 0.01 * fs_file:
                    raise DataFormatError(f"{path}: fs={float(fs):g} Hz given, but the .npz says {fs_file:g} Hz")
                if fs is None:
                    fs = fs_file
                    notes.append(f"fs = {fs:g} Hz from the .npz")
            if names is None and "leads" in keys:
                names = [_text(x) for x in np.asarray(z["leads"]).reshape(-1)]
            if units is None and "units" in keys:
                units = _text(np.asarray(z["units"]).reshape(-1)[0])
        except DataFormatError:
            raise
        except MemoryError:  # an array header claiming more than its member holds (or than this machine has)
            raise DataFormatError(f"{path}: an .npz member's header claims an array too large to read here") from None
        except ValueError as exc:
            if "pickle" in str(exc).lower() or "object" in str(exc).lower():
                raise DataFormatError(f"{path}: holds Python objects (object dtype); cardiacml never unpickles files. "
                                      "Store numbers and strings only") from None
            raise DataFormatError(f"{path}: unreadable .npz member ({exc})") from None
    else:
        arr = load_npy(path, mmap=True)
    _numeric(arr, path)
    fs = check_fs(fs, path, "a NumPy array has no time axis; give fs= / --fs (Hz)")
    raw, note = _orient(arr, path, len(names) if names else None, layout)
    notes.append(note)
    if names is None:
        names = ["ECG"] if raw.shape[1] == 1 else [f"lead{j}" for j in range(raw.shape[1])]
    elif len(names) != raw.shape[1]:
        raise DataFormatError(f"{path}: {len(names)} lead name(s) {names} for {raw.shape[1]} lead(s) ({note})")
    return finish_record(raw, fs, names, path, units, notes, check_units=check_units)


# EDF / EDF+ / BDF: io/edf.py (edfio loads on use there too)
from .edf import EdfRecord, read_edf_record  # noqa: E402, F401
