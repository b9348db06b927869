"""Downloads are verified end to end: archives with changed bytes, decompression bombs and manifest paths outside --dest are refused."""

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cardiacml.cli import app
from cardiacml.errors import DownloadError

runner = CliRunner()


# ------------------------------------------------------------------------------------ 2 archives
class _Server:
    def __init__(self, files):
        import http.server
        import threading

        files = dict(files)

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def _stored_tgz(arrays: dict) -> bytes:
    """A .tgz whose gzip uses stored (level 0) blocks: changed bytes decode silently; only the CRC catches them."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, arr in arrays.items():
            b = io.BytesIO()
            np.save(b, arr)
            info = tarfile.TarInfo(name)
            info.size = len(b.getvalue())
            tf.addfile(info, io.BytesIO(b.getvalue()))
    return gzip.compress(raw.getvalue(), compresslevel=0)


def test_archive_with_changed_bytes_is_refused(tmp_path):
    from cardiacml.datasets.download import RemoteFile, download_dataset

    vm = np.linspace(-85, 20, 500 * 75).reshape(500, 75)
    good = _stored_tgz({"data_hearts_dd_0p2_x/VmData_a.npy": vm})
    bad = bytearray(good)
    mid = len(bad) // 2
    bad[mid:mid + 64] = bytes((b + 1) % 256 for b in bad[mid:mid + 64])
    srv = _Server({"p.tgz": bytes(bad)})
    try:
        with pytest.raises(DownloadError, match="integrity check"):
            download_dataset([RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)], tmp_path / "d")
    finally:
        srv.close()
    d = tmp_path / "d"
    assert not list(d.rglob("*.npy")), "nothing may be extracted from a corrupt archive"
    assert not (d / ".p.tgz.done").exists() and (d / "p.tgz.corrupt").exists()


def test_kept_archive_is_verified_on_every_reuse(tmp_path):
    from cardiacml.datasets.download import RemoteFile, download_dataset

    good = _stored_tgz({"data_hearts_dd_0p2_x/VmData_a.npy": np.zeros((500, 75))})
    srv = _Server({"p.tgz": good})
    rf = [RemoteFile(f"{srv.url}/p.tgz", "p.tgz", extract=True)]
    try:
        download_dataset(rf, tmp_path)
        marker = json.loads((tmp_path / ".p.tgz.done").read_text())
        assert len(marker["sha256_measured"]) == 64
        download_dataset(rf, tmp_path)  # unchanged: fine
        data = bytearray((tmp_path / "p.tgz").read_bytes())
        data[100] ^= 0xFF
        (tmp_path / "p.tgz").write_bytes(bytes(data))
        with pytest.raises(DownloadError, match="recorded at first download"):
            download_dataset(rf, tmp_path)
        # the next run fetches it again (it said 'run the download again', then found the marker and did nothing)
        assert not (tmp_path / ".p.tgz.done").exists()
        download_dataset(rf, tmp_path)
        assert (tmp_path / "p.tgz").read_bytes() == good
    finally:
        srv.close()


def test_decompression_bomb_is_refused(tmp_path):
    from cardiacml.datasets.download import extract_archive

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (50 * 2**20))
    arch = tmp_path / "bomb.zip"
    arch.write_bytes(raw.getvalue())
    assert arch.stat().st_size < 200_000
    with pytest.raises(DownloadError, match="decompression bomb"):
        extract_archive(arch, tmp_path / "out")
    assert not (tmp_path / "out" / "zeros.bin").exists()
    tgz = tmp_path / "bomb.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("zeros.bin")
        info.size = 50 * 2**20
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    with pytest.raises(DownloadError, match="decompression bomb"):
        extract_archive(tgz, tmp_path / "out")
    # through download_dataset: refused, set aside, and not called corrupt ('download it again' would not help)
    from cardiacml.datasets.download import RemoteFile, UnsafeArchiveError, download_dataset

    srv = _Server({"bomb.zip": arch.read_bytes()})
    try:
        with pytest.raises(UnsafeArchiveError, match="decompression bomb.*gives the same archive") as err:
            download_dataset([RemoteFile(f"{srv.url}/bomb.zip", "bomb.zip", extract=True)], tmp_path / "dl")
        assert "corrupt" not in str(err.value) and (tmp_path / "dl" / "bomb.zip.refused").exists()
    finally:
        srv.close()


# ------------------------------------------------------------------------------------ 4 manifest paths
@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "sub/evil.txt", "..", ""])
def test_manifest_cannot_write_outside_dest(tmp_path, name):
    man = tmp_path / "m.json"
    man.write_text(json.dumps([{"url": "http://127.0.0.1:9/x", "filename": name}]))
    dest = tmp_path / "dest"
    res = runner.invoke(app, ["data", "download", "heartbeat", "--dest", str(dest), "--manifest", str(man)])
    assert res.exit_code == 2 and "unsafe file name" in res.output
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
