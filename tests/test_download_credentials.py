"""Kaggle credentials go to kaggle.com over https only: never to a mirror, nor to where a redirect leads."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cardiacml.datasets import download
from cardiacml.datasets.download import RemoteFile, download_file


@pytest.fixture
def servers():
    seen = []
    body = b"x" * 100

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append((self.server.server_address[1], self.path, self.headers.get("Authorization")))
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{other.server_address[1]}/f.bin")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    first, other = ThreadingHTTPServer(("127.0.0.1", 0), H), ThreadingHTTPServer(("127.0.0.1", 0), H)
    for s in (first, other):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield first, other, seen
    for s in (first, other):
        s.shutdown()
        s.server_close()


def test_auth_headers_only_for_kaggle_hosts_over_https(monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    assert download._auth_headers("https://www.kaggle.com/api/v1/datasets/download/x")
    assert download._auth_headers("https://kaggle.com/x")
    for url in ("https://mirror.example.org/kaggle.com/heartbeat.zip", "https://kaggle.com.example.org/x",
                "https://notkaggle.com/x", "http://www.kaggle.com/x", "https://example.org/x?u=kaggle.com"):
        assert download._auth_headers(url) == {}, url


def test_mirror_whose_address_names_kaggle_gets_no_credentials(tmp_path, servers, monkeypatch):
    first, _, seen = servers
    monkeypatch.setenv("KAGGLE_USERNAME", "alice")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    rf = RemoteFile(f"http://127.0.0.1:{first.server_address[1]}/kaggle.com/f.bin", "f.bin")
    download_file(rf, tmp_path, show_progress=False)
    assert seen and all(auth is None for _, _, auth in seen)


def test_credentials_are_not_passed_on_through_a_redirect(tmp_path, servers, monkeypatch):
    first, other, seen = servers
    monkeypatch.setattr(download, "_auth_headers", lambda url: {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
                        if f":{first.server_address[1]}/" in url else {})
    rf = RemoteFile(f"http://127.0.0.1:{first.server_address[1]}/redirect", "f.bin")
    assert download_file(rf, tmp_path, show_progress=False).read_bytes() == b"x" * 100
    by_port = {port: auth for port, _, auth in seen}
    assert by_port[first.server_address[1]] == "Basic YWxpY2U6c2VjcmV0"
    assert by_port[other.server_address[1]] is None


def test_tokens_and_passwords_in_addresses_are_never_shown_nor_recorded(tmp_path, servers):
    import socket

    from cardiacml.errors import DownloadError

    first, _, seen = servers
    port = first.server_address[1]
    signed = RemoteFile(f"http://127.0.0.1:{port}/f.bin?X-Amz-Signature=SIGSECRET&token=TOKSECRET", "f.bin")
    download.download_dataset([signed], tmp_path / "ok", show_progress=False)
    assert seen[-1][1].endswith("token=TOKSECRET")  # sent to the server as given
    marker = (tmp_path / "ok" / ".f.bin.done").read_text()
    assert "SECRET" not in marker and "X-Amz-Signature=***" in marker
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    for url in (f"http://127.0.0.1:{closed}/f.bin?token=TOKSECRET", f"http://alice:PWSECRET@127.0.0.1:{closed}/f.bin",
                "http://alice:PWSECRET@127.0.0.1/f.bin", "ftp://alice:PWSECRET@127.0.0.1/f.bin?t=TOKSECRET"):
        with pytest.raises(DownloadError) as err:
            download_file(RemoteFile(url, "g.bin"), tmp_path / "bad", retries=0, timeout=2, show_progress=False)
        assert "SECRET" not in str(err.value) and "***" in str(err.value), str(err.value)
