#!/usr/bin/python3
"""packaging/bash-completion/vigilctl completes every command vigilctl's usage names (and the
control API's), their subcommands and options, with or without the bash-completion package.

  bash_completion_test.py --vigilctl PATH
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "bash-completion" / "vigilctl"

# (the words typed, the word being completed) -> what the candidates must include.
CASES = [
    (["vigilctl", "log", "level", ""], {"debug", "info", "warn"}),
    (["vigilctl", "vrrp", ""], {"garp", "stats", "maintenance", "--json"}),
    (["vigilctl", "vrrp", "stats", ""], {"--clear", "--json"}),
    (["vigilctl", "vrrp", "maintenance", ""], {"on", "off"}),
    (["vigilctl", "vrrp", "maintenance", "on", ""], {"--all", "--reason"}),
    (["vigilctl", ""], {"status", "vrrp", "services", "rs", "overrides", "reload", "log", "config", "genhash",
                        "version", "check-config", "dump-config"}),
    (["vigilctl", "re"], {"reload"}),
    (["vigilctl", "rs", ""], {"drain", "maint", "ready", "weight"}),
    (["vigilctl", "rs", "drain", "vs1", "rs1", "--"], {"--all-vs", "--reason", "--for"}),
    (["vigilctl", "rs", "weight", "vs1", "rs1", ""], {"reset"}),
    (["vigilctl", "reload", "--"], {"--wait", "--reason", "--dry-run", "--json"}),
    (["vigilctl", "overrides", "--"], {"--json"}),
    (["vigilctl", "events", "--"], {"--follow", "--json"}),
    (["vigilctl", "config", ""], {"check", "show"}),
    (["vigilctl", "rs-setup", "192.0.2.80:80", "--"], {"--mode", "--format", "--vip", "--check"}),
    (["vigilctl", "rs-setup", "192.0.2.80:80", "--mode", ""], {"dr", "tun", "nat", "fullnat"}),
    (["vigilctl", "rs-setup", "192.0.2.80:80", "--format", ""], {"shell", "sysctl", "networkd"}),
    (["vigilctl", "-s", "ns1", ""], {"status", "reload"}),
    (["vigilctl", "--socket", "/run/x.sock", "rs", ""], {"drain"}),
]


def complete(words: list[str]) -> set[str]:
    line = " ".join(words)
    program = f"""
source {SCRIPT}
COMP_WORDS=({' '.join(repr(w) if w else "''" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT={len(line)}
_vigilctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True,
                          text=True, timeout=60)
    if done.returncode != 0 or done.stderr:
        raise SystemExit(f"FAIL bash: {done.returncode} {done.stderr}")
    return set(done.stdout.split())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigilctl", required=True)
    args = parser.parse_args()
    problems = []
    usage = subprocess.run([args.vigilctl, "help"], capture_output=True, text=True,
                           timeout=60).stdout
    commands = set(re.findall(r"^  ([a-z][a-z-]+)\b", usage, re.M))
    cases = CASES + [(["vigilctl", ""], commands)]
    for words, wanted in cases:
        got = complete(words)
        if not wanted <= got:
            problems.append(f"{' '.join(words)!r}<TAB>: missing {sorted(wanted - got)}, "
                            f"got {sorted(got)}")
    for p in problems:
        print("FAIL " + p)
    print(f"{len(cases)} cases: " + ("PASS" if not problems else "FAIL"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
