"""Reading scenario files (TOML)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grex.errors import InputError
from grex.io.storage import fetch_mirrored, is_url, local_input
from grex.limits import MAX_EXTENDS
from grex.scenario import Scenario

__all__ = ["read_scenario", "read_scenario_table"]


def read_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file: a local path, or a URL (``s3://bucket/s.toml``, :mod:`grex.io.storage`).

    ``extends = "other.toml"`` (relative to the file) names a scenario whose
    values this file overrides, table by table and key by key (a rate path
    written as a table and a distribution replace the parent's whole); chains
    are allowed, cycles are refused. ``portfolio`` is relative to the file that
    sets it.

    Raises
    ------
    InputError
        A missing file, a TOML syntax error, an unknown key or a bad value,
        naming the file and the key.
    """
    path = local_input(path)
    data, sources = read_scenario_table(path)
    return Scenario.from_dict(data, source=path, sources=sources)


def read_scenario_table(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """The merged table of a scenario file and its ``extends`` chain, unchecked."""
    try:
        resolved = path.resolve()
    except (OSError, ValueError, RuntimeError) as error:
        raise InputError(path, None, f"not a usable path: {error}") from None
    if len(_seen) >= MAX_EXTENDS:
        raise InputError(path, "key extends", f"the extends chain is longer than {MAX_EXTENDS} files")
    if resolved in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, resolved))
        raise InputError(path, "key extends", f"extends itself in a cycle: {chain}")
    fetch_mirrored(path)  # a file named relative to a remote scenario file
    if not path.is_file():
        raise InputError(path, None, "scenario file not found")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, None, f"TOML syntax error: {error}") from None
    except UnicodeDecodeError as error:
        raise InputError(path, None, f"not a UTF-8 text file: {error}") from None
    except RecursionError:
        raise InputError(path, None, "TOML tables or arrays nested too deeply") from None
    except IsADirectoryError:
        raise InputError(path, None, "is a folder, not a scenario file") from None
    if "portfolio" in data:
        if not isinstance(data["portfolio"], str):
            raise InputError(path, "key portfolio", "must be a path (a string)")
        try:
            if is_url(data["portfolio"]):
                data["portfolio"] = str(local_input(data["portfolio"], "portfolio"))
            else:
                data["portfolio"] = str((path.parent / data["portfolio"]).resolve())
                fetch_mirrored(Path(data["portfolio"]), "portfolio")
        except InputError:
            raise
        except (OSError, ValueError, RuntimeError) as error:
            raise InputError(path, "key portfolio", f"not a usable path: {error}") from None
    sources: tuple[Path, ...] = (path,)
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError(path, "key extends", "must be the path of another scenario file (a string)")
        parent_path = local_input(parent) if is_url(parent) else path.parent / parent
        fetch_mirrored(parent_path)
        if not parent_path.is_file():
            raise InputError(path, "key extends", f"scenario file {parent_path} not found")
        base, parent_sources = read_scenario_table(parent_path, (*_seen, resolved))
        data = _merge(base, data)
        sources = (path, *parent_sources)
    return data, sources


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and not _replaced_whole(key):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _replaced_whole(key: str) -> bool:
    # A rate path given as a table replaces the parent's path whole: mixing a
    # parent's years with a child's default would be a path nobody wrote. So does
    # a distribution: a child's { low, high } (uniform) would otherwise take the
    # parent's mode and become a triangle nobody wrote.
    return key in ("cost_index", "revenue_index", "market_pace", "complex_pace", "delay", "pace")
