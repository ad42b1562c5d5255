#!/usr/bin/python3
"""vigil-lab in network namespaces (label netns): the product's own lab, driven as a user would.

  lab_netns.py demo --vigil-lab PATH --vigild PATH
      `vigil-lab demo --repeat 1` with vigild exits 0, its report.json has every drill passed and
      Chromium (headless) loads its index.html with every timeline
      (loss: adverts were dropped and no state line came after the loss began; reload: each
      director logged a completed reload and no state line came after the first SIGHUP).
  lab_netns.py demo-keepalived --vigil-lab PATH --vigild PATH
      the same with `--daemon keepalived` (Debian's keepalived on both directors): every drill
      passes and report.json names keepalived.
  lab_netns.py compare --vigil-lab PATH --vigild PATH
      `vigil-lab demo --compare --drills kill,reload`: both daemons pass, each gets its own report
      under DIR/vigild and DIR/keepalived, compare.txt (also on the terminal) has both side by
      side, and DIR/index.html is well-formed.
  lab_netns.py split-brain --vigil-lab PATH --vigild PATH
      two directors with different virtual_router_ids: exit 1, "split brain before the fault".
  lab_netns.py nopreempt --vigil-lab PATH --vigild PATH
      the higher-priority director has nopreempt: the preempt drill passes because it does not
      take over (and the report says the drill expected no takeover).
  lab_netns.py backup-preempts --vigil-lab PATH --vigild PATH
      d1 `state MASTER` priority 100, d2 `state BACKUP` priority 150 without nopreempt: the kill
      drill passes, the preempt drill fails (d2 takes VI_1 from its intended master) with the
      reason, exit 1; with nopreempt added to d2 the same drills pass.
  lab_netns.py checker-wrong-port --vigil-lab PATH --vigild PATH --vigild-recording PATH
      a TCP_CHECK and an HTTP_GET with connect_port 81 where the real servers listen on 80: the
      directors (vigild-recording, --ipvs-journal: checkers without kernel IPVS) take every real
      server out, and rs-fail fails before its fault with "every real server of VS ... is down
      before the fault", exit 1; with the right port rs-fail and rs-recover pass (each director
      takes the victim out / back exactly once, no VRRP transition), exit 0.
  lab_netns.py rs-protocols --vigil-lab PATH --vigild PATH --vigild-recording PATH
      an SMTP_CHECK, an HTTP_GET that accepts only 301 and an SSL_GET with a digest: without
      --rs-root the lab says it needs the content (exit 1); with it the lab's servers speak SMTP,
      answer 301 and serve the content over TLS, so all are up before the fault, and rs-fail
      takes each out (runs 1-3) on both directors, exit 0; a DNS_CHECK and a UDP_CHECK (a required
      reply) on UDP services: the lab's servers answer, rs-fail and rs-recover pass.
  lab_netns.py rs-not-run --vigil-lab PATH --vigild PATH --vigild-recording PATH
      a VRRP-only config: rs-fail is not run, with the sentence why, exit 1.
  lab_netns.py interrupt --vigil-lab PATH --vigild PATH
      SIGINT mid-drill: exit 130, and no vlab- namespace, no new veth, no process of the lab and
      no work directory remain.

Every run is bounded in time; nothing here depends on integration/netns's harness.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from report_check import chromium_problems, report_dir_problems

TIMEOUT = 240


def fail(message: str, output: str = "") -> None:
    print(f"FAIL: {message}")
    if output:
        print("---- vigil-lab output (tail):")
        print(output[-6000:])
    sys.exit(1)


def validate_report(directory: str, output: str) -> None:
    """report.json against docs/lab-report.schema.json, junit.xml against report.json."""
    problems = report_dir_problems(directory)
    if problems:
        fail("the report does not match its schema:\n  " + "\n  ".join(problems), output)


def lab_namespaces() -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith("vlab-"))
    except FileNotFoundError:
        return []


def host_veths() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True,
                         text=True, timeout=10).stdout
    return {line.split(":")[1].strip() for line in out.splitlines() if ":" in line}


def work_dirs() -> set[str]:
    return {str(p) for p in Path("/tmp").glob("vlab-*") if (p / ".vigil-lab").exists()}


def lab_processes() -> list[str]:
    """Processes whose command line names a lab work directory (the daemons read their configs
    from there)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if "/tmp/vlab-" in cmdline:
            found.append(f"{pid}: {cmdline.strip()}")
    return found


def require_clean_start() -> None:
    if lab_namespaces():
        fail(f"a previous lab is there: {lab_namespaces()} (vigil-lab clean)")


def run_lab(args: argparse.Namespace, *lab_args: str) -> subprocess.CompletedProcess:
    cmd = [args.vigil_lab, *lab_args, "--vigild", args.vigild]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def config(vrid: int, priority: int, nopreempt: bool = False, state: str = "BACKUP") -> str:
    return f"""vrrp_instance VI_1 {{
  state {state}
  interface eth0
  virtual_router_id {vrid}
  priority {priority}
  advert_int 0.1
  version 3
{"  nopreempt" if nopreempt else ""}
  virtual_ipaddress {{
    192.0.2.200/24 dev eth0
  }}
}}
"""


def test_demo(args: argparse.Namespace, daemon: str = "vigild") -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        proc = run_lab(args, "demo", "--repeat", "1", "--report", tmp, "--daemon", daemon)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"vigil-lab demo --daemon {daemon} exited {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        report = json.loads(Path(tmp, "report.json").read_text())
        if report["daemon"]["name"] != daemon:
            fail(f"report.json daemon {report['daemon']}, expected {daemon}", output)
        problems = chromium_problems(Path(tmp, "index.html"))
        if problems:
            fail("index.html in Chromium: " + "; ".join(problems), output)
        if report.get("schema") != "vigil-lab-report/3" or report.get("passed") is not True:
            fail(f"report.json: schema {report.get('schema')}, passed {report.get('passed')}",
                 output)
        names = [d["name"] for d in report["drills"]]
        if names != ["kill", "stop", "link", "preempt", "loss", "partition", "reload"]:
            fail(f"report.json drills: {names}", output)
        loss = report["drills"][4]["runs_detail"][0]
        if not loss["adverts_dropped"] or any(e["t_ms"] >= 0 for e in loss["states"]):
            fail(f"loss: adverts_dropped {loss['adverts_dropped']}, states {loss['states']}",
                 output)
        reload = report["drills"][6]["runs_detail"][0]
        if not reload["reloads"] or min(reload["reloads"].values()) < 1 or reload["states"] and \
                any(e["t_ms"] >= 0 for e in reload["states"]):
            fail(f"reload: reloads {reload['reloads']}, states {reload['states']}", output)
        for drill in report["drills"]:
            if drill["runs"] != 1 or drill["passed"] != 1:
                fail(f"drill {drill['name']}: {drill['passed']} of {drill['runs']} passed", output)
            for run in drill["runs_detail"]:
                if not run["passed"] or run["failures"]:
                    fail(f"drill {drill['name']} run {run['run']}: {run['failures']}", output)
        partition = report["drills"][5]["runs_detail"][0]
        if partition["two_masters_since_ms"] is None:
            fail("partition: the report does not say since when both were MASTER", output)
        for name in ("kill", "stop", "link"):
            run = next(d for d in report["drills"] if d["name"] == name)["runs_detail"][0]
            if run["vip_move_ms"] is None or run["outage_ms"] is None:
                fail(f"{name}: no VIP move or outage measured", output)
        if "every drill passed" not in proc.stdout:
            fail("the summary line is missing", output)
    if lab_namespaces():
        fail(f"namespaces left behind: {lab_namespaces()}")
    print(f"PASS demo ({daemon})")


def test_demo_keepalived(args: argparse.Namespace) -> None:
    test_demo(args, "keepalived")


def test_compare(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        proc = run_lab(args, "demo", "--compare", "--repeat", "1", "--drills", "kill,reload",
                       "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"vigil-lab demo --compare exited {proc.returncode}, expected 0", output)
        for daemon in ("vigild", "keepalived"):
            validate_report(f"{tmp}/{daemon}", output)
            report = json.loads(Path(tmp, daemon, "report.json").read_text())
            if report["daemon"]["name"] != daemon or not report["passed"]:
                fail(f"{daemon}/report.json: daemon {report['daemon']}, passed "
                     f"{report['passed']}", output)
        table = Path(tmp, "compare.txt").read_text().splitlines()
        if table[0].split()[:3] != ["drill", "vigild", "keepalived"] or \
                [line.split()[:3] for line in table[1:3]] != [["kill", "1/1", "1/1"],
                                                             ["reload", "1/1", "1/1"]]:
            fail(f"compare.txt: {table}", output)
        if "\n".join(table) not in proc.stdout:
            fail("the side-by-side table is not on the terminal", output)
        try:
            ET.fromstring(Path(tmp, "index.html").read_text().split("\n", 1)[1])
        except ET.ParseError as e:
            fail(f"index.html (side by side) is not well-formed: {e}", output)
    if lab_namespaces():
        fail(f"namespaces left behind: {lab_namespaces()}")
    print("PASS compare")


def test_split_brain(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "d1.conf").write_text(config(51, 150))
        Path(tmp, "d2.conf").write_text(config(52, 100))
        proc = run_lab(args, "run", "-f", f"{tmp}/d1.conf", "-f", f"{tmp}/d2.conf", "--ids",
                       "d1,d2", "--repeat", "1", "--drills", "kill,stop", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 1:
            fail(f"exit {proc.returncode}, expected 1", output)
        if "split brain before the fault: VI_1 is MASTER on d1 and d2" not in output:
            fail("no 'split brain before the fault' in the output", output)
        validate_report(tmp, output)
        report = json.loads(Path(tmp, "report.json").read_text())
        if report["passed"] is not False or any(d["passed"] for d in report["drills"]):
            fail("report.json says something passed", output)
    print("PASS split-brain")


def test_nopreempt(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "d1.conf").write_text(config(51, 150, nopreempt=True))
        Path(tmp, "d2.conf").write_text(config(51, 100, nopreempt=True))
        proc = run_lab(args, "run", "-f", f"{tmp}/d1.conf", "-f", f"{tmp}/d2.conf", "--repeat",
                       "1", "--drills", "preempt", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"exit {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        run = json.loads(Path(tmp, "report.json").read_text())["drills"][0]["runs_detail"][0]
        if run["expect_preempt"] is not False or run["takeovers"] != 0:
            fail(f"preempt run: expect_preempt {run['expect_preempt']}, takeovers "
                 f"{run['takeovers']}", output)
        if "must not take over" not in output:
            fail("the progress line does not say the returning director must not take over",
                 output)
    print("PASS nopreempt")


def test_backup_preempts(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "d1.conf").write_text(config(51, 100, state="MASTER"))
        Path(tmp, "d2.conf").write_text(config(51, 150))
        proc = run_lab(args, "run", "-f", f"{tmp}/d1.conf", "-f", f"{tmp}/d2.conf", "--repeat",
                       "1", "--drills", "kill,preempt", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 1:
            fail(f"exit {proc.returncode}, expected 1", output)
        drills = {d["name"]: d for d in json.loads(Path(tmp, "report.json").read_text())["drills"]}
        if drills["kill"]["passed"] != 1:
            fail(f"kill: {drills['kill']['runs_detail'][0]['failures']}, expected a pass", output)
        run = drills["preempt"]["runs_detail"][0]
        expected = ("d2 took VI_1 over on returning although it must not: d1 is the intended "
                    "master of VI_1 (state MASTER; d2 is state BACKUP), but d2 has the higher "
                    "priority (150 > 100) and no nopreempt")
        if run["passed"] or not any(f.startswith(expected) for f in run["failures"]):
            fail(f"preempt: passed {run['passed']}, failures {run['failures']}", output)
        if run["victim"] != "d2" or run["expect_preempt"] is not False or run["takeovers"] != 0:
            fail(f"preempt: victim {run['victim']}, expect_preempt {run['expect_preempt']}, "
                 f"takeovers {run['takeovers']}", output)
        validate_report(tmp, output)
    # The fix the reason names: nopreempt on d2.
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "d1.conf").write_text(config(51, 100, state="MASTER"))
        Path(tmp, "d2.conf").write_text(config(51, 150, nopreempt=True))
        proc = run_lab(args, "run", "-f", f"{tmp}/d1.conf", "-f", f"{tmp}/d2.conf", "--repeat",
                       "1", "--drills", "kill,preempt", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"with nopreempt on d2: exit {proc.returncode}, expected 0", output)
    print("PASS backup-preempts")


def rs_config(check_port: int | None) -> str:
    port = f"      connect_port {check_port}\n" if check_port else ""
    return config(61, 100).replace("  priority 100\n", "@d1  priority 150\n@d2  priority 100\n") + f"""
virtual_server 192.0.2.200 80 {{
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {{
    TCP_CHECK {{
{port}      connect_timeout 1
      retry 0
    }}
  }}
  real_server 198.51.100.12 80 {{
    HTTP_GET {{
{port}      url {{
        path /health
      }}
      connect_timeout 1
      retry 0
    }}
  }}
}}
"""


def run_recording(args: argparse.Namespace, *lab_args: str) -> subprocess.CompletedProcess:
    cmd = [args.vigil_lab, *lab_args, "--ipvs-journal", "--vigild", args.vigild_recording]
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)


def expect_rs_out_and_back(directory: str, victim: str, what: str, output: str) -> None:
    """Each rs drill of the report passed on `victim`, with exactly one RS line per director
    (DOWN for rs-fail, UP for rs-recover) and the change measured."""
    for drill in json.loads(Path(directory, "report.json").read_text())["drills"]:
        run = drill["runs_detail"][0]
        want_up = drill["name"] == "rs-recover"
        lines = sorted((e["director"], e["real_server"], e["up"]) for e in run["rs_events"])
        if (not run["passed"] or run["real_server"] != victim
                or lines != [("d1", victim, want_up), ("d2", victim, want_up)]
                or run["rs_change_ms"] is None):
            fail(f"{what}: {drill['name']}: passed {run['passed']}, failures "
                 f"{run['failures']}, RS lines {lines}", output)


def test_checker_wrong_port(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "wrong.conf").write_text(rs_config(81))
        proc = run_recording(args, "run", "-f", f"{tmp}/wrong.conf", "--repeat", "1", "--drills",
                             "rs-fail", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 1:
            fail(f"wrong port: exit {proc.returncode}, expected 1", output)
        validate_report(tmp, output)
        run = json.loads(Path(tmp, "report.json").read_text())["drills"][0]["runs_detail"][0]
        expected = ("every real server of VS [192.0.2.200]:tcp:80 is down before the fault (on "
                    "d1, d2)")
        if run["passed"] or not run["failures"] or not run["failures"][0].startswith(expected):
            fail(f"wrong port: rs-fail passed {run['passed']}, failures {run['failures']}",
                 output)
        if run["rs_events"] or run["rs_change_ms"] is not None:
            fail("wrong port: the run measured a fault that never happened", output)
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "right.conf").write_text(rs_config(None))
        proc = run_recording(args, "run", "-f", f"{tmp}/right.conf", "--repeat", "1", "--drills",
                             "rs-fail,rs-recover", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"right port: exit {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        expect_rs_out_and_back(tmp, "[198.51.100.11]:tcp:80", "right port", output)
    print("PASS checker-wrong-port")


def test_rs_protocols(args: argparse.Namespace) -> None:
    """The lab's real servers speak SMTP to an SMTP_CHECK and answer an HTTP_GET that accepts
    only 301 with 301: each is up before the fault, taken out and brought back."""
    conf = config(62, 100).replace("  priority 100\n", "@d1  priority 150\n@d2  priority 100\n") + """
virtual_server 192.0.2.200 25 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.21 25 {
    SMTP_CHECK {
      connect_timeout 1
      retry 0
      helo_name lab.example
    }
  }
  real_server 198.51.100.22 80 {
    HTTP_GET {
      url {
        path /moved
        status_code 301
      }
      connect_timeout 1
      retry 0
    }
  }
  real_server 198.51.100.23 443 {
    SSL_GET {
      url {
        path /health
        digest 9cb81fdf25a528452479c42ff2750115
      }
      connect_timeout 1
      retry 0
    }
  }
}
"""
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "protocols.conf").write_text(conf)
        # The SSL_GET's url wants a digest: without its content the lab cannot play it.
        proc = run_recording(args, "run", "-f", f"{tmp}/protocols.conf", "--repeat", "1",
                             "--drills", "rs-fail")
        if proc.returncode != 1 or "give the lab the content with --rs-root DIR" not in \
                proc.stdout + proc.stderr:
            fail(f"without --rs-root: exit {proc.returncode}", proc.stdout + proc.stderr)
        Path(tmp, "root").mkdir()
        Path(tmp, "root", "health").write_text("vigil-lab health\n")
        proc = run_recording(args, "run", "-f", f"{tmp}/protocols.conf", "--repeat", "3",
                             "--drills", "rs-fail", "--report", tmp, "--rs-root", f"{tmp}/root")
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"exit {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        runs = json.loads(Path(tmp, "report.json").read_text())["drills"][0]["runs_detail"]
        victims = [r["real_server"] for r in runs]
        if victims != ["[198.51.100.21]:tcp:25", "[198.51.100.22]:tcp:80",
                       "[198.51.100.23]:tcp:443"]:
            fail(f"victims {victims}: expected the SMTP, HTTP and TLS servers", output)
        for run in runs:
            lines = sorted((e["director"], e["up"]) for e in run["rs_events"]
                           if e["real_server"] == run["real_server"])
            if not run["passed"] or lines != [("d1", False), ("d2", False)]:
                fail(f"{run['real_server']}: passed {run['passed']}, failures "
                     f"{run['failures']}, RS lines {lines}", output)
    # DNS over UDP: the lab's server answers the DNS_CHECK's query, and goes away.
    dns_conf = config(63, 100).replace("  priority 100\n", "@d1  priority 150\n@d2  priority 100\n") + """
virtual_server 192.0.2.200 53 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 198.51.100.31 53 {
    DNS_CHECK {
      type A
      name www.example.org
      connect_timeout 1
      retry 0
    }
  }
}
"""
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "dns.conf").write_text(dns_conf)
        proc = run_recording(args, "run", "-f", f"{tmp}/dns.conf", "--repeat", "1", "--drills",
                             "rs-fail,rs-recover", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"DNS: exit {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        expect_rs_out_and_back(tmp, "[198.51.100.31]:udp:53", "DNS", output)
    # UDP_CHECK with a required reply (an X nibble in it): the lab answers what it wants.
    udp_conf = dns_conf.replace("""    DNS_CHECK {
      type A
      name www.example.org""", """    UDP_CHECK {
      payload 68656c6c6f
      require_reply 4f4bX0
      min_reply_length 4""").replace("198.51.100.31 53", "198.51.100.32 5353")
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "udp.conf").write_text(udp_conf)
        proc = run_recording(args, "run", "-f", f"{tmp}/udp.conf", "--repeat", "1", "--drills",
                             "rs-fail,rs-recover", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            fail(f"UDP_CHECK: exit {proc.returncode}, expected 0", output)
        validate_report(tmp, output)
        expect_rs_out_and_back(tmp, "[198.51.100.32]:udp:5353", "UDP_CHECK", output)
    print("PASS rs-protocols")


def test_rs_not_run(args: argparse.Namespace) -> None:
    require_clean_start()
    with tempfile.TemporaryDirectory(prefix="vigil-lab-test-") as tmp:
        Path(tmp, "vrrp.conf").write_text(config(51, 150))
        proc = run_recording(args, "run", "-f", f"{tmp}/vrrp.conf", "--repeat", "2", "--drills",
                             "rs-fail", "--report", tmp)
        output = proc.stdout + proc.stderr
        if proc.returncode != 1:
            fail(f"exit {proc.returncode}, expected 1", output)
        validate_report(tmp, output)
        runs = json.loads(Path(tmp, "report.json").read_text())["drills"][0]["runs_detail"]
        expected = ["not run: the configuration has no virtual_server: no real server to stop"]
        if len(runs) != 2 or any(r["failures"] != expected for r in runs):
            fail(f"runs: {[r['failures'] for r in runs]}", output)
    print("PASS rs-not-run")


def test_interrupt(args: argparse.Namespace) -> None:
    require_clean_start()
    veths_before = host_veths()
    dirs_before = work_dirs()
    cmd = [args.vigil_lab, "demo", "--repeat", "5", "--vigild", args.vigild]
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.monotonic() + 90
    interrupted = False
    try:
        # Bounded: at most 2000 lines or 90 s.
        for _ in range(2000):
            line = proc.stdout.readline()
            if not line or time.monotonic() > deadline:
                break
            seen.append(line)
            if "SIGKILLing" in line or "SIGTERM to the daemon" in line:
                lab_up = lab_namespaces()
                daemons = lab_processes()
                proc.send_signal(signal.SIGINT)
                interrupted = True
                break
        if not interrupted:
            fail("never saw a drill start", "".join(seen))
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
            fail("vigil-lab did not exit within 60 s of SIGINT", "".join(seen) + rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(seen) + rest
    if len(lab_up) != 4 or not daemons:
        fail(f"mid-drill the lab was not up as expected: namespaces {lab_up}, daemons {daemons}",
             output)
    if proc.returncode != 130:
        fail(f"exit {proc.returncode} after SIGINT, expected 130", output)
    if lab_namespaces():
        fail(f"namespaces left behind: {lab_namespaces()}", output)
    if host_veths() - veths_before:
        fail(f"veths left behind: {host_veths() - veths_before}", output)
    if lab_processes():
        fail(f"processes left behind: {lab_processes()}", output)
    if work_dirs() - dirs_before:
        fail(f"work directories left behind: {work_dirs() - dirs_before}", output)
    print(f"PASS interrupt (the lab had {len(daemons)} daemon processes and 4 namespaces)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("test", choices=["demo", "demo-keepalived", "compare", "split-brain",
                                         "nopreempt", "backup-preempts", "checker-wrong-port",
                                         "rs-protocols", "rs-not-run", "interrupt"])
    parser.add_argument("--vigil-lab", required=True)
    parser.add_argument("--vigild", required=True)
    parser.add_argument("--vigild-recording")
    args = parser.parse_args()
    {"demo": test_demo, "demo-keepalived": test_demo_keepalived, "compare": test_compare,
     "split-brain": test_split_brain, "nopreempt": test_nopreempt,
     "backup-preempts": test_backup_preempts, "checker-wrong-port": test_checker_wrong_port,
     "rs-protocols": test_rs_protocols, "rs-not-run": test_rs_not_run, "interrupt": test_interrupt}[args.test](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
