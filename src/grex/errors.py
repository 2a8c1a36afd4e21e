"""The one error type for bad input."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError"]


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
        return ": ".join([*parts, self.message])
