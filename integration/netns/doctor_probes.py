#!/usr/bin/python3
"""vigilctl doctor's active probes on a real link of network namespaces (issue 15).

  doctor_probes.py --vigilctl PATH [--vigild PATH] [--keep]

One bridge (in its own namespace) joins, by veth pairs:
  dir      192.0.2.1   the director: runs `vigilctl doctor` (no daemon) for a DR service
                       192.0.2.100:80 and a vrrp_instance with VRID 51 holding 192.0.2.100
  rs1      192.0.2.21  a DR real server, VIP on lo /32, ARP NOT suppressed (arp_ignore=0)
  rs2      192.0.2.22  a DR real server, VIP on lo /32, arp_ignore=1 / arp_announce=2
  peer     192.0.2.2   our VRRP peer: adverts for VRID 51 carrying 192.0.2.100
  foreign  192.0.2.66  another router: adverts for VRID 51 carrying 192.0.2.150
and the service lists 192.0.2.23, which no host has.
Asserted: doctor FAILs rs.arp_suppression naming 192.0.2.21 with the arp_ignore/arp_announce fix,
says OK for 192.0.2.22, WARNs that 192.0.2.23 does not answer, FAILs vrrp.vrid_on_link naming
192.0.2.66, and reports 192.0.2.2 only as an OK peer. Then rs1 is fixed and the foreign speaker
stopped: no probe finding fails any more (192.0.2.21 is OK). With the VIP added to dir by hand
while a peer of higher priority advertises, vrrp.vip_on_host FAILs (configured outside vigil). --no-probes
reports none of them.
With --vigild, vigild (-P, VRRP only) then runs on dir with the same configuration and becomes
MASTER; the foreign speaker starts again: doctor still hears it beside the daemon (raw sockets
each get a copy), never reports the daemon's own adverts from 192.0.2.1, and says the VIP on
dir is vigild's (the peer advertises below it).
The adverts come from craft_advert.py (raw IPv4, 224.0.0.18), started here and stopped by PID.
Every namespace made is deleted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_ID = os.getpid()
HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
VIP = "192.0.2.100"
NODES = {"dir": "192.0.2.1", "rs1": "192.0.2.21", "rs2": "192.0.2.22", "peer": "192.0.2.2",
         "foreign": "192.0.2.66"}

CONFIG = f"""vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {{ {VIP}/24 }}
}}
virtual_server {VIP} 80 {{
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.21 80 {{ TCP_CHECK {{ connect_timeout 3 }} }}
  real_server 192.0.2.22 80 {{ TCP_CHECK {{ connect_timeout 3 }} }}
  real_server 192.0.2.23 80 {{ TCP_CHECK {{ connect_timeout 3 }} }}
}}
"""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sh(*args: str, check_rc: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          check=check_rc)


def ns(node: str) -> str:
    return f"vprobe-{node}-{RUN_ID}"


def in_ns(node: str, *args: str, check_rc: bool = True) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns(node), *args, check_rc=check_rc)


class Link:
    """The bridge and the nodes; delete() removes every namespace it made."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.speakers: list[subprocess.Popen] = []
        self.daemon: subprocess.Popen | None = None

    def setup(self) -> None:
        self.add_ns("sw")
        in_ns("sw", "ip", "link", "add", "br0", "type", "bridge")
        in_ns("sw", "ip", "link", "set", "br0", "up")
        for node, address in NODES.items():
            self.add_ns(node)
            in_ns("sw", "ip", "link", "add", f"p-{node}", "type", "veth", "peer", "name", "eth0",
                  "netns", ns(node))
            in_ns("sw", "ip", "link", "set", f"p-{node}", "master", "br0", "up")
            in_ns(node, "ip", "link", "set", "lo", "up")
            in_ns(node, "ip", "address", "add", f"{address}/24", "dev", "eth0")
            in_ns(node, "ip", "link", "set", "eth0", "up")
            # craft_advert.py sends to 224.0.0.18: route the group out of the only link.
            in_ns(node, "ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        for node in ("rs1", "rs2"):
            in_ns(node, "ip", "address", "add", f"{VIP}/32", "dev", "lo")
        self.arp_suppression("rs2", True)

    def add_ns(self, node: str) -> None:
        sh("ip", "netns", "add", ns(node))
        self.made.append(ns(node))

    def arp_suppression(self, node: str, on: bool) -> None:
        for conf in ("all", "eth0"):
            in_ns(node, "sysctl", "-qw", f"net.ipv4.conf.{conf}.arp_ignore={1 if on else 0}")
            in_ns(node, "sysctl", "-qw", f"net.ipv4.conf.{conf}.arp_announce={2 if on else 0}")

    def speak(self, node: str, *vips: str, priority: int = 90) -> subprocess.Popen:
        """VRRPv2 adverts for VRID 51 from `node`, 5 a second for at most 60 s."""
        cmd = ["ip", "netns", "exec", ns(node), PYTHON, str(HERE / "craft_advert.py"),
               "--src", NODES[node], "--vrid", "51", "--priority", str(priority), "--kind", "valid",
               "--count", "300", "--every", "0.2"]
        for vip in vips:
            cmd += ["--vip", vip]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.speakers.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)

    def stop_daemon(self) -> None:
        """SIGTERM to the vigild this test started (its own process group), SIGKILL if slow."""
        if self.daemon is None:
            return
        if self.daemon.poll() is None:
            os.killpg(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait(timeout=5)
        self.daemon = None

    def delete(self) -> None:
        self.stop_daemon()
        for proc in self.speakers:
            self.stop(proc)
        for name in self.made:
            sh("ip", "netns", "del", name, check_rc=False)


def doctor(vigilctl: str, conf: Path, *extra: str) -> subprocess.CompletedProcess:
    result = in_ns("dir", vigilctl, "doctor", "-f", str(conf), *extra, check_rc=False)
    print(f"--- doctor {' '.join(extra)}: exit {result.returncode}")
    print(result.stdout + result.stderr)
    return result


def lines(result: subprocess.CompletedProcess, check_id: str, part: str = "") -> list[str]:
    return [line for line in result.stdout.splitlines()
            if len(line.split()) > 1 and line.split()[1] == check_id and part in line]


def one(result: subprocess.CompletedProcess, level: str, check_id: str, part: str) -> str:
    found = lines(result, check_id, part)
    check(len(found) == 1 and found[0].startswith(level + " "),
          f"expected one {level} {check_id} line with '{part}', got {found}")
    return found[0]


def run(vigilctl: str, vigild: str | None, work: Path, link: Link) -> None:
    conf = work / "dr.conf"
    conf.write_text(CONFIG)
    peer = link.speak("peer", VIP)
    foreign = link.speak("foreign", "192.0.2.150")

    broken = doctor(vigilctl, conf)
    check(broken.returncode == 1, f"broken: exit {broken.returncode}, expected 1")
    stolen = one(broken, "FAIL", "rs.arp_suppression", "real server 192.0.2.21 (")
    check(f"answers ARP who-has {VIP} on eth0" in stolen, stolen)
    check("fix: on 192.0.2.21: sysctl -w net.ipv4.conf.all.arp_ignore=1 "
          "net.ipv4.conf.all.arp_announce=2" in stolen and f"{VIP}/32 dev lo" in stolen, stolen)
    one(broken, "OK", "rs.arp_suppression", f"real server 192.0.2.22 does not answer ARP who-has {VIP}")
    one(broken, "OK", "rs.reachable", "192.0.2.21 answers ARP on eth0")
    one(broken, "WARN", "rs.reachable", "192.0.2.23 does not answer ARP on eth0")
    other = one(broken, "FAIL", "vrrp.vrid_on_link", "192.0.2.66 sends VRRPv2 adverts for VRID 51")
    check("addresses 192.0.2.150" in other and "another virtual_router_id" in other, other)
    one(broken, "OK", "vrrp.vrid_on_link", "peer 192.0.2.2 sends VRRPv2 adverts for VRID 51")
    check(not [line for line in lines(broken, "vrrp.vrid_on_link", "192.0.2.2 ")
               if not line.startswith("OK ")], "our peer is reported as more than a peer")
    check("active probes included" in broken.stdout.splitlines()[-1], "summary without probes")

    link.arp_suppression("rs1", True)
    link.stop(foreign)
    fixed = doctor(vigilctl, conf)
    probe_checks = ("rs.arp_suppression", "rs.reachable", "rs.route", "rs.vip_owner",
                    "vrrp.vrid_on_link", "vrrp.vip_on_host", "vrrp.vip_on_peer")
    failing = [line for c in probe_checks for line in lines(fixed, c) if line.startswith("FAIL ")]
    check(failing == [], f"fixed site: probe failures {failing}")
    one(fixed, "OK", "rs.arp_suppression", f"real server 192.0.2.21 does not answer ARP who-has {VIP}")
    one(fixed, "OK", "vrrp.vrid_on_link", "peer 192.0.2.2")
    one(fixed, "OK", "vrrp.vip_on_host", "no virtual_ipaddress is an address of this host")
    # rs1 answered who-has VIP on this link before the fix: a real server, not a peer.
    one(broken, "OK", "vrrp.vip_on_peer", f"no other host answers ARP for {VIP} on eth0")
    one(fixed, "OK", "vrrp.vip_on_peer", f"no other host answers ARP for {VIP} on eth0")

    # The VIP added by hand on the director while a peer of higher priority is MASTER:
    # configured outside vigil.
    link.stop(peer)
    stronger = link.speak("peer", VIP, priority=150)
    in_ns("dir", "ip", "address", "add", f"{VIP}/24", "dev", "eth0")
    try:
        by_hand = doctor(vigilctl, conf)
    finally:
        in_ns("dir", "ip", "address", "del", f"{VIP}/24", "dev", "eth0")
        link.stop(stronger)
        peer = link.speak("peer", VIP)
    check(by_hand.returncode == 1, f"VIP by hand: exit {by_hand.returncode}, expected 1")
    outside = one(by_hand, "FAIL", "vrrp.vip_on_host",
                  f"{VIP} is an address of this host, but 192.0.2.2 is MASTER for VRID 51 (it "
                  "sends the adverts, priority 150 against this instance's 100)")
    check(f"fix: ip -o address show to {VIP} (where it is), ip address del {VIP}/24 dev "
          "THAT_DEVICE" in outside, outside)

    vip_on_peers(vigilctl, conf, link, peer)

    quick = doctor(vigilctl, conf, "--no-probes")
    check(all(lines(quick, c) == [] for c in probe_checks), "--no-probes still probed")
    check("(active probes skipped)" in quick.stdout.splitlines()[-1], "summary: probes not skipped")

    if vigild:
        beside_daemon(vigilctl, vigild, conf, work, link)


def mac_of(node: str) -> str:
    return in_ns(node, "cat", "/sys/class/net/eth0/address").stdout.strip()


def vip_on_peers(vigilctl: str, conf: Path, link: Link, peer: subprocess.Popen) -> None:
    """The VIP as a static address of other hosts (vrrp.vip_on_peer): on the advertising peer
    alone it is the MASTER's; on a second host too, two hosts answer; on a host while no router
    advertises the VRID, it is held outside VRRP."""
    peer_mac, foreign_mac = mac_of("peer"), mac_of("foreign")
    in_ns("peer", "ip", "address", "add", f"{VIP}/24", "dev", "eth0")
    try:
        mastered = doctor(vigilctl, conf)
        one(mastered, "OK", "vrrp.vip_on_peer",
            f"{VIP} is answered on eth0 by {peer_mac} while 192.0.2.2 advertises VRID 51")
        in_ns("foreign", "ip", "address", "add", f"{VIP}/24", "dev", "eth0")
        try:
            twice = doctor(vigilctl, conf)
        finally:
            in_ns("foreign", "ip", "address", "del", f"{VIP}/24", "dev", "eth0")
    finally:
        in_ns("peer", "ip", "address", "del", f"{VIP}/24", "dev", "eth0")
    check(twice.returncode == 1, f"VIP on two hosts: exit {twice.returncode}, expected 1")
    both = ", ".join(sorted([peer_mac, foreign_mac]))
    two = one(twice, "FAIL", "vrrp.vip_on_peer",
              f"{VIP} is answered on eth0 by {both}: more than one host")
    check(f"ip address del {VIP}/24 dev THAT_DEVICE" in two, two)

    # The peer silent and the VIP an address of another host: nobody is MASTER, yet it answers.
    link.stop(peer)
    in_ns("foreign", "ip", "address", "add", f"{VIP}/24", "dev", "eth0")
    try:
        static = doctor(vigilctl, conf)
    finally:
        in_ns("foreign", "ip", "address", "del", f"{VIP}/24", "dev", "eth0")
        link.speak("peer", VIP)
    check(static.returncode == 1, f"VIP on a silent host: exit {static.returncode}, expected 1")
    one(static, "FAIL", "vrrp.vip_on_peer",
        f"{VIP} is answered on eth0 by {foreign_mac}, but no VRRP router advertises VRID 51 there")


def holds_vip() -> bool:
    return f"inet {VIP}/24" in in_ns("dir", "ip", "-4", "address", "show", "dev", "eth0").stdout


def beside_daemon(vigilctl: str, vigild: str, conf: Path, work: Path, link: Link) -> None:
    log = work / "vigild.log"
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            ["ip", "netns", "exec", ns("dir"), vigild, "-f", str(conf), "-n", "-l", "-D", "-P",
             "-p", str(work / "vigild.pid"), "-i", "dir"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=work)
    link.daemon = daemon
    try:
        # Priority 100 against the peer's 90: it takes over after Master_Down_Interval.
        for _ in range(100):
            if holds_vip() or daemon.poll() is not None:
                break
            time.sleep(0.2)
        check(daemon.poll() is None, f"vigild exited {daemon.returncode}: {log.read_text()}")
        check(holds_vip(), f"vigild did not become MASTER: {log.read_text()}")
        link.speak("foreign", "192.0.2.150")
        result = doctor(vigilctl, conf)
        one(result, "FAIL", "vrrp.vrid_on_link", "192.0.2.66 sends VRRPv2 adverts for VRID 51")
        one(result, "OK", "vrrp.vrid_on_link", "peer 192.0.2.2 sends")
        own = lines(result, "vrrp.vrid_on_link", "192.0.2.1 sends")
        check(own == [], f"the daemon's own adverts reported: {own}")
        # The VIP is vigild's here: the peer advertises below this instance.
        one(result, "OK", "vrrp.vip_on_host",
            f"{VIP} is an address of this host; 192.0.2.2 advertises VRID 51 at priority 90, "
            "below this instance's 100: this host should be MASTER")
        one(result, "OK", "vrrp.vip_on_peer", f"no other host answers ARP for {VIP} on eth0")
    finally:
        link.stop_daemon()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--vigild", help="also run doctor beside this vigild")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vigil-doctor-probes-"))
    link = Link()
    try:
        link.setup()
        run(os.path.abspath(args.vigilctl),
            os.path.abspath(args.vigild) if args.vigild else None, work, link)
    except AssertionError as error:
        print(f"FAIL: {error}")
        return 1
    finally:
        if not args.keep:
            link.delete()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("PASS: doctor names the real server without ARP suppression and the foreign VRID user")
    return 0


if __name__ == "__main__":
    sys.exit(main())
