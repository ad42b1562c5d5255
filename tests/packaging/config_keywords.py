#!/usr/bin/python3
"""The keyword tables of vigil's configuration reader (src/config/parse_*.cc): every
`const Keyword<T> kName[] = { {"word", handler}, {"word"}, ... };` block. An entry with a
handler is implemented; one without is a keepalived keyword accepted with a warning; one whose
handler is outside_global_defs is refused there (it belongs at the top level).

  config_keywords.py            prints "TABLE implemented|accepted|refused WORD" lines
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `Keyword<T> kName[] = {` or `std::vector<Keyword<T>> kName = with_common({`
TABLE_START = re.compile(r"Keyword<[^>]+>>?\s+(k\w+)(?:\[\])?\s*=\s*(?:with_common\(\s*)?\{")
ENTRY = re.compile(r'\{"([A-Za-z0-9_]+)"\s*(?:,\s*(\w*))?')


def initializer(text: str, start: int) -> str:
    """The text from `start` (just inside a `{`) to its matching `}`."""
    depth, i, quoted = 1, start, False
    while i < len(text) and depth:
        c = text[i]
        if c == '"' and text[i - 1] != "\\":
            quoted = not quoted
        elif not quoted:
            depth += {"{": 1, "}": -1}.get(c, 0)
        i += 1
    return text[start:i - 1]


def kind(handler: str | None) -> str:
    if not handler:
        return "accepted"
    return "refused" if handler == "outside_global_defs" else "implemented"


def keyword_tables() -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for source in sorted((ROOT / "src" / "config").glob("parse_*.cc")):
        text = source.read_text()
        for match in TABLE_START.finditer(text):
            name = f"{source.stem}:{match.group(1)}"
            body = "\n".join(line.split("//")[0]
                             for line in initializer(text, match.end()).splitlines())
            tables.setdefault(name, []).extend(
                (word, kind(handler)) for word, handler in ENTRY.findall(body))
    return {name: entries for name, entries in tables.items() if entries}


def implemented() -> set[str]:
    return {w for entries in keyword_tables().values() for w, k in entries if k == "implemented"}


def accepted_only() -> set[str]:
    return {w for entries in keyword_tables().values() for w, k in entries
            if k == "accepted"} - implemented()


if __name__ == "__main__":
    for table, entries in keyword_tables().items():
        for word, k in entries:
            print(table, k, word)
    sys.exit(0)
