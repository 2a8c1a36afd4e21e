"""The project documents its own rules and points nowhere outside itself.

- No tracked file refers to the old domain reference kept beside the
  repository, or to a path outside it (a shared folder beside the
  repository, the machine's work tree): the rules are in ``docs/``. The
  patterns (:data:`FORBIDDEN`) are written in pieces so that this file does
  not match itself.
- Every relative link in the Markdown files resolves to a file inside the
  repository, and every ``#anchor`` to a heading of the target document.
- Every ``extends`` and ``portfolio`` of a scenario file names something that
  exists inside the repository.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

#: Folders never searched when git cannot list the tracked files.
_SKIP = {".git", ".venv", "venv", "out", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache"}
#: References to places outside the repository, written so that this file does not match itself.
FORBIDDEN = {
    "the old domain reference": re.compile("DOMAIN" + r"\.md", re.IGNORECASE),
    "a shared folder beside the repository": re.compile(r"\.\./+" + "shared"),
    "a path into a shared folder": re.compile(r"(?<![\w.-])" + "shared" + r"/"),
    "the machine's work tree": re.compile(r"(?<![\w.])/" + "work" + r"/"),
}
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def tracked_files() -> list[Path]:
    """The files git tracks in the repository (every file but build outputs where git is absent)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file()
            and not any(part in _SKIP or part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    """The file as text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def outside_references(text: str) -> list[tuple[int, str, str]]:
    """``(line number, what, line)`` for each reference to a place outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in FORBIDDEN.items():
            if pattern.search(line):
                found.append((number, what, line.strip()))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())  # backticks and other punctuation go
    return text.replace(" ", "-")


def markdown_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of a Markdown text outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file (repeated headings get ``-1``, ``-2``, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in markdown_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """``(line number, target)`` of every link in a Markdown file, code blocks and inline code left out."""
    out = []
    for number, line in markdown_lines(path.read_text(encoding="utf-8")):
        line = re.sub(r"`[^`]*`", "", line)
        out += [(number, m.group(1)) for m in _INLINE_LINK.finditer(line)]
        out += [(number, m.group(1)) for m in _REFERENCE_LINK.finditer(line)]
    return out


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """A message for each relative link of ``path`` that does not resolve inside ``root``."""
    problems = []
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:, ...
            continue
        where = f"{path.relative_to(root)}:{number}: link {target!r}"
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if root not in resolved.parents and resolved != root:
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where}: {file_part} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: no heading with the anchor #{anchor} in {resolved.relative_to(root)}")
    return problems


def markdown_files() -> list[Path]:
    """Every tracked Markdown file: the README, docs/ and the others."""
    return sorted(p for p in tracked_files() if p.suffix == ".md")


# -- the checks on the repository ------------------------------------------------------------------


def test_docs_folder_holds_the_rules():
    for name in ("README.md", "rules.md", "reserves.md", "montecarlo.md", "glossary.md"):
        assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"


def test_no_tracked_file_points_outside_the_repository():
    problems = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, what, line in outside_references(text):
            problems.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line}")
    assert not problems, "references outside the repository:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    problems = broken_links(path)
    assert not problems, "\n".join(problems)


def test_scenario_files_name_files_inside_the_repository():
    problems = []
    for path in tracked_files():
        if path.suffix != ".toml" or "scenarios" not in path.relative_to(ROOT).parts:
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for key in ("extends", "portfolio"):
            if key not in data:
                continue
            target = (path.parent / data[key]).resolve()
            if ROOT not in target.parents:
                problems.append(f"{path.relative_to(ROOT)}: {key} {data[key]!r} lies outside the repository")
            elif not target.exists():
                problems.append(f"{path.relative_to(ROOT)}: {key} {data[key]!r} does not exist")
    assert not problems, "\n".join(problems)


# -- the checks check: each finds what it must find ---------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "see " + "DOMAIN" + ".md section 3",
        "the rules of ``" + "domain" + ".md``",
        "in ../" + "shared" + "/seed/000.txt",
        "shipped as ``" + "shared" + "/notes``",
        "read /" + "work" + "/notes/STYLE",
    ],
)
def test_outside_references_are_found(line):
    assert outside_references("first line\n" + line + "\n")[0][0] == 2


@pytest.mark.parametrize("line", ["a shared pool of workers", "extends = '../assen-2024.toml'", "/tmp/perf-1.map"])
def test_ordinary_text_is_not_an_outside_reference(line):
    assert outside_references(line) == []


def test_slug_follows_github():
    assert slug("5. Interest and the book value (rekenrente op de boekwaarde)") == (
        "5-interest-and-the-book-value-rekenrente-op-de-boekwaarde"
    )
    assert (
        slug("11. Interim profit (tussentijdse winstneming, POC)") == "11-interim-profit-tussentijdse-winstneming-poc"
    )
    assert slug("NAR grades A–F") == "nar-grades-af"
    assert slug("The `grex` command") == "the-grex-command"


def test_broken_links_are_found(tmp_path):
    (tmp_path / "b.md").write_text("# Title\n\n## Title\n", encoding="utf-8")
    (tmp_path / "a.md").write_text(
        "\n".join(
            [
                "[ok](b.md) [anchor](b.md#title) [repeated](b.md#title-1) [own](#top) [web](https://example.org)",
                "# Top",
                "[missing](c.md)",
                "[bad anchor](b.md#nope)",
                "[outside](../x.md)",
                "`[inline code](d.md)`",
                "```",
                "[in a code block](e.md)",
                "```",
                "[ref]: f.md",
            ]
        ),
        encoding="utf-8",
    )
    problems = broken_links(tmp_path / "a.md", root=tmp_path)
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5", "10"]
    assert "c.md does not exist" in problems[0]
    assert "#nope" in problems[1]
    assert "outside the repository" in problems[2]
    assert "f.md does not exist" in problems[3]
