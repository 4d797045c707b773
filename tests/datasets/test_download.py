"""Download path, for real, against an HTTP server on 127.0.0.1 serving the
shared data folder: success, checksum mismatch, a cut connection, a 404,
trust on first use and the offline error."""
from __future__ import annotations

import dataclasses
import functools
import http.server
import importlib
import threading

import pytest
import torch

from gnnkit.datasets import download, load
from gnnkit.datasets.download import ChecksumError, DownloadError, fetch, recorded_digest, sha256_file

catalog_mod = importlib.import_module("gnnkit.datasets.catalog")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        if self.path.startswith("/cut/"):  # announce the full length, send half, hang up
            path = self.translate_path(self.path[len("/cut"):])
            with open(path, "rb") as fh:
                data = fh.read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(data_root):
    handler = functools.partial(_Handler, directory=str(data_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.data
def test_fetch_success_verifies(server, data_root, tmp_path):
    src = data_root / "cora" / "raw" / "ind.cora.graph"
    digest = fetch(f"{server}/cora/raw/ind.cora.graph", tmp_path / "g", sha256_file(src), progress=False)
    assert digest == sha256_file(src) and (tmp_path / "g").read_bytes() == src.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["g"]  # no temporary left behind


@pytest.mark.data
def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match=r"checksum mismatch .*ind\.cora\.x: expected sha256 0{64}, got [0-9a-f]{64}"):
        fetch(f"{server}/cora/raw/ind.cora.x", tmp_path / "x", "0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.data
def test_connection_cut_mid_file(server, tmp_path):
    with pytest.raises(DownloadError, match=r"ind\.cora\.allx"):
        fetch(f"{server}/cut/cora/raw/ind.cora.allx", tmp_path / "allx", None, progress=False)
    assert list(tmp_path.iterdir()) == []
    assert recorded_digest(f"{server}/cut/cora/raw/ind.cora.allx") is None  # nothing trusted from a failure


@pytest.mark.data
def test_http_404(server, tmp_path):
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        fetch(f"{server}/cora/raw/no-such-file", tmp_path / "nope", None, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.data
def test_trust_on_first_use(server, tmp_path):
    url = f"{server}/gowalla/raw/test.txt"
    with pytest.warns(UserWarning, match="trust on first use"):
        first = fetch(url, tmp_path / "a.txt", None, progress=False)
    assert recorded_digest(url) == first
    assert fetch(url, tmp_path / "b.txt", None, progress=False) == first  # checked against the record, no warning
    download.record_digest(url, "f" * 64)  # a later copy that differs from the record is refused
    with pytest.raises(ChecksumError, match="expected sha256 f{64}"):
        fetch(url, tmp_path / "c.txt", None, progress=False)


def _local_entry(name, server):
    info = catalog_mod.get(name)
    files = tuple(dataclasses.replace(f, url=f"{server}/{name}/raw/{f.name}") for f in info.files)
    return dataclasses.replace(info, files=files)


@pytest.mark.data
def test_load_downloads_into_empty_root(server, data_root, tmp_path, monkeypatch):
    monkeypatch.setitem(catalog_mod._BY_NAME, "cora", _local_entry("cora", server))
    root = tmp_path / "root"
    g = load("cora", root=root, progress=False)
    ref = load("cora", root=data_root, download=False)
    assert torch.equal(g.x, ref.x) and torch.equal(g.edge_index, ref.edge_index)
    assert sorted(p.name for p in (root / "cora" / "raw").iterdir()) == sorted(
        f.name for f in catalog_mod.get("cora").files)


def test_offline_error_lists_files_destination_and_url(tmp_path):
    with pytest.raises(ValueError) as err:
        load("citeseer", root=tmp_path, download=False)
    text = str(err.value)
    assert "ind.citeseer.x" in text and "ind.citeseer.test.index" in text
    assert str(tmp_path / "citeseer" / "raw") in text
    assert "https://raw.githubusercontent.com/kimiyoung/planetoid/master/data/ind.citeseer.x" in text
    with pytest.raises(ValueError, match=r"ml-100k\.zip"):
        load("ml-100k", root=tmp_path, download=False)


@pytest.mark.data
def test_changed_raw_file_is_refused_and_never_served_from_cache(data_root, tmp_path):
    root = tmp_path / "root"
    raw = root / "lastfm" / "raw"
    raw.mkdir(parents=True)
    for f in ("data1.txt", "test1.txt", "trustnetwork.txt"):
        (raw / f).write_bytes((data_root / "lastfm" / "raw" / f).read_bytes())
    load("lastfm", root=root, download=False)
    with open(raw / "test1.txt", "a") as fh:
        fh.write("1\t1\t1\n")
    with pytest.raises(ChecksumError, match=r"test1\.txt: expected sha256 de4417c0"):
        load("lastfm", root=root, download=False)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown dataset 'coraa'; expected one of karate, cora"):
        load("coraa")
