"""Names are data, never paths: file names from scenario names, and output folders swapped in whole.

:func:`safe_name` is the one way a scenario name becomes a file or folder
name (default output folders of every command, batch partitions).
:func:`check_output` and :func:`swap_in` are how an output folder is
replaced: the new folder is written beside the target under a hidden
temporary name (``.grex-tmp-<pid>-<random>``) and exchanged with the old one
in one rename, so a result folder appears complete or not at all. A folder
that grex wrote holds a marker file, :data:`OUTPUT_MARKER`; a folder without
it that holds anything else is never replaced.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

from grex import __version__
from grex.errors import OutputError

__all__ = [
    "GREX_OUTPUT_NAMES",
    "MAX_NAME_BYTES",
    "OUTPUT_MARKER",
    "TEMP_PREFIX",
    "check_output",
    "make_staging",
    "remove_legacy",
    "remove_stale",
    "safe_name",
    "swap_in",
    "write_marker",
]

#: Most bytes of one file name on common file systems (ext4, APFS, NTFS in UTF-16 units).
MAX_NAME_BYTES = 255
#: Marker file in every output folder grex writes; a folder without it is not grex's.
OUTPUT_MARKER = ".grex-output"
#: Prefix of grex's temporary folders, followed by the process id and a random part.
TEMP_PREFIX = ".grex-tmp-"
#: Names grex writes into output folders (a folder of only these, written by an earlier
#: grex without a marker, is taken for grex's own).
GREX_OUTPUT_NAMES = frozenset(
    {
        "complexes.csv",
        "complexes.parquet",
        "years.csv",
        "years.parquet",
        "summary.json",
        "draws.parquet",
        "reserve_path.csv",
        "provision_path.csv",
        "reserve_years.parquet",
        "report.html",
        "report.pdf",
        "report.xlsx",
        "tornado.csv",
        "tornado.png",
        "variance_shares.csv",
        "diff.csv",
        "waterfall.png",
        "comparison.csv",
        "comparison.xlsx",
        "simulation",
        "report",
        "sensitivity",
        "dataset",
        OUTPUT_MARKER,
    }
)

# Characters kept as they are in a name: everything printable except these, which are
# percent-encoded (as pyarrow's Hive partitioning decodes them): path separators, the
# percent sign itself, and the characters Windows refuses in file names.
_ENCODED = set('/\\%:*?"<>|')
_TEMP = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)-[0-9a-f]+(\.old)?$")


def _encode_char(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8"))


def safe_name(name: str, *, reserve: int = 0) -> str:
    """A scenario name as one file or folder name: readable where safe, never a path.

    Path separators, ``%``, NUL and other control characters and the
    characters Windows refuses (``:*?"<>|``) are percent-encoded, as is a
    leading ``.`` (so neither ``.`` nor ``..`` nor a hidden name can come
    out); everything else is kept. A name whose encoding exceeds
    :data:`MAX_NAME_BYTES` − ``reserve`` bytes (UTF-8) is cut and ends in
    ``~`` and 16 hexadecimal digits of the SHA-256 of the whole name, so
    different long names stay different.

    Parameters
    ----------
    name : str
    reserve : int, keyword-only
        Bytes of the file name taken by a prefix or suffix (``scenario=``).

    Examples
    --------
    >>> safe_name("disconto-tempo[discount_rate=0.01,market_pace.mode=0.8]")
    'disconto-tempo[discount_rate=0.01,market_pace.mode=0.8]'
    >>> safe_name(".."), safe_name("a/b"), safe_name("50%")
    ('%2E.', 'a%2Fb', '50%25')
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a name must be a non-empty string, not {name!r}")
    out = []
    for i, char in enumerate(name):
        if char in _ENCODED or not char.isprintable() or (i == 0 and char == "."):
            out.append(_encode_char(char))
        else:
            out.append(char)
    encoded = "".join(out)
    room = MAX_NAME_BYTES - reserve
    if len(encoded.encode("utf-8")) <= room:
        return encoded
    digest = "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    keep = room - len(digest)
    cut = encoded.encode("utf-8")[:keep].decode("utf-8", "ignore")
    # do not cut inside a %XX escape
    cut = re.sub(r"%[0-9A-F]?$", "", cut)
    return cut + digest


# -- output folders ------------------------------------------------------------------


def _is_grex_entry(entry: Path) -> bool:
    if entry.name in GREX_OUTPUT_NAMES or _TEMP.match(entry.name) or entry.name.startswith("waterfall"):
        return True
    return entry.is_dir() and not entry.is_symlink() and (entry / OUTPUT_MARKER).is_file()


def _is_grex_folder(folder: Path) -> bool:
    if (folder / OUTPUT_MARKER).is_file():
        return True
    return all(_is_grex_entry(entry) for entry in folder.iterdir())


def check_output(out_dir: str | Path) -> Path:
    """Check that grex may write the output folder ``out_dir``; returns it as an absolute path.

    Raises
    ------
    OutputError
        ``out_dir`` is a file (or a link to one), or a folder that grex did
        not write: one without :data:`OUTPUT_MARKER` holding anything other
        than grex's own outputs.
    OSError
        ``out_dir`` cannot be examined (permission, a name too long, ...).
    """
    shown = str(out_dir)
    if not shown or "\x00" in shown:
        raise OutputError(repr(shown), "is not a usable folder name")
    path = Path(os.path.abspath(out_dir))
    if path.is_symlink() and path.is_dir():
        path = path.resolve()  # write where the link points: beside the real folder, on its file system
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise OutputError(shown, "exists and is not a folder; name a folder with --out")
        if path.parent == path or not _is_grex_folder(path):
            raise OutputError(
                shown,
                f"is a folder that grex did not write (it has no {OUTPUT_MARKER} marker) and it is not empty; "
                "grex does not replace it: name a new or empty folder with --out",
            )
    return path


def remove_stale(folder: Path) -> None:
    """Remove grex's temporary folders in ``folder`` left by runs that were killed.

    A temporary folder is stale when the process that made it (its name
    carries the process id) no longer runs. Folders of running processes and
    anything not named as grex's are left alone.
    """
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TEMP.match(entry.name)
        if not match or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def remove_legacy(target: Path) -> None:
    """Remove the temporary folders that grex before 0.x named after ``target`` (``.<name>.<8 characters>.tmp``).

    They carry no process id; they are left by a run that was killed, as
    today's grex writes none.
    """
    pattern = re.compile(re.escape(f".{target.name}.") + r"[a-z0-9_]{8}\.tmp$")
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if pattern.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there; keep its folders
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def make_staging(parent: Path) -> Path:
    """A new hidden temporary folder of grex in ``parent`` (created), after removing stale ones."""
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale(parent)
    staging = parent / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()
    except OSError as error:  # name the folder the user chose, not the temporary one
        raise OSError(error.errno, f"cannot create a folder in it: {error.strerror}", str(parent)) from None
    return staging


def write_marker(folder: Path) -> None:
    """Write :data:`OUTPUT_MARKER` into ``folder``: JSON naming grex's version and the files it wrote there.

    The next run into the folder replaces those files and keeps anything else.
    """
    files = sorted(p.name for p in folder.iterdir() if p.name != OUTPUT_MARKER)
    note = "written by grex; grex replaces this folder whole on its next run into it, keeping files not listed here"
    text = json.dumps({"grex_version": __version__, "note": note, "files": files}, indent=2, ensure_ascii=False)
    (folder / OUTPUT_MARKER).write_text(text + "\n", encoding="utf-8")


def _own_files(folder: Path) -> set[str]:
    """The files grex wrote into ``folder`` by its marker (empty where it has none or cannot be read)."""
    try:
        files = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_EXCHANGE = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap the folders ``a`` and ``b`` in one atomic rename (Linux ``renameat2``); False where not possible."""
    if _EXCHANGE is None:
        return False
    result = _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)  # type: ignore[operator]
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the kernel or file system cannot exchange: rename in two steps
    raise OSError(code, os.strerror(code), str(b))


def swap_in(staging: Path, target: Path, *, keep_foreign: bool = True) -> None:
    """Put the complete folder ``staging`` in the place of ``target``; the previous one goes.

    With ``target`` absent, one rename. Otherwise the two folders are
    exchanged in one rename where the system can (else ``target`` is renamed
    aside and ``staging`` into place, the old one put back on failure), and
    only then is the previous folder removed. With ``keep_foreign``, entries
    of the previous folder that the new one does not hold and that are not
    grex's own files (listed in its marker, or of :data:`GREX_OUTPUT_NAMES`;
    a user's notes, the ``simulation/`` output nested in a run folder) are
    moved into the new one rather than removed.

    Raises
    ------
    OutputError
        The previous folder holds a folder under the name of a file of the new
        output (grex does not remove a folder it did not write).
    """
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
        return
    if keep_foreign:
        for entry in staging.iterdir():
            old = target / entry.name
            if entry.name != OUTPUT_MARKER and old.is_dir() and not old.is_symlink() and not entry.is_dir():
                raise OutputError(old, "is a folder in the way of an output file; grex does not remove it")
    if exchange(staging, target):
        previous = staging
    else:
        previous = target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}.old")
        os.rename(target, previous)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(previous, target)
            raise
    try:
        if keep_foreign:
            own = _own_files(previous)
            for entry in list(previous.iterdir()):
                if (entry.name in GREX_OUTPUT_NAMES or entry.name in own) and not _nested_output(entry):
                    continue
                if entry.name.startswith("waterfall") and entry.suffix == ".png":
                    continue
                if not (target / entry.name).exists() and not (target / entry.name).is_symlink():
                    os.rename(entry, target / entry.name)
    finally:
        shutil.rmtree(previous, ignore_errors=True)


def _nested_output(entry: Path) -> bool:
    """An output folder of another command nested in this one (``simulation/`` in a run folder)."""
    return (
        entry.is_dir() and not entry.is_symlink() and entry.name in ("simulation", "report", "sensitivity", "dataset")
    )
