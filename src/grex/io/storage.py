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

Inputs may be URLs too: a scenario file (``grex batch s3://bucket/s.toml``,
``grex run``, ``grex simulate``), the files it ``extends`` and the portfolio
it names (relative to the file, or a URL of its own). :func:`local_input`
copies each such file, and a portfolio folder's files, once into a private
temporary folder of this process that mirrors the URLs (``<tmp>/s3/bucket/...``),
so that relative names resolve as they do on the storage and the readers of
local files read them unchanged; messages name the URL, not the copy
(:func:`grex.errors.shown`). A storage that cannot be reached, denied
credentials or an unknown bucket is a :class:`StorageError` naming the URL;
a file missing in a reachable bucket is "not found", as a missing local file.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from grex.errors import ALIASES, InputError

__all__ = ["EXTRAS", "Location", "StorageError", "expand_url", "fetch_mirrored", "is_url", "local_input", "location"]

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


# -- remote inputs: copied once into a private folder that mirrors the URLs ------------------


class StorageError(InputError):
    """A remote input that cannot be read: no answer, denied credentials, an unknown bucket, a missing package.

    Unlike a bad scenario (reported while the batch's others run), the whole command stops: exit status 2.
    """


#: The mirror of this process (created on first use, removed at exit).
_MIRROR: list[Path] = []
#: Most bytes one remote input may hold (a scenario file, a portfolio file or workbook).
MAX_INPUT_BYTES = 1 << 30


def _mirror() -> Path:
    if not _MIRROR:
        root = Path(tempfile.mkdtemp(prefix="grex-inputs-")).resolve()
        atexit.register(shutil.rmtree, root, True)
        _MIRROR.append(root)
    return _MIRROR[0]


def _filesystem(url: str, what: str) -> tuple[Any, str]:
    protocol = url.split("://", 1)[0].lower()
    try:
        from fsspec.core import url_to_fs

        return url_to_fs(url)
    except ImportError as error:
        extra = EXTRAS.get(protocol)
        hint = f"pip install 'grex[{extra}]'" if extra else str(error)
        raise StorageError(
            url, None, f"reading a {what} from {protocol}:// needs its fsspec filesystem: {hint}"
        ) from None
    except (ValueError, TypeError) as error:
        raise StorageError(url, None, f"not a storage URL grex can read ({error})") from None


def local_input(path: str | Path, what: str = "scenario file") -> Path:
    """The local path of an input: ``path`` itself, or for a URL its copy in this process's mirror.

    A ``file://`` URL is its local path. Any other URL is copied (a file, or
    the files of a folder: a portfolio) unless copied before; a URL that does
    not exist in a reachable bucket gives a path that does not exist, so that
    the reader says "not found" (naming the URL).

    Raises
    ------
    StorageError
        The protocol's package is missing, the storage cannot be reached,
        the credentials are denied or the bucket does not exist.
    """
    if not is_url(path):
        return Path(path)
    url = str(path)
    protocol, rest = url.split("://", 1)
    protocol = protocol.lower()
    if protocol == "file":
        return Path(_filesystem(url, what)[1])
    root = _mirror()
    key = f"{root}/{protocol}/"
    ALIASES.setdefault(key, f"{protocol}://")
    target = root / protocol / rest.strip("/")
    if not target.exists():
        _fetch(url, target, what)
    return target


def fetch_mirrored(path: Path, what: str = "scenario file") -> None:
    """Copy ``path`` from its URL where it lies in the mirror but is not here yet (a name relative to a remote file)."""
    if not _MIRROR or path.exists():
        return
    try:
        relative = Path(path).resolve().relative_to(_MIRROR[0])
    except ValueError:  # a local path: nothing to fetch
        return
    if len(relative.parts) < 2:
        return
    _fetch(f"{relative.parts[0]}://{'/'.join(relative.parts[1:])}", path, what)


def _fetch(url: str, target: Path, what: str) -> None:
    fs, root = _filesystem(url, what)
    try:
        try:
            info = fs.info(root)
        except FileNotFoundError:
            bucket = root.split("/", 1)[0]
            if not fs.exists(bucket):
                raise StorageError(
                    url, None, f"the bucket or container {bucket!r} does not exist or is not yours"
                ) from None
            return  # reachable, not there: the reader says "not found"
        if info.get("type") == "directory":
            target.mkdir(parents=True, exist_ok=True)
            for entry in fs.ls(root, detail=True):
                name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
                if entry.get("type") == "file" and not name.startswith("."):
                    _copy(fs, entry["name"], target / name, entry.get("size"), url)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(fs, root, target, info.get("size"), url)
    except InputError:
        raise
    except PermissionError as error:
        raise StorageError(
            url, None, f"cannot read the {what}: access denied, check the credentials ({type(error).__name__}: {error})"
        ) from None
    except Exception as error:  # the filesystems raise their own kinds: credentials, network, permissions
        raise StorageError(url, None, f"cannot read the {what}: {type(error).__name__}: {error}") from None


def _copy(fs: Any, key: str, target: Path, size: Any, url: str) -> None:
    if isinstance(size, int) and size > MAX_INPUT_BYTES:
        raise StorageError(url, None, f"{key} holds {size:,} bytes, more than an input may ({MAX_INPUT_BYTES:,})")
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        staging.write_bytes(bytes(fs.cat_file(key)))
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)


def expand_url(path: str | Path) -> list[str | Path]:
    """``path`` as a list: a URL with ``*`` or ``?`` (``s3://bucket/b24/*.toml``, which no shell expands) becomes
    the URLs it matches, sorted (the pattern itself where it matches none: "not found" then names it)."""
    if not is_url(path) or not any(c in str(path) for c in "*?"):
        return [path]
    url = str(path)
    protocol = url.split("://", 1)[0]
    fs, root = _filesystem(url, "scenario file")
    try:
        found = sorted(fs.glob(root))
    except Exception as error:  # the filesystems raise their own kinds: credentials, network, permissions
        raise StorageError(url, None, f"cannot list the scenario files: {type(error).__name__}: {error}") from None
    return [f"{protocol}://{key}" for key in found] or [url]
