#!/usr/bin/env python3
"""Drains through the control socket (issue 14), on vigild's real IPVS code path over an
in-memory table (vigild-recording, as the checker fixtures: the host kernel has no IPVS).

  control_overrides.py --vigild PATH-OF-vigild-recording --vigilctl PATH [--keep]

d1 runs vigild-recording -C with one virtual server and two real servers (no checkers: both in
at their configured weight). Through `vigilctl -s NS`:
- `rs drain` reaches the table as one SET_DEST at weight 0; `status`, `overrides` and
  `services` show it;
- the read-only socket refuses a drain; an unknown real server is refused;
- a restart programs the drained server at weight 0 from its first NEW_DEST (state file);
- a reload keeps it drained (no SET_DEST); `rs weight N` runs it at N, `rs ready` returns it to
  its configured weight;
- a corrupt state file is set aside (kept, never deleted) and vigild starts without it;
- `services --json` shows the kernel's weights (from the recorded table's dump); `rs maint` of
  a checked real server pauses its checker (shown paused, no probe) until `rs ready`;
- with VRRP running too (no -C): `reload --dry-run` lists exactly what the reload then does
  (exit 7 while changes are pending, 0 when none) and changes nothing itself; a configuration
  the VRRP side refuses (an instance on an interface without an address) is refused whole: the
  IPVS side does not take its weight change either.
Every wait is bounded; vigild is stopped by its PID; the state files go with the lab.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import holds_for, wait_until  # noqa: E402

VIP = "192.0.2.50"  # only in the recorded table
RS1, RS2 = "192.0.2.101", "192.0.2.102"
CHECKED_VIP, CHECKED_RS = "192.0.2.60", "192.0.2.103"  # its TCP_CHECK is refused: DOWN
TIMEOUT = 15.0


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


CONFIG = vlab.global_defs("  router_id overrides\n") + f"""virtual_server {VIP} 80 {{
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server {RS1} 8080 {{
    weight 3
  }}
  real_server {RS2} 8080 {{
    weight 2
  }}
}}
virtual_server {CHECKED_VIP} 80 {{
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server {CHECKED_RS} 8080 {{
    TCP_CHECK {{
      connect_ip 127.0.0.1
      connect_port 9
      connect_timeout 1
      delay_loop 1
    }}
  }}
}}
"""


class Director:
    def __init__(self, lab: vlab.Lab, vigild: str, vigilctl: str):
        self.lab = lab
        self.vigild = vigild
        self.vigilctl_path = vigilctl
        self.journal = lab.work / "datapath.jsonl"
        self.ns = lab.ns["d1"]
        self.state_file = Path(f"/var/lib/vigil/state_{self.ns}.conf")
        self.daemon: vlab.Daemon | None = None

    def start(self, config: str = CONFIG, checkers_only: bool = True) -> None:
        self.journal.unlink(missing_ok=True)
        only = ("-C",) if checkers_only else ()
        kind = vlab.DaemonKind("vigild", str(Path(self.vigild).resolve()),
                               args=("--record", str(self.journal), *only, "--ipvs-state-file",
                                     str(self.lab.work / "ipvs-owned.conf")),
                               vrrp_only=False)
        self.daemon = self.lab.start("d1", kind, config)
        wait_until(lambda: self.weight(RS2) == 2, TIMEOUT, "the first programming")

    def stop(self) -> None:
        assert self.daemon is not None
        self.daemon.terminate()

    def ops(self) -> list[dict]:
        try:
            text = self.journal.read_text()
        except OSError:
            return []
        return [json.loads(line) for line in text.splitlines(keepends=True)
                if line.endswith("\n")]

    def dest_ops(self, address: str) -> list[dict]:
        return [op for op in self.ops() if op.get("dest") == f"{address}:8080"]

    def weight(self, address: str) -> int | None:
        current = None
        for op in self.dest_ops(address):
            if op["op"] in ("NEW_DEST", "SET_DEST"):
                current = op["weight"]
            elif op["op"] == "DEL_DEST":
                current = None
        return current

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.vigilctl_path, "-s", self.ns, *args], capture_output=True,
                              text=True, timeout=30, check=False)


def check_maint_pauses_checks(d: Director) -> None:
    """`rs maint` pauses the checked real server's checker: shown paused, its probe count stays;
    `rs ready` resumes it."""
    def checker() -> dict:
        for vs in json.loads(d.ctl("services", "--json").stdout)["virtual_servers"]:
            for rs in vs["real_servers"]:
                if rs["address"] == f"[{CHECKED_RS}]:tcp:8080":
                    return rs["checkers"][0]
        raise AssertionError(f"no [{CHECKED_RS}]:tcp:8080 in services")

    wait_until(lambda: checker()["probes"] >= 1, TIMEOUT, f"{CHECKED_RS}'s first probe", 0.1)
    maint = d.ctl("rs", "maint", f"{CHECKED_VIP}:80", CHECKED_RS)
    check(maint.returncode == 0, f"rs maint: exit {maint.returncode}: {maint.stderr}")
    wait_until(lambda: checker().get("paused") is True, TIMEOUT, f"{CHECKED_RS}'s checker paused",
               0.1)
    probes = checker()["probes"]
    holds_for(lambda: checker()["probes"] == probes, 2.5, "no probe while paused (delay_loop 1)",
              0.1)
    ready = d.ctl("rs", "ready", f"{CHECKED_VIP}:80", CHECKED_RS)
    check(ready.returncode == 0, f"rs ready: exit {ready.returncode}: {ready.stderr}")
    wait_until(lambda: "paused" not in checker() and checker()["probes"] > probes, TIMEOUT,
               f"{CHECKED_RS}'s checks resumed", 0.1)


def run(lab: vlab.Lab, vigild: str, vigilctl: str) -> None:
    d = Director(lab, vigild, vigilctl)
    d.state_file.unlink(missing_ok=True)
    try:
        scenario(lab, d)
        d.state_file.unlink(missing_ok=True)
        plan_scenario(lab, d)
    finally:
        for leftover in d.state_file.parent.glob(d.state_file.name + "*"):
            leftover.unlink()


def scenario(lab: vlab.Lab, d: Director) -> None:
    d.start()
    check(d.weight(RS1) == 3, f"{RS1} starts at weight {d.weight(RS1)}, expected 3")

    before = len(d.dest_ops(RS1))
    drained = d.ctl("rs", "drain", f"{VIP}:80", RS1, "--reason", "netns test")
    check(drained.returncode == 0, f"rs drain: exit {drained.returncode}: {drained.stderr}")
    wait_until(lambda: d.weight(RS1) == 0, TIMEOUT, f"{RS1} drained to weight 0")
    new_ops = d.dest_ops(RS1)[before:]
    check([op["op"] for op in new_ops] == ["SET_DEST"],
          f"a drain is one SET_DEST, got {[op['op'] for op in new_ops]}")
    check(d.weight(RS2) == 2, f"{RS2} touched by the drain of {RS1}")
    status = json.loads(d.ctl("status", "--json").stdout)
    check([(o["real_server"], o["kind"], o["reason"]) for o in status["overrides"]] ==
          [(f"[{RS1}]:8080", "drain", "netns test")], f"status overrides: {status['overrides']}")
    listed = d.ctl("overrides")
    check(listed.returncode == 0 and "drain" in listed.stdout and "netns test" in listed.stdout,
          f"vigilctl overrides: {listed.stdout}{listed.stderr}")
    services = d.ctl("services", f"{VIP}:80")
    rows = {line.split()[0]: line.split() for line in services.stdout.splitlines()[2:]}
    check(services.returncode == 0 and rows.get(f"[{RS1}]:tcp:8080", [])[1:4] == ["UP", "3", "drain"]
          and rows.get(f"[{RS2}]:tcp:8080", [])[1:4] == ["UP", "2", "-"],
          f"vigilctl services: exit {services.returncode}: {services.stdout}{services.stderr}")
    real_servers = {rs["address"]: rs for vs in json.loads(d.ctl("services", "--json").stdout)
                    ["virtual_servers"] for rs in vs["real_servers"]}
    check(real_servers[f"[{RS1}]:tcp:8080"].get("kernel", {}).get("weight") == 0 and
          real_servers[f"[{RS2}]:tcp:8080"].get("kernel", {}).get("weight") == 2 and
          "last_change_seconds_ago" in real_servers[f"[{RS1}]:tcp:8080"],
          f"services --json kernel weights: {real_servers}")
    check_maint_pauses_checks(d)
    unknown_vs = d.ctl("services", "192.0.2.51:80")
    check(unknown_vs.returncode == 8, f"services of an unknown VS: exit {unknown_vs.returncode}")
    check(d.state_file.exists() and "drain" in d.state_file.read_text(),
          f"{d.state_file} does not hold the drain")

    read_only = subprocess.run(
        [d.vigilctl_path, "--socket", f"/run/vigil/vigild_{d.ns}.ro.sock", "rs", "drain",
         f"{VIP}:80", RS2], capture_output=True, text=True, timeout=30, check=False)
    check(read_only.returncode == 8 and "read-only" in read_only.stderr,
          f"drain on the read-only socket: exit {read_only.returncode}: {read_only.stderr}")
    unknown = d.ctl("rs", "drain", f"{VIP}:80", "192.0.2.199")
    check(unknown.returncode == 8 and "no real server" in unknown.stderr,
          f"drain of an unknown real server: exit {unknown.returncode}: {unknown.stderr}")
    check(d.weight(RS2) == 2, f"{RS2} changed by refused requests")

    # A restart: the drained server's first NEW_DEST is already at weight 0.
    d.stop()
    d.start()
    firsts = [op for op in d.dest_ops(RS1) if op["op"] == "NEW_DEST"]
    check(firsts and firsts[0]["weight"] == 0,
          f"after a restart {RS1} was programmed as {firsts[:1]}, expected weight 0")
    check(all(op["weight"] == 0 for op in d.dest_ops(RS1) if "weight" in op),
          f"{RS1} got a weight above 0 after the restart: {d.dest_ops(RS1)}")

    before = len(d.dest_ops(RS1))
    reloaded = d.ctl("reload", "--wait")
    check(reloaded.returncode == 0, f"reload: exit {reloaded.returncode}: {reloaded.stderr}")
    # A reload that would un-drain does so at once: nothing may come.
    holds_for(lambda: d.dest_ops(RS1)[before:] == [], 0.5, f"the reload leaving {RS1} alone")

    weighted = d.ctl("rs", "weight", f"{VIP}:80", f"{RS1}:8080", "7")
    check(weighted.returncode == 0, f"rs weight: exit {weighted.returncode}: {weighted.stderr}")
    wait_until(lambda: d.weight(RS1) == 7, TIMEOUT, f"{RS1} at weight 7")
    ready = d.ctl("rs", "ready", f"{VIP}:80", RS1)
    check(ready.returncode == 0, f"rs ready: exit {ready.returncode}: {ready.stderr}")
    wait_until(lambda: d.weight(RS1) == 3, TIMEOUT, f"{RS1} back at its configured weight 3")
    check(json.loads(d.ctl("status", "--json").stdout)["overrides"] == [],
          "overrides left after ready")

    # A corrupt state file: set aside, never deleted; vigild starts without it.
    d.stop()
    d.state_file.write_text("version = 1;\noverrides = ( { this is not libconfig\n")
    d.start()
    check(d.weight(RS1) == 3, f"{RS1} at {d.weight(RS1)} after a corrupt state file")
    broken = list(d.state_file.parent.glob(d.state_file.name + ".broken-*"))
    check(len(broken) == 1 and "this is not libconfig" in broken[0].read_text(),
          f"the corrupt state file was not kept aside: {broken}")
    # The log is written by its own thread: the line may come a moment after the table's.
    wait_until(lambda: f"{d.state_file}:2" in d.daemon.log_text(), TIMEOUT,
               "vigild's log naming the corrupt file's line")
    d.stop()


def vrrp_instance(name: str, interface: str, vrid: int, priority: int) -> str:
    return f"""vrrp_instance {name} {{
  interface {interface}
  virtual_router_id {vrid}
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    198.18.0.{vrid}/32
  }}
}}
"""


def plan_scenario(lab: vlab.Lab, d: Director) -> None:
    base = CONFIG + vrrp_instance("VI_1", "eth0", 51, 150)
    d.start(base, checkers_only=False)

    def dry_run(*extra: str) -> subprocess.CompletedProcess:
        return d.ctl("reload", "--dry-run", *extra)

    unchanged = dry_run()
    check(unchanged.returncode == 0 and "No changes." in unchanged.stdout,
          f"dry run of the running file: exit {unchanged.returncode}: {unchanged.stdout}"
          f"{unchanged.stderr}")

    edited = base.replace("weight 2", "weight 5").replace("priority 150", "priority 160")
    lab.write_config("d1", edited)
    ops_before = len(d.ops())
    planned = dry_run()
    expected = [f"~ dest TCP {VIP}:80 -> {RS2}:8080: weight 2 -> 5",
                "~ VI_1: priority 150 -> 160", "Plan: 0 to add, 2 to change, 0 to remove."]
    check(planned.returncode == 7 and all(line in planned.stdout for line in expected),
          f"dry run: exit {planned.returncode}, expected 7 and {expected}: {planned.stdout}"
          f"{planned.stderr}")
    as_json = json.loads(dry_run("--json").stdout)
    check(as_json["schema"] == "vigil-plan/1" and as_json["summary"]["change"] == 2
          and as_json["config_changed"], f"dry run --json: {as_json}")
    check(len(d.ops()) == ops_before, f"the dry run changed IPVS: {d.ops()[ops_before:]}")
    check(json.loads(d.ctl("status", "--json").stdout)["vrrp"][0]["priority"]["base"] == 150,
          "the dry run changed VI_1's priority")

    # The VRRP side refuses VI_2 (eth9 has no address): the IPVS side keeps weight 2 too.
    lab.write_config("d1", edited + vrrp_instance("VI_2", "eth9", 52, 100))
    refused_plan = dry_run()
    check(refused_plan.returncode == 5 and "VRRP" in refused_plan.stdout,
          f"dry run of a refused file: exit {refused_plan.returncode}: {refused_plan.stdout}")
    refused = d.ctl("reload", "--wait")
    check(refused.returncode == 5 and "eth9" in refused.stderr,
          f"reload the VRRP side refuses: exit {refused.returncode}: {refused.stderr}")
    check(len(d.ops()) == ops_before and d.weight(RS2) == 2,
          f"a refused reload changed IPVS: {d.ops()[ops_before:]}")
    check(json.loads(d.ctl("status", "--json").stdout)["vrrp"][0]["priority"]["base"] == 150,
          "a refused reload changed VI_1's priority")

    # The real reload does what the plan said: one SET_DEST (and VI_1's new priority).
    lab.write_config("d1", edited)
    applied = d.ctl("reload", "--wait")
    check(applied.returncode == 0, f"reload: exit {applied.returncode}: {applied.stderr}")
    wait_until(lambda: d.weight(RS2) == 5, TIMEOUT, f"{RS2} at weight 5")
    new_ops = [(op["op"], op.get("dest")) for op in d.ops()[ops_before:]]
    check(new_ops == [("SET_DEST", f"{RS2}:8080")],
          f"the reload's operations {new_ops} are not the plan's one SET_DEST")
    check(json.loads(d.ctl("status", "--json").stdout)["vrrp"][0]["priority"]["base"] == 160,
          "VI_1's priority after the reload")
    after = dry_run()
    check(after.returncode == 0 and "No changes." in after.stdout,
          f"dry run after the reload: exit {after.returncode}: {after.stdout}")
    d.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vigild", required=True, help="path of vigild-recording")
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    with vlab.Lab(vigild=args.vigild, keep=args.keep) as lab:
        try:
            run(lab, args.vigild, args.vigilctl)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL control-overrides: {e}")
            for daemon in lab.daemons:
                print(f"---- {daemon.kind.name} on {daemon.node}, last lines:")
                print("\n".join(daemon.log_text().splitlines()[-40:]))
            return 1
    print(f"PASS control-overrides ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
