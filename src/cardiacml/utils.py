"""Small shared helpers: progress bars, seeding, atomic writes."""

from __future__ import annotations

import os
import random
import sys
from contextlib import contextmanager
from pathlib import Path


def progress(iterable=None, *, total=None, desc=None, unit="it", disable=None, **kw):
    """Return a tqdm progress bar (silent when stderr is not a terminal and CARDIACML_PROGRESS!=1)."""
    from tqdm.auto import tqdm

    if disable is None:
        forced = os.environ.get("CARDIACML_PROGRESS")
        disable = (forced == "0") if forced is not None else not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, **kw)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (if imported) PyTorch random generators."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)


@contextmanager
def atomic_path(final: str | os.PathLike):
    """Yield a temporary sibling path; rename it onto ``final`` only if the block succeeds.

    A crash never leaves a half-written file under the final name. ``tmp`` may be a
    file or a directory; an existing directory at ``final`` is replaced.
    """
    import shutil

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp{os.getpid()}")
    try:
        yield tmp
        if tmp.is_dir() and final.is_dir():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()


def default_cache_dir() -> Path:
    """Cache directory: $CARDIACML_CACHE, else $XDG_CACHE_HOME/cardiacml, else ~/.cache/cardiacml."""
    env = os.environ.get("CARDIACML_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cardiacml"
