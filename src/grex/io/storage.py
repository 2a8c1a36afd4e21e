"""Remote output locations of a batch: fsspec URLs (``s3://``, ``gcs://``, ``abfs://``, ``file://``).

A batch folder given as a URL is written through :mod:`fsspec` by whichever
process finishes a scenario (on a Dask cluster: the worker), with the same
layout and the same rules as a local folder (:mod:`grex.io.batch`): each
partition file is written under a hidden temporary key and then moved into
place (on object storage a copy and a delete; a key is never half-written),
and ``_complete.json`` last, so a partition without its marker is not taken
for complete and a rerun writes it again. A local path is not handled here:
it keeps the local code (renames of whole folders, :func:`grex.io.paths.swap_in`).

The filesystem of a URL needs its fsspec package: ``s3fs`` for ``s3://``
(``pip install 'grex[s3]'``), ``gcsfs`` for ``gcs://`` (``grex[gcs]``),
``adlfs`` for ``abfs://`` (``grex[azure]``). Credentials come from the usual
places of each (for S3: the environment, ``~/.aws``; an S3-compatible server:
``AWS_ENDPOINT_URL`` or ``FSSPEC_S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from grex.errors import InputError

__all__ = ["EXTRAS", "Location", "is_url", "location"]

#: The optional extra of grex that installs the fsspec filesystem of each protocol.
EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "abfs": "azure",
    "abfss": "azure",
    "az": "azure",
}

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_url(path: Any) -> bool:
    """Whether ``path`` is a URL (``scheme://...``) rather than a local path (``C:\\`` is a path)."""
    return isinstance(path, str) and bool(_URL.match(path))


class Location:
    """A folder at a URL: files written and read through fsspec, paths relative to it."""

    def __init__(self, url: str, fs: Any, root: str) -> None:
        self.url = url.rstrip("/")
        self.fs = fs
        self.root = root.rstrip("/")

    def __reduce__(self) -> tuple[Any, ...]:  # travels to workers as its URL; each opens its own filesystem
        return (_reopen, (self.url,))

    def __str__(self) -> str:
        return self.url

    def __fspath__(self) -> str:  # not a local path
        raise TypeError(f"{self.url} is a URL, not a local path")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def read_bytes(self, *parts: str) -> bytes | None:
        """A file's contents, None where it does not exist."""
        try:
            return bytes(self.fs.cat_file(self.path(*parts)))
        except FileNotFoundError:
            return None

    def write_bytes(self, parts: tuple[str, ...], data: bytes) -> None:
        """Write a file under a hidden temporary key in its folder, then move it into place."""
        target = self.path(*parts)
        staging = self.path(*parts[:-1], f".grex-tmp-{uuid.uuid4().hex}", parts[-1])
        self.fs.pipe_file(staging, data)
        try:
            if self.url.startswith("file://"):
                self.fs.mv(staging, target)  # a rename
                self.fs.rmdir(staging.rsplit("/", 1)[0])  # the emptied temporary folder
            else:  # object storage has no rename: a copy (whole or not at all), then the delete
                self.fs.cp_file(staging, target)
        finally:
            try:  # single-file calls: names hold [ and ], which fs.rm and fs.mv read as glob patterns
                self.fs.rm_file(staging)
            except OSError:  # gone already (renamed): nothing is left to remove
                pass

    def remove(self, *parts: str) -> None:
        try:
            self.fs.rm_file(self.path(*parts))
        except FileNotFoundError:
            pass

    def folders(self, *parts: str) -> list[str]:
        """Names of the folders in a folder (none where it does not exist), sorted."""
        try:
            entries = self.fs.ls(self.path(*parts), detail=True, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")


def _reopen(url: str) -> Location:
    """A :class:`Location` opened again where it arrives (a worker), without the checks of :func:`location`."""
    from fsspec.core import url_to_fs

    protocol = url.split("://", 1)[0].lower()
    fs, root = url_to_fs(url, auto_mkdir=True) if protocol == "file" else url_to_fs(url)
    return Location(url, fs, root)


def location(url: str) -> Location:
    """The :class:`Location` of a URL, checked: its filesystem installed and its folder reachable.

    Raises
    ------
    InputError
        The protocol's package is missing (the message names the extra to
        install), or the location cannot be reached or listed (unknown
        bucket, denied credentials, no answer).
    """
    protocol = url.split("://", 1)[0].lower()
    try:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(url, auto_mkdir=True) if protocol == "file" else url_to_fs(url)
    except ImportError as error:
        extra = EXTRAS.get(protocol)
        hint = f"pip install 'grex[{extra}]'" if extra else str(error)
        raise InputError(None, "--out", f"writing to {protocol}:// needs its fsspec filesystem: {hint}") from None
    except (ValueError, TypeError) as error:
        raise InputError(None, "--out", f"{url} is not a storage URL grex can write ({error})") from None
    place = Location(url, fs, root)
    if protocol == "file":
        return place
    bucket = root.split("/", 1)[0]
    try:
        if not fs.exists(bucket):
            raise InputError(None, "--out", f"{url}: the bucket or container {bucket!r} does not exist or is not yours")
        fs.ls(root if fs.exists(root) else bucket, refresh=True)
    except InputError:
        raise
    except Exception as error:  # the filesystems raise their own kinds: credentials, network, permissions
        raise InputError(None, "--out", f"cannot reach {url}: {type(error).__name__}: {error}") from None
    return place
