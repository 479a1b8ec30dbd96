"""Download, checksum and cache machinery of the real-data loaders.

The downloads come from an HTTP server on 127.0.0.1 started here, serving a temporary copy
of the raw files (found through ``$PERGDRO_DATA_HOME`` or ``<repo>/../shared/data``; the
tests that need them are skipped without them). Nothing leaves the machine.
"""

import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from pergdro_sklearn._constants import DOWNLOAD_RETRIES
from pergdro_sklearn.datasets import (
    fetch_adult,
    fetch_communities_crime,
    fetch_compas,
    get_data_home,
)
from pergdro_sklearn.datasets._adult import ADULT_FILES
from pergdro_sklearn.datasets._base import file_sha256
from pergdro_sklearn.datasets._communities import COMMUNITIES_FILE
from pergdro_sklearn.datasets._compas import COMPAS_FILE

_REPO = Path(__file__).resolve().parents[1]
DATA_HOME = Path(os.environ.get("PERGDRO_DATA_HOME") or _REPO.parent / "shared" / "data")
REMOTES = {
    "compas": (fetch_compas, [COMPAS_FILE]),
    "adult": (fetch_adult, list(ADULT_FILES)),
    "communities": (fetch_communities_crime, [COMMUNITIES_FILE]),
}
ALL_FILES = [remote for _, remotes in REMOTES.values() for remote in remotes]
needs_data = pytest.mark.skipif(
    not all((DATA_HOME / r.folder / r.filename).is_file() for r in ALL_FILES),
    reason="real data sets not found: set PERGDRO_DATA_HOME or provide <repo>/../shared/data",
)


class _Server:
    """A local mirror: serves ``root`` over HTTP and records the requested paths.

    ``mode`` changes what a GET returns: ``"ok"``; ``"truncate"`` (announces the full length,
    sends half the body and closes the connection); ``"short"`` (a consistent but truncated
    response: half the body with that length); ``"corrupt"`` (one byte changed).
    """

    def __init__(self, root):
        self.root, self.mode, self.requests = Path(root), "ok", []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - name fixed by http.server
                server.requests.append(self.path)
                path = server.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                announced = len(body)
                if server.mode in ("truncate", "short"):
                    body = body[: len(body) // 2]
                    announced = len(body) if server.mode == "short" else announced
                elif server.mode == "corrupt":
                    body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
                self.send_response(200)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def mirror(tmp_path):
    """An HTTP mirror of a temporary copy of the raw files, laid out as the data folder."""
    root = tmp_path / "mirror"
    for remote in ALL_FILES:
        source = DATA_HOME / remote.folder / remote.filename
        if source.is_file():
            (root / remote.folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, root / remote.folder / remote.filename)
    server = _Server(root)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    """Failed downloads are retried (sklearn.datasets.fetch_file); here without waiting."""
    monkeypatch.setattr("pergdro_sklearn.datasets._base.DOWNLOAD_RETRY_DELAY", 0)


def _files_in(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


def test_get_data_home_argument_environment_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PERGDRO_DATA_HOME", raising=False)
    default = get_data_home()
    assert default == str(tmp_path / "home" / "pergdro_sklearn_data")
    assert os.path.isdir(default)
    monkeypatch.setenv("PERGDRO_DATA_HOME", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    assert os.path.isdir(tmp_path / "explicit")
    monkeypatch.setenv("PERGDRO_DATA_HOME", "~/elsewhere")
    assert get_data_home() == str(tmp_path / "home" / "elsewhere")


def test_stored_checksums_match_the_files():
    for remote in ALL_FILES:
        path = DATA_HOME / remote.folder / remote.filename
        if not path.is_file():
            pytest.skip(f"{path} not found")
        assert path.stat().st_size == remote.size
        assert file_sha256(path) == remote.sha256
        assert hashlib.sha256(path.read_bytes()).hexdigest() == remote.sha256


@needs_data
def test_local_folder_serves_as_data_home_without_download():
    # An unreachable mirror proves that nothing is downloaded.
    bunch = fetch_communities_crime(data_home=DATA_HOME, base_url="http://127.0.0.1:9")
    assert bunch.data.shape == (1994, 96)
    bunch = fetch_compas(data_home=str(DATA_HOME), download_if_missing=False)
    assert bunch.data.shape == (6172, 9)


@needs_data
@pytest.mark.parametrize("name", list(REMOTES))
def test_download_from_local_server_verifies_and_reuses_the_cache(name, mirror, tmp_path):
    loader, remotes = REMOTES[name]
    cache = tmp_path / "cache"
    downloaded = loader(data_home=cache, base_url=mirror.url)
    assert mirror.requests == [f"/{r.folder}/{r.filename}" for r in remotes]
    for remote in remotes:
        path = cache / remote.folder / remote.filename
        assert file_sha256(path) == remote.sha256
        assert _files_in(path.parent) == sorted(r.filename for r in remotes)  # no temp file
    again = loader(data_home=cache, base_url=mirror.url)
    assert len(mirror.requests) == len(remotes)  # the second call reads the cache
    local = loader(data_home=DATA_HOME, download_if_missing=False)
    for bunch in (downloaded, again):
        np.testing.assert_array_equal(bunch.data, local.data)
        np.testing.assert_array_equal(bunch.target, local.target)
        np.testing.assert_array_equal(bunch.groups, local.groups)


@needs_data
def test_base_url_and_data_home_from_the_environment(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("PERGDRO_DATA_HOME", str(tmp_path / "env_cache"))
    monkeypatch.setenv("PERGDRO_DATA_BASE_URL", mirror.url + "/")
    bunch = fetch_compas(groups="sex")
    assert mirror.requests == ["/compas/compas-scores-two-years.csv"]
    assert (tmp_path / "env_cache" / "compas" / "compas-scores-two-years.csv").is_file()
    assert bunch.group_names.tolist() == ["Female", "Male"]


def test_missing_file_without_download_names_path_and_source(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        fetch_compas(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(tmp_path / "compas" / "compas-scores-two-years.csv") in message
    assert COMPAS_FILE.url in message
    assert "download_if_missing=True" in message
    assert "data_home=" in message and "$PERGDRO_DATA_HOME" in message
    with pytest.raises(FileNotFoundError, match="http://mirror.example/adult/adult.data"):
        fetch_adult(data_home=tmp_path, download_if_missing=False,
                    base_url="http://mirror.example")
    assert _files_in(tmp_path / "compas") == []


@needs_data
def test_corrupted_file_in_the_cache_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "communities_crime"
    folder.mkdir()
    raw = (DATA_HOME / "communities_crime" / "communities.data").read_bytes()
    corrupted = raw.replace(b"0.2", b"0.3", 1)
    (folder / "communities.data").write_bytes(corrupted)
    with pytest.raises(OSError, match="corrupted or not the expected version") as info:
        fetch_communities_crime(data_home=tmp_path, base_url="http://127.0.0.1:9")
    assert str(folder / "communities.data") in str(info.value)
    assert COMMUNITIES_FILE.sha256 in str(info.value)
    assert "http://127.0.0.1:9/communities_crime/communities.data" in str(info.value)
    assert (folder / "communities.data").read_bytes() == corrupted


@needs_data
@pytest.mark.parametrize(
    "mode, reason",
    [
        ("truncate", "retrieval incomplete: got only 1273244 out of 2546489 bytes"),
        ("short", "SHA256 checksum .* differs from expected"),
        ("corrupt", "SHA256 checksum .* differs from expected"),
    ],
)
def test_bad_download_is_refused_and_leaves_nothing(mode, reason, mirror, tmp_path):
    mirror.mode = mode
    with pytest.raises(OSError, match=reason) as info:
        fetch_compas(data_home=tmp_path, base_url=mirror.url)
    message = str(info.value)
    assert str(tmp_path / "compas" / "compas-scores-two-years.csv") in message
    assert f"{mirror.url}/compas/compas-scores-two-years.csv" in message
    assert "Nothing was kept" in message
    assert _files_in(tmp_path / "compas") == []
    # a broken connection is retried (sklearn.datasets.fetch_file), bad bytes are not
    assert len(mirror.requests) == (1 + DOWNLOAD_RETRIES if mode == "truncate" else 1)
    # a good download afterwards succeeds
    mirror.mode = "ok"
    assert fetch_compas(data_home=tmp_path, base_url=mirror.url).data.shape == (6172, 9)
    assert _files_in(tmp_path / "compas") == ["compas-scores-two-years.csv"]


def test_offline_error_names_data_home_and_the_environment_variable(tmp_path):
    # nothing listens on port 9: the connection fails as it does without a network
    with pytest.raises(OSError, match="Could not download") as info:
        fetch_compas(data_home=tmp_path, base_url="http://127.0.0.1:9")
    message = str(info.value)
    assert "data_home=" in message and "$PERGDRO_DATA_HOME" in message
    assert "compas/compas-scores-two-years.csv" in message
    assert "base_url=" in message and "$PERGDRO_DATA_BASE_URL" in message
    assert _files_in(tmp_path / "compas") == []


def test_download_goes_through_sklearn_fetch_file(tmp_path, monkeypatch):
    calls = []

    def fake_fetch_file(url, folder=None, local_filename=None, sha256=None, n_retries=3,
                        delay=1):
        calls.append((url, Path(folder), local_filename, sha256, n_retries))
        raise OSError("no network here")

    monkeypatch.setattr("pergdro_sklearn.datasets._base.sklearn_fetch_file", fake_fetch_file)
    with pytest.raises(OSError, match="no network here"):
        fetch_compas(data_home=tmp_path)
    assert calls == [(COMPAS_FILE.url, tmp_path / "compas", COMPAS_FILE.filename,
                      COMPAS_FILE.sha256, DOWNLOAD_RETRIES)]


def test_failed_download_names_url_and_leaves_nothing(tmp_path):
    server = _Server(tmp_path / "empty")  # every file is a 404
    try:
        with pytest.raises(OSError, match="HTTP Error 404") as info:
            fetch_communities_crime(data_home=tmp_path / "cache", base_url=server.url)
    finally:
        server.close()
    assert f"{server.url}/communities_crime/communities.data" in str(info.value)
    assert _files_in(tmp_path / "cache" / "communities_crime") == []


def test_parameters_are_validated(tmp_path):
    with pytest.raises(ValueError, match="groups"):
        fetch_compas(data_home=tmp_path, groups="age")
    with pytest.raises(ValueError, match="groups"):
        fetch_communities_crime(data_home=tmp_path, groups="race")
    with pytest.raises(ValueError, match="download_if_missing"):
        fetch_adult(data_home=tmp_path, download_if_missing="no")


def test_unwritable_data_folder_gives_a_clear_error(tmp_path):
    (tmp_path / "compas").write_text("a file where the data set's folder should be")
    with pytest.raises(OSError, match="Cannot write the data file .*writable data_home"):
        fetch_compas(data_home=tmp_path, base_url="http://127.0.0.1:9")
