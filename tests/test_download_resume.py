"""Resumed downloads against a scripted server on 127.0.0.1: the answers to a Range request are checked against the
bytes already held (416 and its Content-Range total, 206 and its start, 200), and a body is never written past the
size expected."""

import builtins
import errno
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cardiacml.datasets import download
from cardiacml.datasets.download import RemoteFile, download_file
from cardiacml.errors import DownloadError, OutputError

DATA = bytes(range(256)) * 40  # 10240 bytes


class Scripted:
    """Answers each GET with ``handler(request_handler)``; records the Range header of every request."""

    def __init__(self, handler):
        self.ranges = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.ranges.append(self.headers.get("Range"))
                handler(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/f.bin"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(h, status, body=b"", headers=()):
    h.send_response(status)
    for k, v in headers:
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def _whole(h):
    _send(h, 200, DATA, [("Content-Length", str(len(DATA)))])


def _fetch(srv, tmp_path, part=None, **kw):
    if part is not None:
        (tmp_path / "f.bin.part").write_bytes(part)
    return download_file(RemoteFile(srv.url, "f.bin", **kw), tmp_path, retries=1, timeout=5, show_progress=False)


def _range_416(total, content_range=True):
    """416 to a Range request (with ``Content-Range: bytes */total`` unless told not to), the whole file otherwise."""

    def handler(h):
        if h.headers.get("Range"):
            _send(h, 416, headers=[("Content-Range", f"bytes */{total}")] if content_range else [])
        else:
            _whole(h)

    return handler


def test_416_is_complete_when_the_servers_total_is_the_bytes_held(tmp_path):
    with Scripted(_range_416(len(DATA))) as srv:
        assert _fetch(srv, tmp_path, part=DATA).read_bytes() == DATA
        assert srv.ranges == [f"bytes={len(DATA)}-"], "nothing fetched again"


@pytest.mark.parametrize("part, total, size, content_range", [
    (DATA + b"stale tail", len(DATA), None, True),  # .part longer than the file: was renamed to f.bin as it was
    (DATA[:5000], 5000, len(DATA), True),  # server's total = bytes held, but the manifest says more
    (DATA[:5000], len(DATA), None, True),  # server's total is more than the bytes held
    (DATA[:5000], None, None, False),  # no Content-Range: nothing says the .part is complete
], ids=["part-longer", "manifest-says-more", "server-says-more", "no-content-range"])
def test_416_that_does_not_match_the_bytes_held_restarts_from_zero(tmp_path, part, total, size, content_range):
    with Scripted(_range_416(total, content_range)) as srv:
        assert _fetch(srv, tmp_path, part=part, size=size).read_bytes() == DATA
        assert srv.ranges == [f"bytes={len(part)}-", None], "one restart from zero"


def test_a_server_that_keeps_answering_416_wrongly_is_refused_in_one_line(tmp_path):
    def handler(h):
        if h.headers.get("Range"):
            _send(h, 416, headers=[("Content-Range", "bytes */99999")])
        else:  # the download from byte 0 drops part-way: its resume meets the same 416
            _send(h, 200, DATA[:3000], [("Content-Length", str(len(DATA)))])

    with Scripted(handler) as srv, pytest.raises(DownloadError, match=r"HTTP 416 .*again after starting over") as err:
        _fetch(srv, tmp_path, part=DATA[:5000])
    assert "\n" not in str(err.value) and srv.url in str(err.value)
    assert srv.ranges == ["bytes=5000-", None, "bytes=3000-"]
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def _partial_from(offset_of):
    """206 with the bytes from ``offset_of(asked)`` on (asked: the Range's first byte, 0 without one); offset_of
    None: a 206 without Content-Range."""

    def handler(h):
        rng = h.headers.get("Range")
        asked = int(rng.split("=")[1].rstrip("-")) if rng else 0
        start = asked if offset_of is None else offset_of(asked)
        headers = [("Content-Length", str(len(DATA) - start))]
        if offset_of is not None:
            headers.append(("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"))
        _send(h, 206, DATA[start:], headers)

    return handler


def test_206_from_the_bytes_held_is_appended(tmp_path):
    with Scripted(_partial_from(lambda asked: asked)) as srv:
        assert _fetch(srv, tmp_path, part=DATA[:5000]).read_bytes() == DATA
        assert srv.ranges == ["bytes=5000-"]


@pytest.mark.parametrize("offset_of", [lambda asked: 0, lambda asked: max(0, asked - 1000), None],
                         ids=["from-zero", "from-elsewhere", "no-content-range"])
def test_206_from_another_offset_restarts_from_zero(tmp_path, offset_of):
    """The 206's bytes were appended to the .part whatever offset they started at (a corrupt file, taken as good
    where the manifest has no sha256)."""
    handler = _partial_from(offset_of)
    if offset_of is None:  # a 206 without Content-Range to a Range request; the whole file (200) otherwise
        handler = (lambda h, partial=handler: partial(h) if h.headers.get("Range") else _whole(h))
    with Scripted(handler) as srv:
        assert _fetch(srv, tmp_path, part=DATA[:5000]).read_bytes() == DATA
        assert srv.ranges == ["bytes=5000-", None]


def test_a_server_answering_206_from_the_wrong_byte_again_is_refused_in_one_line(tmp_path):
    srv = Scripted(_partial_from(lambda asked: 100))
    with srv, pytest.raises(DownloadError, match="HTTP 206 from byte 100") as err:
        _fetch(srv, tmp_path, part=DATA[:5000])
    assert "\n" not in str(err.value) and srv.url in str(err.value)
    assert srv.ranges == ["bytes=5000-", None]
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def _endless(h):
    """200 without Content-Length, then bytes until the client hangs up (8 MB at most, so a failing test ends)."""
    h.send_response(200)
    h.end_headers()
    try:
        for _ in range(8 * 2**20 // len(DATA)):
            h.wfile.write(DATA)
    except OSError:
        pass


def test_a_body_without_content_length_stops_at_the_manifest_size(tmp_path):
    """It was written until the server stopped (any number of bytes), then found corrupt."""
    with Scripted(_endless) as srv, pytest.raises(DownloadError, match="more than the 10240 bytes expected") as err:
        _fetch(srv, tmp_path, size=len(DATA))
    assert "\n" not in str(err.value) and srv.url in str(err.value)
    assert (tmp_path / "f.bin.corrupt").stat().st_size <= len(DATA), "nothing written past the size expected"
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_a_body_is_not_written_past_the_manifest_size_when_content_length_says_more(tmp_path):
    body = DATA * 3
    with Scripted(lambda h: _send(h, 200, body, [("Content-Length", str(len(body)))])) as srv:
        with pytest.raises(DownloadError, match="more than the 10240 bytes expected"):
            _fetch(srv, tmp_path, size=len(DATA))
    assert (tmp_path / "f.bin.corrupt").stat().st_size <= len(DATA)


@pytest.mark.parametrize("value", ["abc", "-5", "\u00b2"])
def test_an_unreadable_content_length_is_taken_as_absent(tmp_path, value):
    """int() of the header raised ValueError: a traceback. http.client reads such a body to its end; so do we."""
    with Scripted(lambda h: _send(h, 200, DATA, [("Content-Length", value)])) as srv:
        assert _fetch(srv, tmp_path).read_bytes() == DATA


def test_an_answer_that_is_not_http_is_one_line(tmp_path):
    """http.client's BadStatusLine (another service on that port, a broken proxy) ended in a traceback."""
    with Scripted(lambda h: h.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as srv:
        with pytest.raises(DownloadError, match="not valid HTTP") as err:
            _fetch(srv, tmp_path)
    assert "\n" not in str(err.value) and srv.url in str(err.value)
    assert len(srv.ranges) == 2, "retried like a host that cannot be reached"


class _FullDisk:
    """A file whose writes fail as on a full disk."""

    code, text = errno.ENOSPC, "No space left on device"

    def __init__(self, path, mode):
        self.fh = builtins.open(path, mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def write(self, block):
        raise OSError(self.code, self.text)


def test_a_full_disk_is_an_output_error_not_a_lost_connection(tmp_path, monkeypatch):
    """It was reported as 'connection lost after N retries' (and the file fetched again N times)."""
    monkeypatch.setattr(download, "open", _FullDisk, raising=False)
    with Scripted(_whole) as srv, pytest.raises(OutputError, match="No space left on device") as err:
        _fetch(srv, tmp_path)
    assert "\n" not in str(err.value) and "f.bin.part" in str(err.value)
    assert srv.ranges == [None], "not retried: the server is not at fault"


def test_a_200_answer_to_a_range_request_replaces_the_part(tmp_path):
    with Scripted(_whole) as srv:
        assert _fetch(srv, tmp_path, part=b"x" * 5000).read_bytes() == DATA
        assert srv.ranges == ["bytes=5000-"]


@pytest.mark.parametrize("code, text", [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")])
def test_a_part_that_cannot_be_written_for_lack_of_permission_does_not_ask_for_space(tmp_path, monkeypatch, code, text):
    """A read-only or forbidden .part was told to "free some space", which does not help."""
    class Denied(_FullDisk):
        pass

    Denied.code, Denied.text = code, text
    monkeypatch.setattr(download, "open", Denied, raising=False)
    with Scripted(_whole) as srv, pytest.raises(OutputError, match=text) as err:
        _fetch(srv, tmp_path)
    assert "free some space" not in str(err.value) and "another --dest" in str(err.value), str(err.value)
    assert srv.ranges == [None]
