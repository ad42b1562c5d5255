#!/usr/bin/env python3
"""vigilctl events --follow against a vigild pair (issue 14), on vigild's whole code path
(vigild-recording: IPVS in memory, the host kernel has none; VRRP for real).

  control_events.py --vigild PATH-OF-vigild-recording --vigilctl PATH [--keep]

d1 (priority 150) and d2 (100) run one VRRP instance and one virtual server. On the backup d2,
`vigilctl events --follow --json` runs throughout:
- its journal starts with d2's INIT -> BACKUP;
- d1 is SIGKILLed (by PID): the stream shows d2's BACKUP -> MASTER with its reason;
- `vigilctl rs drain` on d2 shows up as an override event with the caller's uid and reason;
- `vigilctl rs drain --for 2s` is an override event `set` with for_seconds 2, then (by itself,
  on vigild's timer) one `expired` event naming who set it;
- `vigilctl events` (no --follow) prints the same as text and exits 0;
- d2 stops (SIGTERM): the stream ends and vigilctl exits 3.
Every wait is bounded; vigild and vigilctl are stopped by their PIDs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import wait_until  # noqa: E402

VS = "192.0.2.50"  # only in the recorded table
RS1 = "192.0.2.101"
TIMEOUT = 15.0


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def config(priority: int) -> str:
    return (vlab.global_defs("  router_id events\n") +
            vlab.instance(priority=priority, advert_int=0.2, version=3) + f"""
virtual_server {VS} 80 {{
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server {RS1} 8080 {{
    weight 3
  }}
}}
""")


class Follower:
    """`vigilctl events --follow --json` in the background; its lines, parsed, as they come."""

    def __init__(self, vigilctl: str, ns: str):
        self.proc = subprocess.Popen([vigilctl, "-s", ns, "events", "--follow", "--json"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def events(self) -> list[dict]:
        with self.lock:
            return list(self.lines)

    def find(self, **fields: object) -> dict | None:
        for event in self.events():
            if all(event.get(k) == v for k, v in fields.items()):
                return event
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


def scenario(lab: vlab.Lab, vigild: str, vigilctl: str) -> None:
    def kind(node: str) -> vlab.DaemonKind:
        return vlab.DaemonKind("vigild", str(Path(vigild).resolve()),
                               args=("--record", str(lab.work / f"{node}-datapath.jsonl"),
                                     "--ipvs-state-file", str(lab.work / f"{node}-owned.conf")),
                               vrrp_only=False)

    ns2 = lab.ns["d2"]
    d1 = lab.start("d1", kind("d1"), config(150))
    lab.wait_sole_holder("d1", timeout=10)
    d2 = lab.start("d2", kind("d2"), config(100))
    socket = Path(f"/run/vigil/vigild_{ns2}.sock")
    wait_until(socket.exists, TIMEOUT, f"d2's control socket {socket}")

    follower = Follower(vigilctl, ns2)
    try:
        wait_until(lambda: follower.find(kind="vrrp", instance="VI_1", to="BACKUP"), TIMEOUT,
                   "d2's INIT -> BACKUP in the stream")
        check(lab.holders() == ["d1"], f"VIP holders {lab.holders()} before the kill")

        d1.kill()
        lab.wait_vip("d2", timeout=TIMEOUT)
        wait_until(lambda: follower.find(kind="vrrp", instance="VI_1", to="MASTER"), TIMEOUT,
                   "d2's BACKUP -> MASTER in the stream")
        master = follower.find(kind="vrrp", instance="VI_1", to="MASTER")
        check(master is not None and master["from"] == "BACKUP" and
              master["reason"] == "master down timer expired",
              f"the takeover event: {master}")
        check(isinstance(master["seq"], int) and master["time"].endswith("Z"),
              f"seq and time of {master}")

        drained = subprocess.run([vigilctl, "-s", ns2, "rs", "drain", f"{VS}:80", RS1,
                                  "--reason", "events test"], capture_output=True, text=True,
                                 timeout=30, check=False)
        check(drained.returncode == 0, f"rs drain: exit {drained.returncode}: {drained.stderr}")
        wait_until(lambda: follower.find(kind="override", action="drain"), TIMEOUT,
                   "the drain in the stream")
        override = follower.find(kind="override", action="drain")
        check(override is not None and override["uid"] == os.getuid() and
              override["pid"] > 0 and override["reason"] == "events test" and
              override["change"] == "set" and override["override_kind"] == "drain" and
              RS1 in override["real_server"], f"the override event: {override}")

        # An override for 2 s: set, then expired by vigild itself, once.
        timed = subprocess.run([vigilctl, "-s", ns2, "rs", "drain", f"{VS}:80", RS1,
                                "--reason", "expiry test", "--for", "2s"], capture_output=True,
                               text=True, timeout=30, check=False)
        check(timed.returncode == 0, f"rs drain --for 2s: exit {timed.returncode}: {timed.stderr}")
        wait_until(lambda: follower.find(kind="override", change="set", for_seconds=2), TIMEOUT,
                   "the drain --for 2s in the stream")
        wait_until(lambda: follower.find(kind="override", change="expired"), TIMEOUT,
                   "its expiry in the stream")
        expired = follower.find(kind="override", change="expired")
        check(expired is not None and expired["action"] == "ready" and
              expired["override_kind"] == "drain" and expired["reason"] == "expiry test" and
              expired["uid"] == os.getuid() and RS1 in expired["real_server"],
              f"the expiry event: {expired}")
        expiries = [e for e in follower.events() if e.get("change") == "expired"]
        check(len(expiries) == 1, f"one expiry event: {expiries}")
        seqs = [e["seq"] for e in follower.events() if e.get("kind") != "heartbeat"]
        check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"sequence numbers {seqs}")

        listed = subprocess.run([vigilctl, "-s", ns2, "events"], capture_output=True, text=True,
                                timeout=30, check=False)
        check(listed.returncode == 0 and "VI_1: BACKUP -> MASTER (master down timer expired)"
              in listed.stdout and "drain by uid" in listed.stdout and
              f"drain expired (set by uid {os.getuid()}" in listed.stdout,
              f"vigilctl events: exit {listed.returncode}: {listed.stdout}{listed.stderr}")

        d2.terminate()
        try:
            code = follower.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 3, f"vigilctl events --follow after vigild stopped: exit {code}")
        assert follower.proc.stderr is not None
        said = follower.proc.stderr.read()
        check("ended the event stream" in said, f"vigilctl's last words: {said!r}")
    finally:
        follower.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vigild", required=True, help="path of vigild-recording")
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    with vlab.Lab(ipv6=False, vigild=args.vigild, keep=args.keep) as lab:
        state_files = [Path(f"/var/lib/vigil/state_{lab.ns[n]}.conf") for n in ("d1", "d2")]
        try:
            scenario(lab, args.vigild, args.vigilctl)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL control-events: {e}")
            for daemon in lab.daemons:
                print(f"---- {daemon.kind.name} on {daemon.node}, last lines:")
                print("\n".join(daemon.log_text().splitlines()[-40:]))
            return 1
        finally:
            for state in state_files:
                for leftover in state.parent.glob(state.name + "*"):
                    leftover.unlink()
    print(f"PASS control-events ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
