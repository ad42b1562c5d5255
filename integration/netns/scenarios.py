#!/usr/bin/env python3
"""VRRP failover scenarios in network namespaces (CTest label `netns`).

  scenarios.py SCENARIO [--daemon keepalived|vigild] [--d1 KIND] [--d2 KIND] [--vigild PATH]
  scenarios.py --list

Every scenario builds its own lab (vlab.Lab: bridge, directors d1 and d2, client), runs a VRRP
daemon on each director from the same keepalived-syntax config, drives a fault and asserts states
and timings with bounded waits. The daemon kind is a parameter: --daemon sets both directors,
--d1/--d2 set one each (mixed pairs for interop). keepalived is the reference peer.

vigild takes the same flags (-f -n -l -D -p, -i) and the same config, so `--daemon vigild
--vigild build/.../vigild` runs every scenario against it unchanged; CMakeLists.txt registers
each scenario for keepalived, for vigild and for the mixed pairs.

States come from each director's vrrp_notify_fifo (lab.states), which a daemon writes in order;
the generic notify script's lines are kept too, but two of its runs may append out of order.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vlab  # noqa: E402
from vlab import VIP4, VIP4_B, VIP6, holds_for, wait_until  # noqa: E402

# Without --daemon/--d1/--d2: the reference (vigild needs --vigild PATH as well).
DEFAULT_DAEMON = "keepalived"
CRAFT = Path(__file__).resolve().parent / "craft_advert.py"
SCENARIOS: dict[str, callable] = {}
VIGILCTL: str | None = None  # --vigilctl

# Slack for timing assertions: CI runs tests two at a time next to QEMU and compilers.
SLACK = 0.35


def scenario(fn):
    SCENARIOS[fn.__name__.replace("_", "-")] = fn
    return fn


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def skew_time(priority: int, advert_int: float, version: int) -> float:
    """RFC 3768 §6.1 / RFC 5798 §6.1."""
    if version == 2:
        return (256 - priority) / 256.0
    return (256 - priority) * advert_int / 256.0


def master_down(priority: int, advert_int: float, version: int) -> float:
    return 3 * advert_int + skew_time(priority, advert_int, version)


class Pair:
    """The two directors of a scenario: their kinds, priorities and configs."""

    def __init__(self, lab: vlab.Lab, kinds: dict[str, str]):
        self.lab = lab
        self.kinds = kinds
        self.daemons: dict[str, vlab.Daemon] = {}
        self.notify = {node: lab.notify_script(node)[0] for node in vlab.DIRECTORS}
        self.state_fifo = {node: lab.state_fifo(node) for node in vlab.DIRECTORS}

    def global_defs(self, node: str) -> str:
        """global_defs with the node's state FIFO, from which lab.states() reads transitions."""
        return vlab.global_defs(f"  vrrp_notify_fifo {self.state_fifo[node]}\n")

    def start(self, node: str, config: str, exec_in: str | None = None) -> vlab.Daemon:
        self.daemons[node] = self.lab.start(node, self.kinds[node], config, exec_in)
        return self.daemons[node]

    def crash(self, node: str) -> float:
        """A host crash as the others see it: SIGKILL the daemon (it cannot say goodbye) and
        unplug the host, so its leftover VIP answers nobody, and drop that VIP as a reboot
        would. Returns the kill's wall time."""
        t = self.daemons[node].kill()
        self.lab.cable(node, False)
        self.lab.flush_vips(node)
        return t

    def check_alive(self) -> None:
        for node, daemon in self.daemons.items():
            check(daemon.alive(), f"{daemon.kind.name} on {node} exited unexpectedly "
                  f"(exit {daemon.proc.returncode})")


def simple_config(pair: Pair, node: str, priority: int, **kw) -> str:
    return pair.global_defs(node) + vlab.instance(priority=priority, notify=pair.notify[node],
                                                  **kw)


def start_pair(pair: Pair, priorities: tuple[int, int], **kw) -> float:
    """Starts d1 and d2; returns the wall time of the start."""
    t = time.time()
    for node, priority in zip(vlab.DIRECTORS, priorities):
        pair.start(node, simple_config(pair, node, priority, **kw))
    return t


# ---- scenarios -----------------------------------------------------------------------------
@scenario
def election(lab: vlab.Lab, pair: Pair) -> None:
    """Higher priority wins; at equal priority the higher primary address (d2) wins between two
    masters; a non-owner waits a Master_Down_Interval at startup before it becomes master."""
    adv, version = 0.2, 3
    start = start_pair(pair, (150, 100), advert_int=adv, version=version)
    t = lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    elapsed = t - start
    check(elapsed >= 3 * adv * 0.9,
          f"d1 became master {elapsed:.3f} s after start, before a Master_Down_Interval")
    lab.wait_client_reaches("d1")
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")
    check(lab.last_state("d2", "VI_1") == "BACKUP", f"d2 is {lab.last_state('d2', 'VI_1')}")
    # The generic notify script ran for every transition with keepalived's arguments, in
    # whatever order its processes appended: compared with the FIFO as a multiset.
    for node in vlab.DIRECTORS:
        wait_until(lambda: sorted(lab.notify_script_lines(node)) == sorted(lab.states(node)), 3,
                   f"{node}: the notify script's lines to match the state FIFO's")
    pair.check_alive()
    for node in vlab.DIRECTORS:
        pair.daemons[node].terminate()
    wait_until(lambda: lab.holders() == [], 5, "VIP released by both after SIGTERM")

    # A backup never compares addresses (RFC 5798 §6.4.2): the tie-break applies between two
    # masters. Start both equal-priority directors apart so both become master, then join them.
    lab.partition(True)
    start_pair(pair, (100, 100), advert_int=adv, version=version)
    wait_until(lambda: lab.holders() == ["d1", "d2"], master_down(100, adv, version) + 5,
               "both equal-priority directors master while apart")
    lab.partition(False)
    lab.wait_sole_holder("d2", timeout=adv + SLACK + 1)
    lab.wait_client_reaches("d2")
    holds_for(lambda: lab.holders() == ["d2"], 1.0, "d2 (higher address) as the only master")
    pair.check_alive()


@scenario
def sigkill(lab: vlab.Lab, pair: Pair) -> None:
    """SIGKILL of the master: the backup takes over after its Master_Down_Interval and the
    client's pings resume from the backup's MAC."""
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=10)
    lab.wait_client_reaches("d1")
    killed = pair.crash("d1")
    taken = lab.wait_vip("d2", timeout=master_down(100, adv, version) + 5)
    elapsed = taken - killed
    # The last advert d2 heard was at most one interval before the kill.
    lower = master_down(100, adv, version) - adv - 0.05
    upper = master_down(100, adv, version) + SLACK
    check(lower <= elapsed <= upper,
          f"takeover {elapsed:.3f} s after SIGKILL, expected {lower:.3f}-{upper:.3f} s")
    lab.wait_client_reaches("d2", timeout=5)
    check(lab.last_state("d2", "VI_1") == "MASTER", "d2's notify did not report MASTER")
    pair.daemons.pop("d1")
    pair.check_alive()
    print(f"  SIGKILL -> VIP on d2: {elapsed * 1000:.1f} ms")


@scenario
def sigterm(lab: vlab.Lab, pair: Pair) -> None:
    """SIGTERM of the master: it sends priority 0 and removes its VIP; the backup takes over after
    Skew_Time, far sooner than a Master_Down_Interval."""
    adv, version = 1, 2
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=10)
    lab.wait_client_reaches("d1")
    # Let d2 settle into BACKUP with a fresh timer (an advert just arrived).
    time.sleep(adv * 1.5)
    stopped = pair.daemons["d1"].terminate(wait=False)
    taken = lab.wait_vip("d2", timeout=master_down(100, adv, version) + 5)
    pair.daemons["d1"].reap(10)
    elapsed = taken - stopped
    skew = skew_time(100, adv, version)
    print(f"  SIGTERM -> VIP on d2: {elapsed * 1000:.1f} ms")
    check(elapsed <= skew + SLACK,
          f"takeover {elapsed:.3f} s after SIGTERM, Skew_Time is {skew:.3f} s")
    check(elapsed < master_down(100, adv, version) - adv,
          f"takeover {elapsed:.3f} s after SIGTERM: no faster than without priority 0")
    check(not lab.has_vip("d1"), "d1 kept its VIP after SIGTERM")
    lab.wait_client_reaches("d2", timeout=5)
    check(lab.last_state("d1", "VI_1") == "STOP", f"d1's last notify is "
          f"{lab.last_state('d1', 'VI_1')}, expected STOP")
    pair.daemons.pop("d1")
    pair.check_alive()
    print(f"  SIGTERM -> VIP on d2: {elapsed * 1000:.1f} ms (Skew_Time {skew * 1000:.1f} ms)")


@scenario
def preempt(lab: vlab.Lab, pair: Pair) -> None:
    """The higher-priority director takes the VIP back when it returns (preempt, the default)."""
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=10)
    pair.crash("d1")
    lab.wait_sole_holder("d2", timeout=master_down(100, adv, version) + 5)
    lab.cable("d1", True)
    restarted = time.time()
    pair.start("d1", simple_config(pair, "d1", 150, advert_int=adv, version=version))
    back = lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    check(back - restarted <= master_down(150, adv, version) + 1.0 + SLACK,
          f"d1 preempted {back - restarted:.3f} s after its restart")
    lab.wait_client_reaches("d1", timeout=5)
    wait_until(lambda: lab.last_state("d2", "VI_1") == "BACKUP", 3, "d2 back to BACKUP")
    pair.check_alive()


@scenario
def nopreempt(lab: vlab.Lab, pair: Pair) -> None:
    """With nopreempt the returning higher-priority director stays backup."""
    adv, version = 0.2, 3
    # Which of two nopreempt backups starting together wins is a race: start d1 first.
    pair.start("d1", simple_config(pair, "d1", 150, advert_int=adv, version=version,
                                   nopreempt=True))
    lab.wait_sole_holder("d1", timeout=10)
    pair.start("d2", simple_config(pair, "d2", 100, advert_int=adv, version=version,
                                   nopreempt=True))
    wait_until(lambda: lab.last_state("d2", "VI_1") == "BACKUP", 5, "d2 in BACKUP")
    pair.crash("d1")
    lab.wait_sole_holder("d2", timeout=master_down(100, adv, version) + 5)
    lab.cable("d1", True)
    pair.start("d1", simple_config(pair, "d1", 150, advert_int=adv, version=version,
                                   nopreempt=True))
    wait_until(lambda: lab.last_state("d1", "VI_1") == "BACKUP", 5, "d1 in BACKUP")
    holds_for(lambda: lab.holders() == ["d2"], 4 * master_down(150, adv, version),
              "d2 as the only master (no preemption)")
    check(lab.last_state("d1", "VI_1") == "BACKUP", "d1 left BACKUP")
    pair.check_alive()


@scenario
def link_down(lab: vlab.Lab, pair: Pair) -> None:
    """Carrier loss on the master's interface: it goes FAULT and the backup takes over; with the
    link back it preempts again."""
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=10)
    lab.link("d1", False)
    wait_until(lambda: lab.last_state("d1", "VI_1") == "FAULT", 3, "d1 in FAULT")
    lab.wait_sole_holder("d2", timeout=master_down(100, adv, version) + SLACK + 1)
    lab.wait_client_reaches("d2", timeout=5)
    lab.link("d1", True)
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    lab.wait_client_reaches("d1", timeout=5)
    pair.check_alive()


def script_config(pair: Pair, node: str, priority: int, flag: Path | None, weight: int,
                  adv: float, version: int, sync_group: bool = False) -> str:
    text = pair.global_defs(node)
    track = ""
    if flag is not None:
        text += (f"vrrp_script chk_flag {{\n  script \"/usr/bin/test -e {flag}\"\n"
                 f"  interval 1\n  timeout 1\n  weight {weight}\n  fall 1\n  rise 1\n}}\n")
        track = "track_script {\n  chk_flag\n}"
    if sync_group:
        text += "vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n}\n"
    text += vlab.instance("VI_1", vrid=51, priority=priority, advert_int=adv, version=version,
                          notify=pair.notify[node], extra=track)
    if sync_group:
        text += vlab.instance("VI_2", vrid=52, priority=priority, advert_int=adv,
                              version=version, vips=(VIP4_B,), notify=pair.notify[node])
    return text


@scenario
def track_script(lab: vlab.Lab, pair: Pair) -> None:
    """A failing vrrp_script (weight -100) drops the master below the backup, which takes over;
    when the script succeeds again the master preempts back."""
    adv, version = 0.2, 3
    flag = lab.work / "d1-healthy"
    flag.touch()
    pair.start("d1", script_config(pair, "d1", 150, flag, -100, adv, version))
    pair.start("d2", script_config(pair, "d2", 100, None, 0, adv, version))
    lab.wait_sole_holder("d1", timeout=10)
    holds_for(lambda: lab.holders() == ["d1"], 1.5, "d1 as master while its script passes")
    failed = time.time()
    flag.unlink()
    # One script interval to notice, then d2's Master_Down_Interval (d1 now advertises 50).
    t = lab.wait_sole_holder("d2", timeout=1 + master_down(100, adv, version) + 5)
    check(t - failed <= 1 + master_down(100, adv, version) + 1 + SLACK,
          f"d2 took over {t - failed:.3f} s after the script started failing")
    check(lab.last_state("d1", "VI_1") == "BACKUP", "d1 is not BACKUP with a failing script")
    flag.touch()
    lab.wait_sole_holder("d1", timeout=1 + master_down(150, adv, version) + 5)
    pair.check_alive()


@scenario
def sync_group(lab: vlab.Lab, pair: Pair) -> None:
    """Two instances in a sync group: a fault in one (script with weight 0) moves both VIPs."""
    adv, version = 0.2, 3
    flag = lab.work / "d1-healthy"
    flag.touch()
    pair.start("d1", script_config(pair, "d1", 150, flag, 0, adv, version, sync_group=True))
    pair.start("d2", script_config(pair, "d2", 100, None, 0, adv, version, sync_group=True))
    lab.wait_sole_holder("d1", VIP4, timeout=10)
    lab.wait_sole_holder("d1", VIP4_B, timeout=5)
    flag.unlink()
    wait_until(lambda: lab.last_state("d1", "VI_1") == "FAULT", 5, "VI_1 on d1 in FAULT")
    lab.wait_sole_holder("d2", VIP4, timeout=master_down(100, adv, version) + 5)
    lab.wait_sole_holder("d2", VIP4_B, timeout=5)
    check(lab.last_state("d1", "VI_2") in ("BACKUP", "FAULT"),
          f"VI_2 on d1 is {lab.last_state('d1', 'VI_2')}, it must follow VI_1")
    holds_for(lambda: lab.holders(VIP4) == ["d2"] and lab.holders(VIP4_B) == ["d2"], 1.0,
              "both VIPs on d2")
    flag.touch()
    lab.wait_sole_holder("d1", VIP4, timeout=1 + master_down(150, adv, version) + 5)
    lab.wait_sole_holder("d1", VIP4_B, timeout=5)
    pair.check_alive()


@scenario
def partition(lab: vlab.Lab, pair: Pair) -> None:
    """A partition between the directors makes both master; once healed exactly one master
    remains within one advert interval."""
    adv, version = 1, 2
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=10)
    lab.partition(True)
    wait_until(lambda: lab.holders() == ["d1", "d2"],
               master_down(100, adv, version) + SLACK + 1, "both directors master")
    holds_for(lambda: lab.holders() == ["d1", "d2"], 2 * adv, "both master while partitioned")
    lab.partition(False)
    healed = time.time()
    t = lab.wait_sole_holder("d1", timeout=5 * adv)
    check(t - healed <= adv + SLACK,
          f"{t - healed:.3f} s after healing until one master; advert interval is {adv} s")
    holds_for(lambda: lab.holders() == ["d1"], 2 * adv, "d1 as the only master after healing")
    lab.wait_client_reaches("d1", timeout=5)
    pair.check_alive()
    print(f"  healed -> one master: {(t - healed) * 1000:.1f} ms")


@scenario
def net_namespace(lab: vlab.Lab, pair: Pair) -> None:
    """net_namespace in global_defs: d1's daemon is started in an empty namespace and moves
    itself into d1's, where it wins the election, holds the VIP and answers the client; killed,
    d2 takes over (d1's adverts really came from there)."""
    adv, version = 0.2, 3
    netns = lab.ns["d1"]
    # A top-level keyword, read before anything else (keepalived refuses it in global_defs).
    d1 = (f"net_namespace {netns}\n" + pair.global_defs("d1") +
          vlab.instance(priority=150, advert_int=adv, version=version, notify=pair.notify["d1"]))
    launched_in = lab.empty_namespace()
    daemon = pair.start("d1", d1, exec_in=launched_in)
    pair.start("d2", simple_config(pair, "d2", 100, advert_int=adv, version=version))
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    lab.wait_client_reaches("d1")
    wanted = os.stat(f"/run/netns/{netns}").st_ino
    check(os.stat(f"/proc/{daemon.pid}/ns/net").st_ino == wanted,
          f"{daemon.kind.name} (pid {daemon.pid}) is not in network namespace {netns}")
    check(os.stat(f"/run/netns/{launched_in}").st_ino != wanted, "launched in d1's namespace")
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")
    check(lab.last_state("d1", "VI_1") == "MASTER", f"d1 is {lab.last_state('d1', 'VI_1')}")
    killed = pair.crash("d1")
    taken = lab.wait_vip("d2", timeout=master_down(100, adv, version) + 5)
    check(taken - killed <= master_down(100, adv, version) + SLACK,
          f"takeover {taken - killed:.3f} s after SIGKILL of the namespaced d1")
    pair.daemons.pop("d1")
    pair.check_alive()


@scenario
def unicast(lab: vlab.Lab, pair: Pair) -> None:
    """Unicast peers with multicast VRRP dropped: election and failover still work."""
    adv, version = 0.2, 3
    for node in vlab.DIRECTORS:
        lab.drop_vrrp_multicast(node)
    for node, priority in (("d1", 150), ("d2", 100)):
        peer = "d2" if node == "d1" else "d1"
        pair.start(node, simple_config(pair, node, priority, advert_int=adv, version=version,
                                       unicast=(vlab.ADDR4[node], vlab.ADDR4[peer])))
    lab.wait_sole_holder("d1", timeout=10)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master over unicast")
    killed = pair.crash("d1")
    taken = lab.wait_vip("d2", timeout=master_down(100, adv, version) + 5)
    check(taken - killed <= master_down(100, adv, version) + SLACK,
          f"unicast takeover {taken - killed:.3f} s after SIGKILL")
    lab.wait_client_reaches("d2", timeout=5)
    pair.daemons.pop("d1")
    pair.check_alive()


@scenario
def ipv6(lab: vlab.Lab, pair: Pair) -> None:
    """VRRPv3 over IPv6 (ff02::12): election, SIGKILL failover, the client's neighbour entry for
    the IPv6 VIP moves to the backup's MAC."""
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version, vips=(VIP6,), ipv6=True)
    lab.wait_sole_holder("d1", VIP6, timeout=10)
    lab.wait_client_reaches("d1", VIP6)
    killed = pair.crash("d1")
    taken = lab.wait_vip("d2", VIP6, timeout=master_down(100, adv, version) + 5)
    check(taken - killed <= master_down(100, adv, version) + SLACK,
          f"IPv6 takeover {taken - killed:.3f} s after SIGKILL")
    lab.wait_client_reaches("d2", VIP6, timeout=5)
    pair.daemons.pop("d1")
    pair.check_alive()


@scenario
def malformed(lab: vlab.Lab, pair: Pair) -> None:
    """Crafted adverts from the client: a valid priority-254 advert demotes the master (the
    control), each malformed one - with priority 254 (would demote the master) and priority 0
    (would promote the backup) - changes nothing."""
    adv, version, password = 1, 2, "secret"
    start_pair(pair, (150, 100), advert_int=adv, version=version, auth_pass=password)
    lab.wait_sole_holder("d1", timeout=10)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")

    def craft(kind: str, priority: int, count: int) -> None:
        lab.exec("c", sys.executable, str(CRAFT), "--src", vlab.ADDR4["c"], "--vrid", "51",
                 "--priority", str(priority), "--vip", VIP4, "--kind", kind, "--version", "2",
                 "--auth-pass", password, "--advert-int", str(adv), "--count", str(count),
                 "--every", "0.1", timeout=count * 0.1 + 10)

    # The control: the same sender with a valid advert does move the state.
    craft("valid", 254, 3)
    wait_until(lambda: lab.holders() == [], 3, "the master to step down for a valid advert")
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as master again")

    lines_before = {node: len(lab.states(node)) for node in vlab.DIRECTORS}
    rejects_before = {node: vigild_rejects(pair, node) for node in vlab.DIRECTORS}
    for kind in ("bad-ttl", "bad-checksum", "wrong-vrid", "truncated", "wrong-auth",
                 "bad-version", "bad-interval", "count-mismatch"):
        for priority in (254, 0):
            craft(kind, priority, 10)
            # A priority-0 advert would promote the backup after Skew_Time; watch past that.
            holds_for(lambda: lab.holders() == ["d1"], skew_time(100, adv, version) + 0.2,
                      f"d1 as the only master after {kind} adverts with priority {priority}")
    for node in vlab.DIRECTORS:
        check(len(lab.states(node)) == lines_before[node],
              f"{node} changed state: {lab.states(node)[lines_before[node]:]}")
    # vigild: every kind was counted under its reason (SIGUSR2 -> $TMPDIR/vigil.stats).
    for node in vlab.DIRECTORS:
        if pair.kinds[node] != "vigild":
            continue
        after = vigild_rejects(pair, node)
        grown = {reason: n - rejects_before[node].get(reason, 0) for reason, n in after.items()
                 if n > rejects_before[node].get(reason, 0)}
        print(f"{node} vigild rejects during the malformed adverts: {grown}")
        # 20 adverts of each kind, each under its reason. A "truncated" advert (addresses cut
        # off, IP length consistent) is an address count mismatch like "count-mismatch", so
        # that reason counts both; wrong-vrid counts under the socket (no instance has it).
        expected = {"TTL/hop limit not 255": 20, "bad checksum": 20, "authentication mismatch": 20,
                    "bad version": 20, "advert interval mismatch": 20, "unknown VRID": 20,
                    "address count does not match length": 40}
        for reason, count in expected.items():
            check(grown.get(reason, 0) >= count, f"{node}: reject counter {reason!r} grew by "
                  f"{grown.get(reason, 0)} (expected {count}): {grown}")
    pair.check_alive()


def vigild_rejects(pair: Pair, node: str) -> dict[str, int]:
    """vigild's reject counters by reason (instance and socket sections summed), read from the
    stats file it writes on SIGUSR2; {} for keepalived."""
    if pair.kinds[node] != "vigild":
        return {}
    stats = vlab.vigild_dump("stats")
    stats.unlink(missing_ok=True)
    os.kill(pair.daemons[node].pid, signal.SIGUSR2)
    wait_until(lambda: stats.exists() and "Socket:" in stats.read_text(), 3,
               f"{node}: vigild to write {stats}")
    counts: dict[str, int] = {}
    in_rejects = False
    for line in stats.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("Rejected"):
            in_rejects = True
            continue
        if in_rejects and line.startswith("    ") and ":" in stripped:
            reason, _, value = stripped.rpartition(":")
            counts[reason] = counts.get(reason, 0) + int(value)
        else:
            in_rejects = False
    return counts


@scenario
def reload(lab: vlab.Lab, pair: Pair) -> None:
    """SIGHUP on the master: an unchanged config changes nothing; a changed instance (priority,
    one more VIP) stays master without a gap and adds the VIP; a removed instance stops (priority
    0) and the backup takes over. SIGUSR1 reports the states first."""
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")
    for node, state in (("d1", "MASTER"), ("d2", "BACKUP")):
        if pair.kinds[node] != "vigild":
            continue
        data = vlab.vigild_dump("data")
        data.unlink(missing_ok=True)
        os.kill(pair.daemons[node].pid, signal.SIGUSR1)
        wait_until(lambda: data.exists() and "VI_1" in data.read_text(), 3, f"{node}: {data}")
        check(f"State = {state}" in data.read_text(), f"{node}: {data.read_text()}")

    def reload_d1(config: str) -> None:
        lab.write_config("d1", config)
        os.kill(pair.daemons["d1"].pid, signal.SIGHUP)

    lines = {node: len(lab.states(node)) for node in vlab.DIRECTORS}
    reload_d1(simple_config(pair, "d1", 150, advert_int=adv, version=version))
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as master after an unchanged reload")
    for node in vlab.DIRECTORS:
        check(len(lab.states(node)) == lines[node],
              f"{node}: unchanged reload made transitions {lab.states(node)[lines[node]:]}")

    reload_d1(simple_config(pair, "d1", 160, advert_int=adv, version=version,
                            vips=(VIP4, VIP4_B)))
    lab.wait_vip("d1", VIP4_B, timeout=3)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master of VIP4 after reload")
    d2_new = [f for f in lab.states("d2")[lines["d2"]:] if f[2] == "MASTER"]
    check(not d2_new, f"d2 became master during d1's reload: {d2_new}")

    removed = time.time()
    reload_d1(pair.global_defs("d1"))
    taken = lab.wait_vip("d2", timeout=master_down(100, adv, version) + 5)
    check(taken - removed <= skew_time(100, adv, version) + SLACK,
          f"d2 took over {taken - removed:.3f} s after the instance was removed (priority 0 "
          f"expected: Skew_Time {skew_time(100, adv, version):.3f} s)")
    wait_until(lambda: not lab.has_vip("d1") and not lab.has_vip("d1", VIP4_B), 3,
               "d1 to remove its VIPs")
    print(f"  instance removed by reload -> VIP on d2: {(taken - removed) * 1000:.1f} ms")
    pair.check_alive()


@scenario
def track_file_notify(lab: vlab.Lab, pair: Pair) -> None:
    """track_file moves d1's priority (value x weight), watched with inotify: d2 takes over when
    an editor-style rename puts 1 in the file and d1 comes back when the file is removed;
    notify_master runs; notify_fifo gets keepalived's lines; vrrp_notify_fifo_script is started
    with its FIFO's name and reads the same lines; a lower-priority advert at the master runs
    notify_master_rx_lower_pri and writes MASTER_RX_LOWER_PRI; a clean stop writes STOP and ends
    the FIFO's script with SIGTERM."""
    adv, version = 0.2, 3
    work = lab.work / "d1"
    work.mkdir(parents=True, exist_ok=True)
    fifo, tracked, master_mark = work / "notify.fifo", work / "tracked", work / "became-master"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader first: writers never wait
    master_script = work / "master.sh"
    master_script.write_text(f"#!/bin/sh\necho \"$@\" >> {master_mark}\n")
    master_script.chmod(0o755)
    lower_mark = work / "rx-lower"
    lower_script = work / "rx-lower.sh"
    lower_script.write_text(f"#!/bin/sh\necho \"rx-lower $@\" >> {lower_mark}\n")
    lower_script.chmod(0o755)
    # vigild makes this FIFO and hands its name to the script as the last argument.
    vrrp_fifo, fifo_log = work / "vrrp.fifo", work / "vrrp-fifo.log"
    fifo_script = work / "fifo-reader.sh"
    fifo_script.write_text("#!/bin/sh\n"
                           f"trap 'echo reader-got-TERM >> {fifo_log}; exit 0' TERM\n"
                           f"echo \"args: $@\" >> {fifo_log}\n"
                           f"while read -r line; do echo \"$line\" >> {fifo_log}; done < \"$1\"\n")
    fifo_script.chmod(0o755)
    received = []

    def fifo_lines() -> list[str]:
        try:
            chunk = os.read(reader, 65536)
        except BlockingIOError:
            chunk = b""
        received.extend(chunk.decode().splitlines())
        return received

    def script_fifo_lines() -> list[str]:
        return fifo_log.read_text().splitlines() if fifo_log.exists() else []

    try:
        extra = (f"track_file tf {{\n  file {tracked}\n  weight -60\n}}\n")
        d1 = (vlab.global_defs(f"  notify_fifo {fifo}\n  vrrp_notify_fifo {vrrp_fifo}\n"
                               f"  vrrp_notify_fifo_script {fifo_script}\n") + extra +
              vlab.instance(priority=150, advert_int=adv, version=version,
                            notify=pair.notify["d1"],
                            extra=f"notify_master \"{master_script} was-made-master\"\n"
                                  f"notify_master_rx_lower_pri {lower_script}\n"
                                  # only the lower-priority GARPs may fix the client below
                                  "garp_master_delay 0\n"
                                  "track_file {\n  tf\n}"))
        pair.start("d1", d1)
        pair.start("d2", simple_config(pair, "d2", 100, advert_int=adv, version=version))
        lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
        wait_until(lambda: 'INSTANCE "VI_1" MASTER 150' in fifo_lines(), 3, "the MASTER fifo line")
        wait_until(lambda: master_mark.exists(), 3, "notify_master to run")
        check(master_mark.read_text().split() == ["was-made-master"],
              f"notify_master arguments: {master_mark.read_text()!r}")
        wait_until(lambda: 'INSTANCE "VI_1" MASTER 150' in script_fifo_lines(), 3,
                   "the vrrp_notify_fifo_script to read the MASTER line")
        check(script_fifo_lines()[0] == f"args: {vrrp_fifo}",
              f"vrrp_notify_fifo_script arguments: {script_fifo_lines()[:1]!r}")

        # A router that lost the election still advertising (split brain): d1 stays master,
        # re-sends gratuitous ARPs (the client had been told another MAC), runs
        # notify_master_rx_lower_pri, and says so on the FIFOs.
        check(lab.ping(VIP4), "the client cannot reach the VIP on d1")
        d1_mac = lab.neigh_mac()
        check(d1_mac is not None, "the client has no neighbour entry for the VIP")
        lab.sysctl("c", "net.ipv4.neigh.eth0.locktime", "0")  # a GARP may replace it at once
        lab.ip("c", "neigh", "replace", VIP4, "lladdr", "02:00:00:00:00:99", "dev", "eth0",
               "nud", "stale")
        check(lab.neigh_mac() == "02:00:00:00:00:99", "the client's entry was not replaced")
        lab.exec("c", sys.executable, str(CRAFT), "--src", vlab.ADDR4["c"], "--vrid", "51",
                 "--priority", "50", "--vip", VIP4, "--kind", "valid", "--version", str(version),
                 "--advert-int", str(adv), "--count", "1", "--every", "0.1", timeout=10)
        wait_until(lambda: lab.neigh_mac() == d1_mac, 3,
                   "d1's lower-priority GARPs to give the client d1's MAC back")
        wait_until(lambda: lower_mark.exists(), 3, "notify_master_rx_lower_pri to run")
        check(lower_mark.read_text().split() == ["rx-lower"],
              f"notify_master_rx_lower_pri arguments: {lower_mark.read_text()!r}")
        wait_until(lambda: 'INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150' in fifo_lines(), 3,
                   "the MASTER_RX_LOWER_PRI fifo line")
        holds_for(lambda: lab.holders() == ["d1"], 0.5, "d1 as master after a lower advert")

        # An editor's save: a new file renamed over the tracked path.
        changed = time.time()
        scratch = work / ".tracked.swp"
        scratch.write_text("1\n")  # 150 - 60 = 90 < 100
        os.rename(scratch, tracked)
        taken = lab.wait_vip("d2", timeout=5)
        wait_until(lambda: 'INSTANCE "VI_1" BACKUP 90' in fifo_lines(), 3, "the BACKUP 90 fifo line")
        wait_until(lambda: 'INSTANCE "VI_1" BACKUP 90' in script_fifo_lines(), 3,
                   "the vrrp_notify_fifo_script to read the BACKUP line")
        print(f"  track_file 1 (renamed in) -> VIP on d2: {(taken - changed) * 1000:.1f} ms")

        tracked.unlink()  # a removed file counts as 0
        lab.wait_sole_holder("d1", timeout=5)
        pair.check_alive()

        # A clean stop writes the STOP line and ends the FIFO's reader with SIGTERM (its trap
        # runs). Both daemons signal the reader right after writing, so whether the reader still
        # reads that line first is a race in both: the STOP line is checked on notify_fifo.
        pair.daemons["d1"].terminate()
        wait_until(lambda: "reader-got-TERM" in script_fifo_lines(), 5,
                   "the vrrp_notify_fifo_script to get SIGTERM at stop")
        wait_until(lambda: any(line.startswith('INSTANCE "VI_1" STOP ') for line in fifo_lines()),
                   3, "the STOP fifo line")
    finally:
        os.close(reader)


@scenario
def notify_priority_changes(lab: vlab.Lab, pair: Pair) -> None:
    """notify_priority_changes: a track_file weight moves d1's priority and its vrrp_notify_fifo
    says so, MASTER_PRIORITY while master and BACKUP_PRIORITY otherwise, in order with the
    state lines; the generic notify script is not called for it (keepalived 2.2.7 writes only
    the FIFO line). keepalived is the reference: the same check passes for both."""
    adv, version = 0.2, 3
    work = lab.work / "d1"
    work.mkdir(parents=True, exist_ok=True)
    tracked = work / "tracked"

    def track_value(value: int) -> None:
        scratch = work / ".tracked.new"
        scratch.write_text(f"{value}\n")
        os.rename(scratch, tracked)

    def d1_lines() -> list[str]:
        return [" ".join(f) for f in lab.states("d1") if len(f) >= 3 and f[1] == "VI_1"]

    d1 = (pair.global_defs("d1") +
          f"track_file tf {{\n  file {tracked}\n  weight -10\n}}\n" +
          vlab.instance(priority=150, advert_int=adv, version=version, notify=pair.notify["d1"],
                        extra="notify_priority_changes\ntrack_file {\n  tf\n}"))
    pair.start("d1", d1)
    pair.start("d2", simple_config(pair, "d2", 100, advert_int=adv, version=version))
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    wait_until(lambda: 'INSTANCE VI_1 MASTER 150' in d1_lines(), 3, "d1's MASTER 150 line")

    track_value(2)  # 150 - 20: still above d2
    wait_until(lambda: 'INSTANCE VI_1 MASTER_PRIORITY 130' in d1_lines(), 3,
               "the MASTER_PRIORITY 130 line")
    holds_for(lambda: lab.holders() == ["d1"], 0.5, "d1 as master at priority 130")

    track_value(6)  # 150 - 60 = 90 < 100: d2 takes over
    lab.wait_vip("d2", timeout=5)
    wait_until(lambda: 'INSTANCE VI_1 BACKUP 90' in d1_lines(), 3, "d1's BACKUP 90 line")

    tracked.unlink()  # a removed file counts as 0: back to 150, d1 preempts
    lab.wait_sole_holder("d1", timeout=5)
    wait_until(lambda: d1_lines()[-1:] == ['INSTANCE VI_1 MASTER 150'], 3, "d1's MASTER line")
    want = ['INSTANCE VI_1 MASTER 150', 'INSTANCE VI_1 MASTER_PRIORITY 130',
            'INSTANCE VI_1 MASTER_PRIORITY 90', 'INSTANCE VI_1 BACKUP 90',
            'INSTANCE VI_1 BACKUP_PRIORITY 150', 'INSTANCE VI_1 MASTER 150']
    got = [line for line in d1_lines() if "RX_LOWER" not in line]
    check(got[-len(want):] == want, f"d1's FIFO lines: {got}")
    # d2 never had notify_priority_changes.
    check(not any("_PRIORITY" in " ".join(f) for f in lab.states("d2")),
          f"d2 wrote a priority line: {lab.states('d2')}")
    scripted = lab.notify_script_lines("d1")
    check(not any(len(f) >= 3 and f[2].endswith("_PRIORITY") for f in scripted),
          f"the notify script was called for a priority change: {scripted}")
    pair.check_alive()


@scenario
def notify_deleted(lab: vlab.Lab, pair: Pair) -> None:
    """A reload that removes instances: VI_1 (notify_deleted SCRIPT) runs that script and says
    DELETED to the generic notify script and the FIFO; VI_2 (no notify_deleted) says FAULT to
    them, as keepalived always did, but runs no notify_fault (nor notify_stop); both leave (the VIPs go) and
    VI_3, kept, stays master. keepalived is the reference: the same check passes for both."""
    adv, version = 0.2, 3
    work = lab.work / "d1"
    work.mkdir(parents=True, exist_ok=True)
    marks = work / "marks"
    mark_script = work / "mark.sh"
    mark_script.write_text(f"#!/bin/sh\necho \"$@\" >> {marks}\n")
    mark_script.chmod(0o755)
    vip3 = "192.0.2.202"

    def instance(name: str, vrid: int, priority: int, vip: str, extra: str = "") -> str:
        return vlab.instance(name=name, vrid=vrid, priority=priority, advert_int=adv,
                             version=version, vips=(vip,), notify=pair.notify["d1"], extra=extra)

    kept = instance("VI_3", 53, 120, vip3)
    pair.start("d1", pair.global_defs("d1") +
               instance("VI_1", 51, 150, VIP4,
                        f"notify_deleted \"{mark_script} deleted VI_1\"\n"
                        f"notify_stop \"{mark_script} stop VI_1\"") +
               instance("VI_2", 52, 100, VIP4_B,
                        f"notify_fault \"{mark_script} fault VI_2\"\n"
                        f"notify_stop \"{mark_script} stop VI_2\"") + kept)
    for vip in (VIP4, VIP4_B, vip3):
        lab.wait_vip("d1", vip, timeout=master_down(100, adv, version) + 5)
    wait_until(lambda: lab.last_state("d1", "VI_2") == "MASTER", 3, "VI_2's MASTER line")
    before = len(lab.states("d1"))

    lab.write_config("d1", pair.global_defs("d1") + kept)
    os.kill(pair.daemons["d1"].pid, signal.SIGHUP)
    wait_until(lambda: not lab.has_vip("d1") and not lab.has_vip("d1", VIP4_B), 5,
               "d1 to remove the removed instances' VIPs")
    wanted = {"INSTANCE VI_1 DELETED 150", "INSTANCE VI_2 FAULT 100"}
    wait_until(lambda: wanted <= {" ".join(f) for f in lab.states("d1")[before:]}, 3,
               "the DELETED and FAULT lines")
    wait_until(lambda: marks.exists(), 3, "notify_deleted to run")
    wait_until(lambda: wanted <= {" ".join(f) for f in lab.notify_script_lines("d1")}, 3,
               "the generic notify script's DELETED and FAULT calls")
    holds_for(lambda: lab.has_vip("d1", vip3), 0.5, "VI_3 as master after the reload")
    new_lines = [" ".join(f) for f in lab.states("d1")[before:]]
    check(sorted(new_lines) == sorted(wanted), f"d1's FIFO lines after the reload: {new_lines}")
    # keepalived picks the state's own script while the state is DELETED, before it turns it
    # into FAULT: VI_2's notify_fault does not run.
    check(marks.read_text().splitlines() == ["deleted VI_1"],
          f"scripts run: {marks.read_text().splitlines()}")
    pair.check_alive()


@scenario
def garp_interval(lab: vlab.Lab, pair: Pair) -> None:
    """vrrp_garp_interval: a new master's gratuitous ARPs reach the client at least that far
    apart (keepalived is the reference: the same check passes for both)."""
    interval, repeat = 0.05, 3
    vips = (vlab.VIP4, vlab.VIP4_B)
    capture_log = lab.work / "client-arp.txt"
    # -tt: the kernel's receive stamp of each frame, so how fast tcpdump reads does not matter.
    capture = lab.spawn("c", ["tcpdump", "-i", "eth0", "-n", "-tt", "-l", "--immediate-mode",
                                   "arp"], log=capture_log)
    wait_until(lambda: "listening on" in capture_log.read_text(errors="replace"), 5,
               "tcpdump listening in the client")
    config = (vlab.global_defs(f"  vrrp_notify_fifo {pair.state_fifo['d1']}\n"
                               f"  vrrp_garp_interval {interval}\n")
              + vlab.instance(priority=150, advert_int=0.5, version=3, vips=vips,
                              notify=pair.notify["d1"],
                              extra=f"garp_master_repeat {repeat}\ngarp_master_delay 0"))
    pair.start("d1", config)
    lab.wait_sole_holder("d1", timeout=master_down(150, 0.5, 3) + 5)

    def gratuitous() -> list[tuple[float, str]]:
        """(receive time, address) of each gratuitous ARP for a VIP: who-has X tell X."""
        out = []
        for line in capture_log.read_text(errors="replace").splitlines():
            words = line.split()
            if "who-has" not in words or "tell" not in words:
                continue
            target = words[words.index("who-has") + 1]
            sender = words[words.index("tell") + 1].rstrip(",")
            if target == sender and target in vips:
                out.append((float(words[0]), target))
        return out

    # vigild sends every repeat, spaced. keepalived 2.2.7 keeps one pending flag per address,
    # so a spaced burst collapses: 3 repeats of 2 addresses went out as 200, 200, 201.
    expected = repeat * len(vips) if pair.kinds["d1"] == "vigild" else len(vips) + 1
    wait_until(lambda: len(gratuitous()) >= expected, 5 + expected * interval,
               f"{expected} gratuitous ARPs at the client")
    holds_for(lambda: len(gratuitous()) == expected, 1.0, f"exactly {expected} gratuitous ARPs")
    arps = gratuitous()
    if pair.kinds["d1"] == "vigild":
        check([a for _, a in arps] == list(vips) * repeat, f"round by round: {arps}")
    else:
        check(set(a for _, a in arps) == set(vips), f"every VIP announced: {arps}")
    gaps = [round(b[0] - a[0], 6) for a, b in zip(arps, arps[1:])]
    print(f"gaps between gratuitous ARPs (s): {gaps}")
    # The stamps are taken as the client receives; 5 ms covers the softirq jitter.
    check(min(gaps) >= interval - 0.005, f"ARPs closer than vrrp_garp_interval {interval}: {gaps}")
    pair.check_alive()
    capture.terminate()


@scenario
def unicast_source(lab: vlab.Lab, pair: Pair) -> None:
    """Unicast mode: adverts sent to the master move it from any sender at any TTL (no TTL-255
    check, as keepalived); check_unicast_src admits only the unicast peers, and a peer's
    min_ttl / max_ttl bound the TTL (crafted priority-254 adverts, unicast to d1)."""
    adv, version = 0.2, 3
    d1, d2 = vlab.ADDR4["d1"], vlab.ADDR4["d2"]
    cases = (  # (variant, extra config, peer line, [(sender, TTL, moves the master)])
        ("plain", "", d2, [("c", 255, True), ("c", 64, True), ("d2", 64, True)]),
        ("check_unicast_src", "check_unicast_src", d2,
         [("c", 255, False), ("c", 64, False), ("d2", 64, True)]),
        ("min_ttl 100", "", f"{d2} min_ttl 100",
         [("d2", 64, False), ("d2", 255, True), ("c", 255, False)]),
    )
    for variant, extra, peer_line, probes in cases:
        config = (pair.global_defs("d1")
                  + vlab.instance(priority=150, advert_int=adv, version=version,
                                  notify=pair.notify["d1"], extra=extra,
                                  unicast=(d1, peer_line)))
        for sender, ttl, moves in probes:
            what = f"{variant}: priority-254 adverts from {sender} at TTL {ttl}"
            daemon = pair.start("d1", config)
            lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
            crafter = lab.spawn(sender, [sys.executable, str(CRAFT), "--src", vlab.ADDR4[sender],
                                         "--vrid", "51", "--priority", "254", "--vip", VIP4,
                                         "--version", str(version), "--advert-int", str(adv),
                                         "--count", "40", "--every", "0.05", "--dst", d1,
                                         "--ttl", str(ttl)])
            if moves:
                wait_until(lambda: lab.holders() == [], 2, f"d1 to step down ({what})")
            else:
                holds_for(lambda: lab.holders() == ["d1"], 1.5, f"d1 as master ({what})")
            check(crafter.wait(timeout=10) == 0, f"the crafter failed ({what})")
            pair.check_alive()
            daemon.terminate()
            wait_until(lambda: lab.holders() == [], 5, "the VIP released after SIGTERM")


# ---- driver --------------------------------------------------------------------------------
def vigilctl(*args: str, user: int | None = None) -> subprocess.CompletedProcess:
    """vigilctl from the host (it names a vigild by its namespace: -s NS), optionally as an
    unprivileged uid (no supplementary group)."""
    if not VIGILCTL:
        raise vlab.LabError("this scenario needs --vigilctl PATH")
    cmd = [VIGILCTL, *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def hostile_requests(socket_path: str, count: int, slow: int) -> dict[str, int]:
    """`count` connections of garbage, oversize, cut-short and slow requests to `socket_path`;
    the slow ones (sending half a request, then nothing) are held `slow` at a time until the
    daemon answers them (408 on its read deadline, 503 when over its connection limit). Returns
    the status lines seen, counted."""
    import socket as so
    seen: dict[str, int] = {}

    def answer(conn: so.socket) -> None:
        conn.settimeout(20)
        data = b""
        try:
            while chunk := conn.recv(4096):
                data += chunk
        except OSError:
            pass
        line = data.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"
        seen[line] = seen.get(line, 0) + 1

    kinds = [b"\x16\x03\x01\x00\xa5garbage\r\n\r\n", b"GET / HTTP/1.1\r\nX: " + b"a" * 20000,
             b"POST /v1/reload HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", b"GET /v1/sta",
             b"GET /v1/status?%zz HTTP/1.1\r\n\r\n", b"DELETE /v1/status HTTP/1.1\r\n\r\n"]
    fast = count - slow
    for i in range(fast):
        conn = so.socket(so.AF_UNIX, so.SOCK_STREAM)
        conn.connect(socket_path)
        try:
            conn.sendall(kinds[i % len(kinds)])
            if i % len(kinds) == 3:
                conn.shutdown(so.SHUT_WR)  # cut short
        except OSError:
            pass
        answer(conn)
        conn.close()
    batch = 24
    for start in range(0, slow, batch):
        held = []
        for _ in range(min(batch, slow - start)):
            conn = so.socket(so.AF_UNIX, so.SOCK_STREAM)
            conn.connect(socket_path)
            try:
                conn.sendall(b"GET /v1/status HTTP/1.1\r\nHo")
            except OSError:
                pass  # over the connection limit: answered 503 and closed already
            held.append(conn)
        for conn in held:
            answer(conn)
            conn.close()
    return seen


def late_master_down_waits(pair: Pair, node: str) -> int:
    """The VRRP instances' late Master_Down_Timer waits, from vigild's SIGUSR2 stats."""
    stats = vlab.vigild_dump("stats")
    stats.unlink(missing_ok=True)
    os.kill(pair.daemons[node].pid, signal.SIGUSR2)
    wait_until(lambda: stats.exists() and "Socket:" in stats.read_text(), 3,
               f"{node}: vigild to write {stats}")
    return sum(int(line.rsplit(":", 1)[1]) for line in stats.read_text().splitlines()
               if "Late Master_Down_Timer waits:" in line)


@scenario
def control(lab: vlab.Lab, pair: Pair) -> None:
    """The control API (vigild only): `vigilctl status` names the right master on both
    directors; the read-only socket refuses a change; a non-root user cannot use the admin
    socket; 1,000 garbage and slow requests leave the daemon answering, with no transition and
    no late timer; `vigilctl reload` applies a good config and refuses a bad one with its
    errors, the running config staying."""
    import json
    adv, version = 0.2, 3
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")

    def status(node: str) -> dict:
        result = vigilctl("-s", lab.ns[node], "status", "--json")
        check(result.returncode == 0, f"{node}: vigilctl status exit {result.returncode}: "
              f"{result.stderr}{result.stdout}")
        return json.loads(result.stdout)

    def wait_master_known(node: str) -> dict:
        # d2 names the master once it has heard an advert: within an advert interval or two.
        wait_until(lambda: status(node)["vrrp"][0]["master_address"], 3,
                   f"{node}: the master's address in its status")
        return status(node)

    for node, state in (("d1", "MASTER"), ("d2", "BACKUP")):
        vi = wait_master_known(node)["vrrp"][0]
        check(vi["name"] == "VI_1" and vi["state"] == state,
              f"{node}: status says {vi['name']} {vi['state']}, expected VI_1 {state}")
        check(vi["master_address"] == vlab.ADDR4["d1"],
              f"{node}: master address {vi['master_address']}, expected {vlab.ADDR4['d1']}")
    detail = vigilctl("-s", lab.ns["d2"], "vrrp", "VI_1")
    received = [line.split()[-1] for line in detail.stdout.splitlines()
                if "adverts sent / received" in line]
    check(detail.returncode == 0 and received and int(received[0]) > 0
          and vlab.ADDR4["d1"] in detail.stdout,
          f"vigilctl vrrp VI_1 on d2: exit {detail.returncode}: {detail.stdout}{detail.stderr}")
    text = vigilctl("-s", lab.ns["d1"], "status")
    check(text.returncode == 0 and "VI_1" in text.stdout and "MASTER" in text.stdout,
          f"text status: exit {text.returncode}: {text.stdout}{text.stderr}")

    admin = f"/run/vigil/vigild_{lab.ns['d1']}.sock"
    read_only = f"/run/vigil/vigild_{lab.ns['d1']}.ro.sock"
    refused = vigilctl("--socket", read_only, "reload")
    check(refused.returncode == 8 and "read-only" in refused.stderr,
          f"reload on the read-only socket: exit {refused.returncode}: {refused.stderr}")
    nobody = vigilctl("--socket", admin, "status", user=65534)
    check(nobody.returncode == 3 and "Permission denied" in nobody.stderr,
          f"uid 65534 on the admin socket: exit {nobody.returncode}: {nobody.stderr}")
    nobody_ro = vigilctl("--socket", read_only, "status", user=65534)
    check(nobody_ro.returncode == 3,
          f"uid 65534 outside group vigil on the read-only socket: exit {nobody_ro.returncode}")

    # vrrp garp: the master announces VIP4 again; the client's entry, set wrong, is corrected.
    lab.ip("c", "neigh", "replace", VIP4, "lladdr", "02:00:5e:00:00:99", "dev", "eth0",
           "nud", "stale")
    garp = vigilctl("-s", lab.ns["d1"], "vrrp", "garp", "VI_1")
    check(garp.returncode == 0, f"vrrp garp: exit {garp.returncode}: {garp.stderr}")
    wait_until(lambda: lab.neigh_mac() == vlab.MAC["d1"], 3,
               "the client's neighbour entry for the VIP back on d1 after vrrp garp")
    backup_garp = vigilctl("-s", lab.ns["d2"], "vrrp", "garp", "VI_1")
    check(backup_garp.returncode == 8 and "only a master" in backup_garp.stderr,
          f"vrrp garp on the backup: exit {backup_garp.returncode}: {backup_garp.stderr}")
    unknown = vigilctl("-s", lab.ns["d1"], "vrrp", "garp", "VI_9")
    check(unknown.returncode == 8 and "no vrrp_instance VI_9" in unknown.stderr,
          f"vrrp garp of an unknown instance: exit {unknown.returncode}: {unknown.stderr}")

    level = vigilctl("-s", lab.ns["d1"], "log", "level", "debug", "vrrp")
    check(level.returncode == 0, f"log level: exit {level.returncode}: {level.stderr}")
    wrong = vigilctl("-s", lab.ns["d1"], "log", "level", "debug", "no-such-component")
    check(wrong.returncode == 8 and "no component" in wrong.stderr,
          f"log level of an unknown component: exit {wrong.returncode}: {wrong.stderr}")
    level_ro = vigilctl("--socket", read_only, "log", "level", "info")
    check(level_ro.returncode == 8, f"log level on the read-only socket: exit {level_ro.returncode}")
    check(vigilctl("-s", lab.ns["d1"], "log", "level", "info").returncode == 0, "log level info")

    lines = {node: len(lab.states(node)) for node in vlab.DIRECTORS}
    # Counted since start (the start itself may have been late): compared across the requests.
    late = {node: late_master_down_waits(pair, node) for node in vlab.DIRECTORS}
    seen = hostile_requests(admin, 1000, slow=48)
    print(f"  1000 hostile requests: {seen}")
    check("HTTP/1.1 200 OK" not in seen, f"a hostile request was served: {seen}")
    check(sum(n for line, n in seen.items() if line.startswith("HTTP/1.1 4")) >= 900,
          f"hostile requests not refused with 4xx: {seen}")
    check(status("d1")["vrrp"][0]["state"] == "MASTER", "d1 no longer MASTER")
    for node in vlab.DIRECTORS:
        check(len(lab.states(node)) == lines[node],
              f"{node}: transitions during the hostile requests: {lab.states(node)[lines[node]:]}")
        waits = late_master_down_waits(pair, node) - late[node]
        check(waits == 0, f"{node}: {waits} late Master_Down_Timer waits during the requests")

    good = simple_config(pair, "d1", 160, advert_int=adv, version=version)
    lab.write_config("d1", good)
    applied = vigilctl("-s", lab.ns["d1"], "reload", "--wait", "--reason", "netns test")
    check(applied.returncode == 0, f"reload: exit {applied.returncode}: {applied.stderr}")
    after = status("d1")
    check(after["vrrp"][0]["priority"]["base"] == 160 and after["last_reload"]["ok"],
          f"after reload: {after['vrrp'][0]}, {after['last_reload']}")
    lab.write_config("d1", good + "vrrp_instance {\n")
    bad = vigilctl("-s", lab.ns["d1"], "reload")
    check(bad.returncode == 5 and "takes exactly one name" in bad.stderr,
          f"bad reload: exit {bad.returncode}: {bad.stderr}")
    degraded = vigilctl("-s", lab.ns["d1"], "status")
    check(degraded.returncode == 1 and "reload was refused" in degraded.stdout,
          f"status after a refused reload: exit {degraded.returncode}: {degraded.stdout}")
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as master after the refused reload")
    pair.check_alive()


def poll(predicate, count: int, what: str, every: float = 0.05):
    """Polls predicate at most `count` times (a bounded count, not a time assertion); returns
    its first truthy value, or raises naming `what`."""
    for _ in range(count):
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise vlab.LabError(f"gave up waiting for {what} after {count} polls")


@scenario
def vrrp_maintenance(lab: vlab.Lab, pair: Pair) -> None:
    """vigilctl vrrp maintenance and vrrp stats (vigild only): maintenance on the master hands
    over to the peer (priority 0) and shows BACKUP with maintenance on; a restart keeps it in
    maintenance and never MASTER; off takes MASTER back (preempt); vrrp stats counts adverts and
    --clear zeroes them; the read-only socket refuses maintenance and --clear."""
    import json
    adv, version = 0.2, 3
    state_file = Path(f"/var/lib/vigil/state_{lab.ns['d1']}.conf")
    state_file.unlink(missing_ok=True)
    try:
        _vrrp_maintenance(lab, pair, adv, version, json)
    finally:
        state_file.unlink(missing_ok=True)


def _vrrp_maintenance(lab: vlab.Lab, pair: Pair, adv: float, version: int, json) -> None:
    d1_config = simple_config(pair, "d1", 150, advert_int=adv, version=version)
    start_pair(pair, (150, 100), advert_int=adv, version=version)
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    read_only = f"/run/vigil/vigild_{lab.ns['d1']}.ro.sock"

    def vi(node: str) -> dict:
        result = vigilctl("-s", lab.ns[node], "status", "--json")
        check(result.returncode in (0, 1), f"{node}: status exit {result.returncode}: "
              f"{result.stderr}")
        return json.loads(result.stdout)["vrrp"][0]

    def stats(node: str, *extra: str) -> dict:
        result = vigilctl("-s", lab.ns[node], "vrrp", "stats", "VI_1", "--json", *extra)
        check(result.returncode == 0, f"{node}: vrrp stats {extra}: exit {result.returncode}: "
              f"{result.stderr}")
        return json.loads(result.stdout)["instances"][0]

    # vrrp stats: the master counts adverts sent; --clear zeroes what is shown.
    poll(lambda: stats("d1")["counters"]["adverts_sent"] >= 5, 200, "d1 to count adverts sent")
    cleared = stats("d1", "--clear")
    check(cleared["counters"]["adverts_sent"] <= 1 and cleared["counters"]["became_master"] == 0
          and cleared["cleared_seconds_ago"] is not None,
          f"vrrp stats --clear did not zero the counters: {cleared}")
    text = vigilctl("-s", lab.ns["d1"], "vrrp", "stats")
    check(text.returncode == 0 and "adverts sent" in text.stdout and "since cleared" in text.stdout,
          f"vrrp stats text: exit {text.returncode}: {text.stdout}{text.stderr}")
    for args in (("vrrp", "stats", "--clear"), ("vrrp", "maintenance", "on", "VI_1")):
        refused = vigilctl("--socket", read_only, *args)
        check(refused.returncode == 8 and "read-only" in refused.stderr,
              f"{args} on the read-only socket: exit {refused.returncode}: {refused.stderr}")
    check(not vi("d1").get("maintenance"), "maintenance on after refused requests")
    unknown = vigilctl("-s", lab.ns["d1"], "vrrp", "maintenance", "on", "VI_9")
    check(unknown.returncode == 8 and "no vrrp_instance VI_9" in unknown.stderr,
          f"maintenance of an unknown instance: exit {unknown.returncode}: {unknown.stderr}")

    # On: d1 sends priority 0 and steps down, d2 takes over.
    on = vigilctl("-s", lab.ns["d1"], "vrrp", "maintenance", "on", "VI_1", "--reason", "netns")
    check(on.returncode == 0 and "VI_1: maintenance on" in on.stdout,
          f"maintenance on: exit {on.returncode}: {on.stdout}{on.stderr}")
    poll(lambda: lab.holders() == ["d2"], 400, "d2 as the only holder after maintenance on")
    poll(lambda: vi("d2")["state"] == "MASTER", 100, "d2 MASTER")
    d1 = vi("d1")
    check(d1["state"] == "BACKUP" and d1["maintenance"] and d1["maintenance_reason"] == "netns",
          f"d1 after maintenance on: {d1}")
    check(d1["last_transition"]["reason"] == "maintenance", f"d1's last transition: {d1}")
    check(stats("d1")["counters"]["priority_zero_sent"] >= 1, "d1 sent no priority-0 advert")
    check(stats("d2")["counters"]["priority_zero_received"] >= 1,
          "d2 received no priority-0 advert")
    check('maintenance' in state_file_text(lab), "the state file has no vrrp_maintenance entry")
    shown = vigilctl("-s", lab.ns["d1"], "vrrp", "VI_1")
    check("(maintenance)" in shown.stdout and "on (netns)" in shown.stdout,
          f"vigilctl vrrp: {shown.stdout}")
    scrape = subprocess.run(["curl", "-sS", "--max-time", "5", "--unix-socket", read_only,
                             "http://vigild/metrics"], capture_output=True, text=True, timeout=10)
    check('vigil_vrrp_instance_maintenance{vrrp_instance="VI_1"} 1' in scrape.stdout,
          "the maintenance gauge is not 1")

    # Restart d1: in maintenance from the first moment, never MASTER.
    pair.daemons["d1"].terminate()
    before = len(lab.states("d1"))
    pair.start("d1", d1_config)
    poll(lambda: vigilctl("-s", lab.ns["d1"], "status").returncode in (0, 1), 200,
         "d1's vigild to answer after the restart")
    # Long enough for a contending d1 (priority 150, preempt) to have taken over: d1 hears
    # more adverts than a Master_Down_Interval holds.
    poll(lambda: stats("d1")["counters"]["adverts_received"] >= 20, 400,
         "d1 to hear d2's adverts after the restart")
    d1 = vi("d1")
    check(d1["state"] == "BACKUP" and d1["maintenance"], f"d1 after the restart: {d1}")
    masters = [line for line in lab.states("d1")[before:] if "MASTER" in line]
    check(not masters, f"d1 became MASTER after the restart: {masters}")
    check(lab.holders() == ["d2"], f"VIP holders after d1's restart: {lab.holders()}")

    # Off: preempt gives MASTER back to d1.
    off = vigilctl("-s", lab.ns["d1"], "vrrp", "maintenance", "off", "VI_1")
    check(off.returncode == 0 and "VI_1: maintenance off" in off.stdout,
          f"maintenance off: exit {off.returncode}: {off.stdout}{off.stderr}")
    poll(lambda: lab.holders() == ["d1"], 400, "d1 as the only holder after maintenance off")
    d1 = vi("d1")
    check(d1["state"] == "MASTER" and not d1["maintenance"], f"d1 after maintenance off: {d1}")
    pair.check_alive()


def state_file_text(lab: vlab.Lab) -> str:
    path = Path(f"/var/lib/vigil/state_{lab.ns['d1']}.conf")
    return path.read_text() if path.exists() else ""


@scenario
def random_reloads(lab: vlab.Lab, pair: Pair) -> None:
    """Randomized reloads on a running pair (vigild only): d1 runs VI_1 (untouched) and VI_2,
    whose settings each reload changes at random (priority, advert_int, nopreempt, a second
    VIP). Before each: `vigilctl reload --dry-run` lists VI_2 as changed and never VI_1 (exit 7);
    after: VI_1 made no transition on either director and d1 still holds its VIP; each reload
    applied (exit 0). The seed is fixed: the same edits every run."""
    import random
    adv, version = 0.2, 3
    rng = random.Random(14)

    def config(node: str, priority_1: int, vi_2: dict) -> str:
        return (pair.global_defs(node)
                + vlab.instance(priority=priority_1, advert_int=adv, version=version,
                                notify=pair.notify[node])
                + vlab.instance(name="VI_2", vrid=52, advert_int=vi_2["advert_int"],
                                version=version, priority=vi_2["priority"],
                                nopreempt=vi_2["nopreempt"], vips=vi_2["vips"]))

    vi_2 = {"priority": 130, "advert_int": adv, "nopreempt": False, "vips": (VIP4_B,)}
    backup_vi_2 = dict(vi_2, priority=100)
    pair.start("d1", config("d1", 150, vi_2))
    pair.start("d2", config("d2", 100, backup_vi_2))
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master of VI_1")
    lines = {node: len(lab.states(node)) for node in vlab.DIRECTORS}

    def vi_1_transitions(node: str) -> list[list[str]]:
        return [f for f in lab.states(node)[lines[node]:] if len(f) > 1 and f[1] == "VI_1"]

    for step in range(12):
        edited = dict(vi_2)
        field = rng.choice(("priority", "advert_int", "nopreempt", "vips"))
        if field == "priority":
            edited["priority"] = rng.choice(
                [p for p in (110, 120, 130, 140) if p != vi_2["priority"]])
        elif field == "advert_int":
            edited["advert_int"] = 0.3 if vi_2["advert_int"] == adv else adv
        elif field == "nopreempt":
            edited["nopreempt"] = not vi_2["nopreempt"]
        else:
            edited["vips"] = (VIP4_B,) if len(vi_2["vips"]) == 2 else (VIP4_B, "192.0.2.202")
        lab.write_config("d1", config("d1", 150, edited))
        plan = vigilctl("-s", lab.ns["d1"], "reload", "--dry-run")
        check(plan.returncode == 7 and "~ VI_2:" in plan.stdout and "VI_1" not in plan.stdout,
              f"step {step} ({field}): dry run exit {plan.returncode}: {plan.stdout}{plan.stderr}")
        applied = vigilctl("-s", lab.ns["d1"], "reload", "--wait", "--reason", f"step {step}")
        check(applied.returncode == 0,
              f"step {step} ({field}): reload exit {applied.returncode}: {applied.stderr}")
        vi_2 = edited
        holds_for(lambda: lab.holders() == ["d1"], 0.5, f"step {step}: d1 as master of VI_1")
        for node in vlab.DIRECTORS:
            moved = vi_1_transitions(node)
            check(not moved, f"step {step} ({field}): VI_1 transitioned on {node}: {moved}")
    after = vigilctl("-s", lab.ns["d1"], "reload", "--dry-run")
    check(after.returncode == 0 and "No changes." in after.stdout,
          f"dry run after the last reload: exit {after.returncode}: {after.stdout}")
    pair.check_alive()


def metrics_catalogue() -> list[str]:
    """The metric names of the catalogue table in docs/operations.md ("Metrics")."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
    text = doc.read_text()
    section = text[text.index("\n## Metrics\n"):]
    end = section.find("\n## ", 1)
    section = section if end < 0 else section[:end]
    names = re.findall(r"^\| `(vigil_[a-z0-9_]+)` \|", section, flags=re.M)
    check(len(names) >= 20, f"{doc}: only {len(names)} metrics in the Metrics table")
    return names


@scenario
def metrics(lab: vlab.Lab, pair: Pair) -> None:
    """GET /metrics (vigild only): scraped over the read-only socket and over TCP inside each
    namespace (vigil_metrics_address), the exposition passes `promtool check metrics`, the
    state sets name the right master, every metric of the docs' catalogue is there, and the
    TCP listener answers nothing but /metrics."""
    adv, version = 0.2, 3
    # Every side runs: vigild-recording (IPVS in memory) without -P, with a virtual server whose
    # real server's TCP_CHECK is refused (nothing listens there).
    virtual_server = """virtual_server 192.0.2.50 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 192.0.2.101 8080 {
    weight 3
    TCP_CHECK {
      connect_ip 127.0.0.1
      connect_port 9
      connect_timeout 1
      delay_loop 1
    }
  }
}
"""
    for node, priority in zip(vlab.DIRECTORS, (150, 100)):
        defs = vlab.global_defs(f"  vrrp_notify_fifo {pair.state_fifo[node]}\n"
                                "  vigil_metrics_address\n  vigil_metrics_detail full\n")
        kind = vlab.DaemonKind("vigild", str(Path(lab.vigild).resolve()),
                               args=("--record", str(lab.work / f"datapath-{node}.jsonl"),
                                     "--ipvs-state-file",
                                     str(lab.work / f"ipvs-owned-{node}.conf")),
                               vrrp_only=False)
        config = defs + vlab.instance(priority=priority, notify=pair.notify[node],
                                      advert_int=adv, version=version) + virtual_server
        pair.daemons[node] = lab.start(node, kind, config)
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    holds_for(lambda: lab.holders() == ["d1"], 1.0, "d1 as the only master")

    def curl(node: str, *args: str) -> tuple[str, str]:
        """(headers, body) of one request; the TCP ones from inside the node's namespace."""
        result = subprocess.run(["ip", "netns", "exec", lab.ns[node], "curl", "-sS", "-D", "-",
                                 "--max-time", "5", *args],
                                capture_output=True, text=True, timeout=10)
        check(result.returncode == 0, f"{node}: curl {args}: {result.stderr}")
        # text mode has turned the header's CRLFs into LFs
        head, _, body = result.stdout.partition("\n\n")
        return head, body

    catalogue = metrics_catalogue()
    for node, state in (("d1", "MASTER"), ("d2", "BACKUP")):
        read_only = f"/run/vigil/vigild_{lab.ns[node]}.ro.sock"
        scrapes = {"read-only socket": curl(node, "--unix-socket", read_only,
                                            "http://vigild/metrics"),
                   "TCP": curl(node, "http://127.0.0.1:9650/metrics")}
        for where, (head, body) in scrapes.items():
            check(head.startswith("HTTP/1.1 200") and
                  "text/plain; version=0.0.4" in head.lower(),
                  f"{node} {where}: {head}")
            check(body.startswith("# HELP "), f"{node} {where}: no exposition: {body[:200]}")
            lint = subprocess.run(["promtool", "check", "metrics"], input=body,
                                  capture_output=True, text=True, timeout=30)
            check(lint.returncode == 0,
                  f"{node} {where}: promtool check metrics: {lint.stdout}{lint.stderr}")
            typed = set(re.findall(r"^# TYPE (\S+) ", body, flags=re.M))
            missing = [name for name in catalogue if name not in typed]
            check(not missing, f"{node} {where}: catalogue metrics missing from the scrape: "
                  f"{missing}; the scrape:\n{head}\n{body[:400]}")
            undocumented = sorted(typed - set(catalogue))
            check(not undocumented, f"{node} {where}: metrics not in the catalogue: "
                  f"{undocumented}")
            line = f'vigil_vrrp_instance_state{{vrrp_instance="VI_1",state="{state}"}} 1'
            check(line in body.splitlines(), f"{node} {where}: no '{line}' in "
                  f"{[x for x in body.splitlines() if 'instance_state' in x]}")
            per_rs = re.compile(r'^vigil_real_server_health\{virtual_server="\[192\.0\.2\.50\]'
                                r':tcp:80",real_server="[^"]*192\.0\.2\.101[^"]*",'
                                r'health="(alive|dead)"\} 1$', re.M)
            check(per_rs.search(body), f"{node} {where}: no health series of the real server")
        _, basic = curl(node, "--unix-socket", read_only, "http://vigild/metrics?detail=basic")
        check("vigil_virtual_server_quorum_up{" in basic and
              "vigil_real_server_health{" not in basic,
              f"{node}: ?detail=basic still has per real server series")
        print(f"  {node}: {len(scrapes['TCP'][1].splitlines())} lines, promtool clean")
    head, _ = curl("d1", "http://127.0.0.1:9650/v1/status")
    check(head.startswith("HTTP/1.1 404"), f"TCP /v1/status: {head}")
    head, _ = curl("d1", "-X", "POST", "http://127.0.0.1:9650/v1/reload")
    check(head.startswith("HTTP/1.1 404"), f"TCP POST /v1/reload: {head}")

    # The counters behind the catalogue count on a real host: d1's packet socket sent the
    # master's gratuitous ARPs; d2 entered BACKUP at startup; the TCP listener counted the
    # requests above by path (refused or not), and one for a path the API does not have as other.
    head, _ = curl("d1", "http://127.0.0.1:9650/no/such/path")
    check(head.startswith("HTTP/1.1 404"), f"TCP /no/such/path: {head}")
    _, body = curl("d1", "http://127.0.0.1:9650/metrics")

    def value(series: str) -> float:
        found = re.search(r"^" + re.escape(series) + r" (\S+)$", body, flags=re.M)
        check(found is not None, f"d1: no {series} in the scrape")
        return float(found.group(1))

    check(value('vigil_vrrp_gratuitous_arps_sent_total{vrrp_instance="VI_1"}') >= 1,
          "d1: no gratuitous ARP counted")
    check(value('vigil_vrrp_instance_transitions_by_reason_total{vrrp_instance="VI_1",'
                'state="MASTER",reason="master_down_timer_expired"}') >= 1,
          "d1: MASTER not counted as master_down_timer_expired")
    for path, method in (("/v1/status", "GET"), ("/v1/reload", "POST"), ("other", "GET"),
                         ("/metrics", "GET")):
        check(value(f'vigil_control_requests_total{{listener="metrics_tcp",path="{path}",'
                    f'method="{method}"}}') >= 1, f"d1: TCP {method} {path} not counted")
    check("/no/such/path" not in body, "d1: an unknown path made a series of its own")
    _, d2 = curl("d2", "--unix-socket", f"/run/vigil/vigild_{lab.ns['d2']}.ro.sock",
                 "http://vigild/metrics")
    line = ('vigil_vrrp_instance_transitions_by_reason_total{vrrp_instance="VI_1",'
            'state="BACKUP",reason="startup"} 1')
    check(line in d2.splitlines(), f"d2: no '{line}'")
    pair.check_alive()


# virtual_routes / virtual_rules: the same block on both directors; only the master has them.
ROUTING_TABLE = "100"
ROUTING_BLOCKS = f"""
virtual_routes {{
  198.51.100.0/24 via 192.0.2.100 dev eth0 table {ROUTING_TABLE}
  203.0.113.0/24 dev eth0 src {VIP4} table {ROUTING_TABLE} metric 5
  blackhole 198.51.100.128/25 table {ROUTING_TABLE} no_track
}}
virtual_rules {{
  from {VIP4} table {ROUTING_TABLE} preference 1000
  to 198.51.100.0/24 table {ROUTING_TABLE} preference 1001 no_track
  fwmark 7 table {ROUTING_TABLE} preference 1002
}}
"""
# What `ip route show table 100` / `ip rule show` print for them (keepalived 2.2.7's protocol
# number 18 is "keepalived" in iproute2's names; no_track rules carry no protocol).
EXPECTED_ROUTES = (
    r"^198\.51\.100\.0/24 via 192\.0\.2\.100 dev eth0 proto keepalived$",
    rf"^203\.0\.113\.0/24 dev eth0 proto keepalived src {re.escape(VIP4)} metric 5$",
    r"^blackhole 198\.51\.100\.128/25 proto keepalived$",
)
EXPECTED_RULES = (
    rf"^1000:\tfrom {re.escape(VIP4)} lookup {ROUTING_TABLE} proto keepalived$",
    rf"^1001:\tfrom all to 198\.51\.100\.0/24 lookup {ROUTING_TABLE}$",
    rf"^1002:\tfrom all fwmark 0x7 lookup {ROUTING_TABLE} proto keepalived$",
)


def routing_of(lab: vlab.Lab, node: str) -> tuple[list[str], list[str]]:
    """The director's table-100 routes and its rules with preference 1000-1002."""
    routes = lab.ip(node, "route", "show", "table", ROUTING_TABLE, check=False).stdout
    rules = lab.ip(node, "rule", "show").stdout
    ours = [line for line in rules.splitlines() if line.split(":", 1)[0] in ("1000", "1001", "1002")]
    return [line.strip() for line in routes.splitlines()], ours


def routing_matches(lab: vlab.Lab, node: str, present: bool) -> bool:
    routes, rules = routing_of(lab, node)
    if not present:
        return routes == [] and rules == []
    return (len(routes) == len(EXPECTED_ROUTES) and len(rules) == len(EXPECTED_RULES) and
            all(any(re.match(p, line) for line in routes) for p in EXPECTED_ROUTES) and
            all(any(re.match(p, line) for line in rules) for p in EXPECTED_RULES))


def wait_routing(lab: vlab.Lab, master: str, others: tuple[str, ...], what: str) -> None:
    def settled() -> bool:
        return routing_matches(lab, master, True) and all(
            routing_matches(lab, node, False) for node in others)
    try:
        wait_until(settled, 5, what)
    except vlab.LabError:
        for node in vlab.DIRECTORS:
            routes, rules = routing_of(lab, node)
            print(f"  {node}: routes {routes} rules {rules}")
        raise


@scenario
def virtual_routes(lab: vlab.Lab, pair: Pair) -> None:
    """virtual_routes and virtual_rules follow the master: on the master only, removed by a clean
    stop, added by the new master, removed by a master that steps down to BACKUP."""
    adv, version = 0.2, 3

    def config(node: str, priority: int) -> str:
        return simple_config(pair, node, priority, advert_int=adv, version=version,
                             extra=ROUTING_BLOCKS)

    for node, priority in (("d1", 150), ("d2", 100)):
        pair.start(node, config(node, priority))
    lab.wait_sole_holder("d1", timeout=10)
    wait_routing(lab, "d1", ("d2",), "routes and rules on d1 (master) only")
    holds_for(lambda: routing_matches(lab, "d2", False), 1.0, "nothing on d2 (backup)")

    # A clean stop removes them; the backup takes over and adds them.
    pair.daemons["d1"].terminate()
    lab.wait_sole_holder("d2", timeout=master_down(100, adv, version) + 5)
    wait_routing(lab, "d2", ("d1",), "routes and rules on d2 only after d1's SIGTERM")
    check(lab.last_state("d2", "VI_1") == "MASTER", "d2 did not report MASTER")

    # d1 returns and preempts: d2 steps down to BACKUP and removes its routes and rules.
    pair.daemons.pop("d1")
    pair.start("d1", config("d1", 150))
    lab.wait_sole_holder("d1", timeout=master_down(150, adv, version) + 5)
    wait_until(lambda: lab.last_state("d2", "VI_1") == "BACKUP", 5, "d2 back to BACKUP")
    wait_routing(lab, "d1", ("d2",), "routes and rules back on d1 only after it preempted")
    pair.check_alive()



# static_ipaddress / static_routes / static_rules: on d1 only, whose instance stays BACKUP (d2
# has the higher priority), since static entries do not follow the VRRP state.
STATIC_TABLE = "200"


def static_blocks(addresses: tuple[str, ...], routes: tuple[str, ...],
                  rules: tuple[str, ...]) -> str:
    def block(name: str, lines: tuple[str, ...]) -> str:
        return f"{name} {{\n" + "".join(f"  {line}\n" for line in lines) + "}\n"
    return (block("static_ipaddress", addresses) + block("static_routes", routes) +
            block("static_rules", rules))


STATIC_ADDRESSES = ("10.99.0.1/32 dev eth0", "10.99.0.2/32 dev eth0")
STATIC_ROUTES = (f"203.0.113.0/24 dev eth0 table {STATIC_TABLE}",
                 f"blackhole 198.51.100.0/24 table {STATIC_TABLE} no_track")
STATIC_RULES = (f"from 10.99.5.0/24 table {STATIC_TABLE} preference 2000",
                f"from 10.99.6.0/24 table {STATIC_TABLE} preference 2001 no_track")
# What `ip` prints for each (RTPROT_KEEPALIVED, 18, is "keepalived"; a no_track rule has none).
STATIC_SHOWN = {
    "10.99.0.1/32 dev eth0": "inet 10.99.0.1/32 scope global eth0",
    "10.99.0.2/32 dev eth0": "inet 10.99.0.2/32 scope global eth0",
    "10.99.0.4/32 dev eth0": "inet 10.99.0.4/32 scope global eth0",
    STATIC_ROUTES[0]: "203.0.113.0/24 dev eth0 proto keepalived",
    STATIC_ROUTES[1]: "blackhole 198.51.100.0/24 proto keepalived",
    f"192.0.2.128/25 dev eth0 table {STATIC_TABLE}": "192.0.2.128/25 dev eth0 proto keepalived",
    STATIC_RULES[0]: f"2000:\tfrom 10.99.5.0/24 lookup {STATIC_TABLE} proto keepalived",
    STATIC_RULES[1]: f"2001:\tfrom 10.99.6.0/24 lookup {STATIC_TABLE}",
    f"from 10.99.7.0/24 table {STATIC_TABLE} preference 2002":
        f"2002:\tfrom 10.99.7.0/24 lookup {STATIC_TABLE} proto keepalived",
}


def static_seen(lab: vlab.Lab, node: str) -> set[str]:
    """The node's addresses in 10.99/16, table-200 routes and rules 2000-2009, as `ip` prints
    them."""
    addrs = lab.ip(node, "-4", "addr", "show", "dev", "eth0").stdout
    routes = lab.ip(node, "route", "show", "table", STATIC_TABLE, check=False).stdout
    rules = lab.ip(node, "rule", "show").stdout
    seen = {line.strip() for line in addrs.splitlines()
            if line.strip().startswith("inet 10.99.")}
    seen |= {line.strip() for line in routes.splitlines() if line.strip()}
    seen |= {line for line in rules.splitlines() if re.match(r"^200\d:", line)}
    return seen


def wait_static(lab: vlab.Lab, node: str, lines: tuple[str, ...], what: str) -> None:
    expected = {STATIC_SHOWN[line] for line in lines}
    try:
        wait_until(lambda: static_seen(lab, node) == expected, 5, what)
    except vlab.LabError:
        print(f"  {node}: expected {sorted(expected)}")
        print(f"  {node}: seen {sorted(static_seen(lab, node))}")
        raise


@scenario
def static_routes(lab: vlab.Lab, pair: Pair) -> None:
    """static_ipaddress, static_routes and static_rules: set at start on a director whose
    instance stays BACKUP; a reload removes the entries it drops, keeps the others and adds the
    new ones; a clean stop removes them all (keepalived 2.2.7)."""
    adv, version = 0.2, 3

    def config(node: str, priority: int, extra: str = "") -> str:
        return simple_config(pair, node, priority, advert_int=adv, version=version) + extra

    first = static_blocks(STATIC_ADDRESSES, STATIC_ROUTES, STATIC_RULES)
    pair.start("d2", config("d2", 150))
    lab.wait_sole_holder("d2", timeout=master_down(150, adv, version) + 5)
    pair.start("d1", config("d1", 100, first))
    everything = STATIC_ADDRESSES + STATIC_ROUTES + STATIC_RULES
    wait_static(lab, "d1", everything, "d1's static entries after its start")
    wait_until(lambda: lab.last_state("d1", "VI_1") == "BACKUP", 5, "d1 BACKUP")
    holds_for(lambda: lab.holders() == ["d2"], 1.0, "d2 the only master")
    check(static_seen(lab, "d2") == set(), f"d2 has static entries: {static_seen(lab, 'd2')}")

    # Reload: one address, one route and one rule dropped, one of each added.
    kept = (STATIC_ADDRESSES[0], "10.99.0.4/32 dev eth0", STATIC_ROUTES[1],
            f"192.0.2.128/25 dev eth0 table {STATIC_TABLE}", STATIC_RULES[0],
            f"from 10.99.7.0/24 table {STATIC_TABLE} preference 2002")
    second = static_blocks(kept[0:2], kept[2:4], kept[4:6])
    lab.write_config("d1", config("d1", 100, second))
    os.kill(pair.daemons["d1"].pid, signal.SIGHUP)
    wait_static(lab, "d1", kept, "d1's static entries after the reload")
    check(lab.last_state("d1", "VI_1") == "BACKUP", "d1 left BACKUP on the reload")

    # A clean stop removes every static entry.
    pair.daemons["d1"].terminate()
    wait_static(lab, "d1", (), "no static entry on d1 after its SIGTERM")
    check(lab.holders() == ["d2"], f"VIP holders {lab.holders()}")
    pair.daemons.pop("d1")
    pair.check_alive()


# ---- use_vmac ---------------------------------------------------------------------------------
VMAC_NAME = "vrrp.51"  # keepalived's default name for VRID 51
VMAC_MAC = "00:00:5e:00:01:33"  # RFC 5798 §7.3: 00-00-5E-00-01-{VRID}, VRID 51 = 0x33


def vmac_link(lab: vlab.Lab, node: str) -> dict | None:
    """`ip -d -j link show vrrp.51` in the node (None when there is no such interface)."""
    import json
    result = lab.ip(node, "-d", "-j", "link", "show", "dev", VMAC_NAME, check=False)
    if result.returncode != 0:
        return None
    links = json.loads(result.stdout or "[]")
    return links[0] if links else None


def vmac_addresses(lab: vlab.Lab, node: str) -> set[str]:
    import json
    result = lab.ip(node, "-j", "addr", "show", "dev", VMAC_NAME, check=False)
    if result.returncode != 0:
        return set()
    return {a["local"] for link in json.loads(result.stdout or "[]")
            for a in link.get("addr_info", [])}


def vmac_holders(lab: vlab.Lab) -> list[str]:
    return [node for node in vlab.DIRECTORS if VIP4 in vmac_addresses(lab, node)]


def conf_value(lab: vlab.Lab, node: str, interface: str, key: str) -> str:
    return lab.exec(node, "cat", f"/proc/sys/net/ipv4/conf/{interface}/{key}").stdout.strip()


def check_vmac_link(lab: vlab.Lab, node: str) -> None:
    """The VMAC as keepalived makes it: a private-mode macvlan on eth0 with the virtual MAC, up,
    with arp_ignore 1, accept_local 1 and rp_filter 0, and eth0's arp_ignore / arp_filter 1."""
    link = vmac_link(lab, node)
    check(link is not None, f"{node}: no {VMAC_NAME}")
    info = link.get("linkinfo", {})
    check(info.get("info_kind") == "macvlan", f"{node}: {VMAC_NAME} is {info.get('info_kind')}")
    mode = info.get("info_data", {}).get("mode")
    check(mode == "private", f"{node}: {VMAC_NAME} mode {mode}, expected private")
    check(link.get("address") == VMAC_MAC, f"{node}: {VMAC_NAME} has {link.get('address')}")
    check(link.get("link") == "eth0", f"{node}: {VMAC_NAME} sits on {link.get('link')}")
    check("UP" in link.get("flags", []), f"{node}: {VMAC_NAME} is not up: {link.get('flags')}")
    for key, want in (("arp_ignore", "1"), ("accept_local", "1"), ("rp_filter", "0")):
        got = conf_value(lab, node, VMAC_NAME, key)
        check(got == want, f"{node}: {VMAC_NAME} {key} = {got}, expected {want}")
    for key in ("arp_ignore", "arp_filter"):
        got = conf_value(lab, node, "eth0", key)
        check(got == "1", f"{node}: eth0 {key} = {got} while the VMAC exists, expected 1")


@scenario
def vmac(lab: vlab.Lab, pair: Pair) -> None:
    """use_vmac: the VIP lives on a private macvlan with the virtual MAC on both directors, so
    the client's neighbour entry keeps 00:00:5e:00:01:33 across a failover during which it takes
    no ARP at all; the VMAC goes and eth0's arp_ignore / arp_filter come back at stop."""
    adv = 0.2
    # Values to restore that are not the defaults: d1's arp_ignore 2.
    lab.sysctl("d1", "net.ipv4.conf.eth0.arp_ignore", "2")
    # The master's replies to the client leave from eth0 (its route); with arp_announce 0 its
    # ARP request for the client would carry the VIP with eth0's MAC and repoint the client's
    # entry away from the VMAC. Neither keepalived nor vigild sets this: the site does
    # (docs/config.md, use_vmac).
    for node in vlab.DIRECTORS:
        lab.sysctl(node, "net.ipv4.conf.eth0.arp_announce", "2")
    before = {node: (conf_value(lab, node, "eth0", "arp_ignore"),
                     conf_value(lab, node, "eth0", "arp_filter")) for node in vlab.DIRECTORS}
    check(before == {"d1": ("2", "0"), "d2": ("0", "0")}, f"eth0 settings at start: {before}")

    def restored(before: dict[str, tuple[str, str]], node: str) -> tuple[str, str]:
        """eth0's arp_ignore / arp_filter after the daemon stopped: vigild puts back what it
        found; keepalived 2.2.7 leaves both 1 (seen here; docs/config.md lists it)."""
        return before[node] if pair.kinds[node] == "vigild" else ("1", "1")

    def config(node: str, priority: int) -> str:
        return pair.global_defs(node) + f"""vrrp_instance VI_1 {{
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority {priority}
  advert_int {adv}
  version 3
  use_vmac
  virtual_ipaddress {{
    {VIP4}/24
  }}
  notify {pair.notify[node]}
}}
"""
    for node, priority in (("d1", 150), ("d2", 100)):
        pair.start(node, config(node, priority))
    wait_until(lambda: vmac_holders(lab) == ["d1"], master_down(150, adv, 3) + 5,
               f"{VIP4} on d1's {VMAC_NAME} only")
    wait_until(lambda: lab.last_state("d2", "VI_1") == "BACKUP", 5, "d2 in BACKUP")
    check(VIP4 not in lab.addresses("d1"), "d1 put the VIP on eth0 too")
    for node in vlab.DIRECTORS:
        check_vmac_link(lab, node)
    # BACKUP keeps its VMAC up without the VIP (keepalived makes it at start, in any state).
    check(vmac_addresses(lab, "d2") & {VIP4} == set(), "d2's VMAC holds the VIP in BACKUP")

    wait_until(lambda: lab.ping(count=1, timeout_s=1) and lab.neigh_mac() == VMAC_MAC, 5,
               f"the client reaching {VIP4} at {VMAC_MAC}")
    # From here on the client takes no ARP from the VIP: no gratuitous ARP and no reply can
    # refresh its entry (it still answers the new master's request for its own address).
    lab.nft("c", "table arp vlab_no_vip_arp {\n  chain in { type filter hook input priority 0; "
                 f"arp saddr ip {VIP4} counter drop; }}\n}}\n")

    pair.daemons["d1"].terminate()
    wait_until(lambda: vmac_holders(lab) == ["d2"], master_down(100, adv, 3) + 5,
               f"{VIP4} on d2's {VMAC_NAME} only")
    check(lab.ping(count=3, timeout_s=3), "the client cannot reach the VIP after the failover")
    check(lab.neigh_mac() == VMAC_MAC,
          f"the client's entry after the failover is {lab.neigh_mac()}, expected {VMAC_MAC}")
    check_vmac_link(lab, "d2")
    dropped = lab.exec("c", "nft", "list", "table", "arp", "vlab_no_vip_arp").stdout
    check(re.search(r"counter packets [1-9]", dropped) is not None,
          f"the new master's gratuitous ARPs never reached the client's filter: {dropped}")
    # d1 stopped: its VMAC is gone and eth0 is as it was.
    check(vmac_link(lab, "d1") is None, f"d1 left {VMAC_NAME} behind at stop")
    after = (conf_value(lab, "d1", "eth0", "arp_ignore"),
             conf_value(lab, "d1", "eth0", "arp_filter"))
    check(after == restored(before, "d1"), f"d1's eth0 arp_ignore/arp_filter {after} after "
          f"stop, expected {restored(before, 'd1')}")
    pair.daemons.pop("d1")
    pair.check_alive()
    pair.daemons["d2"].terminate()
    check(vmac_link(lab, "d2") is None, f"d2 left {VMAC_NAME} behind at stop")
    after = (conf_value(lab, "d2", "eth0", "arp_ignore"),
             conf_value(lab, "d2", "eth0", "arp_filter"))
    check(after == restored(before, "d2"), f"d2's eth0 arp_ignore/arp_filter {after} after "
          f"stop, expected {restored(before, 'd2')}")


@scenario
def vmac_ipv6(lab: vlab.Lab, pair: Pair) -> None:
    """use_vmac with IPv6: a private macvlan with 00:00:5e:00:02:VRID on both directors, carrying
    eth0's link-local address (deprecated: adverts leave from it with the virtual MAC) and, on
    the master, the VIP; the client's neighbour entry names the virtual MAC; gone at stop."""
    import json
    name, mac = "vrrp.52", "00:00:5e:00:02:34"  # VRID 52 = 0x34

    def config(node: str, priority: int) -> str:
        return pair.global_defs(node) + f"""vrrp_instance VI_6 {{
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority {priority}
  advert_int 0.2
  version 3
  use_vmac
  virtual_ipaddress {{
    {VIP6}/64
  }}
}}
"""

    def link_of(node: str) -> dict | None:
        result = lab.ip(node, "-d", "-j", "addr", "show", "dev", name, check=False)
        links = json.loads(result.stdout or "[]") if result.returncode == 0 else []
        return links[0] if links else None

    def addresses(node: str) -> dict[str, dict]:
        link = link_of(node) or {}
        return {a["local"]: a for a in link.get("addr_info", [])}

    for node, priority in (("d1", 150), ("d2", 100)):
        pair.start(node, config(node, priority))
    wait_until(lambda: [n for n in vlab.DIRECTORS if VIP6 in addresses(n)] == ["d1"],
               master_down(150, 0.2, 3) + 5, f"{VIP6} on d1's {name} only")
    for node in vlab.DIRECTORS:
        link = link_of(node)
        info = link.get("linkinfo", {})
        check(info.get("info_kind") == "macvlan" and info.get("info_data", {}).get("mode") ==
              "private", f"{node}: {name} is not a private macvlan: {info}")
        check(link.get("address") == mac, f"{node}: {name} has {link.get('address')}")
        check("UP" in link.get("flags", []), f"{node}: {name} is not up")
        base = lab.ip(node, "-j", "-6", "addr", "show", "dev", "eth0").stdout
        local = next(a["local"] for link in json.loads(base) for a in link["addr_info"]
                     if a.get("local", "").startswith("fe80:"))
        entry = addresses(node).get(local)
        check(entry is not None, f"{node}: {name} lacks eth0's link-local {local}: "
              f"{sorted(addresses(node))}")
        check(entry.get("preferred_life_time") == 0,
              f"{node}: {name}'s {local} is not deprecated: {entry}")
    wait_until(lambda: lab.ping(VIP6, count=1, timeout_s=1) and lab.neigh_mac(VIP6) == mac, 5,
               f"the client reaching {VIP6} at {mac}")
    for node in vlab.DIRECTORS:
        pair.daemons[node].terminate()
        check(link_of(node) is None, f"{node} left {name} behind at stop")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    parser.add_argument("--daemon", choices=("keepalived", "vigild"), default=DEFAULT_DAEMON,
                        help="daemon on both directors (default %(default)s)")
    parser.add_argument("--d1", choices=("keepalived", "vigild"), help="daemon on d1 only")
    parser.add_argument("--d2", choices=("keepalived", "vigild"), help="daemon on d2 only")
    parser.add_argument("--vigild", help="path of vigild")
    parser.add_argument("--vigilctl", help="path of vigilctl (the control scenario)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list or not args.scenario:
        for name, fn in sorted(SCENARIOS.items()):
            print(f"{name:14} {fn.__doc__.splitlines()[0]}")
        return 0 if args.list else 2
    global VIGILCTL
    VIGILCTL = args.vigilctl
    kinds = {"d1": args.d1 or args.daemon, "d2": args.d2 or args.daemon}
    fn = SCENARIOS[args.scenario]
    print(f"{args.scenario}: d1={kinds['d1']} d2={kinds['d2']}")
    started = time.monotonic()
    with vlab.Lab(vigild=args.vigild, keep=args.keep) as lab:
        pair = Pair(lab, kinds)
        try:
            fn(lab, pair)
        except Exception as e:  # noqa: BLE001 - any failure: report it with the daemons' logs
            print(f"FAIL {args.scenario}: {e}")
            traceback.print_exc()
            for daemon in lab.daemons:
                print(f"---- {daemon.kind.name} on {daemon.node} (pid {daemon.pid}), last lines:")
                print("\n".join(daemon.log_text().splitlines()[-40:]))
            for node in vlab.DIRECTORS:
                print(f"---- state FIFO lines of {node}: {lab.states(node)}")
                print(f"---- notify script lines of {node}: {lab.notify_script_lines(node)}")
            return 1
    print(f"PASS {args.scenario} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    # A SIGTERM (ctest, a user) unwinds through the Lab's teardown like an exception.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
