#!/usr/bin/python3
"""vigild(8), vigilctl(8) and vigil.conf(5) render without a groff warning and agree with the
code: vigild(8) names exactly the long options of `vigild --help`; vigilctl(8) every command of
its usage text; each page's EXIT STATUS lists exactly the codes of src/control/exit_codes.h;
vigil.conf(5)'s KEYWORD INDEX holds exactly the keywords of the reader's tables.

  man_pages_test.py --vigild PATH --vigilctl PATH
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import config_keywords  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MAN = ROOT / "docs" / "man"
ENV = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"}


def render(page: Path) -> str:
    text = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou", "-rLL=100n", str(page)],
                          capture_output=True, text=True, env=ENV, timeout=60).stdout
    return re.sub(r"‐\n\s*", "", text)  # words hyphenated at line ends, joined back


def section(text: str, title: str) -> str:
    match = re.search(rf"^{re.escape(title)}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", text, re.S | re.M)
    return match.group(1) if match else ""


def long_options(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text))


def exit_codes(text: str) -> set[int]:
    return {int(c) for c in re.findall(r"^ {7}(\d+)\b", section(text, "EXIT STATUS"), re.M)}


def enum_values(enum: str) -> set[int]:
    header = (ROOT / "src/control/exit_codes.h").read_text()
    body = re.search(rf"enum {enum} : int \{{(.*?)\}};", header, re.S).group(1)
    return {int(v) for v in re.findall(r"k\w+ = (\d+)", body)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigild", required=True)
    parser.add_argument("--vigilctl", required=True)
    args = parser.parse_args()
    problems: list[str] = []
    pages = {name: MAN / name for name in ("vigild.8", "vigilctl.8", "vigil.conf.5")}
    rendered = {}
    for name, page in pages.items():
        groff = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
                               capture_output=True, text=True, env=ENV, timeout=60)
        if groff.returncode != 0 or groff.stderr:
            problems.append(f"{name}: groff: exit {groff.returncode}: {groff.stderr.strip()}")
        rendered[name] = render(page)

    # vigild(8) and vigild --help: the same long options.
    usage = subprocess.run([args.vigild, "--help"], capture_output=True, text=True,
                           timeout=60).stdout
    in_usage, in_page = long_options(usage), long_options(rendered["vigild.8"])
    print("vigild options:", sorted(in_usage))
    if in_usage != in_page or len(in_usage) < 15:
        problems.append(f"vigild.8 and vigild --help differ: page lacks "
                        f"{sorted(in_usage - in_page)}, page has extra {sorted(in_page - in_usage)}")

    # vigilctl(8) names every command of the usage text.
    ctl_usage = subprocess.run([args.vigilctl, "help"], capture_output=True, text=True,
                               timeout=60).stdout
    commands = set(re.findall(r"^  ([a-z][a-z-]+)\b", ctl_usage, re.M))
    print("vigilctl commands:", sorted(commands))
    page = rendered["vigilctl.8"]
    page_commands = set(re.findall(r"^ {7}([a-z][a-z-]+)\b", section(page, "COMMANDS"), re.M))
    if not commands or not commands <= page_commands:
        problems.append(f"vigilctl.8's COMMANDS lack {sorted(commands - page_commands)}")
    if missing := long_options(ctl_usage) - long_options(page):
        problems.append(f"vigilctl.8 lacks the options {sorted(missing)}")

    for name, enum in (("vigild.8", "DaemonExit"), ("vigilctl.8", "CtlExit")):
        listed, wanted = exit_codes(rendered[name]), enum_values(enum)
        print(name, "exit codes:", sorted(listed))
        if listed != wanted:
            problems.append(f"{name} EXIT STATUS lists {sorted(listed)}, exit_codes.h's {enum} "
                            f"has {sorted(wanted)}")

    # vigil.conf(5)'s index and the reader's keyword tables.
    index = section(rendered["vigil.conf.5"], "KEYWORD INDEX")
    tokens = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", index))
    known = config_keywords.implemented() | config_keywords.accepted_only()
    print(f"vigil.conf.5: {len(known)} keywords in the tables")
    if missing := known - tokens:
        problems.append(f"vigil.conf.5's KEYWORD INDEX lacks {sorted(missing)}")
    unknown = {t for t in tokens if ("_" in t or t.isupper()) and t not in known}
    if unknown:
        problems.append(f"vigil.conf.5's KEYWORD INDEX names unknown keywords {sorted(unknown)}")

    for p in problems:
        print("FAIL " + p)
    print("PASS" if not problems else "FAIL")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
