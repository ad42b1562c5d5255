#!/usr/bin/python3
"""vigil's .deb under a real systemd 252: a Debian 12 root (mmdebstrap, cached) booted with
`systemd-nspawn -b`, systemd as its PID 1. Shows that:

  - `dpkg -i` creates the vigil group, enables vigild.service and starts nothing;
  - a configuration with errors fails the unit once (exit 5, NRestarts=0, no auto-restart),
    and the journal has the reason at error priority;
  - with a good one vigild is READY (active) with its STATUS= line, and a SIGHUP reload
    goes RELOADING -> READY;
  - `systemctl reload` runs ExecReload (vigilctl reload --wait) and returns its outcome: a
    refused configuration fails it, vigild stays, and STATUS= says so;
  - reinstalling the package (an upgrade) leaves the running vigild's pid unchanged;
  - a SIGSTOPped vigild misses its watchdog and systemd restarts it.

  nspawn_test.py --build-dir DIR [--cache DIR] [--keep]

The root is built once per package list into --cache (default /var/cache/vigil-tests; about
3 minutes from the Debian mirror) and extracted per run. Needs root, systemd-nspawn
(systemd-container) and mmdebstrap. The container has a private network: the host's interfaces
are never touched.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# What vigil's package needs at run time (its Depends), systemd, and what the test uses.
ROOT_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "init-system-helpers", "iproute2", "procps",
    "libboost-program-options1.74.0", "libconfig++9v5", "libfmt9", "libnl-3-200",
    "libnl-genl-3-200", "libnl-route-3-200", "libpcre2-8-0", "libspdlog1.10-fmt9", "libssl3",
]

GOOD_CONFIG = """\
vrrp_instance VI_1 {
    state BACKUP
    interface v0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
    }
}
"""
BAD_CONFIG = GOOD_CONFIG.replace("virtual_router_id 51", "virtual_router_id 300")

# Short watchdog and abort timeouts for the test only (the unit ships 30 s).
TEST_DROP_IN = """\
[Service]
WatchdogSec=3s
TimeoutAbortSec=2s
RestartSec=1s
"""


class Failure(Exception):
    pass


def log(message: str) -> None:
    print(message, flush=True)


def cached_root(cache: Path) -> Path:
    key = hashlib.sha256(" ".join(ROOT_PACKAGES).encode()).hexdigest()[:12]
    tarball = cache / f"bookworm-systemd-{key}.tar"
    if tarball.exists():
        log(f"root: cached {tarball}")
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial.tar")
    started = time.monotonic()
    subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase",
                    "--include=" + ",".join(ROOT_PACKAGES), "bookworm", str(partial)],
                   check=True, timeout=1800)
    partial.rename(tarball)
    log(f"root: built {tarball} in {time.monotonic() - started:.0f} s")
    return tarball


def build_deb(build_dir: Path, out: Path) -> Path:
    subprocess.run(["cpack", "-G", "DEB", "--config", str(build_dir / "CPackConfig.cmake"),
                    "-B", str(out)], check=True, capture_output=True, timeout=600)
    debs = list(out.glob("vigil_*.deb"))
    if len(debs) != 1:
        raise Failure(f"expected one vigil_*.deb, got {debs}")
    return debs[0]


class Container:
    """A booted systemd-nspawn container; commands run in it through nsenter."""

    def __init__(self, root: Path, name: str, console: Path):
        self.console = console.open("w")
        self.process = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--directory", str(root), "--machine", name,
             "--register=no", "--keep-unit", "--private-network"],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT)
        self.init_pid = 0

    def wait_booted(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"systemd-nspawn exited {self.process.returncode}")
            children = subprocess.run(["pgrep", "-P", str(self.process.pid)],
                                      capture_output=True, text=True).stdout.split()
            if children:
                self.init_pid = int(children[0])
                state = self.run("systemctl", "is-system-running", "--wait", check=False,
                                 timeout=max(1.0, deadline - time.monotonic()))
                if state.stdout.strip() in ("running", "degraded"):
                    log(f"container: booted ({state.stdout.strip()}), init pid {self.init_pid}")
                    return
            time.sleep(0.2)
        raise Failure("the container did not boot")

    def run(self, *cmd: str, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(["nsenter", "-t", str(self.init_pid), "-a", *cmd],
                              capture_output=True, text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise Failure(f"{' '.join(cmd)}: exit {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def show(self, *properties: str) -> dict[str, str]:
        out = self.run("systemctl", "show", "vigild.service",
                       "-p", ",".join(properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write(self, path: str, text: str) -> None:
        self.run("sh", "-c", f"mkdir -p \"$(dirname {path})\" && cat > {path}", input=text)

    def wait_for(self, what: str, predicate, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise Failure(f"timed out waiting for {what}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # nspawn asks the container's init to halt
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.console.close()


def scenario(c: Container, deb_name: str, results: dict[str, str]) -> None:
    # Install: the group, the unit enabled, nothing started (no configuration yet, and the
    # postinst never starts vigild).
    c.run("dpkg", "-i", f"/root/{deb_name}")
    if c.run("getent", "group", "vigil", check=False).returncode != 0:
        raise Failure("dpkg -i: no vigil group")
    enabled = c.run("systemctl", "is-enabled", "vigild", check=False).stdout.strip()
    if enabled != "enabled":
        raise Failure(f"dpkg -i: vigild.service is {enabled}")
    if c.show("ActiveState")["ActiveState"] != "inactive":
        raise Failure("dpkg -i started vigild")
    results["install"] = "group vigil, unit enabled, not started"

    # The unit's condition: no configuration, no start (skipped, not failed).
    c.run("systemctl", "start", "vigild")
    shown = c.show("ActiveState", "ConditionResult")
    if shown != {"ActiveState": "inactive", "ConditionResult": "no"}:
        raise Failure(f"start without a configuration: {shown}")
    results["condition"] = "skipped without a configuration file"

    # An interface for the VRRP instance, inside the container's private network.
    for cmd in (["ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"],
                ["ip", "link", "set", "v0", "up"], ["ip", "link", "set", "v1", "up"],
                ["ip", "addr", "add", "192.0.2.1/24", "dev", "v0"]):
        c.run(*cmd)
    c.write("/etc/systemd/system/vigild.service.d/test.conf", TEST_DROP_IN)
    c.run("systemctl", "daemon-reload")

    # A configuration with errors: exit 5, the unit fails once, no restart scheduled.
    c.write("/etc/vigil/vigil.conf", BAD_CONFIG)
    if c.run("systemctl", "start", "vigild", check=False).returncode == 0:
        raise Failure("systemctl start succeeded with a configuration that has errors")
    shown = c.show("ActiveState", "SubState", "Result", "ExecMainStatus", "NRestarts")
    want = {"ActiveState": "failed", "SubState": "failed", "Result": "exit-code",
            "ExecMainStatus": "5", "NRestarts": "0"}
    if shown != want:
        raise Failure(f"bad configuration: {shown}, expected {want}")
    # Logged through syslog: the journal keeps the error priority.
    errors = c.run("journalctl", "-u", "vigild", "-p", "err", "--no-pager", check=False).stdout
    if "configuration has errors; not starting (exit 5)" not in errors:
        raise Failure(f"the journal has no error-priority line for the refused start: {errors}")
    results["config error"] = "exit 5, failed, NRestarts=0, no auto-restart, logged at err"
    # The installed vigilctl finds its vigilctl-local (/usr/libexec/vigil) for the file commands.
    checked = c.run("vigilctl", "config", "check", "-f", "/etc/vigil/vigil.conf", check=False)
    if checked.returncode != 5 or "vigil.conf:" not in checked.stdout + checked.stderr:
        raise Failure(f"vigilctl config check on the bad file: exit {checked.returncode}, "
                      f"{checked.stdout}{checked.stderr}")
    results["vigilctl config check"] = "exit 5 and file:line, through /usr/libexec/vigil"

    # A good configuration: READY, with the STATUS= line.
    c.write("/etc/vigil/vigil.conf", GOOD_CONFIG)
    c.run("systemctl", "reset-failed", "vigild")
    c.run("systemctl", "start", "vigild")  # returns once READY=1 came (Type=notify)
    shown = c.show("ActiveState", "SubState", "StatusText", "MainPID")
    if shown["ActiveState"] != "active" or \
            shown["StatusText"] != "running: 1 VRRP instance, 0 virtual servers":
        raise Failure(f"start: {shown}")
    pid = shown["MainPID"]
    results["ready"] = f"active, StatusText '{shown['StatusText']}'"

    # SIGHUP: RELOADING=1 then READY=1; vigild stays the same process.
    since = c.run("date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    c.run("systemctl", "kill", "-s", "HUP", "vigild")
    c.wait_for("the SIGHUP reload", lambda: "configuration reloaded" in c.run(
        "journalctl", "-u", "vigild", "--since", since, "--no-pager", check=False).stdout)
    shown = c.show("ActiveState", "MainPID", "StatusText")
    if shown["ActiveState"] != "active" or shown["MainPID"] != pid:
        raise Failure(f"after SIGHUP: {shown}")
    results["SIGHUP reload"] = "reloaded, still active, same pid"

    # systemctl reload: ExecReload=vigilctl reload --wait.
    probe = c.run("vigilctl", "reload", "--help", check=False)
    has_reload = "unknown command" not in probe.stdout + probe.stderr
    if has_reload:
        c.run("systemctl", "reload", "vigild")
        c.write("/etc/vigil/vigil.conf", BAD_CONFIG)
        if c.run("systemctl", "reload", "vigild", check=False).returncode == 0:
            raise Failure("systemctl reload succeeded with a configuration that has errors")
        refused = c.show("ActiveState", "MainPID", "StatusText")
        if refused["ActiveState"] != "active" or refused["MainPID"] != pid or \
                "; last reload refused: /etc/vigil/vigil.conf" not in refused["StatusText"]:
            raise Failure(f"after a refused reload: {refused}")
        c.write("/etc/vigil/vigil.conf", GOOD_CONFIG)
        c.run("systemctl", "reload", "vigild")
        status = c.show("StatusText")["StatusText"]
        if status != "running: 1 VRRP instance, 0 virtual servers":
            raise Failure(f"after a good reload: StatusText '{status}'")
        results["systemctl reload"] = ("applied; a refused one fails systemctl reload, vigild "
                                       "stays, STATUS says so until the next good one")
    else:
        results["systemctl reload"] = "SKIP: vigilctl has no reload command yet"

    # An upgrade (the same package again) leaves the running vigild alone.
    c.run("dpkg", "-i", f"/root/{deb_name}")
    if c.show("MainPID")["MainPID"] != pid:
        raise Failure("dpkg -i (upgrade) restarted vigild")
    results["upgrade"] = f"vigild pid {pid} unchanged"

    # The watchdog: a stopped vigild sends no WATCHDOG=1; systemd aborts and restarts it.
    c.run("kill", "-STOP", pid)
    shown = c.wait_for("the watchdog restart", lambda: (lambda s: s if s["NRestarts"] == "1" and
                       s["ActiveState"] == "active" and s["MainPID"] not in ("0", pid) else None)(
        c.show("NRestarts", "ActiveState", "MainPID")), timeout=60)
    journal = c.run("journalctl", "-u", "vigild", "--no-pager", check=False).stdout
    if "Watchdog timeout" not in journal:
        raise Failure("vigild restarted, but not by the watchdog")
    results["watchdog"] = f"SIGSTOPped pid {pid} killed by the watchdog, restarted as " \
                          f"{shown['MainPID']}"

    c.run("systemctl", "stop", "vigild")
    if c.show("ActiveState")["ActiveState"] != "inactive":
        raise Failure("systemctl stop")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--cache", default=os.environ.get("VIGIL_TEST_CACHE",
                                                          "/var/cache/vigil-tests"))
    parser.add_argument("--keep", action="store_true", help="keep the root directory")
    args = parser.parse_args()
    started = time.monotonic()
    for tool in ("systemd-nspawn", "mmdebstrap", "nsenter", "cpack"):
        if not shutil.which(tool):
            print(f"FAIL {tool} is not installed (scripts/install-deps)")
            return 1
    results: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="vigil-nspawn-"))
    container = None
    try:
        tarball = cached_root(Path(args.cache))
        deb = build_deb(Path(args.build_dir).resolve(), work / "deb")
        root = work / "root"
        root.mkdir()
        subprocess.run(["tar", "-xf", str(tarball), "-C", str(root)], check=True, timeout=300)
        shutil.copy(deb, root / "root" / deb.name)
        log(f"prepared in {time.monotonic() - started:.0f} s")
        container = Container(root, f"vigil-test-{os.getpid()}", work / "console.log")
        container.wait_booted()
        scenario(container, deb.name, results)
        ok = True
    except (Failure, subprocess.SubprocessError) as e:
        print(f"FAIL {e}")
        if container and container.init_pid:
            print(container.run("journalctl", "-u", "vigild", "--no-pager", "-n", "60",
                                check=False).stdout)
        ok = False
    finally:
        if container:
            container.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    for step, outcome in results.items():
        print(f"  {step}: {outcome}")
    print(f"{'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
