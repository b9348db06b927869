"""Resumable, checksummed downloads of the two datasets, with archive extraction.

A file is fetched into ``NAME.part`` (resumed with an HTTP Range request after an
interruption), checked against its size and sha256 when the manifest knows them,
and only then renamed to ``NAME``: a file under its final name is always complete.
Archives (.tgz, .zip) are extracted and a marker ``.NAME.done`` records it, so a
second run skips finished work.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import itertools
import json
import os
import re
import socket
import struct
import tarfile
import zipfile
import time
from dataclasses import asdict, dataclass
from http.client import HTTPException, IncompleteRead
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from ..errors import DownloadError, OutputError
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


#: Extraction limits: total uncompressed bytes, and uncompressed / compressed ratio (a zip bomb has 1000:1 and more).
MAX_EXTRACT_BYTES = 64 * 2**30
MAX_EXTRACT_RATIO = 100.0
#: Extraction limit on an archive's members (files, folders, links): empty members pass both byte limits, and a few MB
#: of tar.gz can hold a million of them. The largest real archive, one intracardiac part, holds a few thousand (the
#: 16,117 simulations are two .npy files each, over 21 parts).
MAX_EXTRACT_MEMBERS = 100_000


def safe_filename(name: str, where: str = "manifest") -> str:
    """``name`` if it is a bare file name (no folder, no ``..``, not absolute, no NUL); else DownloadError.

    Files are only ever written inside the destination folder the user named.
    """
    n = str(name)
    if (not n or n in (".", "..") or "/" in n or "\\" in n or "\x00" in n or n.startswith("~")
            or Path(n).is_absolute() or Path(n).name != n):
        raise DownloadError(f"{where}: unsafe file name {name!r}: a file name must be a bare name inside --dest "
                            "(no folders, '..' or absolute paths)")
    return n


def load_manifest(path: str | os.PathLike) -> list[RemoteFile]:
    """Read a JSON manifest: a list of objects with url, filename and optional sha256, size, extract.

    File names are checked with :func:`safe_filename`.
    """
    path = Path(path)
    try:
        items = json.loads(path.read_text())
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise TypeError("expected a list of objects")
        files = [RemoteFile(**item) for item in items]
    except (OSError, ValueError, TypeError) as exc:
        raise DownloadError(f"{path}: not a valid manifest (a JSON list of {{url, filename, sha256?, size?, extract?}}): {exc}") from exc
    for i, f in enumerate(files):
        where = f"{path}: entry {i}"
        for key, types in (("url", (str,)), ("filename", (str,)), ("sha256", (str, type(None))),
                           ("size", (int, type(None))), ("extract", (bool,))):
            v = getattr(f, key)
            if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
                raise DownloadError(f"{where}: {key!r} should be {' or '.join(t.__name__ for t in types)}, got {v!r}")
        if f.size is not None and f.size < 1:
            raise DownloadError(f"{where}: 'size' should be a number of bytes >= 1, got {f.size}")
        if f.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", f.sha256):
            raise DownloadError(f"{where}: 'sha256' should be 64 hex digits, got {f.sha256!r}")
        safe_filename(f.filename, str(path))
    return files


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
    """Kaggle credentials for an https address on kaggle.com itself (not a mirror whose address merely names it)."""
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host == "kaggle.com" or host.endswith(".kaggle.com")) and user and key:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}
    return {}


def shown_url(url: str) -> str:
    """``url`` as messages and markers show it: a password in it and the values of its query (signed mirror
    addresses carry tokens there) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else f"***@{host}"
    query = re.sub(r"=[^&;]*", "=***", parts.query)
    return parts._replace(netloc=netloc, query=query).geturl()


def _unreachable(rf: RemoteFile, exc: Exception) -> DownloadError:
    return DownloadError(
        f"cannot download {rf.filename} from {shown_url(rf.url)}: {exc}. If this machine is offline, fetch the file "
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
    _make_dest(dest)
    name = safe_filename(rf.filename)
    final, part = dest / name, dest / (name + ".part")
    for p in (final, part):  # a link there would take the bytes (or the "ready" file) from outside --dest
        if p.is_symlink():
            raise OutputError(f"{p} is a symbolic link (to {os.readlink(p)}); downloading through it would write or "
                              f"read outside {dest}: remove the link, or give another --dest")
    if final.is_file():
        _verify(rf, final, _recorded_sha256(dest, name))
        return final
    attempt, restarted = 0, False
    while True:
        have = part.stat().st_size if part.exists() else 0
        if rf.size is not None and have >= rf.size:
            break
        headers = {"User-Agent": "cardiacml"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            if "@" in urlsplit(rf.url).netloc:  # urllib never sends it: the request failed, naming the password
                raise ValueError("a user name or password in the address is not supported")
            req = Request(rf.url, headers=headers)
        except ValueError as exc:
            raise DownloadError(f"{rf.filename}: unusable url {shown_url(rf.url)!r} ({str(exc).replace(rf.url, shown_url(rf.url))}); give a full http(s):// address "
                                "or --base-url") from None
        for k, v in _auth_headers(rf.url).items():  # never passed on to the host a redirect leads to
            req.add_unredirected_header(k, v)
        try:
            resp = urlopen(req, timeout=timeout)
        except HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to send: complete if the server's size is the bytes held
                whole = _content_range(exc.headers)[1]
                if whole == have and rf.size in (None, have):
                    break
                restarted = _restart(part, rf.url, restarted, f"HTTP 416 to a resume from byte {have} (the server's "
                                     f"file has {'an unstated number of' if whole is None else whole} bytes)")
                continue
            if exc.code in RETRY_HTTP and attempt < retries:  # a busy or restarting server: wait, then again
                attempt += 1
                time.sleep(_retry_wait(exc, attempt))
                continue
            raise DownloadError(f"{shown_url(rf.url)}: HTTP {exc.code} {exc.reason}"
                                + (f" (after {retries} retries)" if exc.code in RETRY_HTTP and retries else "")) from exc
        except (URLError, socket.timeout, ConnectionError) as exc:
            attempt += 1
            if attempt > retries:
                raise _unreachable(rf, exc) from exc
            continue
        except HTTPException as exc:  # BadStatusLine, LineTooLong...: another service on that port, a broken proxy
            attempt += 1
            if attempt > retries:
                raise DownloadError(f"{shown_url(rf.url)}: the answer is not valid HTTP ({type(exc).__name__}: "
                                    f"{str(exc).strip()[:80]!r}); check the address, or give --base-url") from exc
            continue
        with resp:
            start = _content_range(resp.headers)[0] if resp.status == 206 else have
            if start != have:  # these bytes do not continue the .part: appended, they would corrupt it
                sent = "without Content-Range" if start is None else f"from byte {start}"
                restarted = _restart(part, rf.url, restarted, f"HTTP 206 {sent} to a request from byte {have}")
                continue
            resumed = have and resp.status == 206
            if not resumed:
                have = 0
            length = _content_length(resp.headers)
            total = have + length if length is not None else rf.size
            # no more than the manifest size or the Content-Length: without one, a body runs until the server stops
            limit = min((n for n in (rf.size, total) if n is not None), default=None)
            got = have
            try:
                with open(part, "ab" if resumed else "wb") as fh, progress(
                    total=total, initial=have, desc=rf.filename, unit="B", unit_scale=True, disable=True if show_progress is False else None
                ) as bar:
                    while block := resp.read(chunk):
                        got += len(block)
                        if limit is not None and got > limit:
                            break
                        fh.write(block)
                        bar.update(len(block))
            except (IncompleteRead, ConnectionError, socket.timeout, OSError) as exc:
                if getattr(exc, "errno", None) in _CANNOT_WRITE:  # the disk, not the connection: no retry helps
                    full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # else: read-only, no permission
                    raise OutputError(f"{part}: cannot write the download ({exc.strerror}); "
                                      + ("free some space or give another --dest" if full else
                                         "give another --dest, one you may write to")
                                      + ", then run again to resume") from None
                attempt += 1
                if attempt > retries:
                    raise DownloadError(f"{shown_url(rf.url)}: connection lost after {retries} retries ({exc}); "
                                        f"run again to resume from {part}") from exc
                continue
        if limit is not None and got > limit:
            bad = part.with_name(rf.filename + ".corrupt")
            os.replace(part, bad)
            raise DownloadError(f"{shown_url(rf.url)}: the server sent more than the {limit} bytes expected "
                                f"({'the manifest size' if limit == rf.size else 'its Content-Length'}); stopped there "
                                f"and moved the file to {bad}")
        if total is None or part.stat().st_size >= total:
            break
        attempt += 1  # server closed early: resume
        if attempt > retries:
            raise DownloadError(f"{shown_url(rf.url)}: got {part.stat().st_size} of {total} bytes; run again to resume from {part}")
    _verify(rf, part)
    os.replace(part, final)
    return final


def _content_range(headers) -> tuple[int | None, int | None]:
    """(first byte, size of the whole file) of a ``Content-Range: bytes FIRST-LAST/SIZE`` (or ``bytes */SIZE``)
    header; None for what it does not state (no header, an unreadable one, ``*``)."""
    value = headers.get("Content-Range") if headers is not None else None
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    return (int(m[1]) if m[1] else None), (int(m[2]) if m[2] != "*" else None)


def _content_length(headers) -> int | None:
    """The Content-Length header as a number of bytes; None where absent or unreadable (``abc``, ``-5``: http.client
    then reads the body until the server closes the connection)."""
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _restart(part: Path, url: str, restarted: bool, why: str) -> bool:
    """Delete ``part`` so that the next request fetches the file from byte 0 (and return True); the second time a
    download restarts, DownloadError: the server's answers to resumed requests cannot be trusted."""
    part.unlink(missing_ok=True)
    if restarted:
        raise DownloadError(f"{shown_url(url)}: {why}, again after starting over from byte 0: the server does not "
                            f"resume this file reliably; {part.name} was deleted, run again to download it whole")
    return True


def _make_dest(dest: Path) -> None:
    """Create the destination folder; one that cannot be (a file of that name, a file among its parents, no
    permission) is refused in one line (OutputError), not with a traceback."""
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"--dest {dest} is a file, not a folder: choose another destination folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--dest {dest}: cannot create the folder ({exc.strerror or exc})") from None


#: errno of a write to the .part that failed here (full disk, quota, file size limit, read-only, permission)
_CANNOT_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR)

#: HTTP statuses worth retrying: too many requests, and the server errors of a busy or restarting server.
RETRY_HTTP = (429, 500, 502, 503, 504)


def _retry_wait(exc: HTTPError, attempt: int) -> float:
    """Seconds to wait before retry ``attempt``: the server's Retry-After (up to 30 s), else 0.5, 1, 2... (max 8)."""
    try:
        after = float(exc.headers.get("Retry-After")) if exc.headers is not None else None
    except (TypeError, ValueError):
        after = None
    return min(30.0, after) if after is not None and after >= 0 else min(8.0, 0.5 * 2 ** (attempt - 1))


class UnsafeArchiveError(DownloadError):
    """An archive refused for what it holds (paths out of the folder, links, a decompression bomb): downloading it
    again gives the same archive, refused again."""


def _recorded_sha256(dest: Path, name: str) -> str | None:
    """The sha256 measured when ``name`` was first downloaded (kept in its marker file), if any."""
    marker = dest / f".{name}.done"
    try:
        return json.loads(marker.read_text()).get("sha256_measured")
    except (OSError, ValueError, AttributeError):
        return None


def _verify(rf: RemoteFile, path: Path, recorded: str | None = None) -> None:
    """Check size and sha256 (the manifest's, else the one recorded at first download); move a bad file aside."""
    size = path.stat().st_size
    problem = None
    expected = rf.sha256 or recorded
    if rf.size is not None and size != rf.size:
        problem = f"size {size} bytes, expected {rf.size}"
    elif expected:
        digest = sha256_file(path)
        if digest != expected.lower():
            problem = f"sha256 {digest}, expected {expected}" + ("" if rf.sha256 else " (recorded at first download)")
    if problem:
        bad = path.with_name(rf.filename + ".corrupt")
        os.replace(path, bad)
        raise DownloadError(f"{rf.filename} is corrupt ({problem}); moved to {bad}. Run the download again.")


def _check_gzip_stream(archive: Path) -> None:
    """Decompress a whole gzip file, which checks its CRC-32 and length trailer (tarfile never reads it)."""
    import gzip
    import zlib

    try:
        with gzip.open(archive, "rb") as fh:
            while fh.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise DownloadError(f"{archive}: corrupt or truncated archive: the gzip stream fails its integrity check ({exc}); delete it and download again") from exc


def _check_sizes(archive: Path, total: int, max_bytes: int, max_ratio: float) -> None:
    packed = max(1, archive.stat().st_size)
    if total > max_bytes:
        raise UnsafeArchiveError(f"{archive}: would expand to {total / 2**30:.1f} GiB, over the {max_bytes / 2**30:.0f} GiB limit; refused")
    if total / packed > max_ratio:
        raise UnsafeArchiveError(f"{archive}: would expand {total / packed:.0f}-fold ({packed} -> {total} bytes), over the "
                            f"{max_ratio:.0f}x limit for archives; refused (possible decompression bomb)")


def _check_count(archive: Path, count: int, max_members: int) -> None:
    if count > max_members:
        raise UnsafeArchiveError(f"{archive}: holds more than {max_members:,} members (files and folders), over the "
                                 "limit for archives; refused (possible decompression bomb)")


def _zip_claimed_members(archive: Path) -> int:
    """Members a zip's end-of-central-directory record claims (its ZIP64 record's count too, when it has one), read
    from the file's end before ``zipfile.ZipFile`` reads the whole directory; 0 when no record is found."""
    with open(archive, "rb") as fh:
        start = max(0, fh.seek(0, 2) - 22 - 0xFFFF - 20 - 56)  # the record, a comment of up to 64 KiB, the ZIP64 ones
        fh.seek(start)
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return 0
    count = struct.unpack_from("<H", tail, at + 10)[0]
    if at >= 76 and tail[at - 20:at - 16] == b"PK\x06\x07" and tail[at - 76:at - 72] == b"PK\x06\x06":
        count = struct.unpack_from("<Q", tail, at - 76 + 32)[0]  # as zipfile reads it: right before its locator
    return count


def extract_archive(archive: Path, dest: Path, *, max_bytes: int = MAX_EXTRACT_BYTES,
                    max_ratio: float = MAX_EXTRACT_RATIO, max_members: int = MAX_EXTRACT_MEMBERS,
                    reserved: tuple = ()) -> list[str]:
    """Verify and extract a .tgz/.tar.gz/.zip into ``dest``; return member names.

    Before anything is written: gzip streams are decompressed end to end (CRC and length
    trailer checked), zip members CRC-checked, member paths checked (no absolute paths,
    no ``..``, no links out), the number of members capped (``max_members``), and the total size capped
    (``max_bytes``) and compared with the archive's (``max_ratio``). Members are extracted into a temporary folder inside
    ``dest`` and moved into place only when all succeeded: never where a link, a file where the archive has a
    folder (or the reverse), or a file of a member's name with other bytes is in the way, nor onto the download's own
    files (the archive, the other ``reserved`` names of its manifest, their ``.part`` and ``.NAME.done`` markers)."""
    import shutil
    import tempfile

    from ..utils import clean_stale_temps

    clean_stale_temps(dest)
    # a fresh folder of an unpredictable name (.extract-NAME.RANDOM.tmpPID, as clean_stale_temps knows them): a link
    # planted at a name known in advance would have taken the members outside dest
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".extract-{archive.name}.", suffix=f".tmp{os.getpid()}", dir=dest))
    try:
        if zipfile.is_zipfile(archive):
            _check_count(archive, _zip_claimed_members(archive), max_members)  # before ZipFile reads every entry
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                _check_count(archive, len(infos), max_members)
                for i in infos:
                    if i.filename.startswith("/") or ".." in Path(i.filename).parts:
                        raise UnsafeArchiveError(f"{archive}: unsafe member path {i.filename!r}")
                _check_sizes(archive, sum(i.file_size for i in infos), max_bytes, max_ratio)
                bad = zf.testzip()
                if bad:
                    raise DownloadError(f"{archive}: member {bad} fails its CRC check")
                names = zf.namelist()
                zf.extractall(tmp)
                _own_files_in_the_way(archive, tmp, reserved)
                _links_in_the_way(tmp, dest)
                _move_into(tmp, dest)
                return names
        with open(archive, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                _check_gzip_stream(archive)
        with tarfile.open(archive, "r:*") as tf:
            members = list(itertools.islice(tf, max_members + 1))  # never a million headers read into memory
            _check_count(archive, len(members), max_members)
            _check_sizes(archive, sum(m.size for m in members if m.isfile()), max_bytes, max_ratio)
            tf.extractall(tmp, filter="data")
            _own_files_in_the_way(archive, tmp, reserved)
            _links_in_the_way(tmp, dest)
            _move_into(tmp, dest)
            return [m.name for m in members]
    except (DownloadError, OutputError):  # ours, already one line (a link in --dest: the archive is fine)
        raise
    except tarfile.FilterError as exc:  # an absolute path, a path or link out of the folder, a device file
        raise UnsafeArchiveError(f"{archive}: unsafe member ({exc})") from exc
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if archive.suffix.lower() == ".zip":  # not a zip (is_zipfile said so); the tar methods' list says nothing here
            why = "not a valid zip file"
        raise DownloadError(f"{archive}: corrupt or truncated archive ({why}); download it again") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _links_in_the_way(src: Path, dest: Path) -> None:
    """Refuse (OutputError) to extract ``src`` into ``dest`` where a path it would write through or onto is a symbolic
    link already in ``dest`` (``dest/data -> ../elsewhere``): the files would land outside the folder named; or where
    a file of ``dest`` has a member's name but other bytes (the user's own file, which the move would replace; one
    with the same bytes, as an earlier extraction of the archive left it, is replaced by its copy)."""
    import filecmp

    for p in src.iterdir():
        target = dest / p.name
        if p.is_symlink():  # the archive's own link (tar's "data" filter keeps it inside the folder)
            if target.is_symlink() and os.readlink(target) == os.readlink(p):
                continue  # left by an earlier extraction of the archive
            if target.is_symlink() or target.exists():  # compared through the link, a dangling one read as corrupt
                raise OutputError(f"{target} is already there, and the archive has a link of that name (to "
                                  f"{os.readlink(p)}) that would replace it: move it away, or give another --dest")
            continue
        if target.is_symlink():
            raise OutputError(f"{target} is a symbolic link (to {os.readlink(target)}); extracting through it would "
                              f"write outside {dest}: remove the link, or give another --dest")
        if p.is_dir() and target.is_dir():
            _links_in_the_way(p, target)
        elif p.is_dir() != target.is_dir() and target.exists():  # os.replace fails half-way through the move
            raise OutputError(f"{target} is a {'file' if p.is_dir() else 'folder'} where the archive has a "
                              f"{'folder' if p.is_dir() else 'file'}; move it away, or give another --dest")
        elif target.is_file() and not filecmp.cmp(p, target, shallow=False):
            raise OutputError(f"{target} is already there, with other bytes than the archive's file of that name; "
                              "extracting would replace it: move it away, or give another --dest")


def _own_files_in_the_way(archive: Path, src: Path, reserved: tuple) -> None:
    """Refuse (UnsafeArchiveError) an archive with a top-level member that would replace the download's own files:
    the archive itself, another file of its manifest, a ``.part`` or a ``.NAME.done`` marker (which makes a later
    run skip, or take unverified, the file it names)."""
    names = {archive.name, *reserved}
    own = names | {n + sfx for n in names for sfx in (".part", ".corrupt", ".refused")}
    for p in src.iterdir():
        if p.name in own or re.fullmatch(r"\..+\.done", p.name) or p.name.startswith(".extract-"):
            raise UnsafeArchiveError(f"{archive}: member {p.name!r} would replace the download's own file of that name "
                                     "(an archive, a partial download or a marker); refused")


def _move_into(src: Path, dest: Path) -> None:
    """Move every entry of ``src`` into ``dest`` (merging folders, replacing files: the same bytes, as checked)."""
    for p in src.iterdir():
        target = dest / p.name
        if p.is_dir() and target.is_dir():
            _move_into(p, target)
        else:
            os.replace(p, target)


def download_dataset(files: list[RemoteFile], dest: str | os.PathLike, *, keep_archives: bool = True,
                     **kw) -> list[Path]:
    """Fetch (and extract) every file of a manifest into ``dest``; finished files are skipped.

    Returns the paths of the downloaded files (archives that were extracted and not
    kept are listed by their marker file).
    """
    dest = Path(dest)
    _make_dest(dest)
    out = []
    for rf in files:
        safe_filename(rf.filename)
        marker = dest / f".{rf.filename}.done"
        if marker.is_file():
            kept = dest / rf.filename
            if kept.exists():  # verify a kept archive against what was measured at its first download
                try:
                    _verify(rf, kept, _recorded_sha256(dest, rf.filename))
                except DownloadError:
                    marker.unlink()  # so that the next run fetches (and extracts) it again
                    raise
            out.append(kept if kept.exists() else marker)
            continue
        path = download_file(rf, dest, **kw)
        if rf.extract:
            try:
                names = extract_archive(path, dest, reserved=tuple(f.filename for f in files))
            except UnsafeArchiveError as exc:
                bad = path.with_name(rf.filename + ".refused")
                os.replace(path, bad)
                raise UnsafeArchiveError(f"{exc}; nothing of it was extracted (moved aside to {bad.name}). Downloading "
                                         "it again gives the same archive: check where it comes from") from None
            except DownloadError as exc:
                bad = path.with_name(rf.filename + ".corrupt")
                os.replace(path, bad)
                raise DownloadError(f"{exc} (the file was moved aside to {bad.name}; run the command again)") from None
            info = {**asdict(rf), "url": shown_url(rf.url), "sha256_measured": sha256_file(path), "members": len(names)}
            _write_marker(marker, info)
            if not keep_archives:
                path.unlink()
                path = marker
        else:
            _write_marker(marker, {**asdict(rf), "url": shown_url(rf.url), "sha256_measured": sha256_file(path)})
        out.append(path)
    return out


def _write_marker(marker: Path, info: dict) -> None:
    from ..utils import atomic_path

    with atomic_path(marker) as tmp:
        tmp.write_text(json.dumps(info, indent=1))
