"""What the security suite's scripts share: counted checks, bounded commands and waits, and a
network namespace of their own with a veth pair (eth0 10.99.0.1/24, eth1) that vigild and
keepalived can use."""

import subprocess
import time

NOBODY = 65534
NOGROUP = 65534


class Checks:
    """Counts and prints each check; summary() prints the closing line ctest logs keep."""

    def __init__(self) -> None:
        self.passes = 0
        self.failures: list[str] = []

    def __call__(self, condition: bool, what: str) -> None:
        print(("ok    " if condition else "FAIL  ") + what, flush=True)
        if condition:
            self.passes += 1
        else:
            self.failures.append(what)

    def summary(self) -> int:
        for f in self.failures:
            print("failed: " + f)
        print(f"{self.passes} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def run(cmd: list[str], check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
    """A short command with a bound on its time; raises with its stderr when check fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def poll(predicate, polls: int = 400, interval: float = 0.025) -> bool:
    """True once predicate holds, within `polls` tries (10 s by default)."""
    for _ in range(polls):
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def make_namespace(ns: str) -> None:
    run(["ip", "netns", "add", ns])
    run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
    for dev in ("eth0", "eth1", "lo"):
        run(["ip", "-n", ns, "link", "set", dev, "up"])
    run(["ip", "-n", ns, "addr", "add", "10.99.0.1/24", "dev", "eth0"])


def delete_namespace(ns: str) -> None:
    run(["ip", "netns", "del", ns], check=False)
