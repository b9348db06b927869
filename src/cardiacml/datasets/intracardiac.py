"""LLNL simulated intracardiac dataset: 12-lead ECG -> activation map / transmembrane potentials.

On disk (Landajuela et al. 2022, doi 10.6075/J0SN094N): folders ``data_hearts_dd_0p2*``
holding pairs ``pECGData_<name>.npy`` (500, 10) and ``VmData_<name>.npy`` (500, 75).
pECGData columns are the electrodes RA, LA, LL, RL, V1..V6 sampled at 1 kHz (500 ms);
VmData is the transmembrane voltage (mV) at the 75 recording sites.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, MissingDataError, every_process
from ..utils import atomic_path, clean_stale_temps, file_checksum, progress
from ..contracts.base import check_float32
from ..contracts.ecg12 import LEADS, N_SITES, N_TIMES, leads_from_electrodes

FOLDER_GLOB = "data_hearts_dd_0p2*"
ECG_PREFIX, VM_PREFIX = "pECGData_", "VmData_"
CACHE_VERSION = 2
#: Threshold (mV) defining a site's activation in the dataset: first sample with Vm above it.
ACTIVATION_THRESHOLD_MV = 0.0
#: Threshold used for activation derived from *predicted* Vm: the middle of the upstroke (rest about -85 mV,
#: peak +20..+30 mV). A smooth prediction whose plateau stays below 0 mV still crosses it, so no site is lost.
UPSTROKE_THRESHOLD_MV = -40.0
#: The one definition of each activation output, named on every page, CSV and model card that shows it.
ACTIVATION_DEFINITION = ("activation time = first time Vm rises above 0 mV (the LLNL dataset's convention, the "
                         "training target of task3 / heart-act)")
VM_ACTIVATION_DEFINITION = ("activation time derived from Vm = first time Vm rises above -40 mV (mid-upstroke; used "
                            "for true and predicted Vm alike by task4 / heart-vm: CSV, maps, metrics)")
#: Colour range (mV) of the static Vm pictures and GIFs: the Task 4 models' output bounds (-90, 40)
#: (:mod:`cardiacml.models.ecg2heart`), so that no prediction is clipped (heart-vm peaks reach +39.5 mV on real ECGs;
#: -90..30 clipped them); the simulator's overshoot peaks near +30 mV.
VM_RANGE_MV = (-90.0, 40.0)



@dataclass(frozen=True)
class SimulationFiles:
    """One simulation: its name (file name without prefix and .npy) and the two files."""

    name: str
    ecg_path: Path
    vm_path: Path


def discover_simulations(root: str | os.PathLike, *, strict: bool = True) -> list[SimulationFiles]:
    """Find all pECGData/VmData pairs under ``root`` (in ``data_hearts_dd_0p2*`` folders).

    Parameters
    ----------
    root : path-like
        Dataset directory (the folders may be nested at any depth).
    strict : bool
        Raise on files without a partner; otherwise warn and skip them.

    Returns
    -------
    list of SimulationFiles, sorted by name.
    """
    root = Path(root)
    if not root.is_dir():
        raise every_process(MissingDataError(f"{root}: dataset directory not found (download with `cardiacml data "
                                             "download intracardiac`)"))
    folders = sorted({p for p in root.rglob(FOLDER_GLOB) if p.is_dir()} | ({root} if root.match(FOLDER_GLOB) else set()))
    sims, orphans = [], []
    for folder in folders:
        ecgs = {p.name[len(ECG_PREFIX):-4]: p for p in folder.glob(f"{ECG_PREFIX}*.npy")}
        vms = {p.name[len(VM_PREFIX):-4]: p for p in folder.glob(f"{VM_PREFIX}*.npy")}
        for name in sorted(ecgs.keys() & vms.keys()):
            sims.append(SimulationFiles(name, ecgs[name], vms[name]))
        orphans += [str(ecgs[n]) + " (no VmData partner)" for n in sorted(ecgs.keys() - vms.keys())]
        orphans += [str(vms[n]) + " (no pECGData partner)" for n in sorted(vms.keys() - ecgs.keys())]
    if orphans:
        msg = f"{len(orphans)} unpaired simulation file(s), e.g. " + "; ".join(orphans[:3])
        if strict:
            raise DataFormatError(msg)
        warnings.warn(msg + " -- skipped", stacklevel=2)
    if not sims:
        raise MissingDataError(f"{root}: no {ECG_PREFIX}*/{VM_PREFIX}* pairs found in {FOLDER_GLOB} folders")
    names = [s.name for s in sims]
    if len(set(names)) != len(names):
        raise DataFormatError(f"{root}: the same simulation name appears in several folders")
    return sorted(sims, key=lambda s: s.name)




def activation_times(vm: np.ndarray, threshold: float = ACTIVATION_THRESHOLD_MV, time_axis: int = -2,
                     rising: bool = False) -> np.ndarray:
    """Activation time of each site: the first time index where Vm > ``threshold`` (mV).

    Unlike ``argmax(Vm > 0)`` of the challenge's reference code, a site that never
    activates gets NaN instead of 0. ``rising`` (the upstroke rule, :data:`UPSTROKE_THRESHOLD_MV`): only a crossing
    from at or below ``threshold`` counts, so a site whose Vm is already above it when the window opens (a
    predicted trace falling from its first sample) is not "activated" at 0 ms: its first upstroke counts, NaN if none.

    Parameters
    ----------
    vm : ndarray, shape (..., 500, 75) by default
        Transmembrane voltage; ``time_axis`` says which axis is time.

    Returns
    -------
    ndarray, float32, ``vm``'s shape without the time axis
        Activation time in samples (= ms at 1 kHz); NaN where never activated.
    """
    above = np.asarray(vm) > threshold
    if rising:  # an upward crossing: above now, not above at the previous sample (never at the first sample)
        above = np.moveaxis(above, time_axis, -1)
        above = np.concatenate([np.zeros_like(above[..., :1]), above[..., 1:] & ~above[..., :-1]], axis=-1)
        above = np.moveaxis(above, -1, time_axis)
    first = np.argmax(above, axis=time_axis).astype(np.float32)
    first[~above.any(axis=time_axis)] = np.nan
    return first


def upstroke_times(vm: np.ndarray, time_axis: int = -1) -> np.ndarray:
    """Activation derived from Vm (:data:`VM_ACTIVATION_DEFINITION`), for true and predicted Vm alike: the first
    upward crossing of :data:`UPSTROKE_THRESHOLD_MV` (:func:`activation_times` with ``rising``), in samples (= ms at
    1 kHz), NaN where none. ``time_axis``: -1 for (..., 75, T) as the Task 4 models give it."""
    return activation_times(vm, UPSTROKE_THRESHOLD_MV, time_axis=time_axis, rising=True)


def _load_npy(path: Path, shape: tuple) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataFormatError(f"{path}: unreadable or truncated .npy file ({exc})") from exc
    if arr.shape != shape:
        raise DataFormatError(f"{path}: expected shape {shape}, got {arr.shape}")
    check_float32(arr, str(path))
    return arr


def load_simulation(sim: SimulationFiles) -> tuple[np.ndarray, np.ndarray]:
    """Load one pair, validated: returns (ecg12 (12, 500) float32, vm (75, 500) float32 mV)."""
    pecg = _load_npy(sim.ecg_path, (N_TIMES, 10))
    vm = _load_npy(sim.vm_path, (N_TIMES, N_SITES))
    return leads_from_electrodes(pecg), np.ascontiguousarray(vm.T, dtype=np.float32)


class IntracardiacData:
    """Consolidated, memory-mapped cache of the dataset (see :func:`build_cache`).

    Attributes
    ----------
    ecg : ndarray, shape (n, 12, 500), float32 (memory-mapped)
    vm : ndarray, shape (n, 75, 500), float32, mV (memory-mapped)
    act : ndarray, shape (n, 75), float32, ms; NaN where a site never activates
    names : list of str, simulation names
    meta : DataFrame or None, per-simulation metadata when the data came with a
        ``simulations.csv`` (the built-in simulator writes one)
    """

    def __init__(self, cache_dir: str | os.PathLike, verify: bool = True):
        d = Path(cache_dir)
        if not (d / "index.json").is_file():
            raise MissingDataError(f"{d}: not an intracardiac cache (build one with `cardiacml data cache DATA_DIR`)")
        self.path = d
        try:
            self.info = json.loads((d / "index.json").read_text())
            for f, crc in (self.info.get("crc32") or {}).items():
                got = file_checksum(d / f) if verify else crc
                if got != crc:
                    raise DataFormatError(f"{d / f}: changed bytes (crc32 {got}, recorded {crc})")
            self.names = (d / "names.txt").read_text().splitlines()
            self.ecg = np.load(d / "ecg.npy", mmap_mode="r", allow_pickle=False)
            self.vm = np.load(d / "vm.npy", mmap_mode="r", allow_pickle=False)
            self.act = np.load(d / "act.npy", allow_pickle=False)
        except DataFormatError:
            raise
        except Exception as exc:
            raise DataFormatError(f"{d}: damaged cache ({exc.__class__.__name__}: {exc})") from exc
        if not (len(self.names) == len(self.ecg) == len(self.vm) == len(self.act)):
            raise DataFormatError(f"{d}: cache arrays disagree in length; rebuild it")
        self.meta = None
        if (d / "meta.csv").is_file() and "meta.csv" not in (self.info.get("crc32") or {}) and verify:
            raise DataFormatError(f"{d / 'meta.csv'}: not covered by the cache's checksums (added or from an older "
                                  "cache); rebuild the cache")
        if (d / "meta.csv").is_file():
            import pandas as pd

            self.meta = pd.read_csv(d / "meta.csv").set_index("name").reindex(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"IntracardiacData({len(self)} simulations at {self.path})"


def source_fingerprint(sims: list[SimulationFiles]) -> str:
    """Key of a dataset's content: name, size and modification time of every source file (sha1 of them all)."""
    import hashlib

    h = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    for sim in sims:
        for p in (sim.ecg_path, sim.vm_path):
            st = p.stat()
            h.update(f"{p.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    # the simulator's metadata decides the training split (stimulus protocol): its bytes are part of the key
    for f in sorted(p for folder in {s.ecg_path.parent for s in sims} for p in folder.glob("simulations*.csv")):
        h.update(f"{f.name}|{file_checksum(f)}\n".encode())
    return h.hexdigest()


#: The settings file ``cardiacml simulate`` keeps beside its hearts (a folder holding it and no metadata yet is a
#: run still going or interrupted).
SIMULATOR_SETTINGS_FILE = "simulator_settings.json"


def merge_simulation_metadata(sims: list[SimulationFiles], *, strict: bool = True):
    """Concatenate every ``simulations*.csv`` (one per simulator run or shard) of the simulations' folders.

    Shards of one run (``simulations_shard{i}of{K}.csv``) must together cover indices
    ``0..n_total-1`` exactly once: a missing or duplicated index is a DataFormatError; so are simulations a folder's
    metadata lists without their files (unless not ``strict``: the rows are dropped, as
    :func:`discover_simulations` skipped the unpaired files) and file pairs it does not list.
    Returns a DataFrame (one row per simulation name) or None when there is no metadata.
    """
    import pandas as pd

    folders = {s.ecg_path.parent for s in sims}  # glob each folder once (a folder can hold 16k simulations)
    files = sorted(p for f in folders for p in f.glob("simulations*.csv"))
    for f in sorted(folders):
        if (f / SIMULATOR_SETTINGS_FILE).is_file() and not any(p.parent == f for p in files):
            raise DataFormatError(f"{f}: an unfinished simulation run (no simulations.csv yet): run the same "
                                  "cardiacml simulate command again to finish it")
    if not files:
        return None
    frames = []
    for f in files:
        try:
            df = pd.read_csv(f)
        except Exception as exc:
            raise DataFormatError(f"{f}: unreadable simulation metadata ({exc})") from exc
        frames.append(df.assign(_folder=str(f.parent)))
    meta = pd.concat(frames, ignore_index=True)
    if {"index", "n_total"} <= set(meta.columns):
        for folder, part in meta.groupby("_folder"):
            n_total = int(part["n_total"].max())
            counts = part["index"].value_counts()
            dup = sorted(int(i) for i in counts[counts > 1].index)
            missing = sorted(set(range(n_total)) - set(int(i) for i in part["index"]))
            if dup:
                raise DataFormatError(f"{folder}: simulation index(es) {dup[:10]} appear in several shards")
            if missing:
                raise DataFormatError(f"{folder}: {len(missing)} of {n_total} simulation indices missing "
                                      f"(e.g. {missing[:10]}): run the missing shards (cardiacml simulate --shard i/K)")
    dup_names = meta["name"][meta["name"].duplicated()].unique() if "name" in meta else []
    if len(dup_names):
        raise DataFormatError(f"simulation name(s) {list(dup_names[:5])} appear in several metadata files")
    if "name" in meta:  # the files on disk and the rows of a folder's metadata: the same simulations
        on_disk: dict = {}
        for sim in sims:
            on_disk.setdefault(str(sim.ecg_path.parent), set()).add(sim.name)
        for folder, part in meta.groupby("_folder"):
            listed, there = set(part["name"].astype(str)), on_disk.get(folder, set())
            gone, extra = sorted(listed - there), sorted(there - listed)
            if gone and strict:
                raise DataFormatError(f"{folder}: {len(gone)} simulation(s) listed in its metadata have no file pair "
                                      f"(e.g. {gone[0]}): run the same cardiacml simulate command again to redo them")
            if gone:  # lenient: the unpaired files were skipped (discover_simulations warned); their rows go too
                meta = meta[~((meta["_folder"] == folder) & meta["name"].astype(str).isin(gone))]
            if extra:
                raise DataFormatError(f"{folder}: {len(extra)} simulation file pair(s) its metadata does not list "
                                      f"(e.g. {extra[0]}): left from another run? remove them, or simulate the "
                                      "folder again")
    return meta.drop(columns="_folder")


def build_cache(root: str | os.PathLike, cache_dir: str | os.PathLike, *, strict: bool = True,
                sims: list[SimulationFiles] | None = None) -> IntracardiacData:
    """Consolidate every simulation under ``root`` into one memory-mapped array per quantity.

    Writes ``ecg.npy`` (n, 12, 500), ``vm.npy`` (n, 75, 500), ``act.npy`` (n, 75),
    ``names.txt``, ``meta.csv`` (merged simulator metadata, shards checked) and
    ``index.json`` (with the source fingerprint and the crc32 of each array) into
    ``cache_dir``, atomically: an interrupted build (Ctrl-C, SIGTERM) leaves no cache
    and no temporary folder; one left by a killed process is removed by the next build.
    Sites that never activate are counted and reported.
    """
    from numpy.lib.format import open_memmap

    sims = sims if sims is not None else discover_simulations(root, strict=strict)
    meta = merge_simulation_metadata(sims, strict=strict)
    n = len(sims)
    cache_dir = Path(cache_dir)
    clean_stale_temps(cache_dir.parent, cache_dir.name)
    with atomic_path(cache_dir) as tmp:
        tmp.mkdir(parents=True)
        ecg = open_memmap(tmp / "ecg.npy", mode="w+", dtype=np.float32, shape=(n, 12, N_TIMES))
        vm = open_memmap(tmp / "vm.npy", mode="w+", dtype=np.float32, shape=(n, N_SITES, N_TIMES))
        act = np.empty((n, N_SITES), np.float32)
        for i, sim in enumerate(progress(sims, desc="caching simulations", unit="sim")):
            ecg[i], vm[i] = load_simulation(sim)
            act[i] = activation_times(vm[i], time_axis=-1)
        ecg.flush()
        vm.flush()
        del ecg, vm
        np.save(tmp / "act.npy", act)
        (tmp / "names.txt").write_text("\n".join(s.name for s in sims) + "\n")
        never = int(np.isnan(act).sum())
        if meta is not None:
            meta.to_csv(tmp / "meta.csv", index=False)
        (tmp / "index.json").write_text(json.dumps({
            "source": str(Path(root).resolve()), "n_simulations": n, "leads": LEADS, "cache_version": CACHE_VERSION,
            "fingerprint": source_fingerprint(sims),
            "crc32": {f: file_checksum(tmp / f) for f in ("ecg.npy", "vm.npy", "act.npy", "names.txt", "meta.csv")
                      if (tmp / f).is_file()},  # meta.csv decides the split: an edited one is noticed
            "never_activated_sites": never, "simulations_with_never_activated": int(np.isnan(act).any(1).sum()),
        }, indent=1))
    if never:
        warnings.warn(f"{never} site activations never cross 0 mV (stored as NaN, excluded from activation metrics)", stacklevel=2)
    return IntracardiacData(cache_dir, verify=False)


def open_dataset(data_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None, log=None) -> IntracardiacData:
    """Open ``data_dir`` as a cache if it is one, else build (once) a cache of it and open that.

    The cache is kept in ``cache_dir`` (default ``DATA_DIR/.cardiacml_cache``). It is reused
    only when its fingerprint (name, size and modification time of every source file)
    matches the data and its arrays pass their crc32 check; otherwise it is rebuilt,
    and ``log`` (default: a warning) says why.
    """
    data_dir = Path(data_dir)
    if (data_dir / "index.json").is_file():
        return IntracardiacData(data_dir)
    say = log or (lambda msg: warnings.warn(msg, stacklevel=3))
    cache_dir = Path(cache_dir) if cache_dir else data_dir / ".cardiacml_cache"
    sims = discover_simulations(data_dir)
    if (cache_dir / "index.json").is_file():
        try:
            data = IntracardiacData(cache_dir)
            if data.info.get("fingerprint") == source_fingerprint(sims):
                return data
            say(f"{cache_dir}: the dataset changed since the cache was built (files added, removed or modified); rebuilding it")
        except DataFormatError as exc:
            say(f"{exc}; rebuilding the cache")
    return build_cache(data_dir, cache_dir, sims=sims)
