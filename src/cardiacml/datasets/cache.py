"""The user's cache folder as a whole (``cardiacml cache info|clear``): what is in it, and emptying it safely.

Its location is :func:`cardiacml.utils.default_cache_dir` (``$CARDIACML_CACHE``, else ``$XDG_CACHE_HOME/cardiacml``,
else ``~/.cache/cardiacml``); everything in it (rebuilt MIT-BIH beats, simulated hearts, parsed CSVs) is rebuilt on
demand.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import UsageError
from ..utils import default_cache_dir


#: What cardiacml writes at the top of its cache folder (its temporary and set-aside names included): rebuilt MIT-BIH
#: beats (``mitbih_beats_*.npz``, ``rhythm_v*.npz``), simulated hearts (``simulated_v*``), parsed Kaggle CSVs
#: (``heartbeat/``), the benchmarks' Holter (``holter/``). ``cache clear`` deletes these only: $CARDIACML_CACHE pointed
#: at a folder of one's own never loses what cardiacml did not write there.
OURS = re.compile(r"^\.?(mitbih_beats[^/]*\.npz|rhythm_v\d+[^/]*\.npz|simulated_v\d+[^/]*|heartbeat|holter)"
                  r"((\.[a-z0-9_]{8})?\.(tmp|old)\d+)?$")  # atomic_path's .NAME.RANDOM.tmpPID (.NAME.tmpPID before)


def foreign_entries(root: str | os.PathLike | None = None) -> list[str]:
    """Names at the top of the cache folder that cardiacml did not write (:data:`OURS`); ``cache clear`` leaves them."""
    root = Path(root) if root else default_cache_dir()
    return sorted(p.name for p in root.iterdir() if not OURS.match(p.name)) if root.is_dir() else []


def _tree_size(path: Path) -> int:
    """Bytes under ``path`` (symbolic links counted as links, never followed)."""
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size
    return sum(_tree_size(p) for p in path.iterdir())


def cache_info(root: str | os.PathLike | None = None) -> tuple[Path, list[tuple[str, int]]]:
    """The cache folder and the size in bytes of each of its top-level parts (largest first)."""
    root = Path(root) if root else default_cache_dir()
    if not root.is_dir():
        return root, []
    parts = [(p.name + ("/" if p.is_dir() and not p.is_symlink() else ""), _tree_size(p)) for p in root.iterdir()]
    return root, sorted(parts, key=lambda x: -x[1])


def check_clearable(root: str | os.PathLike | None = None) -> Path:
    """The cache folder, refused (UsageError) when it is a symbolic link or the home directory / filesystem root."""
    root = Path(root) if root else default_cache_dir()
    if root.is_symlink():
        raise UsageError(f"cache folder {root} is a symbolic link (to {os.readlink(root)}); refusing to delete through it "
                         "(remove the link yourself or point $CARDIACML_CACHE at a real folder)")
    resolved = root.resolve()
    if root.is_dir() and resolved in (Path(resolved.anchor), Path.home().resolve()):
        raise UsageError(f"cache folder {root} is {resolved}; refusing to empty it (set $CARDIACML_CACHE to a folder of its own)")
    return root


def cache_clear(root: str | os.PathLike | None = None) -> int:
    """Delete what cardiacml wrote inside the cache folder (:data:`OURS`; not the folder itself, nor anything else in
    it: :func:`foreign_entries`); returns the bytes freed.

    Refuses a cache folder that is a symbolic link or the home directory / filesystem root; links inside it
    are removed as links, never followed, so nothing outside the folder is deleted.
    """
    root = check_clearable(root)
    if not root.is_dir():
        return 0
    freed = 0
    for p in root.iterdir():
        if not OURS.match(p.name):  # $CARDIACML_CACHE pointed at a folder holding other files: they stay
            continue
        freed += _tree_size(p)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    return freed
