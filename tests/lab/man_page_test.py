#!/usr/bin/python3
"""vigil-lab(8) renders without a groff warning, and it, docs/lab.md's synopsis and the binary's
usage text name the same commands, options and rs drills (so none of the three drifts alone).

  man_page_test.py --vigil-lab PATH
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def words(text: str) -> set[str]:
    # Long options, the three commands, and the drills only named on request (--drills).
    found = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    found |= set(re.findall(r"(?<![\w-])rs-(?:fail|recover)(?![\w-])", text))
    found |= {c for c in ("demo", "run", "clean") if re.search(rf"vigil-lab {c}\b", text)}
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigil-lab", required=True)
    args = parser.parse_args()
    env = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "MANWIDTH": "100"}
    page = ROOT / "docs" / "man" / "vigil-lab.8"
    groff = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(page)], capture_output=True,
                           text=True, env=env, timeout=60)
    problems = []
    if groff.returncode != 0 or groff.stderr:
        problems.append(f"groff: exit {groff.returncode}: {groff.stderr.strip()}")
    rendered = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou", str(page)],
                              capture_output=True, text=True, env=env, timeout=60).stdout
    # Hyphenation would split words at line ends: join them back.
    rendered = re.sub(r"‐\n\s*", "", rendered)
    lab_md = (ROOT / "docs" / "lab.md").read_text()
    synopsis = lab_md.split("```")[1]
    usage = subprocess.run([args.vigil_lab], capture_output=True, text=True, timeout=60)
    if usage.returncode != 64:
        problems.append(f"vigil-lab without arguments exited {usage.returncode}, expected 64")
    usage_text = usage.stderr.replace("usage: vigil-lab", "vigil-lab").replace(
        "       vigil-lab", "vigil-lab")
    sets = {"vigil-lab.8": words(rendered), "docs/lab.md synopsis": words(synopsis),
            "usage": words(usage_text)}
    print({k: sorted(v) for k, v in sets.items()})
    reference = sets["docs/lab.md synopsis"]
    if len(reference) < 12:
        problems.append(f"docs/lab.md's synopsis names only {sorted(reference)}")
    for name, found in sets.items():
        if found != reference:
            problems.append(f"{name} differs from docs/lab.md's synopsis: missing "
                            f"{sorted(reference - found)}, extra {sorted(found - reference)}")
    for p in problems:
        print("FAIL " + p)
    print("PASS" if not problems else "FAIL")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
