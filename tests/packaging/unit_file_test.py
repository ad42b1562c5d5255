#!/usr/bin/python3
"""systemd/vigild.service passes `systemd-analyze verify`, keeps its `systemd-analyze security`
exposure at or below 4.0, and agrees with vigild: its flags parse, RestartPreventExitStatus is
exactly vigild's usage and configuration codes (src/control/exit_codes.h), /etc/default/vigil
sets the variable ExecStart uses.

  unit_file_test.py --vigild PATH --vigilctl PATH
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_EXPOSURE = 40  # systemd-analyze's scale is 0-100; it prints 4.0


def enum_values(header: str, enum: str) -> dict[str, int]:
    body = re.search(rf"enum {enum} : int \{{(.*?)\}};", header, re.S).group(1)
    return {name: int(value) for name, value in re.findall(r"(k\w+) = (\d+)", body)}


def directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigild", required=True)
    parser.add_argument("--vigilctl", required=True)
    args = parser.parse_args()
    args.vigild = str(Path(args.vigild).resolve())
    args.vigilctl = str(Path(args.vigilctl).resolve())
    problems: list[str] = []
    unit_text = (ROOT / "systemd" / "vigild.service").read_text()
    unit = directives(unit_text)

    with tempfile.TemporaryDirectory(prefix="vigil-unit-") as tmp:
        # verify checks that the commands exist: point them at the build.
        local = Path(tmp) / "vigild.service"
        local.write_text(unit_text.replace("/usr/sbin/vigild", args.vigild)
                         .replace("/usr/bin/vigilctl", args.vigilctl))
        verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(local)],
                                capture_output=True, text=True, timeout=120)
        print("verify:", verify.returncode, verify.stdout + verify.stderr)
        if verify.returncode != 0 or verify.stdout.strip() or verify.stderr.strip():
            problems.append(f"systemd-analyze verify: {verify.stdout}{verify.stderr}".strip())
        security = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", f"--threshold={MAX_EXPOSURE}",
             "--no-pager", str(local)], capture_output=True, text=True, timeout=120)
        overall = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        print("security:", security.returncode, overall.group(0) if overall else security.stdout)
        if security.returncode != 0 or not overall:
            problems.append(f"systemd-analyze security: exposure above {MAX_EXPOSURE / 10} "
                            f"({overall.group(1) if overall else 'unknown'})")

    exits = enum_values((ROOT / "src/control/exit_codes.h").read_text(), "DaemonExit")
    wanted = {exits["kDaemonUsage"], exits["kDaemonConfigUnreadable"], exits["kDaemonConfigErrors"]}
    prevent = {int(v) for v in " ".join(unit.get("RestartPreventExitStatus", [])).split()}
    if prevent != wanted:
        problems.append(f"RestartPreventExitStatus={sorted(prevent)}, vigild's usage and "
                        f"configuration codes are {sorted(wanted)}")
    for key, value in [("Type", "notify"), ("Restart", "on-failure"),
                       ("RuntimeDirectory", "vigil"), ("RuntimeDirectoryPreserve", "yes"),
                       ("StateDirectory", "vigil"), ("NotifyAccess", "main")]:
        if unit.get(key) != [value]:
            problems.append(f"{key}={unit.get(key)}, expected {value}")
    if not unit.get("WatchdogSec"):
        problems.append("no WatchdogSec=")
    conditions = unit.get("ConditionFileNotEmpty", [])
    if sorted(conditions) != ["|/etc/keepalived/keepalived.conf", "|/etc/vigil/vigil.conf"]:
        problems.append(f"ConditionFileNotEmpty={conditions}: both files, as triggering ('|')")
    if unit.get("ExecReload") != ["/usr/bin/vigilctl reload --wait"]:
        problems.append(f"ExecReload={unit.get('ExecReload')}")

    # ExecStart's flags are vigild's: with -t on a missing file they give 4, not 2.
    exec_start = shlex.split(unit["ExecStart"][0])
    default = (ROOT / "etc/default/vigil").read_text()
    variables = re.findall(r"^([A-Z_]+)=", default, re.M)
    for used in re.findall(r"\$(\w+)", unit["ExecStart"][0]):
        if used not in variables:
            problems.append(f"ExecStart uses ${used}, which etc/default/vigil does not set")
    flags = [a for a in exec_start[1:] if not a.startswith("$")]
    run = subprocess.run([args.vigild, *flags, "-t", "-f", "/nonexistent/vigil.conf"],
                         capture_output=True, text=True, timeout=60)
    if run.returncode != exits["kDaemonConfigUnreadable"]:
        problems.append(f"vigild {' '.join(flags)} -t on a missing file exited {run.returncode}: "
                        f"{run.stderr.strip()}")

    for p in problems:
        print("FAIL " + p)
    print("PASS" if not problems else "FAIL")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
