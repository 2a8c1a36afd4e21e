"""The error types a user can cause: bad input, and an output that cannot be written."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError", "OutputError", "shown"]

#: Local folders that stand for URLs in messages (``grex.io.storage`` copies remote inputs there): prefix -> URL prefix.
ALIASES: dict[str, str] = {}


def shown(text: str) -> str:
    """``text`` with every local copy of a remote input named by its URL (``/tmp/grex-inputs-x/s3/b/a.toml`` ->
    ``s3://b/a.toml``); unchanged where no remote input was read."""
    for prefix, url in ALIASES.items():
        text = text.replace(prefix, url)
    return text


class InputError(ValueError):
    """Bad input: names the file, the row or key, and what is wrong.

    Parameters
    ----------
    source : str or Path or None
        The file (or ``None`` for values built in code).
    location : str or None
        Where in the file: ``"row 7, column 'amount'"``, ``"key parameters.discount_rate"``.
    message : str
        What is wrong, and where possible what is expected.
    """

    def __init__(self, source: str | Path | None, location: str | None, message: str) -> None:
        self.source = None if source is None else str(source)
        self.location = location
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.location) if p]
        return shown(": ".join([*parts, self.message]))

    def __reduce__(self) -> tuple[object, ...]:  # travels between processes (a Dask worker's error) whole
        return (type(self), (self.source, self.location, self.message))


class OutputError(Exception):
    """An output that cannot or may not be written: names the path and the reason.

    Raised for an ``--out`` that is a file, a folder that grex did not write,
    or a run that does not fit in the machine's memory: the environment, not
    the input, is the problem (``grex`` exit status 3).
    """

    def __init__(self, path: str | Path | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def __reduce__(self) -> tuple[object, ...]:  # travels between processes (a Dask worker's error) whole
        return (type(self), (self.path, self.message))
