#!/usr/bin/env python3
"""global_defs startup_script and shutdown_script (issue 16), in a network namespace.

  lifecycle_scripts.py --vigild PATH

vigild runs one VRRP instance (MASTER at once: it owns its VIP's address priority) with a
startup_script and a shutdown_script under enable_script_security. The startup script runs
before any instance: it finds no VIP on the interface, and vigild's log says it ran before the
instance's first transition. The shutdown script runs after the instances stopped: the VIP is
gone when it looks. A startup script that outlives startup_script_timeout 1 is ended and vigild
starts anyway (its log says so). Every process and namespace made is removed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NS = f"vlife-{os.getpid()}"
VIP = "192.0.2.100"


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=True)


def wait_for(what: str, condition, limit_s: float = 20) -> None:
    for _ in range(int(limit_s * 10)):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def config(work: Path, startup: Path, shutdown: Path, timeout: int) -> Path:
    conf = work / f"vigil-{timeout}.conf"
    conf.write_text(f"""global_defs {{
  enable_script_security
  script_user root
  startup_script {startup}
  startup_script_timeout {timeout}
  shutdown_script {shutdown}
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 61
  priority 255
  version 3
  advert_int 0.1
  virtual_ipaddress {{ {VIP}/32 }}
}}
""")
    return conf


def run_vigild(vigild: str, conf: Path, log: Path, work: Path) -> None:
    with open(log, "w") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", NS, vigild, "-n", "-l", "-P", "-f",
                                 str(conf), "-p", str(work / "vigild.pid")],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for("VI_1 MASTER", lambda: "-> MASTER" in log.read_text())
        except AssertionError:
            print(log.read_text())
            raise
        wait_for(f"{VIP} on eth0", lambda: VIP in sh("ip", "-n", NS, "-4", "addr", "show",
                                                        "dev", "eth0").stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigild", required=True)
    vigild = parser.parse_args().vigild
    work = Path(tempfile.mkdtemp(prefix="vigil-lifecycle-"))
    os.chmod(work, 0o755)
    try:
        sh("ip", "netns", "add", NS)
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        sh("ip", "-n", NS, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        sh("ip", "-n", NS, "address", "add", "192.0.2.1/24", "dev", "eth0")
        sh("ip", "-n", NS, "link", "set", "eth0p", "up")
        sh("ip", "-n", NS, "link", "set", "eth0", "up")

        seen = work / "seen"
        startup = work / "startup.sh"
        shutdown = work / "shutdown.sh"
        look = f"ip -4 address show dev eth0 | grep -c '{VIP}/' || true"
        script(startup, f'echo "startup $({look})" >> {seen}\n')
        script(shutdown, f'echo "shutdown $({look})" >> {seen}\n')
        log = work / "vigild.log"
        run_vigild(vigild, config(work, startup, shutdown, 10), log, work)
        print(log.read_text())
        check(seen.read_text().splitlines() == ["startup 0", "shutdown 0"],
              f"scripts saw {seen.read_text()!r}, expected the VIP absent at both")
        text = log.read_text()
        ran = text.find("startup_script")
        master = text.find("-> MASTER")
        check(0 <= ran < master, "the startup script is not logged before the first transition")
        check(f"startup_script {startup} succeeded" in text, "no success logged for startup")
        check(f"shutdown_script {shutdown} succeeded" in text, "no success logged for shutdown")

        # A startup script past its timeout is ended; vigild starts all the same.
        seen.unlink()
        script(startup, f'echo slow >> {seen}\nexec sleep 30\n')
        run_vigild(vigild, config(work, startup, shutdown, 1), log, work)
        text = log.read_text()
        print(text)
        check("startup_script" in text and "timed out" in text,
              "the slow startup script's timeout is not logged")
        check(seen.read_text().splitlines() == ["slow", "shutdown 0"], seen.read_text())
        print("PASS: startup before the instances, shutdown after them, a slow startup ended")
        return 0
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    sys.exit(main())
