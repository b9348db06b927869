"""Downloads against a local HTTP server on 127.0.0.1 serving fixture archives."""

import hashlib
import io
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from cardiacml.datasets.download import RemoteFile, download_dataset, download_file, rebase_manifest
from cardiacml.errors import DownloadError


def make_tgz(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def npy_bytes(arr) -> bytes:
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


class Server:
    """Serves bytes with Range support; can cut the first response of a file short."""

    def __init__(self, files: dict, cut_first: dict | None = None, busy_first: int = 0):
        self.files, self.cut = files, dict(cut_first or {})
        self.requests = []
        self.busy = busy_first  # answer 503 (Retry-After: 0) to this many requests first
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                outer.requests.append((name, self.headers.get("Range")))
                if outer.busy > 0:
                    outer.busy -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if name not in outer.files:
                    self.send_error(404)
                    return
                data = outer.files[name]
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in outer.cut:
                    body = body[: outer.cut.pop(name)]  # connection drops mid-file
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def archive():
    rng = np.random.default_rng(0)
    name = "hearts_dd_0p2_geo_act_1_bcl_gkr_bcl.1000.gkr.000.pattern.0.volunteer.v12"
    folder = "data_hearts_dd_0p2_geo_act_1_bcl_gkr"
    return make_tgz({f"{folder}/pECGData_{name}.npy": npy_bytes(rng.normal(size=(500, 10))),
                     f"{folder}/VmData_{name}.npy": npy_bytes(np.full((500, 75), -85.0))})


def test_download_extract_and_skip(tmp_path, archive):
    srv = Server({"part01.tgz": archive})
    try:
        files = [RemoteFile(f"{srv.url}/part01.tgz", "part01.tgz", hashlib.sha256(archive).hexdigest(), len(archive), True)]
        download_dataset(files, tmp_path, retries=1)
        from cardiacml.datasets.intracardiac import discover_simulations

        assert len(discover_simulations(tmp_path)) == 1
        assert (tmp_path / ".part01.tgz.done").is_file()
        n = len(srv.requests)
        download_dataset(files, tmp_path)  # finished work is skipped
        assert len(srv.requests) == n
    finally:
        srv.close()


def test_resume_after_connection_drop(tmp_path, archive):
    srv = Server({"p.tgz": archive}, cut_first={"p.tgz": len(archive) // 3})
    try:
        rf = RemoteFile(f"{srv.url}/p.tgz", "p.tgz", hashlib.sha256(archive).hexdigest(), len(archive))
        path = download_file(rf, tmp_path, retries=3, timeout=5)
        assert path.read_bytes() == archive
        ranges = [r for _, r in srv.requests]
        assert ranges[0] is None and ranges[1] == f"bytes={len(archive) // 3}-", "second request resumes"
        assert not (tmp_path / "p.tgz.part").exists()
    finally:
        srv.close()


def test_resume_from_existing_part_file(tmp_path, archive):
    srv = Server({"p.tgz": archive})
    try:
        (tmp_path / "p.tgz.part").write_bytes(archive[:100])
        rf = RemoteFile(f"{srv.url}/p.tgz", "p.tgz", hashlib.sha256(archive).hexdigest())
        assert download_file(rf, tmp_path).read_bytes() == archive
        assert srv.requests[0][1] == "bytes=100-"
    finally:
        srv.close()


def test_checksum_mismatch_never_leaves_final_file(tmp_path, archive):
    srv = Server({"p.tgz": archive})
    try:
        rf = RemoteFile(f"{srv.url}/p.tgz", "p.tgz", "0" * 64)
        with pytest.raises(DownloadError, match="corrupt.*sha256"):
            download_file(rf, tmp_path)
        assert not (tmp_path / "p.tgz").exists()
        assert (tmp_path / "p.tgz.corrupt").read_bytes() == archive  # kept for inspection, nothing lost
    finally:
        srv.close()


def test_corrupt_archive_is_reported(tmp_path, archive):
    bad = archive[: len(archive) // 2]
    srv = Server({"p.tgz": bad})
    try:
        with pytest.raises(DownloadError, match="corrupt or truncated archive"):
            download_dataset([RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)], tmp_path)
        assert not (tmp_path / ".p.tgz.done").exists() and not (tmp_path / "p.tgz").exists()
    finally:
        srv.close()


def test_http_error_and_unreachable_host(tmp_path):
    srv = Server({})
    try:
        with pytest.raises(DownloadError, match="HTTP 404"):
            download_file(RemoteFile(f"{srv.url}/missing.tgz", "missing.tgz"), tmp_path)
    finally:
        srv.close()
    port = srv.httpd.server_address[1]  # closed now: connection refused
    with pytest.raises(DownloadError, match="offline"):
        download_file(RemoteFile(f"http://127.0.0.1:{port}/x.tgz", "x.tgz"), tmp_path, retries=1, timeout=2)
    assert not (tmp_path / "x.tgz").exists()


def test_cli_download_with_mirror(tmp_path, archive):
    from typer.testing import CliRunner

    from cardiacml.cli import app
    from cardiacml.datasets.download import builtin_manifest

    files = builtin_manifest("intracardiac")
    assert len(files) == 21 and files[0].url.endswith("_2_1.tgz/download")
    srv = Server({f.filename: archive for f in files[:2]})
    try:
        manifest = tmp_path / "m.json"
        import json

        manifest.write_text(json.dumps([{"url": "x", "filename": f.filename, "extract": True} for f in files[:2]]))
        res = CliRunner().invoke(app, ["data", "download", "intracardiac", "--dest", str(tmp_path / "d"),
                                       "--manifest", str(manifest), "--base-url", srv.url])
        assert res.exit_code == 0, res.output
        assert "2 file(s) ready" in res.output
        assert rebase_manifest(files[:1], srv.url + "/")[0].url == f"{srv.url}/{files[0].filename}"
    finally:
        srv.close()


def test_a_busy_server_is_retried(tmp_path, archive):
    """HTTP 503 was fatal at once, whatever --retries said; it is retried (the server's Retry-After, else a short
    wait) and reported with the retries when they run out."""
    srv = Server({"a.tgz": archive}, busy_first=2)
    try:
        path = download_file(RemoteFile(f"{srv.url}/a.tgz", "a.tgz"), tmp_path, retries=3)
        assert path.read_bytes() == archive and len(srv.requests) == 3
        srv.busy = 5
        with pytest.raises(DownloadError, match=r"HTTP 503 .*\(after 2 retries\)"):
            download_file(RemoteFile(f"{srv.url}/a.tgz", "b.tgz"), tmp_path, retries=2)
    finally:
        srv.close()


def test_extraction_never_writes_through_a_link_in_dest(tmp_path, archive):
    """A symbolic link already in --dest (dest/data_hearts... -> ../outside) took the archive's files outside the
    folder named; now refused in one line, nothing moved, the archive kept (it is not corrupt)."""
    from cardiacml.errors import OutputError

    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "data_hearts_dd_0p2_geo_act_1_bcl_gkr").symlink_to(outside, target_is_directory=True)
    srv = Server({"part01.tgz": archive})
    try:
        files = [RemoteFile(f"{srv.url}/part01.tgz", "part01.tgz", hashlib.sha256(archive).hexdigest(), len(archive), True)]
        with pytest.raises(OutputError, match=r"data_hearts_dd_0p2_geo_act_1_bcl_gkr is a symbolic link .*outside"):
            download_dataset(files, dest, retries=1)
    finally:
        srv.close()
    assert not any(outside.iterdir()) and (dest / "part01.tgz").is_file()


def test_dest_that_cannot_be_a_folder_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from cardiacml.cli import app

    (tmp_path / "afile").write_text("mine")
    manifest = tmp_path / "m.json"
    manifest.write_text('[{"url": "http://127.0.0.1:9/x.zip", "filename": "x.zip"}]')
    for dest, says in ((tmp_path / "afile", "is a file, not a folder"), (tmp_path / "afile" / "sub", "cannot create")):
        res = CliRunner().invoke(app, ["data", "download", "heartbeat", "--dest", str(dest), "--manifest", str(manifest)])
        assert res.exit_code == 2 and says in res.output and "Traceback" not in res.output, res.output
    assert (tmp_path / "afile").read_text() == "mine"


def test_download_never_writes_through_a_link_in_dest(tmp_path):
    """A NAME.part that is a symbolic link had the download appended to the file it points to (outside --dest), and
    the link then became NAME, 'ready'; a NAME that is a link was taken for the downloaded file."""
    from cardiacml.errors import OutputError

    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    srv = Server({"f.bin": b"X" * 1000})
    try:
        for link in ("f.bin.part", "f.bin"):
            dest = tmp_path / link.replace(".", "_")
            dest.mkdir()
            (dest / link).symlink_to(outside)
            with pytest.raises(OutputError, match=rf"{link} is a symbolic link .*outside"):
                download_dataset([RemoteFile(f"{srv.url}/f.bin", "f.bin")], dest, retries=1)
            assert outside.read_text() == "precious\n" and not (dest / ".f.bin.done").exists()
    finally:
        srv.close()


def test_extraction_is_whole_or_nothing_when_a_file_or_folder_is_in_the_way(tmp_path):
    """A folder in --dest where the archive has a file (or the reverse) failed half-way through the move (the members
    before it were in place), and the archive was called corrupt and set aside; now one line before anything moves."""
    from cardiacml.errors import OutputError

    srv = Server({"p.tgz": make_tgz({"aa/one.txt": b"1", "zz": b"a file"}),
                  "q.tgz": make_tgz({"aa/one.txt": b"1", "zz/two.txt": b"2"})})
    try:
        for name, mine in (("p.tgz", "folder"), ("q.tgz", "file")):
            dest = tmp_path / name.replace(".", "_")
            dest.mkdir()
            if mine == "folder":
                (dest / "zz").mkdir()
                (dest / "zz" / "keep").write_text("mine")
            else:
                (dest / "zz").write_text("mine")
            with pytest.raises(OutputError, match=rf"zz is a {mine} where the archive has a"):
                download_dataset([RemoteFile(f"{srv.url}/{name}", name, extract=True)], dest, retries=1)
            assert not (dest / "aa").exists() and (dest / name).is_file() and not (dest / f"{name}.corrupt").exists()
    finally:
        srv.close()


@pytest.mark.parametrize("member", ["p.tgz", "other.zip", "other.zip.part", ".other.zip.done"])
def test_an_archive_cannot_replace_the_downloads_own_files(tmp_path, member):
    """A member named like the archive, another file of the manifest, its .part or a .NAME.done marker replaced it:
    the archive's own bytes (the marker then recorded the member's sha256), or a marker that makes the next run skip
    the file it names."""
    from cardiacml.datasets.download import UnsafeArchiveError

    srv = Server({"p.tgz": make_tgz({"aa/one.txt": b"1", member: b"{}"})})
    try:
        files = [RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True),
                 RemoteFile(f"{srv.url}/other.zip", "other.zip", extract=True)]
        with pytest.raises(UnsafeArchiveError, match=rf"member '{re.escape(member)}' would replace the download's own"):
            download_dataset(files, tmp_path, retries=1)
    finally:
        srv.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tgz.refused"]


def test_extraction_folder_is_not_a_name_known_in_advance(tmp_path, monkeypatch):
    """Members were extracted into dest/.extract-NAME.tmpPID: a symbolic link planted at that name (removing it with
    rmtree fails silently) took a zip's members outside --dest. Now a fresh folder of an unpredictable name."""
    import io
    import os
    import zipfile
    from pathlib import Path

    from cardiacml.datasets.download import extract_archive

    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/a.txt", "payload " * 50)
    arch = dest / "x.zip"
    arch.write_bytes(buf.getvalue())
    planted = dest / f".extract-x.zip.tmp{os.getpid()}"
    planted.symlink_to(outside, target_is_directory=True)
    used = []
    real = zipfile.ZipFile.extractall

    def spy(self, path=None, *a, **k):
        used.append(Path(path))
        return real(self, path, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "extractall", spy)
    assert extract_archive(arch, dest) == ["data/a.txt"]
    assert used and not used[0].is_symlink() and used[0] != planted and used[0].parent == dest
    assert (dest / "data" / "a.txt").is_file() and not any(outside.iterdir())
    assert not [p for p in dest.iterdir() if p.name.startswith(".extract-") and not p.is_symlink()]


def test_an_archive_of_very_many_members_is_refused(tmp_path):
    """Empty members pass both byte limits: 124 kB of tar.gz held 20,000 of them (a few MB a million), all extracted.
    The count is now capped (the default above the whole intracardiac dataset's 32,234 files, were it one archive)."""
    import zipfile

    from cardiacml.datasets.download import MAX_EXTRACT_MEMBERS, UnsafeArchiveError, extract_archive

    assert 2 * 16_117 < MAX_EXTRACT_MEMBERS <= 1_000_000
    for n, refused in ((5, False), (6, True)):
        names = [f"d/{i}" for i in range(n)]
        tgz, zipped = tmp_path / f"m{n}.tgz", tmp_path / f"m{n}.zip"
        tgz.write_bytes(make_tgz({name: b"" for name in names}))
        with zipfile.ZipFile(zipped, "w") as zf:
            for name in names:
                zf.writestr(name, b"")
        for arch in (tgz, zipped):
            dest = tmp_path / f"dest_{arch.name}"
            if refused:
                with pytest.raises(UnsafeArchiveError, match=rf"{re.escape(str(arch))}: holds more than 5 members"):
                    extract_archive(arch, dest, max_members=5)
                assert not list(dest.iterdir())
            else:
                assert extract_archive(arch, dest, max_members=5) == names
                assert sorted(p.name for p in (dest / "d").iterdir()) == sorted(str(i) for i in range(n))


def test_a_zip_whose_end_record_claims_too_many_members_is_refused_before_its_directory_is_read(tmp_path,
                                                                                                    monkeypatch):
    """A zip's whole central directory was read (``zipfile.ZipFile`` builds an entry for every member) before the
    member count was checked; a tar stops at the limit. The count its end-of-central-directory record (or ZIP64 record)
    claims is now checked first: ``zipfile.ZipFile`` is never called for a zip over the limit."""
    import struct
    import zipfile

    from cardiacml.datasets.download import UnsafeArchiveError, extract_archive

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", b"x")
    data = buf.getvalue()
    at = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<LL", data, at + 12)
    claims = data[:at + 8] + struct.pack("<HH", 60_000, 60_000) + data[at + 12:]  # the 16-bit counts
    z64 = (b"PK\x06\x06" + struct.pack("<QHHLLQQQQ", 44, 45, 45, 0, 0, 7, 7, cd_size, cd_offset)
           + b"PK\x06\x07" + struct.pack("<LQL", 0, at, 1))
    claims64 = data[:at] + z64 + data[at:at + 8] + struct.pack("<HH", 0xFFFF, 0xFFFF) + data[at + 12:]
    arch, arch64 = tmp_path / "claims.zip", tmp_path / "claims64.zip"
    arch.write_bytes(claims)
    arch64.write_bytes(claims64)
    with zipfile.ZipFile(arch64) as zf:  # zipfile reads it: the ZIP64 record's count, the one entry of its directory
        assert zf.namelist() == ["a.txt"]

    def whole_directory_read(*a, **k):
        raise AssertionError("zipfile.ZipFile called")

    monkeypatch.setattr(zipfile, "ZipFile", whole_directory_read)
    for path, limit in ((arch, 59_999), (arch64, 6)):
        dest = tmp_path / f"dest_{path.stem}"
        with pytest.raises(UnsafeArchiveError, match=rf"{re.escape(str(path))}: holds more than {limit:,} members"):
            extract_archive(path, dest, max_members=limit)
        assert not list(dest.iterdir())
    monkeypatch.undo()
    assert extract_archive(arch64, tmp_path / "ok", max_members=7) == ["a.txt"]  # at the limit: read and extracted


def test_extraction_never_replaces_a_file_of_the_users_in_dest(tmp_path):
    """A file already in --dest named like a member was replaced by it, unsaid (the user's own README.txt, or a CSV
    beside the data); now refused in one line before anything moves. A file with the member's bytes (an earlier
    extraction of the same archive, cut short) is no obstacle."""
    from cardiacml.errors import OutputError

    srv = Server({"p.tgz": make_tgz({"README.txt": b"the archive's readme", "data/a.txt": b"1", "data/b.txt": b"2"})})
    try:
        files = [RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)]
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "a.txt").write_bytes(b"1")  # left by an earlier extraction
        (tmp_path / "README.txt").write_text("my own notes")
        with pytest.raises(OutputError, match=r"README\.txt is already there, with other bytes than the archive's"):
            download_dataset(files, tmp_path, retries=1)
        assert (tmp_path / "README.txt").read_text() == "my own notes" and not (tmp_path / "data" / "b.txt").exists()
        (tmp_path / "README.txt").unlink()
        download_dataset(files, tmp_path, retries=1)
        assert [(tmp_path / n).read_bytes() for n in ("README.txt", "data/a.txt", "data/b.txt")] == [
            b"the archive's readme", b"1", b"2"]
    finally:
        srv.close()


def test_an_archives_link_never_replaces_a_file_of_the_users_in_dest(tmp_path):
    """A link member beside a user's file of its name: its bytes were compared through the link, so a dangling link
    was called a corrupt archive and one to a file of the same bytes replaced the user's file by a link."""
    import io
    import os
    import tarfile

    from cardiacml.datasets.download import extract_archive
    from cardiacml.errors import OutputError

    def tar_with_link(target):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tf:
            data = tarfile.TarInfo("notes.txt")
            data.size = 5
            tf.addfile(data, io.BytesIO(b"notes"))
            link = tarfile.TarInfo("README.txt")
            link.type, link.linkname = tarfile.SYMTYPE, target
            tf.addfile(link)
        path = tmp_path / f"a-{target}.tgz"
        path.write_bytes(buf.getvalue())
        return path

    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "README.txt").write_text("notes")  # the user's, with the bytes of the file the link points to
    for target in ("notes.txt", "missing.txt"):
        with pytest.raises(OutputError, match=r"README\.txt is already there, and the archive has a link of that name"):
            extract_archive(tar_with_link(target), dest)
        assert not (dest / "README.txt").is_symlink() and (dest / "README.txt").read_text() == "notes"
    (dest / "README.txt").unlink()
    extract_archive(tar_with_link("notes.txt"), dest)
    extract_archive(tar_with_link("notes.txt"), dest)  # again: the earlier extraction's link is no obstacle
    assert os.readlink(dest / "README.txt") == "notes.txt"
