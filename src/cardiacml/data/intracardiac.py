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

from ..errors import DataFormatError, MissingDataError
from ..utils import atomic_path, progress

N_TIMES = 500
N_SITES = 75
ELECTRODES = ("RA", "LA", "LL", "RL", "V1", "V2", "V3", "V4", "V5", "V6")
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FOLDER_GLOB = "data_hearts_dd_0p2*"
ECG_PREFIX, VM_PREFIX = "pECGData_", "VmData_"


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
        raise MissingDataError(f"{root}: dataset directory not found (download with `cardiacml data download intracardiac`)")
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


def leads_from_electrodes(pecg: np.ndarray) -> np.ndarray:
    """Standard 12 leads from the 10 electrode potentials.

    Parameters
    ----------
    pecg : ndarray, shape (..., 500, 10)
        Electrode potentials RA, LA, LL, RL, V1..V6 over time (pECGData layout).

    Returns
    -------
    ndarray, shape (..., 12, 500), float32
        Leads I, II, III, aVR, aVL, aVF, V1..V6 (see :data:`LEADS`), with Wilson's
        terminal W = (RA+LA+LL)/3, augmented leads 1.5*(X-W) and Vi - W.
    """
    e = np.asarray(pecg, np.float64)
    if e.shape[-1] != 10:
        raise DataFormatError(f"expected 10 electrodes in the last axis (RA, LA, LL, RL, V1..V6), got shape {e.shape}")
    ra, la, ll = e[..., 0], e[..., 1], e[..., 2]
    w = (ra + la + ll) / 3.0
    leads = [la - ra, ll - ra, ll - la, 1.5 * (ra - w), 1.5 * (la - w), 1.5 * (ll - w)]
    leads += [e[..., 4 + i] - w for i in range(6)]
    return np.stack(leads, axis=-2).astype(np.float32)


def activation_times(vm: np.ndarray, threshold: float = 0.0, time_axis: int = -2) -> np.ndarray:
    """Activation time of each site: the first time index where Vm > ``threshold`` (mV).

    Unlike ``argmax(Vm > 0)`` of the challenge's reference code, a site that never
    activates gets NaN instead of 0.

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
    first = np.argmax(above, axis=time_axis).astype(np.float32)
    first[~above.any(axis=time_axis)] = np.nan
    return first


def _load_npy(path: Path, shape: tuple) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DataFormatError(f"{path}: unreadable or truncated .npy file ({exc})") from exc
    if arr.shape != shape:
        raise DataFormatError(f"{path}: expected shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DataFormatError(f"{path}: contains NaN or infinite values")
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

    def __init__(self, cache_dir: str | os.PathLike):
        d = Path(cache_dir)
        if not (d / "index.json").is_file():
            raise MissingDataError(f"{d}: not an intracardiac cache (build one with `cardiacml data cache DATA_DIR`)")
        self.path = d
        self.info = json.loads((d / "index.json").read_text())
        self.names = (d / "names.txt").read_text().splitlines()
        self.ecg = np.load(d / "ecg.npy", mmap_mode="r")
        self.vm = np.load(d / "vm.npy", mmap_mode="r")
        self.act = np.load(d / "act.npy")
        if not (len(self.names) == len(self.ecg) == len(self.vm) == len(self.act)):
            raise DataFormatError(f"{d}: cache arrays disagree in length; rebuild it")
        self.meta = None
        if (d / "meta.csv").is_file():
            import pandas as pd

            self.meta = pd.read_csv(d / "meta.csv").set_index("name").reindex(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"IntracardiacData({len(self)} simulations at {self.path})"


def build_cache(root: str | os.PathLike, cache_dir: str | os.PathLike, *, strict: bool = True) -> IntracardiacData:
    """Consolidate every simulation under ``root`` into one memory-mapped array per quantity.

    Writes ``ecg.npy`` (n, 12, 500), ``vm.npy`` (n, 75, 500), ``act.npy`` (n, 75),
    ``names.txt`` and ``index.json`` into ``cache_dir`` (atomically: an interrupted
    build leaves no cache). Sites that never activate are counted and reported.
    """
    from numpy.lib.format import open_memmap

    sims = discover_simulations(root, strict=strict)
    n = len(sims)
    cache_dir = Path(cache_dir)
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
        (tmp / "index.json").write_text(json.dumps({
            "source": str(Path(root).resolve()), "n_simulations": n, "leads": LEADS,
            "never_activated_sites": never, "simulations_with_never_activated": int(np.isnan(act).any(1).sum()),
        }, indent=1))
        metas = sorted({p for s in sims for p in [s.ecg_path.parent / "simulations.csv"] if p.is_file()})
        if metas:
            import pandas as pd

            pd.concat([pd.read_csv(p) for p in metas]).drop_duplicates("name").to_csv(tmp / "meta.csv", index=False)
    if never:
        warnings.warn(f"{never} site activations never cross 0 mV (stored as NaN, excluded from activation metrics)", stacklevel=2)
    return IntracardiacData(cache_dir)


def open_dataset(data_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> IntracardiacData:
    """Open ``data_dir`` as a cache if it is one, else build (once) a cache of it and open that.

    The cache is kept in ``cache_dir`` (default ``DATA_DIR/.cardiacml_cache``) and is
    rebuilt when the set of simulation files changes.
    """
    data_dir = Path(data_dir)
    if (data_dir / "index.json").is_file():
        return IntracardiacData(data_dir)
    cache_dir = Path(cache_dir) if cache_dir else data_dir / ".cardiacml_cache"
    if (cache_dir / "index.json").is_file():
        data = IntracardiacData(cache_dir)
        n_files = sum(1 for _ in data_dir.rglob(f"{FOLDER_GLOB}/{ECG_PREFIX}*.npy"))
        if n_files == len(data):
            return data
    return build_cache(data_dir, cache_dir)
