"""EDF, EDF+ and BDF recordings, read with edfio (EDF signals lazily): the leads among the channels (a voltage unit
and the default lead's rate), their units, EDF+ beat annotations, and what edfio says about the file as notes.
Split from :mod:`cardiacml.io.formats` in 0.4.18."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingDataError, MissingDependencyError, UsageError
from .amplitude import UNIT_TO_MV, counts_per_mv
from .records import Record, default_lead, one_lead
from .symbols import BEAT_SYMBOLS
from .units import parse_leads, resolve_units, robust_amplitude, sample_rows


#: An EDF physical dimension (lower case) of raw ADC counts (or none): ``units="counts/N"`` gives their gain.
_COUNT_DIMS = ("", "count", "counts")


def _require_edfio():
    try:
        import edfio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("Reading EDF/BDF files needs edfio: pip install 'cardiacml[ecg]'") from exc
    return edfio


def _check_edf_size(path: Path, bdf: bool) -> None:
    """Refuse a truncated file: the header's record count x record size must fit in the file."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise DataFormatError(f"{path}: truncated {'BDF' if bdf else 'EDF'} file ({len(head)} bytes, the fixed "
                                  "header alone has 256)")
        try:
            header_bytes, n_records, n_sig = int(head[184:192]), int(head[236:244]), int(head[252:256])
        except ValueError:
            raise DataFormatError(f"{path}: not an {'BDF' if bdf else 'EDF'} file (unreadable header)") from None
        sig_head = fh.read(256 * n_sig)
    if len(sig_head) < 256 * n_sig:
        raise DataFormatError(f"{path}: truncated file: the header announces {n_sig} signals but is cut short")
    try:
        spr = [int(sig_head[216 * n_sig + 8 * i: 216 * n_sig + 8 * i + 8]) for i in range(n_sig)]
    except ValueError:
        raise DataFormatError(f"{path}: unreadable signal header (samples per record)") from None
    rec_bytes = sum(spr) * (3 if bdf else 2)
    size = path.stat().st_size
    if n_records >= 0 and rec_bytes > 0 and size < header_bytes + n_records * rec_bytes:
        have = max(0, (size - header_bytes) // rec_bytes)
        raise DataFormatError(f"{path}: truncated file: the header announces {n_records} data records "
                              f"({header_bytes + n_records * rec_bytes} bytes) but the file has {size} bytes "
                              f"({have} complete records); the copy or download is incomplete")


def _edf_dimension(signal) -> str:
    """An EDF signal's physical dimension. "µV" written in Latin-1 or UTF-8 (the standard asks for ASCII, but recorders
    write it) reads back from edfio as "\ufffdV" / "\ufffd\ufffdV": that is uV, not a non-voltage unit."""
    dim = (signal.physical_dimension or "").strip()
    return "uV" if re.fullmatch("\ufffd{1,2}[vV]", dim) else dim


def _edfio_notes(said: list, n_records: int) -> list:
    """edfio's warnings (``said``) as notes: a header counting -1 data records (EDF+ allows it while recording) and an
    incomplete last record (dropped) in one note; any other warning as ``edfio: ...``."""
    live = any("indicates -1 data records" in m for m in said)
    cut = any("Incomplete data record" in m for m in said)
    notes = []
    if live or cut:
        parts = ["the header counts -1 data records (a recording still being written)"] if live else []
        parts.append(f"read the {n_records} complete data records")
        if cut:
            parts.append("an incomplete last data record is dropped")
        notes.append("; ".join(parts))
    return notes + [f"edfio: {m}" for m in dict.fromkeys(said) if not re.search("-1 data|Incomplete", m)]


class EdfRecord(Record):
    """An EDF, EDF+ or BDF file read with edfio (EDF signals lazily).

    Only channels with a voltage unit (or no unit, taken as the ``units`` given / guessed) are leads; channels in other
    units (%, degC, bpm...) or at another rate than the default lead's (picked among those at >= 100 Hz) are skipped, said in
    ``notes``. Channels whose unit is counts (raw ADC counts: some Holter exports) are leads with ``units="counts/N"``
    (N counts per mV; channels in a voltage unit keep it). EDF+ annotations whose text is a single MIT-BIH beat symbol
    (``N``, ``V``, ``A``...) are returned by :meth:`annotations` as beat annotations.
    """

    def __init__(self, path: str | os.PathLike, *, units: str | None = None, leads=None, check_units: bool = True):
        edfio = _require_edfio()
        path = Path(path)
        if not path.is_file():
            raise MissingDataError(f"{path}: no such file")
        bdf = path.suffix.lower() == ".bdf"
        gain = counts_per_mv(units, str(path))  # raw ADC counts: for the channels whose header unit is counts
        _check_edf_size(path, bdf)
        try:
            with warnings.catch_warnings(record=True) as said:  # edfio's warnings become notes, not stderr lines
                warnings.simplefilter("always")
                edf = edfio.read_bdf(path) if bdf else edfio.read_edf(path, lazy_load_data=True)
                signals = list(edf.signals)
        except Exception as exc:
            raise DataFormatError(f"{path}: unreadable {'BDF' if bdf else 'EDF'} file ({exc})") from None
        self.path, self._edf, self.notes = path, edf, _edfio_notes([str(w.message) for w in said], edf.num_data_records)
        try:
            continuous = edf.is_continuous
        except Exception:
            continuous = True
        if not continuous:
            raise DataFormatError(f"{path}: a discontinuous EDF+D recording (gaps between data records) is not "
                                  "supported; export the continuous segments as separate files")
        cand, skipped = [], []
        for i, s in enumerate(signals):
            dim = _edf_dimension(s)
            key = dim.lower().replace("μ", "µ")
            if dim and key not in UNIT_TO_MV and (units is None or gain is not None and key not in _COUNT_DIMS):
                skipped.append(f"{s.label.strip()} (unit {dim!r})")
            else:
                cand.append(i)
        want = parse_leads(leads, path)
        if want is not None:
            labels = [s.label.strip() for s in signals]
            missing = [w for w in want if w.upper() not in [n.upper() for n in labels]]
            if missing:
                raise DataFormatError(f"{path}: lead(s) {missing} not in the file (has {labels})")
            cand = [one_lead(w, labels, path, "open the file without leads= and pick one by its index among the leads "
                             "read (--lead)") for w in want]
        if not cand:
            counted = any(_edf_dimension(s).lower() in _COUNT_DIMS for s in signals)
            raise DataFormatError(f"{path}: no ECG channel: every signal has a non-voltage unit ({skipped}); "
                                  "pass units= / --units if they are ECG leads"
                                  + ("; channels in counts take --units counts/N (units='counts/N'), N the ADC counts "
                                     "per mV" if counted else ""))
        rates = [float(signals[i].sampling_frequency) for i in cand]
        if want is not None and len(set(rates)) > 1:  # leads asked for by name are all read, or the file is refused
            raise DataFormatError(f"{path}: the leads asked for are sampled at different rates "
                                  f"({', '.join(f'{signals[i].label.strip()} {r:g} Hz' for i, r in zip(cand, rates))}); "
                                  "ask for leads of one rate")
        vals, counts = np.unique(rates, return_counts=True)
        fs = float(vals[np.lexsort((vals, counts))[-1]])  # most common rate, ties -> the highest
        if want is None:  # unless the ECG is at another rate than the rest (a sleep study's EEG): then the ECG's,
            fast = [k for k, r in enumerate(rates) if r >= 100] or list(range(len(cand)))  # QRS needs >= 100 Hz
            fs = rates[fast[default_lead([signals[cand[k]].label for k in fast])]]
        skipped += [f"{signals[i].label.strip()} ({signals[i].sampling_frequency:g} Hz)" for i, r in zip(cand, rates) if r != fs]
        self._chan = [i for i, r in zip(cand, rates) if r == fs]
        self._signals = signals
        self.fs = fs
        self.leads = tuple(signals[i].label.strip() for i in self._chan)
        self.n_samples = int(edf.num_data_records) * int(signals[self._chan[0]].samples_per_data_record)
        self._skipped = skipped
        if skipped:
            self.notes.append(f"skipped channels: {skipped}")
        self._scale = np.ones(len(self._chan))
        samp = sample_rows(self._read_raw_all, self.n_samples, fs)
        amps = robust_amplitude(samp)
        dims = [_edf_dimension(signals[i]) or None for i in self._chan]
        if units is not None and gain is None:
            s, note = resolve_units(float(np.max(amps)), units, path, check=check_units)
            self._scale[:] = s
            self.notes.append(note)
        else:
            if gain is not None:  # counts/N: the header's physical values are counts where its unit is counts (or none)
                dims = [units if (d or "").lower() in _COUNT_DIMS else d for d in dims]
                if units not in dims:  # a voltage unit: the header's gain has made them physical values already
                    raise UsageError(f"{path}: units {units!r} do not apply to an EDF/BDF file whose leads have a "
                                     f"voltage unit ({', '.join(f'{n} {d}' for n, d in zip(self.leads, dims))}): its "
                                     "header gives the gain (each signal's digital and physical range), and its values "
                                     "are read in physical units; counts/N is for channels whose unit is counts (or "
                                     "none); leave out counts/N (units= / --units mV, uV or V overrides the header's "
                                     "unit)")
            for u in sorted(set(dims), key=str):
                idx = [k for k, v in enumerate(dims) if v == u]
                s, note = resolve_units(float(np.max(amps[idx])), u, path, check=check_units,
                                        source="given, the header's unit being counts" if u == units
                                        else "from the EDF header")
                self._scale[idx] = s
                self.notes.append(note + (f" for {[self.leads[k] for k in idx]}" if len(set(dims)) > 1 else ""))

    def _read_raw(self, start, stop, channels):
        out = np.empty((stop - start, len(channels)))
        for k, c in enumerate(channels):
            sig = self._signals[self._chan[c]]
            try:
                out[:, k] = sig.get_data_slice(start / self.fs, stop / self.fs)[: stop - start]
            except Exception as exc:
                raise DataFormatError(f"{self.path}: cannot read samples {start}:{stop} of {self.leads[c]!r} ({exc})") from None
        return out

    def _read_raw_all(self, start, stop):
        return self._read_raw(start, stop, list(range(len(self._chan))))

    def _read(self, start, stop, channels):
        return self._read_raw(start, stop, channels) * self._scale[list(channels)][None, :]

    def lead_index(self, lead=None):
        if (isinstance(lead, (int, np.integer)) and not isinstance(lead, bool) and self._skipped
                and not 0 <= lead < len(self.leads)):  # counted in the file's channels, it may have looked in range
            raise DataFormatError(f"{self.path}: lead index {lead} out of range: an index counts the {len(self.leads)} "
                                  f"leads read {list(self.leads)} (0-based), not the skipped channels {self._skipped}")
        if isinstance(lead, str) and self._skipped:
            hit = [s for s in self._skipped if s.split(" (")[0].upper() == lead.strip().upper()]
            if hit:
                raise DataFormatError(f"{self.path}: channel {hit[0]} was skipped (not a voltage, or another "
                                      f"sampling rate than {self.fs:g} Hz); leads read: {list(self.leads)}")
        return super().lead_index(lead)

    def annotations(self):
        try:
            anns = list(self._edf.annotations)
        except Exception:
            return None
        beats = [(a.onset, a.text.strip()) for a in anns if a.text.strip() in BEAT_SYMBOLS]
        if not beats:
            return None
        samples = np.round(np.asarray([b[0] for b in beats]) * self.fs).astype(np.int64)
        return samples, np.asarray([b[1] for b in beats])


def read_edf_record(path: str | os.PathLike, *, units: str | None = None, leads=None, check_units: bool = True
                    ) -> EdfRecord:
    """Open an EDF / EDF+ / BDF file (see :class:`EdfRecord`)."""
    return EdfRecord(path, units=units, leads=leads, check_units=check_units)
