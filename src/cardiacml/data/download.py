"""Resumable, checksummed downloads of the two datasets, with archive extraction.

A file is fetched into ``NAME.part`` (resumed with an HTTP Range request after an
interruption), checked against its size and sha256 when the manifest knows them,
and only then renamed to ``NAME``: a file under its final name is always complete.
Archives (.tgz, .zip) are extracted and a marker ``.NAME.done`` records it, so a
second run skips finished work.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import tarfile
import zipfile
from dataclasses import asdict, dataclass
from http.client import IncompleteRead
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ..errors import DownloadError
from ..utils import progress

INTRACARDIAC_PAGE = "https://library.ucsd.edu/dc/object/bb29449106"
KAGGLE_PAGE = "https://www.kaggle.com/datasets/shayanfazeli/heartbeat"


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. ``sha256``/``size`` are checked when given."""

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None
    extract: bool = False


def builtin_manifest(dataset: str) -> list[RemoteFile]:
    """Files of a dataset: ``"intracardiac"`` (21 .tgz parts, ~5.2 GB) or ``"heartbeat"`` (Kaggle zip)."""
    if dataset == "intracardiac":
        # The UC San Diego Library serves the parts as _2_1.tgz ... _22_1.tgz (_1_1 is a README).
        # It publishes no checksums: each part is verified by a full read of the archive on extraction.
        return [RemoteFile(f"{INTRACARDIAC_PAGE}/_{i}_1.tgz/download", f"intracardiac_part{i - 1:02d}.tgz", extract=True)
                for i in range(2, 23)]
    if dataset == "heartbeat":
        return [RemoteFile("https://www.kaggle.com/api/v1/datasets/download/shayanfazeli/heartbeat",
                           "heartbeat.zip", extract=True)]
    raise ValueError(f"unknown dataset {dataset!r}: choose 'intracardiac' or 'heartbeat'")


def load_manifest(path: str | os.PathLike) -> list[RemoteFile]:
    """Read a JSON manifest: a list of objects with url, filename and optional sha256, size, extract."""
    items = json.loads(Path(path).read_text())
    return [RemoteFile(**item) for item in items]


def rebase_manifest(files: list[RemoteFile], base_url: str) -> list[RemoteFile]:
    """Same files fetched from a mirror: ``base_url/filename``."""
    base = base_url.rstrip("/")
    return [RemoteFile(f"{base}/{f.filename}", f.filename, f.sha256, f.size, f.extract) for f in files]


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _auth_headers(url: str) -> dict:
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if "kaggle.com" in url and user and key:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}
    return {}


def _unreachable(rf: RemoteFile, exc: Exception) -> DownloadError:
    return DownloadError(
        f"cannot download {rf.filename} from {rf.url}: {exc}. If this machine is offline, fetch the file "
        "elsewhere and put it in the destination folder (it is then checked and used), or pass --base-url "
        "with a reachable mirror."
    )


def download_file(rf: RemoteFile, dest: str | os.PathLike, *, retries: int = 3, timeout: float = 30.0,
                  chunk: int = 1 << 16, show_progress: bool | None = None) -> Path:
    """Fetch one file into ``dest`` (resuming a previous ``.part``); return its final path.

    Raises
    ------
    DownloadError
        Host unreachable, HTTP error, or a size/sha256 mismatch (the bad file is
        renamed ``NAME.corrupt`` so that nothing incomplete keeps the final name).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    final, part = dest / rf.filename, dest / (rf.filename + ".part")
    if final.is_file():
        _verify(rf, final)
        return final
    attempt = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if rf.size is not None and have >= rf.size:
            break
        headers = {"User-Agent": "cardiacml", **_auth_headers(rf.url)}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            resp = urlopen(Request(rf.url, headers=headers), timeout=timeout)
        except HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to send: the .part is complete
                break
            raise DownloadError(f"{rf.url}: HTTP {exc.code} {exc.reason}") from exc
        except (URLError, socket.timeout, ConnectionError) as exc:
            attempt += 1
            if attempt > retries:
                raise _unreachable(rf, exc) from exc
            continue
        with resp:
            resumed = have and resp.status == 206
            if not resumed:
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length is not None else rf.size
            try:
                with open(part, "ab" if resumed else "wb") as fh, progress(
                    total=total, initial=have, desc=rf.filename, unit="B", unit_scale=True, disable=True if show_progress is False else None
                ) as bar:
                    while block := resp.read(chunk):
                        fh.write(block)
                        bar.update(len(block))
            except (IncompleteRead, ConnectionError, socket.timeout, OSError) as exc:
                attempt += 1
                if attempt > retries:
                    raise DownloadError(f"{rf.url}: connection lost after {retries} retries ({exc}); "
                                        f"run again to resume from {part}") from exc
                continue
        if total is None or part.stat().st_size >= total:
            break
        attempt += 1  # server closed early: resume
        if attempt > retries:
            raise DownloadError(f"{rf.url}: got {part.stat().st_size} of {total} bytes; run again to resume from {part}")
    _verify(rf, part)
    os.replace(part, final)
    return final


def _verify(rf: RemoteFile, path: Path) -> None:
    size = path.stat().st_size
    problem = None
    if rf.size is not None and size != rf.size:
        problem = f"size {size} bytes, expected {rf.size}"
    elif rf.sha256:
        digest = sha256_file(path)
        if digest != rf.sha256.lower():
            problem = f"sha256 {digest}, expected {rf.sha256}"
    if problem:
        bad = path.with_name(rf.filename + ".corrupt")
        os.replace(path, bad)
        raise DownloadError(f"{rf.filename} is corrupt ({problem}); moved to {bad}. Run the download again.")


def extract_archive(archive: Path, dest: Path) -> list[str]:
    """Extract a .tgz/.tar.gz/.zip into ``dest`` (safely: no absolute paths or ``..``); return member names."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                bad = zf.testzip()
                if bad:
                    raise DownloadError(f"{archive}: member {bad} fails its CRC check")
                names = zf.namelist()
                for n in names:
                    if n.startswith("/") or ".." in Path(n).parts:
                        raise DownloadError(f"{archive}: unsafe member path {n!r}")
                zf.extractall(dest)
                return names
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            tf.extractall(dest, filter="data")
            return [m.name for m in members]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, DownloadError):
            raise
        raise DownloadError(f"{archive}: corrupt or truncated archive ({exc}); delete it and download again") from exc


def download_dataset(files: list[RemoteFile], dest: str | os.PathLike, *, keep_archives: bool = True,
                     **kw) -> list[Path]:
    """Fetch (and extract) every file of a manifest into ``dest``; finished files are skipped.

    Returns the paths of the downloaded files (archives that were extracted and not
    kept are listed by their marker file).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for rf in files:
        marker = dest / f".{rf.filename}.done"
        if marker.is_file():
            out.append(dest / rf.filename if (dest / rf.filename).exists() else marker)
            continue
        path = download_file(rf, dest, **kw)
        if rf.extract:
            try:
                names = extract_archive(path, dest)
            except DownloadError:
                os.replace(path, path.with_name(rf.filename + ".corrupt"))
                raise
            info = {**asdict(rf), "sha256_measured": sha256_file(path), "members": len(names)}
            marker.write_text(json.dumps(info, indent=1))
            if not keep_archives:
                path.unlink()
                path = marker
        else:
            marker.write_text(json.dumps({**asdict(rf), "sha256_measured": sha256_file(path)}, indent=1))
        out.append(path)
    return out
