#!/usr/bin/python3
"""vigilctl is two programs (src/tools/usage.h): vigilctl links no configuration reader, checker
or TLS library, and runs vigilctl-local for the commands on files and on this host. Here: those
commands answer through vigilctl exactly as vigilctl-local answers them; vigilctl needs none of
the libraries that made it slow to start (with --static: it is statically linked, as release
builds make it); without vigilctl-local it says so and exits 10.

  vigilctl_split_test.py --vigilctl PATH [--static]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_LOCAL = Path("/usr/libexec/vigil/vigilctl-local")
# Loading and relocating these made vigilctl's start twice as long (docs/performance.md).
HEAVY_LIBRARIES = ("libcrypto", "libssl", "libconfig", "libpcre2")


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--static", action="store_true")
    options = parser.parse_args()
    vigilctl = Path(options.vigilctl)
    local = vigilctl.parent / "vigilctl-local"
    problems: list[str] = []

    example = ROOT / "etc" / "lvs-checkers.conf"
    bad = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    bad.write("vrrp_instance VI_1 {\n  state MASTER\n  virtual_router_id 300\n}\n")
    bad.close()
    cases = [
        (["config", "check", "-f", str(example)], 0),
        (["check-config", "-f", str(example)], 0),
        (["dump-config", "-f", str(example)], 0),
        (["config", "check", "-f", bad.name], 5),
        (["config", "check", "-f", "/nonexistent/vigil.conf"], 4),
        (["doctor", "--no-such-option"], 2),
        (["genhash"], 2),
    ]
    for args, want in cases:
        ours = run(str(vigilctl), *args)
        theirs = run(str(local), *args)
        said = " ".join(args)
        if ours.returncode != want:
            problems.append(f"vigilctl {said}: exit {ours.returncode}, expected {want}: "
                            f"{ours.stderr[:300]}")
        if (ours.returncode, ours.stdout, ours.stderr) != \
                (theirs.returncode, theirs.stdout, theirs.stderr):
            problems.append(f"vigilctl {said} differs from vigilctl-local {said}")
    Path(bad.name).unlink()

    needed = run("readelf", "-d", str(vigilctl)).stdout
    heavy = [lib for lib in HEAVY_LIBRARIES if lib in needed]
    if heavy:
        problems.append(f"vigilctl links {heavy}: those belong to vigilctl-local")
    if options.static and "NEEDED" in needed:
        problems.append("vigilctl is linked dynamically, expected a static link: "
                        + ", ".join(line.split()[-1] for line in needed.splitlines()
                                    if "NEEDED" in line))
    if "libcrypto" not in run("readelf", "-d", str(local)).stdout:
        problems.append("vigilctl-local does not link libcrypto: is readelf's output read right?")

    # vigilctl without vigilctl-local beside it, on a host without the package: exit 10.
    with tempfile.TemporaryDirectory() as alone:
        copy = Path(alone) / "vigilctl"
        shutil.copy2(vigilctl, copy)
        done = run(str(copy), "config", "check", "-f", str(example))
        if INSTALLED_LOCAL.exists():
            if done.returncode != 0:
                problems.append(f"vigilctl alone, {INSTALLED_LOCAL} installed: exit "
                                f"{done.returncode}")
        elif done.returncode != 10 or "vigilctl-local" not in done.stderr:
            problems.append(f"vigilctl without vigilctl-local: exit {done.returncode}, "
                            f"{done.stderr!r}; expected 10 naming vigilctl-local")
        # A client command never needs it.
        done = run(str(copy), "--socket", str(Path(alone) / "none.sock"), "status")
        if done.returncode != 3:
            problems.append(f"vigilctl alone, status without a daemon: exit {done.returncode}, "
                            "expected 3")

    for line in problems:
        print(f"FAIL {line}")
    if not problems:
        linked = "is statically linked" if options.static else \
            f"links none of {', '.join(HEAVY_LIBRARIES)}"
        print(f"PASS: {len(cases)} commands answered as vigilctl-local answers them; vigilctl "
              f"{linked}; exit 10 without vigilctl-local")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
