#!/usr/bin/env python3
"""vigilctl doctor on a broken and a healthy site, each in its own network namespace (issue 15).

  doctor.py --vigilctl PATH [--keep]

The broken site: a NAT service with net.ipv4.ip_forward=0 (per namespace), a vrrp_instance on
an interface that does not exist, a notify_master script without its execute bit. doctor must
name each with FAIL and its fix, exit 1, and say the same in --json (vigil-doctor/1). --fix
then sets ip_forward (and nothing else: the other failures stay, exit 1).
The healthy site (ip_forward=1, the interface up, the script executable): a VRRP-only
configuration exits 0; with the NAT service added, ip_forward is OK, and the only failures
allowed are the IPVS modules this kernel lacks (the build hosts have none: then it exits 1 with
exactly those). A configuration file that is missing exits 4; a host without /proc/sys exits 9.
The active probes run too (doctor_probes.py tests them). No daemon runs; every namespace made is
deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RUN_ID = os.getpid()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def sh(*args: str, check_rc: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=check_rc)


class Site:
    def __init__(self, name: str, ip_forward: int, link: bool, up: bool):
        self.ns = f"vdoc-{name}-{RUN_ID}"
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        if link:
            sh("ip", "-n", self.ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p")
            sh("ip", "-n", self.ns, "address", "add", "192.0.2.1/24", "dev", "eth0")
            if up:
                sh("ip", "-n", self.ns, "link", "set", "eth0p", "up")
                sh("ip", "-n", self.ns, "link", "set", "eth0", "up")
        sh("ip", "netns", "exec", self.ns, "sysctl", "-qw", f"net.ipv4.ip_forward={ip_forward}")
        # Loose reverse-path filtering, so that the healthy site has no rp_filter warning.
        for conf in ("all", "default") + (("eth0",) if link else ()):
            sh("ip", "netns", "exec", self.ns, "sysctl", "-qw", f"net.ipv4.conf.{conf}.rp_filter=2")

    def doctor(self, vigilctl: str, conf: Path, *extra: str) -> subprocess.CompletedProcess:
        result = sh("ip", "netns", "exec", self.ns, vigilctl, "doctor", "-f", str(conf), *extra,
                    check_rc=False)
        print(f"--- doctor in {self.ns} ({conf.name}) {' '.join(extra)}: exit {result.returncode}")
        print(result.stdout + result.stderr)
        return result

    def delete(self) -> None:
        sh("ip", "netns", "del", self.ns, check_rc=False)


def vrrp(script: Path) -> str:
    return f"""global_defs {{
  enable_script_security
  script_user root
}}
vrrp_instance VI_1 {{
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  unicast_src_ip 192.0.2.1
  unicast_peer {{ 192.0.2.2 }}
  virtual_ipaddress {{ 192.0.2.10/24 }}
  notify_master {script}
}}
"""


NAT = """virtual_server 192.0.2.10 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
  real_server 10.0.0.3 80 { TCP_CHECK { connect_timeout 3 } }
}
"""


def lines(result: subprocess.CompletedProcess, level: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(level + " ")]


def line_of(result: subprocess.CompletedProcess, level: str, check_id: str, part: str) -> str:
    found = [line for line in lines(result, level)
             if line.split()[1] == check_id and part in line]
    check(len(found) == 1, f"expected one {level} {check_id} line with '{part}', got {found}")
    return found[0]


def ipvs_only(failures: list[str]) -> bool:
    return all(line.split()[1] in ("kernel.ip_vs", "kernel.scheduler") for line in failures)


def run(vigilctl: str, work: Path, sites: list[Site]) -> None:
    script = work / "to-master.sh"
    script.write_text("#!/bin/sh\nexit 0\n")

    # The broken site.
    script.chmod(0o644)
    broken = Site("broken", ip_forward=0, link=False, up=False)
    sites.append(broken)
    conf = work / "broken.conf"
    conf.write_text(vrrp(script) + NAT)
    result = broken.doctor(vigilctl, conf)
    check(result.returncode == 1, f"broken site: exit {result.returncode}, expected 1")
    fwd = line_of(result, "FAIL", "kernel.ip_forward", "net.ipv4.ip_forward = 0")
    check("virtual_server 192.0.2.10:80" in fwd and "broken.conf:" in fwd, fwd)
    check("fix: sysctl -w net.ipv4.ip_forward=1" in fwd, fwd)
    link = line_of(result, "FAIL", "vrrp.interface", "interface eth0: no such interface")
    check("vrrp_instance VI_1" in link and "broken.conf:6:" in link, link)
    src = line_of(result, "FAIL", "vrrp.source_address", "192.0.2.1 is not an address")
    check("fix: ip address add 192.0.2.1" in src, src)
    notify = line_of(result, "FAIL", "scripts.script", "not executable by root")
    check(f"fix: chmod 755 {script}" in notify, notify)
    if not Path("/proc/net/ip_vs").exists():
        line_of(result, "FAIL", "kernel.ip_vs", "ip_vs is not loaded")

    as_json = broken.doctor(vigilctl, conf, "--json")
    check(as_json.returncode == 1, f"--json: exit {as_json.returncode}")
    doc = json.loads(as_json.stdout)
    check(doc["schema"] == "vigil-doctor/1", f"schema {doc.get('schema')}")
    fails = {f["check"] for f in doc["findings"] if f["level"] == "fail"}
    check({"kernel.ip_forward", "vrrp.interface", "scripts.script"} <= fails, f"fails {fails}")
    check(doc["summary"]["fail"] == len([f for f in doc["findings"] if f["level"] == "fail"]),
          f"summary {doc['summary']}")

    # --fix sets the broken site's ip_forward (its only director sysctl at fault) and nothing
    # else: the missing interface, the script and the address still fail after it.
    fixed = broken.doctor(vigilctl, conf, "--no-probes", "--fix")
    check(fixed.returncode == 1, f"--fix: exit {fixed.returncode}, expected 1 (other failures)")
    check("--fix: applying 1 sysctl fix " in fixed.stdout, "--fix did not say what it applies")
    check("\n  sysctl -w net.ipv4.ip_forward=1\n" in fixed.stdout, "--fix did not set ip_forward")
    value = sh("ip", "netns", "exec", broken.ns, "cat", "/proc/sys/net/ipv4/ip_forward").stdout
    check(value.strip() == "1", f"ip_forward after --fix: {value!r}")
    after = fixed.stdout.split("After --fix:", 1)
    check(len(after) == 2, "no findings after --fix")
    after_lines = [line for line in after[1].splitlines() if line.startswith(("OK ", "FAIL "))]
    check(any(line.split()[:2] == ["OK", "kernel.ip_forward"] for line in after_lines),
          "ip_forward is not OK after --fix")
    still = {line.split()[1] for line in after_lines if line.startswith("FAIL ")}
    check({"vrrp.interface", "scripts.script"} <= still, f"after --fix fails {still}")
    check(script.stat().st_mode & 0o777 == 0o644, "--fix changed the script")

    # The healthy site.
    script.chmod(0o755)
    healthy = Site("healthy", ip_forward=1, link=True, up=True)
    sites.append(healthy)
    conf = work / "healthy.conf"
    conf.write_text(vrrp(script))
    result = healthy.doctor(vigilctl, conf)
    check(result.returncode == 0, f"healthy VRRP site: exit {result.returncode}")
    check(lines(result, "FAIL") == [] and lines(result, "WARN") == [], "healthy: not all OK")
    line_of(result, "OK", "vrrp.interface", "interface eth0 is up")
    line_of(result, "OK", "scripts.script", "runs as root")
    line_of(result, "OK", "vrrp.source_address", "192.0.2.1 is an address")

    conf = work / "healthy-nat.conf"
    conf.write_text(vrrp(script) + NAT)
    result = healthy.doctor(vigilctl, conf)
    line_of(result, "OK", "kernel.ip_forward", "net.ipv4.ip_forward = 1")
    failures = lines(result, "FAIL")
    check(ipvs_only(failures), f"healthy NAT site: failures beyond IPVS: {failures}")
    check(result.returncode == (1 if failures else 0), f"healthy NAT: exit {result.returncode}")

    missing = healthy.doctor(vigilctl, work / "missing.conf")
    check(missing.returncode == 4, f"missing file: exit {missing.returncode}, expected 4")

    # A host without /proc/sys (an empty tmpfs over it, in a mount namespace of this command only):
    # doctor cannot examine it and exits 9.
    blind = sh("ip", "netns", "exec", healthy.ns, "unshare", "--mount", "--propagation", "private",
               "sh", "-c", 'mount -t tmpfs none /proc/sys && exec "$0" doctor -f "$1"', vigilctl,
               str(conf), check_rc=False)
    print(f"--- doctor without /proc/sys: exit {blind.returncode}\n{blind.stdout}{blind.stderr}")
    check(blind.returncode == 9, f"no /proc/sys: exit {blind.returncode}, expected 9")
    check("cannot examine this host: /proc/sys/net cannot be read" in blind.stderr, blind.stderr)
    check(blind.stdout == "", f"no /proc/sys: output {blind.stdout!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vigilctl", required=True)
    parser.add_argument("--keep", action="store_true", help="keep the namespaces and files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vigil-doctor-"))
    work.chmod(0o755)
    sites: list[Site] = []
    try:
        run(os.path.abspath(args.vigilctl), work, sites)
    except AssertionError as error:
        print(f"FAIL: {error}")
        return 1
    finally:
        if not args.keep:
            for site in sites:
                site.delete()
            shutil.rmtree(work, ignore_errors=True)
    print("PASS: doctor names the broken site's failures and passes the healthy one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
