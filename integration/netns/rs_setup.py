#!/usr/bin/python3
"""vigilctl rs-setup on a DR real server in a network namespace (issue 15).

  rs_setup.py --vigilctl PATH [--keep]

Two namespaces on one veth link: `rs` (the real server, 10.0.0.2/24 on eth0, lo up) and `peer`
(the director's side of the link, 10.0.0.1/24). The configuration has a DR service
192.0.2.80:80 with real server 10.0.0.2.

1. A fresh real server: `rs-setup --check` exits 1 (the VIP is absent, arp_ignore 0).
2. The positive control: the VIP on lo with arp_ignore=0 (what operators do by hand): an ARP
   who-has for the VIP sent from `peer` is answered by rs; --check still exits 1.
3. The `--format shell` script runs in rs, twice (it is idempotent: the second run succeeds and
   changes nothing).
4. --check exits 0 with every item OK; the who-has for the VIP gets no answer, while one for rs's
   own address 10.0.0.2 still does (the link works: the silence is arp_ignore's).
`--mode dr --vip VIP --check` (no configuration) passes too.
Also: a NAT service prints its note and exits 0 (also with --check); an unknown service exits 2;
a missing configuration file exits 4. The kernel here has no ipip module: TUN's --check is
unit-tested only (tests/doctor/rs_setup_test.cc).

The ARP probe is this script run again inside `peer` (arp-probe): raw AF_PACKET frames, a bounded
number of requests, each waited for a bounded time. Every namespace made is deleted.
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN_ID = os.getpid()
PYTHON = "/usr/bin/python3"
VIP = "192.0.2.80"
RS_ADDRESS = "10.0.0.2"
PEER_ADDRESS = "10.0.0.1"

CONFIG = f"""virtual_server {VIP} 80 {{
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server {RS_ADDRESS} 80 {{ TCP_CHECK {{ connect_timeout 3 }} }}
}}
virtual_server 192.0.2.84 80 {{
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server {RS_ADDRESS} 80 {{ TCP_CHECK {{ connect_timeout 3 }} }}
}}
"""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sh(*args: str, check_rc: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=check_rc)


# --- the probe, run inside `peer` -----------------------------------------------------------------

def arp_probe(interface: str, source: str, target: str, tries: int, wait: float) -> int:
    """Sends up to `tries` ARP who-has for `target`; prints the answering MAC, exit 0, or
    'no answer', exit 1."""
    mac = bytes.fromhex(Path(f"/sys/class/net/{interface}/address").read_text().strip()
                        .replace(":", ""))
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806)) as sock:
        sock.bind((interface, 0x0806))
        request = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806) +
                   struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + socket.inet_aton(source) +
                   b"\x00" * 6 + socket.inet_aton(target))
        for _ in range(tries):
            sock.send(request)
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                frame = sock.recv(2048)
                if len(frame) < 42 or frame[12:14] != b"\x08\x06":
                    continue
                op = struct.unpack("!H", frame[20:22])[0]
                if op == 2 and frame[28:32] == socket.inet_aton(target):
                    print("answered by " + frame[22:28].hex(":"))
                    return 0
    print("no answer")
    return 1


# --- the test ------------------------------------------------------------------------------------

class Lab:
    def __init__(self) -> None:
        self.rs = f"vrs-rs-{RUN_ID}"
        self.peer = f"vrs-peer-{RUN_ID}"
        self.made: list[str] = []

    def build(self) -> None:
        for ns in (self.rs, self.peer):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.rs, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
        sh("ip", "-n", self.rs, "link", "set", "eth0p", "netns", self.peer, "name", "eth0")
        for ns, address in ((self.rs, RS_ADDRESS), (self.peer, PEER_ADDRESS)):
            sh("ip", "-n", ns, "address", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        # The kernel's defaults, whatever this host's: a fresh real server answers ARP for any
        # local address.
        for conf in ("all", "default", "eth0"):
            sh("ip", "netns", "exec", self.rs, "sysctl", "-qw",
               f"net.ipv4.conf.{conf}.arp_ignore=0", f"net.ipv4.conf.{conf}.arp_announce=0")

    def rs_setup(self, vigilctl: str, *args: str) -> subprocess.CompletedProcess:
        result = sh("ip", "netns", "exec", self.rs, vigilctl, "rs-setup", *args, check_rc=False)
        print(f"--- rs-setup {' '.join(args)}: exit {result.returncode}")
        print(result.stdout + result.stderr)
        return result

    def who_has(self, target: str) -> bool:
        result = sh("ip", "netns", "exec", self.peer, PYTHON, os.path.abspath(__file__),
                    "arp-probe", "--interface", "eth0", "--source", PEER_ADDRESS, "--target",
                    target, check_rc=False)
        print(f"--- who-has {target} from {self.peer}: {result.stdout.strip()}{result.stderr}")
        check(result.returncode in (0, 1), f"arp-probe failed: {result.stderr}")
        return result.returncode == 0

    def delete(self) -> None:
        for ns in self.made:
            sh("ip", "netns", "del", ns, check_rc=False)


def lines(result: subprocess.CompletedProcess, level: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(level + " ")]


def run(vigilctl: str, work: Path, lab: Lab) -> None:
    conf = work / "vigil.conf"
    conf.write_text(CONFIG)
    service = (f"{VIP}:80", "-f", str(conf))

    # 1. Fresh.
    fresh = lab.rs_setup(vigilctl, *service, "--check")
    check(fresh.returncode == 1, f"fresh: exit {fresh.returncode}, expected 1")
    fails = lines(fresh, "FAIL")
    check(any(line.startswith(f"FAIL address {VIP}/32 on lo: absent") for line in fails), fails)
    check(any(line.startswith("FAIL arp_ignore on eth0:") and
              "fix: sysctl -w net.ipv4.conf.all.arp_ignore=1" in line for line in fails), fails)
    check(any(line.startswith("FAIL arp_announce on eth0:") for line in fails), fails)

    # 2. The VIP on lo by hand, without ARP suppression: rs answers for it.
    sh("ip", "-n", lab.rs, "address", "add", f"{VIP}/32", "dev", "lo")
    check(lab.who_has(VIP), "positive control: rs did not answer ARP for the VIP on lo with "
                            "arp_ignore=0")
    by_hand = lab.rs_setup(vigilctl, *service, "--check")
    check(by_hand.returncode == 1, f"VIP without arp_ignore: exit {by_hand.returncode}")
    check(lines(by_hand, "OK") and any("arp_ignore on eth0" in l for l in lines(by_hand, "FAIL")),
          "VIP without arp_ignore: expected the address OK and arp_ignore FAIL")

    # 3. The script, twice.
    script = lab.rs_setup(vigilctl, *service, "--format", "shell")
    check(script.returncode == 0 and script.stdout.startswith("#!/bin/sh"), "no script")
    path = work / "rs-setup.sh"
    path.write_text(script.stdout)
    for attempt in (1, 2):
        ran = sh("ip", "netns", "exec", lab.rs, "sh", str(path), check_rc=False)
        check(ran.returncode == 0, f"script run {attempt}: exit {ran.returncode}: {ran.stderr}")

    # 4. Set up: every item OK, no ARP answer for the VIP, one for rs's own address.
    done = lab.rs_setup(vigilctl, *service, "--check")
    check(done.returncode == 0, f"after the script: exit {done.returncode}, expected 0")
    check(lines(done, "FAIL") == [], "after the script: failures")
    ok = lines(done, "OK")
    for item in (f"OK   address {VIP}/32 on lo", "OK   arp_ignore on eth0",
                 "OK   arp_announce on eth0"):
        check(any(line.startswith(item) for line in ok), f"missing '{item}' in {ok}")
    check(not lab.who_has(VIP), "rs still answers ARP for the VIP after the script")
    check(lab.who_has(RS_ADDRESS), "rs no longer answers ARP for its own address")
    # The same check without a configuration: --mode and --vip.
    bare = lab.rs_setup(vigilctl, "--mode", "dr", "--vip", VIP, "--check")
    check(bare.returncode == 0, f"--mode dr --vip {VIP} --check: exit {bare.returncode}")

    # NAT, an unknown service, a missing file.
    nat = lab.rs_setup(vigilctl, "192.0.2.84:80", "-f", str(conf))
    check(nat.returncode == 0 and "NAT: nothing to set up" in nat.stdout, "NAT: no note")
    nat_check = lab.rs_setup(vigilctl, "192.0.2.84:80", "-f", str(conf), "--check")
    check(nat_check.returncode == 0 and "nothing to check" in nat_check.stdout, "NAT --check")
    unknown = lab.rs_setup(vigilctl, "192.0.2.99:80", "-f", str(conf))
    check(unknown.returncode == 2 and "no virtual server 192.0.2.99:80" in unknown.stderr,
          f"unknown service: exit {unknown.returncode}")
    missing = lab.rs_setup(vigilctl, *service[:1], "-f", str(work / "missing.conf"))
    check(missing.returncode == 4, f"missing file: exit {missing.returncode}, expected 4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    probe = sub.add_parser("arp-probe")
    probe.add_argument("--interface", required=True)
    probe.add_argument("--source", required=True)
    probe.add_argument("--target", required=True)
    probe.add_argument("--tries", type=int, default=3)
    probe.add_argument("--wait", type=float, default=1.0)
    parser.add_argument("--vigilctl")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and files")
    args = parser.parse_args()
    if args.command == "arp-probe":
        return arp_probe(args.interface, args.source, args.target, args.tries, args.wait)
    if not args.vigilctl:
        parser.error("--vigilctl is required")
    work = Path(tempfile.mkdtemp(prefix="vigil-rs-setup-"))
    work.chmod(0o755)
    lab = Lab()
    try:
        lab.build()
        run(os.path.abspath(args.vigilctl), work, lab)
    except AssertionError as error:
        print(f"FAIL: {error}")
        return 1
    finally:
        if not args.keep:
            lab.delete()
            shutil.rmtree(work, ignore_errors=True)
    print("PASS: rs-setup's script makes a DR real server silent on ARP for the VIP; --check "
          "fails before and passes after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
