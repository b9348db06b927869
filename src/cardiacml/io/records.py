"""Raw ECG recordings, read lazily: one interface for every file format.

A :class:`Record` knows its sampling rate, lead names and length without reading
the signal, and reads any sample range on demand (``read(start, stop)``), so a
24-hour Holter file is processed in chunks with bounded memory. Every format
(WFDB, CSV, NumPy, EDF/BDF) is opened through :func:`cardiacml.io.open_record`, and every
consumer (training's record -> beats reader, ``cardiacml predict``, streaming)
goes through this interface, so training and prediction read signals the same way.

Units: ``read`` returns millivolts (float64). Readers convert from the file's
physical unit (WFDB/EDF headers) or from the ``units`` the user gives, and check the
amplitudes against that unit (:func:`cardiacml.io.amplitude.plausible_unit`).
"""

from __future__ import annotations

import glob
import os
import re
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import DataFormatError, MissingDataError, MissingDependencyError, UsageError
from .amplitude import PLAUSIBLE_MV, plausible_unit, robust_amplitude, sample_rows, unit_scale

#: The first lead names :func:`default_lead` tries (it also reads "ECG II", "Lead II", EKG... and skips EEG, EOG...).
PREFERRED_LEADS = ("MLII", "II", "ML2", "ECG", "ECG1")
#: Channels a recording may hold beside its ECG (sleep studies, ICU monitors): never the default lead.
NOT_ECG = re.compile(r"^(EEG|EOG|EMG|RESP|SPO2|SAO2|SP02|PLETH|PPG|ABP|ART|BP|CVP|PAP|THOR|ABD|FLOW|AIRFLOW|NASAL|PULSE|"
                     r"POS|SNORE|LEG|CHIN|TEMP|HR\b|LIGHT|EVENT|MARKER|STATUS|ANNOT)", re.IGNORECASE)
_LEAD_PREFIX = re.compile(r"^(LEAD|ECG|EKG)[\s_\-]*", re.IGNORECASE)


def default_lead(names) -> int:
    """The lead a single-lead beat model reads when none is named: MLII / II / ML2 / DII (also written "ECG II", "Lead II"),
    else a channel named ECG / EKG (ECG1, "ECG 1"...), else one whose name holds ECG or EKG, else the first channel
    that is not named as something else (EEG, EOG, EMG, respiration, SpO2, blood pressure...: a sleep study's EEG is no
    ECG), else the first."""
    upper = [str(n).strip().strip("'\"").strip().upper() for n in names]
    bare = [_LEAD_PREFIX.sub("", u).strip() for u in upper]
    for cand in ("MLII", "II", "ML2", "DII", "D2"):
        for k, (u, b) in enumerate(zip(upper, bare)):
            if u == cand or (b == cand and u != b):
                return k
    for k, u in enumerate(upper):
        if re.fullmatch(r"(ECG|EKG)[\s_\-]*1?", u):
            return k
    for k, u in enumerate(upper):
        if "ECG" in u or "EKG" in u:
            return k
    return next((k for k, u in enumerate(upper) if not NOT_ECG.match(u)), 0)


def _units_stated(header: Path, n_sig: int) -> list[bool]:
    """Whether each signal line of a WFDB header writes a unit (``gain(baseline)/units``); where it does not, WFDB
    reads the channel as mV. A line that cannot be parsed counts as stated."""
    try:
        lines = [ln.split() for ln in header.read_text(errors="replace").splitlines()]
    except OSError:
        return [True] * n_sig
    sig = [f for f in lines if f and not f[0].startswith("#")][1:1 + n_sig]
    stated = [len(f) < 3 or "/" in f[2] for f in sig]
    return stated + [True] * (n_sig - len(stated))


def _voltage_scale(unit) -> float | None:
    """:func:`unit_scale` of a WFDB channel's unit, or None for a unit that is not a voltage (mmHg, %, NU...)."""
    try:
        return unit_scale(unit, counts=False)  # the header's gain made its samples physical: "counts" is no voltage
    except DataFormatError:
        return None


#: How a recording's gaps (NaN, infinite or missing samples) are read, in the notes: see :meth:`Record.read`.
GAP_NOTE = ("read as a flat line at the lead's median ({value:.4g} mV), as a lead off: no beats there, and the per-hour "
            "rates and the AF burden leave out a gap of over 10 s")


def parse_leads(leads, where: str | os.PathLike = "leads") -> list[str] | None:
    """``"I,II,V1"`` (commas or semicolons) or a sequence -> list of names; None stays None. Spaces belong to a name
    (``"ECG II"`` is one lead, as EDF labels are written). Anything else (a number, ``True``) is a
    :class:`DataFormatError` naming ``where`` (``leads=3`` was a TypeError: 'int' object is not iterable), and so is
    a name given twice (``"II,ii"``)."""
    if leads is None:
        return None
    if isinstance(leads, str):
        leads = [x.strip() for x in re.split(r"[,;]", leads) if x.strip()]
    if isinstance(leads, (bytes, Mapping, set, frozenset)) or not hasattr(leads, "__iter__"):
        raise DataFormatError(f"{where}: leads must be lead names, as a list (['I', 'II']) or one string ('I,II'), "
                              f"got {type(leads).__name__} {leads!r:.60}")
    names = [str(x).strip() for x in leads]
    twice = next((n for k, n in enumerate(names) if n.upper() in [m.upper() for m in names[:k]]), None)
    if twice is not None:  # which of the two would a lead picked by that name be?
        raise DataFormatError(f"{where}: lead {twice!r} named twice in {names} (names are case-insensitive); give each "
                              "lead its own name")
    return names


def one_lead(name, names, path, how: str = "choose one by its 0-based index with --lead") -> int | None:
    """Index of the one of ``names`` that is ``name`` (case-insensitive; None when none is); a name that more than one
    lead has is a :class:`DataFormatError` (it took the first silently), ``how`` saying how to pick one instead."""
    hits = [k for k, n in enumerate(names) if str(n).strip().upper() == str(name).strip().upper()]
    if len(hits) > 1:
        raise DataFormatError(f"{path}: lead {name!r} is ambiguous: channels {hits} (0-based) of {list(names)} have "
                              f"that name; {how}")
    return hits[0] if hits else None


class Record:
    """A raw multi-lead ECG recording, read lazily.

    Subclasses set ``path``, ``fs`` (Hz), ``leads`` (names), ``n_samples`` and implement
    :meth:`_read` (and :meth:`annotations` when the format has them).

    Attributes
    ----------
    path : Path
        The file (for WFDB, the record's base path without extension).
    fs : float
        Sampling rate in Hz.
    leads : tuple of str
        Lead (channel) names, in file order.
    n_samples : int
        Samples per lead.
    """

    path: Path
    fs: float
    leads: tuple
    n_samples: int

    # -- to implement -------------------------------------------------------------
    def _read(self, start: int, stop: int, channels: list[int]) -> np.ndarray:
        """Samples ``start:stop`` of ``channels``, shape (stop - start, len(channels)), float64 mV."""
        raise NotImplementedError

    def annotations(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Reference beat annotations (sample indices, symbols) when the file has them, else None."""
        return None

    # -- shared ---------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead_index(self, lead: str | int | None = None) -> int:
        """Index of ``lead`` (name, case-insensitive, or index); ``None`` picks MLII / II, else a channel named ECG /
        EKG, else the first that is not EEG, EOG, SpO2, pressure... (:func:`default_lead`).

        Raises DataFormatError naming the file and the leads it has when ``lead`` is absent, or is the name of more
        than one lead (then pick one by index).
        """
        if isinstance(lead, (bool, np.bool_)):  # True is an int: it read lead 1
            raise DataFormatError(f"{self.path}: lead must be a name or a 0-based index, got {lead!r} (record has "
                                  f"{list(self.leads)})")
        if isinstance(lead, (int, np.integer)):
            if not 0 <= int(lead) < len(self.leads):
                raise DataFormatError(f"{self.path}: lead index {lead} out of range (record has {len(self.leads)} leads: {list(self.leads)})")
            return int(lead)
        if lead is None:
            return default_lead(self.leads)
        k = one_lead(lead, self.leads, self.path)
        if k is None:
            raise DataFormatError(f"{self.path}: lead {lead!r} not in record (has {list(self.leads)}); choose one with --lead")
        return k

    def read(self, start: int = 0, stop: int | None = None, lead: str | int | Sequence | None = "all", *,
             fill_gaps: bool = True) -> np.ndarray:
        """Read samples ``start:stop`` in mV.

        Parameters
        ----------
        start, stop : int
            Sample range (clipped to the record).
        lead : "all", str, int, sequence or None
            ``"all"`` -> (n, n_leads); one name / index / ``None`` (preferred lead) -> (n,);
            a sequence of names or indices -> (n, len(sequence)).
        fill_gaps : bool
            False: NaN and infinite samples are returned as they are (for a caller that refuses them: a 12-lead
            window for the heart models cannot hold a lead off).

        Notes
        -----
        A gap in the signal (NaN, infinite or missing samples: a signal lost, a recorder's invalid-sample code) reads
        as a flat line at the lead's median (:meth:`gap_value`, the same at every read, so that reading in chunks
        equals reading whole), which the beat pipeline treats as a lead off; :attr:`notes` says so. A lead with no
        finite sample at all cannot be read (its reader, or :meth:`gap_value` at the first read, refuses it by name).
        """
        stop = self.n_samples if stop is None else min(self._sample(stop, "stop"), self.n_samples)
        start = 0 if start is None else max(0, self._sample(start, "start"))
        if isinstance(lead, str) and lead == "all":
            chans, squeeze = list(range(len(self.leads))), False
        elif lead is None or isinstance(lead, (str, int, np.integer)):
            chans, squeeze = [self.lead_index(lead)], True
        elif isinstance(lead, (Sequence, np.ndarray)) and not isinstance(lead, bytes):
            chans, squeeze = [self.lead_index(x) for x in lead], False
        else:  # 1.0, an object: "'float' object is not iterable" from the loop above
            raise DataFormatError(f"{self.path}: lead must be a name, a 0-based index, a list of them or 'all', got "
                                  f"{type(lead).__name__} {lead!r:.60} (record has {list(self.leads)})")
        if stop <= start:
            out = np.zeros((0, len(chans)))
        else:
            out = np.asarray(self._read(start, stop, chans), np.float64)
            if fill_gaps and not np.isfinite(out).all():
                out = self._fill_gaps(out, chans, start)
        return out[:, 0] if squeeze else out

    def _sample(self, value, what: str) -> int:
        """A sample index given to :meth:`read`: a whole number (``1e9`` too, clipped after); 1.5, NaN, None as
        ``start`` or text were int()'s TypeError / ValueError, or cut silently (1.5 read from sample 1)."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = float("nan")
        if isinstance(value, (bool, np.bool_)) or not np.isfinite(v) or v != int(v):
            raise DataFormatError(f"{self.path}: read({what}=...) takes a whole sample index, got {value!r:.60}")
        return int(v)

    def gap_value(self, channel: int) -> float:
        """The value (mV) NaN, infinite and missing samples of ``channel`` read as: the median of its finite samples
        in :func:`~cardiacml.io.amplitude.sample_rows`'s windows, the same for every read. A lead without any finite
        sample there (all NaN: it searches the record for windows with a signal) raises :class:`DataFormatError`."""
        values = self.__dict__.setdefault("_gap_values", {})
        if channel not in values:
            x = sample_rows(lambda a, b: self._read(a, b, [channel]), self.n_samples, self.fs)
            x = x[np.isfinite(x)]
            if not x.size:  # sample_rows looked through the record for windows with a signal: none
                raise DataFormatError(f"{self.path}: lead {self.leads[channel]!r} holds no finite value (NaN or invalid "
                                      "samples throughout): nothing to read; choose another lead with --lead")
            values[channel] = float(np.median(x))
        return values[channel]

    def _fill_gaps(self, out: np.ndarray, chans: list[int], start: int) -> np.ndarray:
        """``out`` with its NaN / infinite samples set to :meth:`gap_value`: a gap in the signal reads as a flat line,
        which the R-peak pass takes for a lead off (no beats in it; no R-R interval across one of 1 s or more). The
        first gap met in a lead is added to :attr:`notes` (unless the reader noted that lead's gaps already)."""
        out = np.array(out, np.float64, copy=True)
        for k, c in enumerate(chans):
            bad = ~np.isfinite(out[:, k])
            if bad.any():
                out[bad, k] = self.gap_value(c)
                self.note_gaps(c, f"NaN or infinite values (the first at sample {start + int(np.argmax(bad))})")
        return out

    def note_gaps(self, channel: int, where: str) -> None:
        """Say once, in :attr:`notes`, that ``channel`` has gaps (``where``: which, how many) and how they read
        (:data:`GAP_NOTE`); a later call for the same lead adds nothing (the reader, which sees the whole file, says
        it first when it can, with the count)."""
        noted = self.__dict__.setdefault("_gaps_noted", {})
        if channel not in noted:
            noted[channel] = (where.rstrip(": "), f"lead {self.leads[channel]!r}: {where} "
                                                  f"{GAP_NOTE.format(value=self.gap_value(channel))}")
            self.__dict__.setdefault("notes", []).append(noted[channel][1])

    def noted_gaps(self) -> dict:
        """``{lead index: (where, note)}`` of the leads whose gaps :meth:`note_gaps` said in :attr:`notes`: a caller
        that refuses gaps instead (a heart model's 12-lead window) replaces that note by its own."""
        return dict(self.__dict__.get("_gaps_noted", {}))

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.path}, {len(self.leads)} lead(s) {list(self.leads)}, "
                f"{self.fs:g} Hz, {self.n_samples} samples = {self.duration_s:.1f} s)")


class ArrayRecord(Record):
    """A recording held in memory: ``signal`` (n_samples, n_leads) or (n_samples,), in mV."""

    def __init__(self, signal: np.ndarray, fs: float, leads: Sequence[str] | None = None, path: str | os.PathLike = "<array>",
                 annotations: tuple[np.ndarray, np.ndarray] | None = None):
        if np.iscomplexobj(signal):  # np.asarray(..., float64) dropped the imaginary part with a ComplexWarning
            raise DataFormatError(f"{path}: a signal must be real numbers (mV), got complex values")
        try:
            sig = np.asarray(signal, np.float64)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"{path}: a signal must be numbers (mV), not {exc}") from None
        if sig.ndim == 1:
            sig = sig[:, None]
        if sig.ndim != 2:
            raise DataFormatError(f"{path}: a signal must be 1-D or (samples, leads), got shape {sig.shape}")
        if sig.shape[1] > sig.shape[0]:  # (leads, samples) was read as thousands of leads of a few samples
            raise DataFormatError(f"{path}: a signal is (samples, leads), and shape {sig.shape} has more leads than "
                                  "samples; give it transposed (signal.T)")
        # "360" reads as 360 Hz, as open_record's fs= does (np.isfinite("360") was a TypeError traceback); True (a bool
        # is an int) read as 1 Hz
        try:
            rate = float("nan") if isinstance(fs, (bool, np.bool_)) or np.iscomplexobj(fs) else float(fs)
        except (TypeError, ValueError):
            rate = float("nan")
        if not np.isfinite(rate) or rate <= 0:
            raise DataFormatError(f"{path}: sampling rate must be a positive number of Hz, got {fs!r}")
        self.path, self.fs, self.n_samples = Path(str(path)), rate, int(sig.shape[0])
        # one string is one name or "I,II" (tuple("MLII") was 4 leads named M, L, I, I), as open_record's leads= is
        names = parse_leads(leads, path)
        self.leads = tuple(names) if names is not None else tuple(f"lead{i}" for i in range(sig.shape[1]))
        if len(self.leads) != sig.shape[1]:
            raise DataFormatError(f"{path}: {len(self.leads)} lead names for {sig.shape[1]} signal columns")
        self._sig = sig
        self._ann = annotations

    def _read(self, start, stop, channels):
        return self._sig[start:stop, channels]

    def annotations(self):
        return self._ann


def _require_wfdb():
    try:
        import wfdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("Reading WFDB records needs wfdb: pip install 'cardiacml[ecg]'") from exc
    return wfdb


def wfdb_base(path: str | os.PathLike) -> Path | None:
    """The WFDB record base path of ``path`` (``100``, ``100.hea``, ``100.dat``...) if its header exists, else None."""
    p = Path(path)
    base = p.with_suffix("") if p.suffix in (".hea", ".dat", ".atr", ".xyz", ".mat") else p
    return base if Path(str(base) + ".hea").is_file() else None


class WfdbRecord(Record):
    """A PhysioNet WFDB record (``.hea`` header + signal files, optional ``.atr`` annotations).

    A record of at most :attr:`WHOLE_READ_SAMPLES` samples (all leads together; a 30-min two-lead MIT-BIH record is
    1.3 M) is read whole on first use (the leads asked for) and sliced afterwards: ``wfdb.rdrecord`` parses the header again on every call,
    which cost more than the samples on the prediction path's many chunk reads. Longer records (Holters) stay lazy.

    Units: each channel is read in the unit its header gives (mV, uV or V; none means mV, the WFDB default). When a
    channel is first read, its amplitude is checked against that unit by the criterion every other format's units
    are guessed and checked by (:func:`cardiacml.io.amplitude.plausible_unit`: the robust amplitude, 99th percentile of
    ``|x - median|`` over :func:`~cardiacml.io.amplitude.sample_rows`'s windows, within
    :data:`~cardiacml.io.amplitude.PLAUSIBLE_MV`). A channel that fails it (a header saying mV over values in the
    thousands, really uV; uV over values about 1, really mV) is still read as the header says, and a one-line
    warning, also kept in :attr:`notes`, names the header, the channel, the stated unit and the unit the values look
    like. A CSV, NumPy or EDF file that fails the check is refused instead, since ``units=`` / ``--units`` overrides
    its unit; a WFDB record takes no ``units`` (its header is the calibration, as for every WFDB tool), so refusing
    it would leave no way to read it but editing the header.

    Parameters
    ----------
    path : path-like
        The record's name or any of its files.
    annotator : str, optional
        Extension of the annotation file :meth:`annotations` reads (``"qrs"`` for ``100.qrs``); its file must exist.
        Not given: ``.atr`` where the record has one, else no annotations.

    Attributes
    ----------
    notes : list of str
        Channels whose amplitudes disagree with their header's unit (filled as channels are read).
    """

    WHOLE_READ_SAMPLES = 8_000_000

    def __init__(self, path: str | os.PathLike, annotator: str | None = None):
        wfdb = _require_wfdb()
        base = wfdb_base(path)
        if base is None:
            raise MissingDataError(f"{path}: no WFDB header ({Path(str(path)).with_suffix('.hea').name} not found)")
        try:
            hdr = wfdb.rdheader(str(base))
        except Exception as exc:
            raise DataFormatError(f"{base}.hea: unreadable WFDB header ({exc})") from exc
        if getattr(hdr, "seg_name", None) is not None or not hasattr(hdr, "file_name"):
            raise DataFormatError(f"{base}.hea: a multi-segment WFDB record (segments {list(hdr.seg_name)[:4]}...); "
                                  "not read here: join it into one segment first, e.g. wfdb.rdrecord(path, m2s=True) "
                                  "then wfdb.wrsamp, or give one segment's record")
        files = sorted({f for f in (hdr.file_name or []) if f})
        missing = [f for f in files if not (base.parent / f).is_file()]
        if missing:
            raise MissingDataError(f"{base}.hea: signal file(s) {missing} referenced by the header not found in {base.parent}")
        if not hdr.fs or hdr.sig_len is None:
            raise DataFormatError(f"{base}.hea: header gives no sampling rate or signal length")
        self.path, self.fs, self.n_samples = base, float(hdr.fs), int(hdr.sig_len)
        self.leads = tuple(hdr.sig_name or [])
        # a channel in another unit (blood pressure in mmHg, respiration...) is no ECG lead: kept by name, refused when
        # read, never chosen by default
        units = list(hdr.units or ["mV"] * len(self.leads))
        self._unit_names = [str(u or "mV") for u in units]
        self._units_stated = _units_stated(Path(f"{base}.hea"), len(self.leads))
        self._units = [_voltage_scale(u) for u in units]
        if self.leads and all(u is None for u in self._units):
            raise DataFormatError(f"{base}.hea: no channel in a voltage unit (units {self._unit_names}); an ECG is in mV, "
                                  "uV or V")
        if annotator is not None:  # asked for by name: its file must exist (a typo read as "no annotations")
            if not isinstance(annotator, str) or not annotator.strip():
                raise UsageError(f"{base}: annotator must be an annotation file's extension ('atr', 'qrs'...), got "
                                 f"{annotator!r:.60}")
            if not Path(f"{base}.{annotator}").is_file():
                have = sorted(q.suffix[1:] for q in base.parent.glob(f"{glob.escape(base.name)}.*")
                              if q.suffix not in (".hea", ".dat", ".mat"))
                raise MissingDataError(f"{base}.{annotator}: no such annotation file (annotator={annotator!r}); "
                                       f"annotation files of the record: {have or 'none'}")
        self._annotator = annotator or "atr"
        self._whole = None
        self._ann = None
        self._unit_checked: set[int] = set()
        self.notes: list[str] = []

    def _read(self, start, stop, channels):
        channels = list(channels)
        if self.n_samples * max(1, len(self.leads)) <= self.WHOLE_READ_SAMPLES:
            if self._whole is None:
                self._whole = {}
            missing = [c for c in channels if c not in self._whole]
            if missing:  # only the leads asked for (prediction reads one): each converted to mV once
                sig = self._read_wfdb(0, self.n_samples, missing)
                self._whole.update({c: np.ascontiguousarray(sig[:, k]) for k, c in enumerate(missing)})
                self._check_units(missing, lambda a, b: sig[a:b])
            return np.stack([self._whole[c][start:stop] for c in channels], 1)
        unchecked = [c for c in channels if c not in self._unit_checked]
        if unchecked:  # a lazy record: its amplitudes from windows spread over it, not from the chunk asked for
            self._check_units(unchecked, lambda a, b: self._read_wfdb(a, b, unchecked))
        return self._read_wfdb(start, stop, channels)

    def _check_units(self, channels, read) -> None:
        """Warn (once per channel) where a channel's amplitudes disagree with its header's unit; see the class.

        ``read(start, stop)`` gives ``channels`` in mV; a flat or unreadable (all NaN) channel is not judged.
        """
        amps_mv = robust_amplitude(sample_rows(read, self.n_samples, self.fs))
        lo, hi = PLAUSIBLE_MV
        for c, amp_mv in zip(channels, amps_mv):
            self._unit_checked.add(c)
            if not np.isfinite(amp_mv) or amp_mv == 0 or lo <= amp_mv <= hi:
                continue
            unit = self._unit_names[c]
            amp = amp_mv / self._units[c]  # in the header's unit
            looks = plausible_unit(amp)
            stated = f"unit {unit}" if self._units_stated[c] else "no unit (mV, the WFDB default)"
            msg = (f"{self.path}.hea: channel {self.leads[c]!r}: the header gives {stated}, but the amplitudes "
                   + (f"look like {looks}" if looks else "are implausible for an ECG in mV, uV or V")
                   + f" (robust amplitude, 99th percentile of |x - median|, {amp:.4g} {unit}"
                   + (f" = {amp_mv:.4g} mV" if self._units[c] != 1.0 else "") + "; a "
                   f"surface ECG's QRS is about 0.3-5 mV, accepted {lo:g}-{hi:g} mV): read as {unit}, as the header "
                   "says; correct the header's units if they are wrong")
            self.notes.append(msg)
            warnings.warn(msg, stacklevel=4)

    def lead_index(self, lead=None):
        if lead is None:  # the default never falls on a channel that is not a voltage
            i = super().lead_index(None)
            return i if self._units[i] is not None else next(k for k, u in enumerate(self._units) if u is not None)
        i = super().lead_index(lead)
        self._check_voltage([i])
        return i

    def _check_voltage(self, channels) -> None:
        """Refuse a channel whose unit is not a voltage (it is no ECG lead)."""
        bad = [c for c in channels if self._units[c] is None]
        if bad:
            raise DataFormatError(f"{self.path}: channel {self.leads[bad[0]]!r} is in {self._unit_names[bad[0]]!r}, not "
                                  "an ECG lead (mV, uV or V)")

    def _read_wfdb(self, start, stop, channels):
        self._check_voltage(channels)
        wfdb = _require_wfdb()
        try:
            rec = wfdb.rdrecord(str(self.path), sampfrom=start, sampto=stop, channels=list(channels))
        except Exception as exc:
            why = ("its signal file holds fewer samples than its header says: truncated or damaged? "
                   if any(w in str(exc) for w in ("reshape", "broadcast", "buffer")) else "")
            raise DataFormatError(f"{self.path}: cannot read samples {start}:{stop} ({why}{exc})") from exc
        sig = np.asarray(rec.p_signal, np.float64)
        return sig * np.asarray([self._units[c] for c in channels])[None, :]

    def annotations(self):
        ann_path = Path(f"{self.path}.{self._annotator}")
        if not ann_path.is_file():
            return None
        if self._ann is None:  # read once per Record (the prediction path asks more than once)
            wfdb = _require_wfdb()
            try:
                ann = wfdb.rdann(str(self.path), self._annotator)
            except Exception as exc:
                raise DataFormatError(f"{ann_path}: unreadable annotation file ({exc})") from exc
            self._ann = (np.asarray(ann.sample, np.int64), np.asarray(ann.symbol))
        return self._ann[0].copy(), self._ann[1].copy()
