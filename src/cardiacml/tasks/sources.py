"""Where the embedded defaults come from: raw MIT-BIH records found on disk, and the built-in simulator.

Tasks ask these functions for data; they never search the disk or launch the simulator themselves.
This is a task-layer service: it sits above the datasets and the simulator it calls.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MissingDataError, every_process
from ..utils import cpu_cores, default_cache_dir


def find_mitdb(mitdb: str | os.PathLike | None = None) -> Path:
    """Raw MIT-BIH folder: ``mitdb``, $CARDIACML_MITDB, or ../shared/data/mitdb near the working dir."""
    for given, what in ((mitdb, "--mitdb"), (os.environ.get("CARDIACML_MITDB"), "$CARDIACML_MITDB")):
        if given:  # a folder the user named is used or refused, never silently replaced by another
            if not Path(given).is_dir():
                raise every_process(MissingDataError(f"{what} {given}: no such folder"  # alike on every process
                                                     + (" (it is a file)" if Path(given).exists() else "")))
            if not (Path(given) / "RECORDS").is_file():
                raise every_process(MissingDataError(f"{what} {given}: not an MIT-BIH folder (no RECORDS file "
                                                     "listing its records)"))
            return Path(given)
    cands = []
    here = Path.cwd()
    cands += [p / "shared" / "data" / "mitdb" for p in [here, *here.parents][:4]]
    for c in cands:
        if c and (Path(c) / "RECORDS").is_file():
            return Path(c)
    raise every_process(MissingDataError(
        "no MIT-BIH records found: pass --mitdb DIR (a folder with RECORDS and .hea/.dat/.atr files), "
        "set CARDIACML_MITDB, or give --data-dir with the Kaggle CSVs"
    ))


def rebuilt_beats(mitdb: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None):
    """Kaggle-style beats rebuilt from raw MIT-BIH records (a BeatSet), cached as one .npz after the first build."""
    from ..datasets.mitbih import build_beats, load_beats, save_beats

    from ..datasets.mitbih import RECORD_FILES, source_stamp

    src = find_mitdb(mitdb)
    names = [ln.strip() for ln in (src / "RECORDS").read_text().split() if ln.strip()]
    # keyed by the source's files: a cache of another folder (or of edited records) is never taken for this one
    stamp = source_stamp([src / "RECORDS"] + [src / (n + ext) for n in names for ext in RECORD_FILES])
    cache = Path(cache_dir or default_cache_dir()) / f"mitbih_beats_{stamp}.npz"
    if cache.is_file():
        try:
            return load_beats(cache)
        except Exception as exc:  # damaged cache: rebuild it, say so
            import warnings

            warnings.warn(f"{cache} is damaged ({exc}); rebuilding it", stacklevel=2)
    beats = build_beats(src, n_jobs=min(2, cpu_cores()))
    save_beats(beats, cache)
    return beats


#: Simulated hearts of the embedded default for Tasks 3-4.
DEFAULT_N_SIM = 2000


def default_intracardiac_dir(n: int = DEFAULT_N_SIM, seed: int = 0) -> Path:
    """Embedded default for Tasks 3-4: ``n`` simulator runs, generated once into the cache."""
    from ..simulate import simulate_dataset
    from ..simulate.simulator import SIM_VERSION
    from ..utils import atomic_path

    root = default_cache_dir() / f"simulated_v{SIM_VERSION}_n{n}_s{seed}"
    done = root / ".complete"
    if not done.is_file():
        simulate_dataset(n, root, seed=seed, jobs=min(2, cpu_cores()))
        with atomic_path(done) as tmp:
            tmp.write_text("ok\n")
    return root
