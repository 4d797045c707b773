"""Issue 15, downloads: a trickling server hits a deadline, a short body is never trusted.

A real HTTP server on 127.0.0.1 plays the misbehaving host.
"""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from gnnkit.datasets import download
from gnnkit.datasets.download import DownloadError, fetch, recorded_digest

BODY = bytes(range(256)) * 64  # 16 KiB


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a body without Content-Length ends when the connection closes

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            if self.path == "/trickle":  # one byte every 0.5 s, forever
                self.send_response(200)
                self.end_headers()
                for _ in range(600):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif self.path == "/short-unannounced":  # no Content-Length, closes after half the body
                self.send_response(200)
                self.end_headers()
                self.wfile.write(BODY[: len(BODY) // 2])
            elif self.path == "/whole-unannounced":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(BODY)
            elif self.path == "/whole":
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: what the test wants
            pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GNNKIT_CACHE", str(tmp_path / "cache"))


def test_trickling_server_stops_at_the_minimum_rate(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"trickle is too slow: \d+ bytes/s over the last"):
        fetch(f"{server}/trickle", tmp_path / "f", "0" * 64, progress=False, timeout=2)
    assert time.monotonic() - start < 8  # old: still running after 30 s
    assert list(tmp_path.glob("f*")) == [] and not list(tmp_path.glob(".f*"))


def test_trickling_server_stops_at_the_deadline(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"passed its deadline of 1\.5 s"):
        fetch(f"{server}/trickle", tmp_path / "f", "0" * 64, progress=False, timeout=30, deadline=1.5)
    assert time.monotonic() - start < 6


def test_short_body_without_length_is_never_trusted(server, tmp_path):
    url = f"{server}/short-unannounced"
    with pytest.warns(UserWarning, match="cannot be verified and its digest was not recorded"):
        fetch(url, tmp_path / "f", None, progress=False)
    assert recorded_digest(url) is None  # old: the short file's digest became the trusted one


def test_short_body_against_the_catalog_size(server, tmp_path):
    with pytest.raises(DownloadError, match=f"got {len(BODY) // 2} bytes, the catalog expects {len(BODY)}"):
        fetch(f"{server}/short-unannounced", tmp_path / "f", None, progress=False, size=len(BODY))
    assert not (tmp_path / "f").exists()


def test_confirmed_length_is_trusted_on_first_use(server, tmp_path):
    for path, kwargs in (("/whole", {}), ("/whole-unannounced", {"size": len(BODY)})):
        with pytest.warns(UserWarning, match="trust on first use"):
            digest = fetch(f"{server}{path}", tmp_path / path.strip("/"), None, progress=False, **kwargs)
        assert recorded_digest(f"{server}{path}") == digest


def test_disk_error_while_downloading_names_the_destination(server, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DownloadError, match=r"could not save .*not-a-dir/f"):
        fetch(f"{server}/whole", blocker / "f", download.sha256_file(blocker), progress=False)
