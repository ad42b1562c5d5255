#!/usr/bin/python3
"""`cpack -G DEB` builds vigil's .deb, and dpkg-deb shows what it must hold: the binaries, the
unit (the one in systemd/), sysusers and modules-load files, man pages, examples, bash
completion, /etc/default/vigil as its only conffile, and no active configuration; maintainer
scripts that are valid sh, enable the unit and never start or restart vigild.

  deb_test.py --build-dir DIR     (a configured and built tree)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = {
    "./usr/sbin/vigild": "-rwxr-xr-x",
    "./usr/sbin/vigil-lab": "-rwxr-xr-x",
    "./usr/bin/vigilctl": "-rwxr-xr-x",
    "./usr/libexec/vigil/vigilctl-local": "-rwxr-xr-x",
    "./lib/systemd/system/vigild.service": "-rw-r--r--",
    "./usr/lib/sysusers.d/vigil.conf": "-rw-r--r--",
    "./usr/lib/modules-load.d/vigil.conf": "-rw-r--r--",
    "./etc/default/vigil": "-rw-r--r--",
    "./usr/share/man/man8/vigild.8": "-rw-r--r--",
    "./usr/share/man/man8/vigilctl.8": "-rw-r--r--",
    "./usr/share/man/man8/vigil-lab.8": "-rw-r--r--",
    "./usr/share/man/man5/vigil.conf.5": "-rw-r--r--",
    "./usr/share/bash-completion/completions/vigilctl": "-rw-r--r--",
    "./usr/share/doc/vigil/operations.md": "-rw-r--r--",
}


def run(*cmd: str, cwd: str | None = None) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"FAIL {' '.join(cmd)}: exit {done.returncode}: {done.stderr}")
    return done.stdout


def code_lines(script: str) -> list[str]:
    """The script's commands: comments and echo lines dropped."""
    lines = [line.split("#")[0].strip() for line in script.splitlines()]
    return [line for line in lines if line and not line.startswith("echo") and
            not line.startswith('"')]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    build = Path(args.build_dir).resolve()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vigil-deb-") as tmp:
        run("cpack", "-G", "DEB", "--config", str(build / "CPackConfig.cmake"), "-B", tmp)
        debs = list(Path(tmp).glob("vigil_*.deb"))
        if len(debs) != 1:
            print(f"FAIL expected one vigil_*.deb, found {debs}")
            return 1
        deb = str(debs[0])
        print("package:", Path(deb).name)
        listing = {}
        for line in run("dpkg-deb", "-c", deb).splitlines():
            fields = line.split()
            listing[fields[5]] = (fields[0], fields[1])
        for path, mode in REQUIRED.items():
            if path not in listing:
                problems.append(f"{path} is not in the package")
            elif listing[path] != (mode, "root/root"):
                problems.append(f"{path}: {listing[path]}, expected {mode} root/root")
        examples = [p for p in listing if p.startswith("./usr/share/doc/vigil/examples/") and
                    p.endswith(".conf")]
        if len(examples) != len(list((ROOT / "etc").glob("*.conf"))):
            problems.append(f"examples: {examples}")
        active = [p for p in listing if re.match(r"\./etc/(vigil|keepalived)/", p)]
        if active:
            problems.append(f"an active configuration is installed: {active}")

        control = Path(tmp) / "control"
        run("dpkg-deb", "-e", deb, str(control))
        fields = run("dpkg-deb", "-f", deb, "Package", "Depends")
        print(fields.strip())
        if "Package: vigil" not in fields or "libc6" not in fields or \
                "init-system-helpers" not in fields:
            problems.append(f"control fields: {fields}")
        conffiles = (control / "conffiles").read_text().split()
        if conffiles != ["/etc/default/vigil"]:
            problems.append(f"conffiles: {conffiles}")
        unit = Path(tmp) / "unit"
        run("dpkg-deb", "-x", deb, str(unit))
        if (unit / "lib/systemd/system/vigild.service").read_text() != \
                (ROOT / "systemd/vigild.service").read_text():
            problems.append("the packaged unit differs from systemd/vigild.service")
        for name in ("postinst", "prerm", "postrm"):
            script = control / name
            if not script.exists() or not script.stat().st_mode & 0o111:
                problems.append(f"{name}: missing or not executable")
                continue
            if subprocess.run(["sh", "-n", str(script)]).returncode != 0:
                problems.append(f"{name}: not valid sh")
            for line in code_lines(script.read_text()):
                if re.search(r"(deb-systemd-invoke|systemctl)\S*\s+(\S+\s+)*(start|restart|"
                             r"try-restart|reload-or-restart)\b", line):
                    problems.append(f"{name} starts or restarts vigild: {line}")
        postinst = (control / "postinst").read_text()
        for needed in ("deb-systemd-helper enable vigild.service", "systemd-sysusers vigil.conf",
                       "addgroup --system vigil"):
            if needed not in postinst:
                problems.append(f"postinst lacks '{needed}'")
        if "deb-systemd-invoke stop vigild.service" not in (control / "prerm").read_text():
            problems.append("prerm does not stop vigild on remove")

    for p in problems:
        print("FAIL " + p)
    print("PASS" if not problems else "FAIL")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
