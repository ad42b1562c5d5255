#!/usr/bin/env python3
"""vigilctl doctor's VRRP firewall check against real nftables rulesets (issue 15).

  doctor_firewall.py --vigilctl PATH [--keep]

One namespace (eth0, 192.0.2.1/24, a veth to a peer namespace holding 192.0.2.2) and three
instances on eth0: VI_1 multicast, VI_2 unicast from 192.0.2.2, VI_6 IPv6 multicast. For each
case of tests/data/doctor/firewall (the rulesets the unit tests judge from their captured
JSON), the ruleset is applied with `nft -f CASE.rules` (then CASE.sh's iptables-nft commands),
and `vigilctl doctor --no-probes` must print exactly the expected vrrp.firewall line for each
instance, and exit 1 when one fails. Then the kernel has its say: for each IPv4 verdict that is
not a WARN, an advert is sent from the peer (to 224.0.0.18 for VI_1, to 192.0.2.1 for VI_2) and
a raw IPPROTO_VRRP socket in the namespace must receive it exactly when doctor said OK. An nft
counter on eth0's ingress (priority -500, added after doctor ran) shows the advert arrived
before the socket is asked. Each FAIL's fix is then run as printed: doctor must say OK and the
kernel deliver the advert. Bounded: one advert per check. Every namespace made is deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

RUN_ID = os.getpid()
HERE = Path(__file__).resolve().parent
CASES = HERE.parent.parent / "tests" / "data" / "doctor" / "firewall"
CRAFT = HERE / "craft_advert.py"
CHECK = "vrrp.firewall"

CONF = CASES / "site.conf"  # the unit tests (tests/doctor/firewall_test.cc) judge it too

MCAST_FIX = ('nft insert rule inet filter input iifname "eth0" ip daddr 224.0.0.18 '
             'meta l4proto vrrp accept')
UCAST_FIX = ('nft insert rule inet filter input iifname "eth0" ip saddr 192.0.2.2 '
             'meta l4proto vrrp accept')
V6_FIX = ('nft insert rule inet filter input iifname "eth0" ip6 daddr ff02::12 '
          'meta l4proto vrrp accept')
MCAST = "adverts to 224.0.0.18 on eth0"
UCAST = "adverts from 192.0.2.2 on eth0"
V6 = "adverts to ff02::12 on eth0"
MCAST_OK = f"{MCAST} are accepted by the policy accept of inet filter input"
UCAST_OK = f"{UCAST} are accepted by the policy accept of inet filter input"
V6_OK = f"{V6} are accepted by the policy accept of inet filter input"
NO_CHAIN = ": no chain on their way in"
SURE = "nft -a list ruleset (the rules named); to be sure, accept VRRP first: "

# case -> instance -> (level, found, fix)
EXPECTED: dict[str, dict[str, tuple[str, str, str]]] = {
    "empty": {
        "VI_1": ("OK", MCAST + NO_CHAIN, ""),
        "VI_2": ("OK", UCAST + NO_CHAIN, ""),
        "VI_6": ("OK", V6 + NO_CHAIN, ""),
    },
    "vrrp-drop": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by inet filter input rule handle 3 '
                 '"ip protocol vrrp drop"', MCAST_FIX),
        "VI_2": ("FAIL", f'{UCAST} are dropped by inet filter input rule handle 3 '
                 '"ip protocol vrrp drop"', UCAST_FIX),
        "VI_6": ("OK", V6_OK, ""),
    },
    "policy-drop": {
        "VI_1": ("FAIL", f"{MCAST} are dropped by the policy drop of inet filter input",
                 MCAST_FIX),
        "VI_2": ("FAIL", f"{UCAST} are dropped by the policy drop of inet filter input",
                 UCAST_FIX),
        "VI_6": ("FAIL", f"{V6} are dropped by the policy drop of inet filter input", V6_FIX),
    },
    "policy-drop-vrrp-accept": {
        "VI_1": ("OK", f'{MCAST} are accepted by inet filter from_lan rule handle 9 '
                 '"meta l4proto vrrp counter accept" (reached from inet filter input)', ""),
        "VI_2": ("OK", f'{UCAST} are accepted by inet filter from_lan rule handle 9 '
                 '"meta l4proto vrrp counter accept" (reached from inet filter input)', ""),
        "VI_6": ("OK", f'{V6} are accepted by inet filter from_lan rule handle 9 '
                 '"meta l4proto vrrp counter accept" (reached from inet filter input)', ""),
    },
    "multicast-drop": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by inet filter input rule handle 2 '
                 '"ip daddr 224.0.0.0/4 drop"', MCAST_FIX),
        "VI_2": ("OK", UCAST_OK, ""),
        "VI_6": ("OK", V6_OK, ""),
    },
    "iptables": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by ip filter INPUT rule handle 3 '
                 '"meta l4proto vrrp counter drop"',
                 "iptables -t filter -I INPUT -i eth0 -d 224.0.0.18 -p vrrp -j ACCEPT"),
        "VI_2": ("FAIL", f'{UCAST} are dropped by ip filter INPUT rule handle 3 '
                 '"meta l4proto vrrp counter drop"',
                 "iptables -t filter -I INPUT -i eth0 -s 192.0.2.2 -p vrrp -j ACCEPT"),
        "VI_6": ("OK", V6 + NO_CHAIN, ""),
    },
    "peer-blocked": {
        "VI_1": ("WARN", f'{MCAST}: cannot judge inet filter input rule handle 4 "ip saddr '
                 '@vrrp_peers ip protocol vrrp accept" (it matches on ip saddr, and any router '
                 'on the link may send adverts)', SURE + MCAST_FIX),
        "VI_2": ("FAIL", f"{UCAST} are dropped by the policy drop of inet filter input",
                 UCAST_FIX),
        "VI_6": ("FAIL", f"{V6} are dropped by the policy drop of inet filter input", V6_FIX),
    },
    "peer-accepted": {
        "VI_1": ("WARN", f'{MCAST}: cannot judge inet filter input rule handle 3 "ip saddr '
                 '{ 192.0.2.2, 192.0.2.3 } ip protocol vrrp accept" (it matches on ip saddr, '
                 'and any router on the link may send adverts)', SURE + MCAST_FIX),
        "VI_2": ("OK", f'{UCAST} are accepted by inet filter input rule handle 3 "ip saddr '
                 '{ 192.0.2.2, 192.0.2.3 } ip protocol vrrp accept"', ""),
        "VI_6": ("FAIL", f'{V6} are dropped by inet filter input rule handle 4 '
                 '"iifname "eth*" drop"', V6_FIX),
    },
    "unjudged": {
        "VI_1": ("WARN", f'{MCAST}: cannot judge inet filter input rule handle 2 "fib saddr . '
                 'iif oif missing drop" (it matches on fib, which doctor does not evaluate)',
                 SURE + MCAST_FIX),
        "VI_2": ("WARN", f'{UCAST}: cannot judge inet filter input rule handle 2 "fib saddr . '
                 'iif oif missing drop" (it matches on fib, which doctor does not evaluate)',
                 SURE + UCAST_FIX),
        "VI_6": ("FAIL", f"{V6} are dropped by the policy drop of inet filter input", V6_FIX),
    },
    "unjudged-harmless": {
        "VI_1": ("OK", MCAST_OK, ""),
        "VI_2": ("OK", UCAST_OK, ""),
        "VI_6": ("OK", V6_OK, ""),
    },
    "two-chains": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by ip late input rule handle 2 '
                 '"meta l4proto vrrp reject"',
                 'nft insert rule ip late input iifname "eth0" ip daddr 224.0.0.18 '
                 'meta l4proto vrrp accept'),
        "VI_2": ("FAIL", f'{UCAST} are dropped by ip late input rule handle 2 '
                 '"meta l4proto vrrp reject"',
                 'nft insert rule ip late input iifname "eth0" ip saddr 192.0.2.2 '
                 'meta l4proto vrrp accept'),
        "VI_6": ("OK", f"{V6} are accepted by the policy accept of inet early input", ""),
    },
    "prerouting-drop": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by ip raw lan rule handle 4 "ip protocol vrrp '
                 'drop" (reached from ip raw prerouting)',
                 'nft insert rule ip raw prerouting iifname "eth0" ip daddr 224.0.0.18 '
                 'meta l4proto vrrp accept'),
        "VI_2": ("FAIL", f'{UCAST} are dropped by ip raw lan rule handle 4 "ip protocol vrrp '
                 'drop" (reached from ip raw prerouting)',
                 'nft insert rule ip raw prerouting iifname "eth0" ip saddr 192.0.2.2 '
                 'meta l4proto vrrp accept'),
        "VI_6": ("OK", V6 + NO_CHAIN, ""),
    },
    "ingress-drop": {
        "VI_1": ("FAIL", f'{MCAST} are dropped by netdev edge ingress rule handle 2 '
                 '"ip protocol vrrp drop"',
                 'nft insert rule netdev edge ingress iifname "eth0" ip daddr 224.0.0.18 '
                 'meta l4proto vrrp accept'),
        "VI_2": ("FAIL", f'{UCAST} are dropped by netdev edge ingress rule handle 2 '
                 '"ip protocol vrrp drop"',
                 'nft insert rule netdev edge ingress iifname "eth0" ip saddr 192.0.2.2 '
                 'meta l4proto vrrp accept'),
        "VI_6": ("OK", f"{V6} are accepted by the policy accept of netdev edge ingress", ""),
    },
    "other-interface": {
        "VI_1": ("OK", MCAST_OK, ""),
        "VI_2": ("OK", UCAST_OK, ""),
        "VI_6": ("FAIL", f'{V6} are dropped by inet filter input rule handle 3 '
                 '"ip6 nexthdr vrrp drop"', V6_FIX),
    },
    "ipv6-drop": {
        "VI_1": ("OK", MCAST + NO_CHAIN, ""),
        "VI_2": ("OK", UCAST + NO_CHAIN, ""),
        "VI_6": ("FAIL", f'{V6} are dropped by ip6 filter6 input rule handle 2 '
                 '"ip6 daddr ff02::12 drop"',
                 'nft insert rule ip6 filter6 input iifname "eth0" ip6 daddr ff02::12 '
                 'meta l4proto vrrp accept'),
    },
}

# A raw IPPROTO_VRRP socket in the namespace, member of 224.0.0.18 on eth0: prints "ready", then
# for the line "wait" waits up to 10 s for an advert, for "now" only looks; prints each source.
LISTENER = r"""
import select, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
index = socket.if_nametoindex("eth0")
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.18") + socket.inet_aton("0.0.0.0") + struct.pack("i", index))
print("ready", flush=True)
mode = sys.stdin.readline().strip()
if mode == "wait":
    select.select([s], [], [], 10)
s.setblocking(False)
got = []
for _ in range(100):
    try:
        data = s.recv(2048)
    except BlockingIOError:
        break
    got.append(socket.inet_ntoa(data[12:16]) + ">" + socket.inet_ntoa(data[16:20]))
print(" ".join(got) or "-", flush=True)
"""

PROBE_TABLE = """table netdev vigil_fw_probe {
  chain arrivals {
    type filter hook ingress device "eth0" priority -500; policy accept;
    meta l4proto vrrp counter
  }
}
"""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sh(*args: str, check_rc: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30,
                          check=check_rc, input=stdin)


class Site:
    def __init__(self) -> None:
        self.ns = f"vdoc-fw-{RUN_ID}"
        self.peer = f"vdoc-fwp-{RUN_ID}"
        self.made: list[str] = []

    def build(self) -> None:
        for ns in (self.ns, self.peer):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p",
           "netns", self.peer)
        sh("ip", "-n", self.ns, "address", "add", "192.0.2.1/24", "dev", "eth0")
        sh("ip", "-n", self.peer, "address", "add", "192.0.2.2/24", "dev", "eth0p")
        sh("ip", "-n", self.ns, "link", "set", "eth0", "up")
        sh("ip", "-n", self.peer, "link", "set", "eth0p", "up")
        sh("ip", "-n", self.peer, "route", "add", "224.0.0.0/4", "dev", "eth0p")

    def in_ns(self, *args: str, check_rc: bool = True,
              stdin: str | None = None) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.ns, *args, check_rc=check_rc, stdin=stdin)

    def apply(self, case: str) -> None:
        self.in_ns("nft", "flush", "ruleset")
        self.in_ns("nft", "-f", str(CASES / f"{case}.rules"))
        script = CASES / f"{case}.sh"
        if script.exists():
            for line in script.read_text().splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    self.in_ns(*line.split())

    def arrivals(self) -> int:
        listing = json.loads(self.in_ns("nft", "-j", "list", "table", "netdev",
                                        "vigil_fw_probe").stdout)
        for item in listing["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise AssertionError("no counter in the probe table")

    def delivered(self, destination: str, expect: bool) -> bool:
        """Sends one advert from the peer to `destination`; whether the socket got it."""
        self.in_ns("nft", "-f", "-", stdin=PROBE_TABLE)
        listener = subprocess.Popen(["ip", "netns", "exec", self.ns, "/usr/bin/python3", "-c",
                                     LISTENER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
        try:
            check(listener.stdout.readline().strip() == "ready", "listener did not start")
            sh("ip", "netns", "exec", self.peer, "/usr/bin/python3", str(CRAFT), "--src",
               "192.0.2.2", "--dst", destination, "--vrid", "52", "--priority", "100",
               "--vip", "192.0.2.20", "--count", "1", "--every", "0.001")
            # The advert has been through eth0's ingress before the socket is asked (bounded:
            # veth delivers it in the sender's system call).
            seen = 0
            for _ in range(100):
                seen = self.arrivals()
                if seen:
                    break
            check(seen == 1, f"the advert to {destination} never reached eth0 ({seen})")
            out, _ = listener.communicate("wait\n" if expect else "now\n", timeout=30)
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
            self.in_ns("nft", "delete", "table", "netdev", "vigil_fw_probe", check_rc=False)
        return f"192.0.2.2>{destination}" in out.split()

    def delete(self) -> None:
        for ns in self.made:
            sh("ip", "netns", "del", ns, check_rc=False)


def firewall_lines(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        parts = line.split(None, 4)  # LEVEL CHECK vrrp_instance NAME: ...
        if len(parts) == 5 and parts[1] == CHECK:
            out[parts[3].rstrip(":")] = line
    return out


def expected_line(instance: str, level: str, found: str, fix: str,
                  location: str) -> tuple[str, str]:
    """The line's start (up to the location's column) and, when there is a fix, its end."""
    head = f"{level:<4} {CHECK:<32} vrrp_instance {instance}: {found} [{location}:"
    return head, (f"; fix: {fix}" if fix else "")


def run(vigilctl: str, work: Path, site: Site) -> None:
    conf = work / "site.conf"
    conf.write_text(CONF.read_text())
    locations = {"VI_1": f"{conf}:1", "VI_2": f"{conf}:7", "VI_6": f"{conf}:15"}
    kernel_checks = 0
    fixes_checked = 0
    for case, instances in EXPECTED.items():
        site.apply(case)
        result = site.in_ns(vigilctl, "doctor", "-f", str(conf), "--no-probes", check_rc=False)
        print(f"--- {case}: exit {result.returncode}\n{result.stdout}{result.stderr}")
        lines = firewall_lines(result.stdout)
        check(sorted(lines) == ["VI_1", "VI_2", "VI_6"], f"{case}: lines {sorted(lines)}")
        for instance, (level, found, fix) in instances.items():
            line = lines[instance]
            head, tail = expected_line(instance, level, found, fix, locations[instance])
            check(line.startswith(head),
                  f"{case} {instance}:\n  got      {line}\n  expected {head}...")
            check(line.endswith(tail) if tail else "; fix:" not in line,
                  f"{case} {instance}: fix\n  got      {line}\n  expected ...{tail}")
        fails = any(level == "FAIL" for level, _, _ in instances.values())
        check(result.returncode == (1 if fails else 0), f"{case}: exit {result.returncode}")

        # The kernel agrees: OK means the socket gets the advert, FAIL that it does not.
        for instance, destination in (("VI_1", "224.0.0.18"), ("VI_2", "192.0.2.1")):
            level = instances[instance][0]
            if level == "WARN":
                continue
            got = site.delivered(destination, expect=level == "OK")
            print(f"    kernel: advert to {destination} {'delivered' if got else 'dropped'} "
                  f"(doctor: {level})")
            check(got == (level == "OK"),
                  f"{case} {instance}: doctor says {level}, the kernel "
                  f"{'delivered' if got else 'dropped'} the advert")
            kernel_checks += 1

        # The fix doctor prints lets the adverts in, by doctor's word and the kernel's.
        for instance, destination in (("VI_1", "224.0.0.18"), ("VI_2", "192.0.2.1")):
            level, _, fix = instances[instance]
            if level != "FAIL":
                continue
            site.apply(case)
            site.in_ns(*shlex.split(fix))
            after = site.in_ns(vigilctl, "doctor", "-f", str(conf), "--no-probes",
                               check_rc=False)
            line = firewall_lines(after.stdout)[instance]
            print(f"    after `{fix}`:\n    {line}")
            check(line.startswith(f"OK   {CHECK:<32} vrrp_instance {instance}: "),
                  f"{case} {instance}: still not OK after the fix: {line}")
            check(site.delivered(destination, expect=True),
                  f"{case} {instance}: the kernel still drops the advert after the fix")
            fixes_checked += 1

    # --json carries the same finding.
    site.apply("vrrp-drop")
    doc = json.loads(site.in_ns(vigilctl, "doctor", "-f", str(conf), "--no-probes", "--json",
                                check_rc=False).stdout)
    found = [f for f in doc["findings"]
             if f["check"] == CHECK and f["subject"] == "vrrp_instance VI_2"]
    check(len(found) == 1, f"--json: {found}")
    check(found[0]["level"] == "fail" and found[0]["fix"] == UCAST_FIX, f"--json: {found[0]}")
    print(f"kernel cross-checks: {kernel_checks}, fixes applied and checked: {fixes_checked}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vigil-doctor-fw-"))
    work.chmod(0o755)
    site = None
    try:
        site = Site()
        site.build()
        run(os.path.abspath(args.vigilctl), work, site)
    except AssertionError as error:
        print(f"FAIL: {error}")
        return 1
    finally:
        if not args.keep:
            if site:
                site.delete()
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
    print("PASS: doctor judges each ruleset as the kernel does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
